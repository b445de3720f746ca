#!/usr/bin/python3
"""DNS cookies and response rate limiting on the kernel-socket path, with
real clients, on loopback (issue 14).

popdns serves tests/testdata/example.test.zone on a free 127.0.0.1 port
with `cookies: {secret}` and `rrl: {rate: 5, slip: 2}` (one UDP thread,
so one table), and management on another port. Then:
  1. `kdig +cookie` and `dig +cookie` get a server cookie (RFC 7873 5.2.3:
     the client cookie echoed, 16 bytes of RFC 9018 cookie: version 1, a
     timestamp within a minute of now); each presents it again
     (`+cookie=HEX`) and the answer is NOERROR with the same cookie back
     (5.2.5: valid, and young enough to be echoed, RFC 9018 4.3);
  2. a burst of 300 identical UDP queries without a cookie, in 0.3 s: at
     most rate x time + one bucket are answered, about half of the rest
     come back as slips (TC=1, no records), the others are dropped, and
     `popdnsctl stats` counts rrl.udp.limited = slipped + dropped;
  3. the same burst with a client cookie only: the slips are BADCOOKIE
     (RCODE 23) carrying a fresh server cookie; with that cookie a burst
     of 200 is answered in full (a valid server cookie bypasses RRL);
  4. 30 queries over TCP at once are all answered (TCP is never limited),
     each with a cookie when asked with one;
  5. /metrics has popdns_rrl_{limited,slipped,dropped}_total{path="udp"}
     equal to the stats, and promtool check metrics finds nothing.
popdns is stopped by its PID. Usage: cookies_rrl_test.py BUILD_DIR SOURCE_DIR
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

from checks import check, free_port, run, stop, summary  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
POPDNS = os.path.join(BUILD, "control", "popdns")
POPDNSCTL = os.path.join(BUILD, "control", "popdnsctl")
LOOPBACK = "127.0.0.1"
RATE, SLIP = 5, 2
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
COOKIE = 10


def make_query(name, cookie=None):
    q = dns.message.make_query(name, "A", use_edns=0)
    q.flags = 0
    if cookie is not None:
        q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(COOKIE, cookie)])
    return q


def cookie_of(msg):
    for o in msg.options:
        if o.otype == COOKIE:
            return o.to_wire() if hasattr(o, "to_wire") else o.data
    return None


def burst(port, name, n, cookie=None, spread=0.3):
    """Sends n identical queries within `spread` seconds on one socket;
    returns the responses received within a second after."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    wires = []
    for i in range(n):
        q = make_query(name, cookie)
        q.id = i
        wires.append(q.to_wire())
    start = time.time()
    got = []
    for i, w in enumerate(wires):
        while time.time() < start + spread * i / n:
            time.sleep(0.0005)
        s.sendto(w, (LOOPBACK, port))
    end = time.time() + 1.0
    while time.time() < end:
        try:
            data, _ = s.recvfrom(4096)
            got.append(dns.message.from_wire(data))
        except BlockingIOError:
            time.sleep(0.002)
    s.close()
    return got, time.time() - start


def stats(sock):
    out = run([POPDNSCTL, "--socket", sock, "stats"]).stdout
    return {k: int(v) for k, _, v in
            (l.partition(" ") for l in out.splitlines()) if v.isdigit()}


