#!/usr/bin/env python3
"""Integration test of answers inside the XDP program (issue 17): popdns
in XDP mode (xdp_test.py's namespaces and veth) with `xdp.hot_answers`.

- every_name: every (name, type) of the zones in the map. dig/kdig over
  IPv4 and IPv6 are answered in the driver (xdp.answered moves, the AF_XDP
  worker's rx does not); the conformance corpus through the XDP path gives
  the answers the kernel sockets of a reference popdns give, byte for
  byte, with a large share of it answered in the driver.
- Reload under load: dnsperf keeps asking v.ver.test TXT (in the map)
  while the zone is rewritten and reloaded 12 times; after each
  `popdnsctl reload` returns, every answer carries the new version
  (README "Answers inside the XDP program": the map is updated before the
  new version is published).
- Sampling: without pinned names or every_name, a name the workers answer
  often enough becomes hot within a refresh and is then answered in the
  driver.
- Generic (skb) mode on a macvlan: answered in the driver too; with
  `rrl:` on, a client over the rate for one hot answer gets the rate from
  the driver and the rest is limited in the driver (slips, drops), as the
  worker's RRL would; with log_only the driver answers all of it and
  counts what is over the rate; with a whitelist longer than the driver's
  map the rest goes to the AF_XDP worker's RRL, which is told what the
  driver answered and so counts all of it as over the rate.
Usage: xdp_hot_test.py BUILD_DIR  (root; CI fails if a capability is
missing, elsewhere the test is skipped with exit code 77)
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import (check, dataplane_config, in_ns, popdnsctl_stats,  # noqa: E402
                    require, summary, dns_query)
from corpus_paths import (check_corpus, corpus_zones,  # noqa: E402
                          start_reference, stop_reference, zones_yaml)
from xdp_test import (CLIENT, MACVLAN_IF, POP, POP_IF, V4, V6,  # noqa: E402
                      finish, setup, start)

ME = os.path.abspath(__file__)
RRL_RATE = 5  # the generic run's rrl: rate


def hot_yaml(every_name, sample_every, pinned=True):
    return ("    hot_answers:\n      entries: 8192\n      every_name: %s\n"
            "      sample_every: %d\n      refresh_ms: 200\n%s"
            % ("true" if every_name else "false", sample_every,
               '      pinned: ["v.ver.test. TXT"]\n' if pinned else ""))


def dataplane_yaml(serve_if, hot):
    return f"""\
  xdp:
    interface: {serve_if}
    queues: 1
{hot}  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "popdns-xh", "--log-level", "*:error"]
  service_addresses: ["{V4}/24", "{V6}/64"]
"""


def write_version_zone(path, version):
    with open(path, "w") as f:
        f.write("$ORIGIN ver.test.\n$TTL 60\n"
                "@ SOA ns hm %d 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n"
                "v TXT \"%d\"\n" % (version, version))


def ask_txt(host, name, count):
    """Main of `ask`: `count` sequential queries for name TXT; prints the
    first TXT string of each answer ('-' for none)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    out = []
    for i in range(count):
        s.sendto(bytes.fromhex(dns_query(name, 16, 0x4000 + i,
                                         edns=(i % 2 == 0))),
                 (host, 53))
        try:
            msg = s.recv(2048)
        except socket.timeout:
            out.append("timeout")
            continue
        # The TXT RDATA is the message's last bytes before any OPT: find the
        # first TXT string after the question by its length octet.
        at = msg.rfind(b"\x00\x10\x00\x01")  # type TXT, class IN
        if at < 0 or at + 12 > len(msg) or msg[3] & 0x0F:
            out.append("-")
            continue
        rdlen = struct.unpack("!H", msg[at + 8:at + 10])[0]
        txt = msg[at + 11:at + 10 + rdlen]
        out.append(txt.decode(errors="replace"))
    print(" ".join(out))


