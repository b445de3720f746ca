#!/usr/bin/python3
"""EDNS options popdns answers with, on the kernel-socket path, next to
knotd 3.2 where knotd has the feature (issue 15), on loopback.

popdns and knotd serve tests/testdata/example.test.zone, both configured
with `nsid: pop1.test`; popdns with tcp_idle_timeout_ms 1500. Then:
  1. NSID (RFC 5001): `kdig +nsid` over UDP and TCP gets the same NSID
     from both servers for an answer, an NXDOMAIN and a REFUSED (with the
     same EDE 20 next to it); without +nsid neither sends one;
  2. edns-tcp-keepalive (RFC 7828): `dig +tcp +keepalive` is told 1.5 s by
     popdns (knotd 3.2 sends no keepalive at all); with dnspython, the
     option carries TIMEOUT 15 (units of 100 ms) on TCP, is absent on UDP
     (3.3.1/3.3.2) and unasked; and the connection really stays open
     through 1 s of idleness and is closed by popdns after 1.5 s.
  3. Padding (RFC 7830 4): `kdig +padding` over UDP and TCP gets popdns's
     answer padded to 468 octets (RFC 8467 4.1), `+nopadding` none;
     knotd 3.2 does not pad in the clear.
  4. EDNS Client Subnet (RFC 7871), on in popdns because its config has
     `networks:`: `kdig +subnet` and `dig +subnet` over UDP and TCP get
     the option back with their family, source prefix and address and
     scope 0 (7.2.1: the answer is the same for every client); a query
     without the option gets none; a malformed option (bits set past the
     source prefix, 6) is FORMERR. knotd without its geoip module ignores
     ECS, so there is no peer answer to compare with.
  5. App-aware answers (issue 16): app.example.test varies by the client's
     network (VARIANT records as generic RDATA, which knotd keeps as an
     unknown type): by source address and by ECS, with the scope.
popdns and knotd are stopped by their PIDs.
Usage: edns_options_test.py BUILD_DIR SOURCE_DIR [--keep-tmp]
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
import dns.message  # noqa: E402
import dns.query  # noqa: E402

from checks import (append_variants, check, check_variants,  # noqa: E402
                    free_port, kdig_nsid, run, stop, summary,
                    variant_networks, variant_rdata)
from endpoint_health import (Endpoint, append_health_variants,  # noqa: E402
                             check_endpoint_health)

BUILD, SRC = sys.argv[1], sys.argv[2]
POPDNS = os.path.join(BUILD, "control", "popdns")
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
LOOPBACK = "127.0.0.1"
NSID = "pop1.test"
IDLE_MS = 1500
KEEPALIVE = 11


def wait_answers(port, proc, what):
    q = dns.message.make_query("www.example.test.", "A")
    for _ in range(100):
        if proc.poll() is not None:
            break
        try:
            r = dns.query.udp(q, LOOPBACK, port=port, timeout=0.3)
            if r.answer:
                return True
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.1)
    check(False, "%s answers" % what)
    return False


def start_popdns(tmp, zone, health_yaml):
    port = free_port()
    conf = os.path.join(tmp, "popdns.yaml")
    with open(conf, "w") as f:
        f.write("listen: ['%s:%d', '[::1]:%d']\n" % (LOOPBACK, port, port) +
                "control_socket: %s\n" % os.path.join(tmp, "ctl.sock") +
                "udp_threads: 1\n"
                "nsid: \"%s\"\n" % NSID +
                "tcp_idle_timeout_ms: %d\n" % IDLE_MS +
                variant_networks("127.0.0.0/8", "::1/128") + health_yaml +
                "zones:\n  - {name: example.test, file: %s}\n" % zone)
    proc = subprocess.Popen([POPDNS, "--config", conf],
                            stdout=open(os.path.join(tmp, "popdns.log"), "w"),
                            stderr=subprocess.STDOUT)
    return proc, port


def start_knotd(tmp, zone):
    d = os.path.join(tmp, "knot")
    os.makedirs(d)
    port = free_port()
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("server:\n"
                "    rundir: %s\n    listen: %s@%d\n" % (d, LOOPBACK, port) +
                "    udp-workers: 1\n    tcp-workers: 1\n"
                "    background-workers: 1\n"
                "    nsid: %s\n" % NSID +
                "database:\n    storage: %s\n" % d +
                "template:\n  - id: default\n    storage: %s\n" % d +
                # example.test. keeps data below a DNAME on purpose.
                "    semantic-checks: soft\n    zonefile-sync: -1\n"
                "    journal-content: none\n"
                "zone:\n  - domain: example.test\n    file: %s\n" % zone)
    proc = subprocess.Popen([KNOTD, "-c", conf],
                            stdout=open(os.path.join(d, "knotd.log"), "w"),
                            stderr=subprocess.STDOUT)
    return proc, port


def kdig(port, *args):
    return run(["kdig", "@%s" % LOOPBACK, "-p", str(port), "+time=2",
                "+retry=0"] + list(args)).stdout


def status_and_ede(output):
    status = re.search(r"status: (\w+)", output)
    return (status.group(1) if status else None,
            tuple(l for l in output.splitlines() if l.startswith(";; EDE")))


def keepalive_of(msg):
    for o in msg.options:
        if o.otype == KEEPALIVE:
            data = o.to_wire() if hasattr(o, "to_wire") else o.data
            return struct.unpack("!H", data)[0] if len(data) == 2 else data
    return None


def ka_query(name="www.example.test.", ask=True):
    opts = [dns.edns.GenericOption(KEEPALIVE, b"")] if ask else []
    return dns.message.make_query(name, "A", use_edns=0, options=opts)


def tcp_exchange(s, msg):
    w = msg.to_wire()
    s.sendall(struct.pack("!H", len(w)) + w)
    head = b""
    while len(head) < 2:
        chunk = s.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    n = struct.unpack("!H", head)[0]
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return dns.message.from_wire(body)


def ecs_query(data):
    q = dns.message.make_query("www.example.test.", "A", use_edns=0)
    q.use_edns(0, options=[dns.edns.GenericOption(8, data)])
    return q


def check_client_subnet(port):
    """4. ECS echoed with scope 0 (RFC 7871 7.2.1), FORMERR when malformed."""
    for tool, flag in (("kdig", "+subnet=198.51.100.0/24"),
                       ("dig", "+subnet=2001:db8:1::/48")):
        for proto in ("+notcp", "+tcp"):
            out = run([tool, "@%s" % LOOPBACK, "-p", str(port), proto, flag,
                       "www.example.test", "A"]).stdout
            want = ("198.51.100.0/24/0" if tool == "kdig"
                    else "CLIENT-SUBNET: 2001:db8:1::/48/0")
            check("NOERROR" in out and want in out,
                  "%s %s %s: the option comes back with scope 0 (%s)"
                  % (tool, proto, flag, re.findall(r".*SUBNET.*", out)))
    out = run(["kdig", "@%s" % LOOPBACK, "-p", str(port),
               "www.example.test", "A"]).stdout
    check("NOERROR" in out and "SUBNET" not in out,
          "no ECS in the answer to a query without it")
    r = dns.query.udp(ecs_query(b"\x00\x01\x18\x00\xc6\x33\x64"),
                      LOOPBACK, port=port, timeout=2)
    wire = [o for o in r.options if o.otype == 8]
    check(r.rcode() == 0 and len(wire) == 1,
          "dnspython: one ECS option in the answer")
    r = dns.query.udp(ecs_query(b"\x00\x01\x17\x00\xc6\x33\x65"),
                      LOOPBACK, port=port, timeout=2)
    check(r.rcode() == 1, "a bit set past the source prefix: FORMERR "
          "(RFC 7871 6), got rcode %d" % r.rcode())


def write_geo_database(tmp, zone):
    """GeoIP (issue 16): a MaxMind DB written by tests/testutil/write_mmdb.py
    (198.51.100.0/24 and 2001:db8:2::/48 in FR, 100.64.0.0/10 in AS64512)
    and geo.example.test with a country and an AS variant. Returns the
    `geoip:` YAML."""
    db = os.path.join(tmp, "geo.mmdb")
    run([sys.executable, os.path.join(SRC, "tests", "testutil",
                                      "write_mmdb.py"), db,
         "198.51.100.0/24=country:FR", "2001:db8:2::/48=country:FR",
         "100.64.0.0/10=asn:64512"])
    with open(zone, "a") as f:
        f.write("geo.example.test. 300 A 192.0.2.70\n"
                "geo.example.test. 30 TYPE65350 %s\n"
                "geo.example.test. 30 TYPE65350 %s\n"
                % (variant_rdata("cc:FR", "192.0.2.71"),
                   variant_rdata("asn:64512", "192.0.2.72")))
    return "geoip: {country_database: %s, asn_database: %s}\n" % (db, db)


def check_geo_variants(port):
    """6. Each resolver's client gets its country's or AS's variant, with
    the scope of the GeoIP network that decided (RFC 7871 7.2.1)."""
    got = {}
    for subnet in ("198.51.100.0/24", "2001:db8:2::/56", "100.64.1.0/24",
                   "192.0.2.0/24", None):
        cmd = ["kdig", "+notcp", "+time=2", "+retry=0", "-p", str(port),
               "@" + LOOPBACK, "geo.example.test", "A"]
        if subnet:
            cmd.insert(1, "+subnet=" + subnet)
        out = run(cmd).stdout
        got[subnet] = (re.findall(r"\tA\t(\S+)", out),
                       re.findall(r"CLIENT-SUBNET: (\S+)", out))
    want = {"198.51.100.0/24": (["192.0.2.71"], ["198.51.100.0/24/24"]),
            "2001:db8:2::/56": (["192.0.2.71"], ["2001:db8:2::/56/48"]),
            "100.64.1.0/24": (["192.0.2.72"], ["100.64.1.0/24/10"]),
            "192.0.2.0/24": (["192.0.2.70"], ["192.0.2.0/24/6"]),
            None: (["192.0.2.70"], [])}
    check(got == want, "GeoIP: each client its country's or AS's variant, "
          "scoped to the database's network: %s" % got)


def main():
    keep = "--keep-tmp" in sys.argv
    tmp = tempfile.mkdtemp(prefix="popdns-edns-options-")
    popdns = knotd = endpoint = None
    try:
        zone = os.path.join(tmp, "example.test.zone")
        shutil.copy(os.path.join(SRC, "tests", "testdata",
                                 "example.test.zone"), zone)
        append_variants(zone)
        append_health_variants(zone)
        geo_yaml = write_geo_database(tmp, zone)
        endpoint = Endpoint(None)
        mgmt_port = free_port()
        popdns, pport = start_popdns(tmp, zone,
                                     endpoint.config(mgmt_port) + geo_yaml)
        knotd, kport = start_knotd(tmp, zone)
        if not (wait_answers(pport, popdns, "popdns") and
                wait_answers(kport, knotd, "knotd")):
            return summary()

        # 1. NSID, next to knotd.
        for proto in ("+notcp", "+tcp"):
            for name in ("www.example.test", "nope.example.test",
                         "www.example.org"):
                got = {}
                for server, port in (("popdns", pport), ("knotd", kport)):
                    asked = kdig(port, proto, "+nsid", name, "A")
                    unasked = kdig(port, proto, name, "A")
                    got[server] = (kdig_nsid(asked), kdig_nsid(unasked),
                                   status_and_ede(asked))
                check(got["popdns"] == got["knotd"] and
                      got["popdns"][:2] == (NSID, None),
                      "NSID %s %s: popdns %s, knotd %s"
                      % (proto, name, got["popdns"], got["knotd"]))

        # Padding (RFC 7830 4): popdns pads when asked, to RFC 8467 4.1's
        # 468-octet block, over UDP and TCP, and not unasked; knotd 3.2
        # does not pad in the clear.
        padded = {}
        for proto in ("+notcp", "+tcp"):
            for server, port in (("popdns", pport), ("knotd", kport)):
                for flag in ("+padding", "+nopadding"):
                    out = kdig(port, proto, flag, "www.example.test", "A")
                    size = re.search(r"Received (\d+) B", out)
                    padded[(server, proto, flag)] = (
                        "status: NOERROR" in out, "PADDING" in out,
                        int(size.group(1)) if size else None)
        popdns_padded = [padded[("popdns", p, "+padding")]
                         for p in ("+notcp", "+tcp")]
        check(popdns_padded == [(True, True, 468)] * 2 and
              not any(v[1] for k, v in padded.items()
                      if k[0] == "knotd" or k[2] == "+nopadding"),
              "kdig +padding: popdns pads to 468 octets over UDP and TCP, "
              "only when asked (knotd does not pad): %s" % padded)

        # 2. edns-tcp-keepalive.
        out = run(["dig", "@%s" % LOOPBACK, "-p", str(pport), "+tcp",
                   "+keepalive", "www.example.test"]).stdout
        check("TCP KEEPALIVE: 1.5 secs" in out,
              "dig +tcp +keepalive: popdns says 1.5 secs")
        out = run(["dig", "@%s" % LOOPBACK, "-p", str(kport), "+tcp",
                   "+keepalive", "www.example.test"]).stdout
        check("status: NOERROR" in out and "KEEPALIVE" not in out,
              "dig +tcp +keepalive: knotd 3.2 sends none (nothing to compare)")
        r = dns.query.tcp(ka_query(), LOOPBACK, port=pport, timeout=2)
        check(keepalive_of(r) == IDLE_MS // 100,
              "TCP answer carries TIMEOUT %s (want %d x 100 ms)"
              % (keepalive_of(r), IDLE_MS // 100))
        r = dns.query.tcp(ka_query(ask=False), LOOPBACK, port=pport,
                          timeout=2)
        check(keepalive_of(r) is None, "not unasked over TCP")
        r = dns.query.udp(ka_query(), LOOPBACK, port=pport, timeout=2)
        check(r.answer and keepalive_of(r) is None,
              "never over UDP (RFC 7828 3.3.1)")
        # The timeout told is the one applied: idle 1 s, then a second
        # query on the same connection is answered; then idle until
        # popdns closes it, after 1.5 s (it looks every 0.2 s).
        s = socket.create_connection((LOOPBACK, pport), timeout=5)
        first = tcp_exchange(s, ka_query())
        time.sleep(1.0)
        second = tcp_exchange(s, ka_query())
        idle_from = time.time()
        closed = s.recv(1) == b""
        idle = time.time() - idle_from
        s.close()
        check(first is not None and second is not None and
              keepalive_of(second) == IDLE_MS // 100,
              "the connection is still open after 1 s idle")
        check(closed and IDLE_MS / 1000 - 0.05 <= idle <= IDLE_MS / 1000 + 0.7,
              "popdns closes it %.2f s after the last answer (told %.1f s)"
              % (idle, IDLE_MS / 1000))
        check_client_subnet(pport)
        # 5. App-aware answers on the kernel sockets (192.0.2.0 lies in
        # ::ffff:192.0.0.0/101 of no network: IPv4 scope 5).
        check_variants(None, LOOPBACK, "::1", "popdns on kernel sockets", 5,
                       port=pport)
        check_endpoint_health(
            None, LOOPBACK, endpoint, mgmt_port,
            lambda: run([os.path.join(BUILD, "control", "popdnsctl"),
                         "--socket", os.path.join(tmp, "ctl.sock"),
                         "endpoints"]).stdout,
            "popdns on kernel sockets", port=pport)
        check_geo_variants(pport)
        check(popdns.poll() is None, "popdns still runs")
    finally:
        stop(popdns)
        stop(knotd)
        if endpoint:
            endpoint.stop()
        if keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