def main():
    keep = "--keep-tmp" in sys.argv
    tmp = tempfile.mkdtemp(prefix="popdns-cookies-")
    popdns = None
    try:
        zone = os.path.join(tmp, "example.test.zone")
        shutil.copy(os.path.join(SRC, "tests", "testdata",
                                 "example.test.zone"), zone)
        port, mgmt = free_port(), free_port()
        sock = os.path.join(tmp, "ctl.sock")
        conf = os.path.join(tmp, "popdns.yaml")
        with open(conf, "w") as f:
            f.write("listen: ['%s:%d']\ncontrol_socket: %s\n" % (LOOPBACK, port, sock) +
                    "udp_threads: 1\n"
                    "zones:\n  - {name: example.test, file: %s}\n" % zone +
                    "management:\n  listen: '%s:%d'\n" % (LOOPBACK, mgmt) +
                    "rrl: {rate: %d, slip: %d}\n" % (RATE, SLIP) +
                    "cookies: {secret: \"%s\"}\n" % SECRET)
        log = os.path.join(tmp, "popdns.log")
        popdns = subprocess.Popen([POPDNS, "--config", conf],
                                  stdout=open(log, "w"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        check(popdns.poll() is None and os.path.exists(sock), "popdns starts")
        with open(log) as f:
            text = f.read()
        check(SECRET not in text and SECRET.upper() not in text,
              "the cookie secret is not in the log")

        # 1. Real clients. Distinct names, so that RRL does not interfere.
        now = int(time.time())
        r = run(["kdig", "@%s" % LOOPBACK, "-p", str(port), "+cookie",
                 "www.example.test", "A"])
        m = re.search(r";; COOKIE: ([0-9A-Fa-f]+)", r.stdout)
        check(r.returncode == 0 and "status: NOERROR" in r.stdout and m and
              len(m.group(1)) == 48,
              "kdig +cookie: NOERROR with a 24-byte cookie option (%s)" %
              (m.group(1) if m else r.stdout[-300:]))
        if m:
            full = m.group(1).lower()
            ts = int(full[24:32], 16)
            check(full[16:18] == "01" and abs(ts - now) < 60,
                  "the server cookie is RFC 9018's: version 1, now's time")
            r2 = run(["kdig", "@%s" % LOOPBACK, "-p", str(port),
                      "+cookie=" + full, "mail.example.test", "A"])
            m2 = re.search(r";; COOKIE: ([0-9A-Fa-f]+)", r2.stdout)
            check("status: NOERROR" in r2.stdout and m2 and
                  m2.group(1).lower() == full,
                  "kdig +cookie=<that cookie>: NOERROR, the same cookie back "
                  "(valid, echoed)")
        r = run(["dig", "@%s" % LOOPBACK, "-p", str(port), "+cookie",
                 "ns1.example.test", "A"])
        m = re.search(r"; COOKIE: ([0-9a-f]+) \(good\)", r.stdout)
        check(r.returncode == 0 and "status: NOERROR" in r.stdout and m and
              len(m.group(1)) == 48,
              "dig +cookie: NOERROR, COOKIE (good)")
        if m:
            r2 = run(["dig", "@%s" % LOOPBACK, "-p", str(port),
                      "+cookie=" + m.group(1), "ns1.example.test", "AAAA"])
            m2 = re.search(r"; COOKIE: ([0-9a-f]+) \(good\)", r2.stdout)
            check("status: NOERROR" in r2.stdout and m2 and
                  m2.group(1) == m.group(1),
                  "dig +cookie=<that cookie>: NOERROR, the same cookie (good)")

        # 2. A burst without cookies: limited, half the limited slip.
        got, secs = burst(port, "alias.example.test", 300)
        full = [g for g in got if not g.flags & dns.flags.TC]
        tc = [g for g in got if g.flags & dns.flags.TC]
        allowed = RATE * secs + RATE + 1
        check(0 < len(full) <= allowed,
              "300 queries in %.2f s: %d answered in full (at most %d)" %
              (secs, len(full), allowed))
        check(all(not g.answer and not g.authority for g in tc) and
              abs(len(tc) - (300 - len(full)) / SLIP) <= 3,
              "%d slips (TC=1, no records), about half of the %d limited" %
              (len(tc), 300 - len(full)))
        s = stats(sock)
        check(s.get("rrl.udp.limited") == 300 - len(full) and
              s.get("rrl.udp.slipped") == len(tc) and
              s.get("rrl.udp.dropped") == 300 - len(full) - len(tc),
              "popdnsctl stats: rrl.udp.limited/slipped/dropped %s/%s/%s" %
              (s.get("rrl.udp.limited"), s.get("rrl.udp.slipped"),
               s.get("rrl.udp.dropped")))

        # 3. Client cookie only: slips are BADCOOKIE with a fresh cookie,
        # which then bypasses RRL.
        client = bytes.fromhex("0102030405060708")
        got, _ = burst(port, "chain1.example.test", 100, cookie=client)
        bad = [g for g in got if g.rcode() == 23]
        check(len(bad) > 10 and all(cookie_of(g) and
                                    cookie_of(g)[:8] == client and
                                    len(cookie_of(g)) == 24 for g in bad),
              "client cookie only: %d slips are BADCOOKIE with our cookie" %
              len(bad))
        if bad:
            server = cookie_of(bad[0])
            got, _ = burst(port, "chain1.example.test", 200, cookie=server)
            ok = [g for g in got if g.rcode() == dns.rcode.NOERROR and
                  not g.flags & dns.flags.TC and g.answer]
            check(len(ok) == 200,
                  "with that server cookie all 200 are answered (got %d)" %
                  len(ok))

        # 4. TCP is never limited.
        answered = 0
        for i in range(30):
            q = make_query("alias.example.test", client)
            a = dns.query.tcp(q, LOOPBACK, port=port, timeout=3)
            answered += (a.rcode() == dns.rcode.NOERROR and bool(a.answer) and
                         cookie_of(a) is not None and len(cookie_of(a)) == 24)
        check(answered == 30, "30 TCP queries answered, with cookies (%d)" %
              answered)

        # 5. /metrics.
        import http.client
        c = http.client.HTTPConnection(LOOPBACK, mgmt, timeout=5)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        s = stats(sock)
        for what in ("limited", "slipped", "dropped"):
            series = 'popdns_rrl_%s_total{path="udp"} %d' % (what, s.get(
                "rrl.udp." + what, -1))
            check(series in text, "/metrics: " + series)
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=30)
            check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
                  "promtool check metrics: nothing to say %s" %
                  (p.stdout + p.stderr).strip()[:300])
        check(popdns.poll() is None, "popdns still runs")
    finally:
        stop(popdns)
        if keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