def flood_a(host, name, count):
    """Main of `flood`: `count` plain queries for name A sent at once from
    one socket, then whatever comes back within 0.5 s of quiet; prints
    "full TC" (answers with records, truncated answers without)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    for i in range(count):
        s.sendto(bytes.fromhex(dns_query(name, 1, 0x5000 + i, edns=False)),
                 (host, 53))
    s.settimeout(0.5)
    full = tc = 0
    while True:
        try:
            msg = s.recv(2048)
        except socket.timeout:
            break
        an = struct.unpack("!H", msg[6:8])[0]
        if msg[2] & 0x02 and an == 0:
            tc += 1
        elif an > 0:
            full += 1
    print(full, tc)


def stats(popdnsctl, sock):
    return popdnsctl_stats(POP, popdnsctl, sock)


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


def veth_takes_xdp_tx(build):
    """A frame the program sends back with XDP_TX goes to the peer veth's
    NAPI queue, which exists only when the peer runs XDP itself (kernel
    veth.c; a real NIC just transmits it). The client's end gets an XDP
    program that passes everything: our own object, whose maps are empty
    there."""
    r = in_ns(CLIENT, ["ip", "link", "set", "dev", "xcli0", "xdpdrv", "obj",
                       os.path.join(build, "bpf", "xdp_dns.bpf.o"), "sec",
                       "xdp"])
    check(r.returncode == 0, "an XDP_PASS program on the client's veth "
          "(%s)" % (r.stdout + r.stderr).strip()[-200:])


def warm_up(popdnsctl, sock):
    """Neighbour entries and the AF_XDP sockets ready before counting."""
    in_ns(CLIENT, ["ping", "-c", "1", "-W", "2", V4])
    in_ns(CLIENT, ["ping", "-6", "-c", "1", "-W", "2", V6])
    for addr in (V4, V6):
        for _ in range(10):
            seen = stats(popdnsctl, sock).get("dpdk.p0.q0.answered", 0)
            in_ns(CLIENT, ["dig", "+short", "+time=1", "+tries=1",
                           "@" + addr, "nope.example.test", "MX"])
            if stats(popdnsctl, sock).get("dpdk.p0.q0.answered", 0) > seen:
                break


def start_hot(build, mode, popdns, conf, log, popdnsctl, sock):
    """Namespaces for `mode`, the client's XDP_PASS program, popdns up and
    warmed; the process, or None if it did not start."""
    setup(mode)
    veth_takes_xdp_tx(build)
    proc = start(popdns, conf, log)
    check(proc.poll() is None, "[%s] popdns starts with hot_answers" % mode)
    if proc.poll() is not None:
        return None
    warm_up(popdnsctl, sock)
    return proc


def check_driver_answers(popdnsctl, sock, what):
    before = stats(popdnsctl, sock)
    # dig sends a COOKIE option unless told not to: that is the worker's.
    r4 = in_ns(CLIENT, ["dig", "+short", "+nocookie", "+time=2", "+tries=1",
                        "@" + V4, "www.example.test"])
    r4b = in_ns(CLIENT, ["dig", "+short", "+noedns", "+time=2", "+tries=1",
                         "@" + V4, "WwW.ExAmPlE.tEsT"])
    r6 = in_ns(CLIENT, ["kdig", "+short", "+time=2", "+retry=0", "@" + V6,
                        "mail.example.test"])
    after = stats(popdnsctl, sock)
    check("192.0.2.3" in r4.stdout and "192.0.2.3" in r4b.stdout and
          r6.stdout.strip() != "",
          "%s: dig (EDNS and plain, 0x20) over IPv4 and kdig over IPv6 are "
          "answered (%r, %r, %r)" % (what, r4.stdout.strip(),
                                     r4b.stdout.strip(), r6.stdout.strip()))
    answered = delta(before, after, "xdp.answered")
    rx = delta(before, after, "dpdk.p0.q0.rx")
    check(answered >= 3 and rx == 0,
          "%s: answered in the driver, not by the AF_XDP worker "
          "(xdp.answered +%d, worker rx +%d; %s)"
          % (what, answered, rx,
             {k: delta(before, after, k) for k in after
              if k.startswith("xdp.") and delta(before, after, k)}))


def reload_under_load(popdnsctl, sock, ver_zone, tmp):
    qfile = os.path.join(tmp, "ver.txt")
    with open(qfile, "w") as f:
        f.write("v.ver.test TXT\n")
    before = stats(popdnsctl, sock)
    perf = subprocess.Popen(
        ["ip", "netns", "exec", CLIENT, "dnsperf", "-s", V4, "-d", qfile,
         "-l", "12", "-Q", "20000"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    stale = []
    versions = 0
    try:
        time.sleep(1)
        for version in range(2, 14):
            write_version_zone(ver_zone, version)
            r = in_ns(POP, [popdnsctl, "--socket", sock, "reload"])
            if r.returncode != 0:
                stale.append("reload %d failed: %s" % (version, r.stdout))
                continue
            versions += 1
            got = in_ns(CLIENT, [sys.executable, ME, "ask", V4, "v.ver.test",
                                 "20"]).stdout.split()
            bad = [g for g in got if g != str(version)]
            if bad or len(got) != 20:
                stale.append("after reload %d: %s" % (version, got))
            time.sleep(0.3)
    finally:
        out = perf.communicate(timeout=60)[0]
    after = stats(popdnsctl, sock)
    check(versions == 12 and not stale,
          "reload under load: after each of %d reloads returned, every answer "
          "came from the new version%s"
          % (versions, "".join("\n    " + s for s in stale[:4])))
    sent = re.search(r"Queries sent:\s+(\d+)", out)
    answered = delta(before, after, "xdp.answered")
    check(sent and int(sent.group(1)) > 50000 and
          answered > int(sent.group(1)) * 0.9,
          "reload under load: dnsperf's queries were answered in the driver "
          "meanwhile (%s sent, xdp.answered +%d)"
          % (sent and sent.group(1), answered))


def run_native(build, src):
    popdns = os.path.join(build, "control", "popdns")
    popdnsctl = os.path.join(build, "control", "popdnsctl")
    served = {}
    ver_holder = {}

    def more_zones(tmp):
        ver = os.path.join(tmp, "ver.test.zone")
        write_version_zone(ver, 1)
        ver_holder["zone"] = ver
        return zones_yaml(served.setdefault("corpus", corpus_zones(tmp, src)) +
                          [("ver.test.", ver)])

    tmp, zone, sock, conf = dataplane_config(
        src, "popdns-xdp-hot-", dataplane_yaml(POP_IF, hot_yaml(True, 0)),
        more_zones=more_zones)
    log = open(os.path.join(tmp, "popdns.log"), "w+")
    proc = None
    try:
        proc = start_hot(build, "native", popdns, conf, log, popdnsctl, sock)
        if proc is None:
            return
        s = stats(popdnsctl, sock)
        check(s.get("xdp.hot.installed", 0) > 500,
              "[native] every_name fills the map (%d entries)"
              % s.get("xdp.hot.installed", 0))
        check_driver_answers(popdnsctl, sock, "[native]")
        # A signed zone's DO=1 query is the worker's (RFC 4035 3.2.1).
        before = stats(popdnsctl, sock)
        in_ns(CLIENT, ["dig", "+dnssec", "+nocookie", "+time=2", "+tries=1",
                       "@" + V4, "signed.test", "NS"])
        after = stats(popdnsctl, sock)
        check(delta(before, after, "xdp.redirect_edns") >= 1 and
              delta(before, after, "dpdk.p0.q0.answered") >= 1,
              "[native] DO=1 for a signed zone goes to the AF_XDP worker (%s)"
              % {k: delta(before, after, k) for k in after
                 if delta(before, after, k) and
                 k.startswith(("xdp.", "dpdk.p0.q0.answered"))})
        ref = start_reference(popdns, POP, tmp, "", zone, served["corpus"] +
                              [("ver.test.", ver_holder["zone"])])
        try:
            before = stats(popdnsctl, sock)
            check_corpus(CLIENT, V4, POP, "127.0.0.1", 5399,
                         "[native] the XDP path with every name hot", tmp)
            after = stats(popdnsctl, sock)
            check(delta(before, after, "xdp.answered") > 50,
                  "[native] the corpus was partly answered in the driver "
                  "(xdp.answered +%d, redirected +%d: %s)"
                  % (delta(before, after, "xdp.answered"),
                     delta(before, after, "xdp.redirect"),
                     {k: delta(before, after, k) for k in after
                      if k.startswith("xdp.redirect_") and
                      delta(before, after, k)}))
        finally:
            stop_reference(ref)
        reload_under_load(popdnsctl, sock, ver_holder["zone"], tmp)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)

        # Sampling alone: a name becomes hot because it is asked.
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace(hot_yaml(True, 0), hot_yaml(False, 1, False)))
        proc = start(popdns, conf, log)
        check(proc.poll() is None, "[native] popdns starts with sampling")
        warm_up(popdnsctl, sock)
        for _ in range(3):
            in_ns(CLIENT, [sys.executable, ME, "ask", V4, "v.ver.test", "30"])
            time.sleep(0.5)
        before = stats(popdnsctl, sock)
        got = in_ns(CLIENT, [sys.executable, ME, "ask", V4, "v.ver.test",
                             "10"]).stdout.split()
        after = stats(popdnsctl, sock)
        check(after.get("xdp.hot.installed", 0) >= 1 and
              delta(before, after, "xdp.answered") == 10 and
              delta(before, after, "dpdk.p0.q0.rx") == 0 and
              got == ["13"] * 10,
              "[native] a name the workers sample becomes hot and is then "
              "answered in the driver (installed %d, xdp.answered +%d, "
              "worker rx +%d, answers %s)"
              % (after.get("xdp.hot.installed", 0),
                 delta(before, after, "xdp.answered"),
                 delta(before, after, "dpdk.p0.q0.rx"), got))
    finally:
        finish(proc, log, tmp)


def run_generic(build, src):
    popdns = os.path.join(build, "control", "popdns")
    popdnsctl = os.path.join(build, "control", "popdnsctl")
    tmp, zone, sock, conf = dataplane_config(
        src, "popdns-xdp-hot-", dataplane_yaml(MACVLAN_IF, hot_yaml(True, 0)),
        top="rrl: {rate: %d, slip: 2}\n" % RRL_RATE)
    log = open(os.path.join(tmp, "popdns.log"), "w+")
    proc = None
    try:
        proc = start_hot(build, "generic", popdns, conf, log, popdnsctl, sock)
        if proc is None:
            return
        check_driver_answers(popdnsctl, sock, "[generic]")
        check_rrl_in_driver(popdnsctl, sock)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)

        # log_only: the driver counts what it would limit and answers it.
        plain = "rrl: {rate: %d, slip: 2}" % RRL_RATE
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace(plain, "rrl: {rate: %d, slip: 2, log_only: "
                                 "true}" % RRL_RATE))
        proc = start(popdns, conf, log)
        check(proc.poll() is None, "[generic] popdns starts with log_only")
        warm_up(popdnsctl, sock)
        check_rrl_log_only_in_driver(popdnsctl, sock)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)

        # A whitelist longer than the driver's map (XDP_DNS_RRL_WHITELIST_MAX,
        # 1,024) is the worker's RRL's alone: over the rate, hot answers are
        # handed over to the worker.
        others = ", ".join('"10.%d.%d.0/24"' % (i // 256, i % 256)
                           for i in range(1025))
        with open(conf, "w") as f:
            f.write(text.replace(plain, "rrl: {rate: %d, slip: 2, log_only: "
                                 "true, whitelist: [%s]}" % (RRL_RATE, others)))
        proc = start(popdns, conf, log)
        check(proc.poll() is None,
              "[generic] popdns starts with a whitelist of 1,025 prefixes")
        warm_up(popdnsctl, sock)
        check_rrl_in_worker(popdnsctl, sock)
    finally:
        finish(proc, log, tmp)


def flood_hot(popdnsctl, sock):
    """60 queries for one hot name at once from the client: the full
    answers and the slips it got, and the stats' delta as a function."""
    before = stats(popdnsctl, sock)
    got = in_ns(CLIENT, [sys.executable, ME, "flood", V4, "www.example.test",
                         "60"]).stdout.split()
    after = stats(popdnsctl, sock)
    full, tc = (int(got[0]), int(got[1])) if len(got) == 2 else (-1, -1)
    return full, tc, lambda key: delta(before, after, key)


def check_rrl_in_driver(popdnsctl, sock):
    """Under `rrl:` (RRL_RATE a second, slip 2, no log_only, no whitelist)
    the XDP program limits hot answers itself: a client asking one hot
    answer faster than the rate gets that many answers from the driver, and
    of the rest every second query a slip (TC=1, as the worker's RRL would
    send it), the others nothing; none of it reaches the AF_XDP worker.
    The driver's slips and drops count in rrl.xdp.* with the worker's."""
    full, tc, d = flood_hot(popdnsctl, sock)
    answered, slipped, dropped = (d("xdp.answered"), d("xdp.rrl_slipped"),
                                  d("xdp.rrl_dropped"))
    limited, rx = d("rrl.xdp.limited"), d("dpdk.p0.q0.rx")
    check(1 <= answered <= 2 * RRL_RATE and answered + slipped + dropped == 60
          and abs(slipped - dropped) <= 1 and limited == slipped + dropped and
          d("rrl.xdp.slipped") == slipped and
          rx == 0 and full == answered and slipped - 2 <= tc <= slipped,
          "[generic] rrl in the driver: the rate answered, the rest slipped "
          "or dropped in the driver (xdp.answered +%d, xdp.rrl_slipped +%d, "
          "xdp.rrl_dropped +%d, rrl.xdp.limited +%d, worker rx +%d; the "
          "client got %d full answers and %d slips of 60)"
          % (answered, slipped, dropped, limited, rx, full, tc))


def check_rrl_log_only_in_driver(popdnsctl, sock):
    """Under `rrl:` with log_only (RRL_RATE a second) the driver answers
    every query of a client asking one hot answer faster than the rate,
    and counts those over it as the worker's log_only would
    (xdp.rrl_logged, in rrl.xdp.limited); none reaches the worker."""
    full, tc, d = flood_hot(popdnsctl, sock)
    answered, logged = d("xdp.answered"), d("xdp.rrl_logged")
    limited, rx = d("rrl.xdp.limited"), d("dpdk.p0.q0.rx")
    check(answered == 60 and 60 - 2 * RRL_RATE <= logged <= 59 and
          limited == logged and rx == 0 and full == 60 and tc == 0 and
          d("rrl.xdp.dropped") == 0 and d("rrl.xdp.slipped") == 0,
          "[generic] rrl log_only in the driver: all answered there, those "
          "over the rate counted (xdp.answered +%d, xdp.rrl_logged +%d, "
          "rrl.xdp.limited +%d, worker rx +%d; the client got %d full "
          "answers and %d slips of 60)"
          % (answered, logged, limited, rx, full, tc))


def check_rrl_in_worker(popdnsctl, sock):
    """Under `rrl:` with log_only and a whitelist the driver cannot hold
    (RRL_RATE a second) a client asking one hot answer faster than the
    rate gets that many from the driver; the rest goes to the AF_XDP
    worker, whose RRL counts it as limited and sends it all the same. The query that goes over the rate tells the
    worker what the driver answered (XDP metadata), so the worker's bucket
    starts empty and counts every query it gets as over the rate (without
    that hand-over its fresh bucket took a second's worth, RRL_RATE
    queries, as within it)."""
    full, tc, d = flood_hot(popdnsctl, sock)
    answered, diverted = d("xdp.answered"), d("xdp.redirect_rrl")
    limited = d("rrl.xdp.limited")
    check(1 <= answered <= 2 * RRL_RATE and diverted >= 60 - 2 * RRL_RATE and
          answered + diverted == 60 and diverted - 2 <= limited <= diverted
          and full == 60 and tc == 0 and d("rrl.xdp.dropped") == 0,
          "[generic] rrl in the worker: the driver answers up to the rate, the "
          "worker's RRL counts the rest as limited and answers it "
          "(xdp.answered +%d, xdp.redirect_rrl +%d, rrl.xdp.limited +%d; the "
          "client got %d full answers and %d slips of 60)"
          % (answered, diverted, limited, full, tc))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "ask":
        ask_txt(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    if len(sys.argv) == 5 and sys.argv[1] == "flood":
        flood_a(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    require("xdp_hot_test", "network namespaces, XDP, AF_XDP")
    src = os.path.dirname(os.path.dirname(os.path.dirname(ME)))
    run_native(sys.argv[1], src)
    run_generic(sys.argv[1], src)
    sys.exit(summary())
