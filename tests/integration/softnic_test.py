#!/usr/bin/env python3
"""Integration test of the DPDK dataplane on a software NIC (net_tap).

Topology of DESIGN.md, made by scripts/softnic.sh: popdns in namespace
POP, its wire interface moved into namespace CLIENT, the exception
interface (service addresses) left in POP; EAL without hugepages or files
(--no-huge --in-memory). Checks:
  - dig/kdig over IPv4 and IPv6 get byte-identical DNS payloads from the
    dataplane and from a kernel-socket popdns serving the same zone;
  - ping, ARP and ND cross the exception path; dig +tcp works (RFC 7766);
    a TC=1 answer is retried by kdig over TCP (RFC 2181 9, RFC 7766 5);
  - malformed and non-DNS frames never crash the workers and land in the
    right counters;
  - NOTIFY, AXFR and a TSIG-signed query to the service address are left
    by the worker to the control side: they cross the exception path to
    the kernel-socket server, which answers them (counters slow_path and
    to_kernel);
  - a 10 s dnsperf run loses nothing while the zone is reloaded, answers
    switch serial, and rx = answered + malformed + to_kernel + engine_drop.
Usage: softnic_test.py BUILD_DIR SOURCE_DIR      (root; in CI a missing
capability is a failure, elsewhere the test is skipped with exit code 77)
Helper mode (run inside a namespace): softnic_test.py ask HOST PORT HEX...
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import (ask, check, check_slow_path_answers,  # noqa: E402
                    dataplane_config, free_port, check_idle_wakeups,
                    dns_query, require, failures, in_ns,
                    kdig_nsid, append_variants, check_variants,
                    popdnsctl_stats, run, slow_path_queries, summary,
                    variant_networks)
from endpoint_health import (Endpoint, append_health_variants,  # noqa: E402
                             check_endpoint_health)
from corpus_paths import (check_corpus, corpus_zones,  # noqa: E402
                          start_reference, stop_reference, zones_yaml)

POP, CLIENT = "popdns-t-pop", "popdns-t-client"
# In POP, a namespace of this test's own: any port is free there.
HEALTH_PORT, MGMT_PORT = 8098, 8053
# Answer settings of the dataplane's popdns and of its kernel-socket
# reference.
TOP = 'nsid: "pop-softnic"\n' + variant_networks("198.18.0.0/24",
                                                  "fd00:53::/64")
WIRE_IF, EXC_IF = "ptwire0", "ptexc0"
V4, V6 = "198.18.0.1", "fd00:53::1"

def ask_main(argv):
    """Helper mode: send each hex query over UDP, print hex responses."""
    host, port = argv[0], int(argv[1])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    for q in argv[2:]:
        s.sendto(bytes.fromhex(q), (host, port))
        try:
            print(s.recv(65535).hex())
        except socket.timeout:
            print("timeout")
    return 0


def query(name, qtype, qid, edns=True):
    return dns_query(name, qtype, qid, edns=edns)


def stats(sock):
    """Dataplane counters summed over the queues."""
    tot = {}
    for k, v in popdnsctl_stats(POP, POPDNSCTL, sock).items():
        m = re.match(r"dpdk\.p\d+\.q\d+\.(.*)", k)
        if m:
            tot[m.group(1)] = tot.get(m.group(1), 0) + v
    return tot


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frames(dst_mac, src_mac):
    """Crafted frames: (label, bytes, expected counter)."""
    src, dst = socket.inet_aton("198.18.0.2"), socket.inet_aton(V4)
    payload = bytes.fromhex(query("www.example.test", 1, 7, edns=False))

    def ipv4(udp, ihl_opts=b"", frag=0, total_delta=0, bad_csum=False):
        ihl = 5 + len(ihl_opts) // 4
        total = 4 * ihl + len(udp) + total_delta
        h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64,
                        17, 0, src, dst) + ihl_opts
        c = checksum(h) ^ (1 if bad_csum else 0)
        h = h[:10] + struct.pack("!H", c) + h[12:]
        return dst_mac + src_mac + b"\x08\x00" + h + udp

    def udp(data, length_delta=0, bad=False):
        length = 8 + len(data)
        u = struct.pack("!HHHH", 40000, 53, length + length_delta, 0) + data
        pseudo = src + dst + struct.pack("!BBH", 0, 17, length)
        c = checksum(pseudo + u) or 0xFFFF
        if bad:
            c ^= 0x0101
        return u[:6] + struct.pack("!H", c) + u[8:]

    v6src = socket.inet_pton(socket.AF_INET6, "fd00:53::2")
    v6dst = socket.inet_pton(socket.AF_INET6, V6)
    hop = b"\x11\x00" + b"\x01\x04\x00\x00\x00\x00"  # next=UDP, PadN
    u6 = struct.pack("!HHHH", 40000, 53, 8 + len(payload), 0) + payload
    ext = (dst_mac + src_mac + b"\x86\xdd" +
           struct.pack("!IHBB", 0x60000000, len(hop) + len(u6), 0, 64) +
           v6src + v6dst + hop + u6)
    good = udp(payload)
    return [
        ("udp length disagrees", ipv4(udp(payload, length_delta=4)), "malformed"),
        ("bad udp checksum", ipv4(udp(payload, bad=True)), "malformed"),
        ("bad ipv4 checksum", ipv4(good, bad_csum=True), "malformed"),
        ("ip length past frame", ipv4(good, total_delta=40), "malformed"),
        ("truncated udp header", ipv4(good[:4]), "malformed"),
        ("ipv4 options", ipv4(good, ihl_opts=b"\x01\x01\x01\x00"), "to_kernel"),
        ("ipv4 fragment (MF)", ipv4(good, frag=0x2000), "to_kernel"),
        ("ipv6 hop-by-hop", ext, "to_kernel"),
        ("unknown ethertype", dst_mac + src_mac + b"\x88\xb5" + bytes(46),
         "to_kernel"),
    ]


def inject(frame_list):
    """Sends raw frames on the wire interface from the client namespace."""
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
            "s.bind((sys.argv[1],0))\n"
            "for h in sys.argv[2:]: s.send(bytes.fromhex(h))\n")
    return in_ns(CLIENT, [sys.executable, "-c", code, WIRE_IF] +
                 [f.hex() for f in frame_list])


def check_wait_refused(popdns, src):
    """`idle: wait` on a port whose driver gives no descriptor to wait on
    (net_null here; a PCI NIC's interrupts likewise) is refused at start,
    with the reason, instead of a worker that would sleep through its
    frames."""
    tmp, _, _, conf = dataplane_config(src, "popdns-nullwait-", """\
  eal: ["--no-huge", "--in-memory", "-m", "128", "--no-pci", "-l", "0-1",
        "--vdev", "net_null0", "--log-level", "*:error"]
  wire_port: net_null0
  idle: wait
  service_addresses: ["198.18.9.1/24"]
""", top='listen: ["127.0.0.1:%d"]\n' % free_port())
    try:
        r = run([popdns, "--config", conf], timeout=60)
        check(r.returncode != 0 and "idle: wait: a net_null port cannot wait"
              in r.stderr,
              "idle: wait on a net_null port is refused at start (exit %d, %r)"
              % (r.returncode, r.stderr.strip()[-200:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(build, src):
    global POPDNSCTL
    popdns = os.path.join(build, "control", "popdns")
    POPDNSCTL = os.path.join(build, "control", "popdnsctl")
    endpoint = Endpoint(POP, port=HEALTH_PORT)
    served = {}  # the corpus's zones, signed once for both servers
    tmp, zone, sock, conf = dataplane_config(src, "popdns-softnic-", f"""\
  eal: ["--no-huge", "--in-memory", "-m", "256", "--no-pci", "-l", "0-1",
        "--vdev", "net_tap0,iface={WIRE_IF}", "--vdev", "net_tap1,iface={EXC_IF}",
        "--log-level", "*:error"]
  wire_port: net_tap0
  exception_port: net_tap1
  exception_interface: {EXC_IF}
  idle: wait
  service_addresses: ["{V4}/24", "{V6}/64"]
""", top=TOP + endpoint.config(MGMT_PORT),
        more_zones=lambda tmp: zones_yaml(served.setdefault(
            "corpus", corpus_zones(tmp, src))))
    # App-aware answers (issue 16): not among the names compared with the
    # reference.
    append_variants(zone)
    append_health_variants(zone)
    env = dict(os.environ, POP=POP, CLIENT=CLIENT, WIRE_IF=WIRE_IF,
               EXC_IF=EXC_IF, STATE=os.path.join(tmp, "state"), POPDNS=popdns)
    softnic = os.path.join(src, "scripts", "softnic.sh")
    ref = None
    try:
        up = run(["bash", softnic, "up", conf], env=env, timeout=60)
        print(up.stdout + up.stderr)
        check(up.returncode == 0, "softnic.sh up brings the dataplane up")
        if up.returncode != 0:
            return
        # EAL runs --no-huge here: the mbufs go on memory advised for
        # transparent huge pages, not on EAL's memfd of 4 KiB pages.
        with open(os.path.join(tmp, "state", "popdns.log")) as f:
            check("dataplane mbufs in memory advised for transparent huge "
                  "pages" in f.read(),
                  "the mbuf pool is on THP-advised memory (EAL --no-huge)")

        # idle: wait: the worker waits in poll() on its wire and exception
        # queues' tap descriptors; with nothing to do it wakes for its
        # heartbeat (at most every 100 ms), not thousands of times a
        # second as in idle: sleep. Every check below runs in this mode:
        # a frame on either port must wake it.
        with open(os.path.join(tmp, "state", "popdns.pid")) as f:
            check_idle_wakeups(int(f.read()))

        # Reference: the kernel-socket path of the same binary, zones and
        # answer settings.
        ref = start_reference(popdns, POP, tmp, TOP, zone, served["corpus"])
        cases = [("www.example.test", 1), ("www.example.test", 28),
                 ("nope.example.test", 1), ("foo.wild.example.test", 1),
                 ("alias.example.test", 1), ("a.child.example.test", 1),
                 ("example.test", 15), ("www.example.org", 1),
                 ("big.example.test", 16), ("example.test", 255)]
        qs = [query(n, t, 100 + i) for i, (n, t) in enumerate(cases)]
        here = os.path.abspath(__file__)
        ref_out = in_ns(POP, [sys.executable, here, "ask", "127.0.0.1", "5399"]
                        + qs).stdout.split()
        counted = stats(sock)
        for host in (V4, V6):
            dp_out = in_ns(CLIENT, [sys.executable, here, "ask", host, "53"]
                           + qs).stdout.split()
            check(len(dp_out) == len(qs) and dp_out == ref_out,
                  "dataplane over %s answers byte-for-byte like the kernel "
                  "sockets (%d queries)%s"
                  % ("IPv6" if ":" in host else "IPv4", len(qs),
                     "".join("\n    %s\n    %s" % (a, b) for a, b in
                             zip(dp_out, ref_out) if a != b)))
        # The workers count by query type and outcome as the kernel-socket
        # threads do (popdnsctl stats dpdk.pP.qQ.qtype.* / outcome.*, the
        # same counters as /metrics popdns_queries_by_qtype_total and
        # popdns_query_outcomes_total).
        now = stats(sock)
        delta = {k: now.get(k, 0) - counted.get(k, 0) for k in now}
        want = {"qtype.A": 12, "qtype.AAAA": 2, "qtype.MX": 2, "qtype.TXT": 2,
                "qtype.ANY": 2, "outcome.nxdomain": 2, "outcome.referral": 2,
                "outcome.refused": 2}
        got = {k: delta.get(k, 0) for k in want}
        check(got == want, "the workers count the %d queries by type and "
              "outcome (%s)" % (2 * len(qs), got))

        r = in_ns(CLIENT, ["ping", "-c", "2", "-W", "2", V4])
        check(r.returncode == 0, "ping to the service address (ARP + ICMP via the kernel)")
        # A frame the kernel sends first (its ping to the client) reaches
        # the idle worker on the exception port: it must wake for that
        # queue too, not at its next heartbeat (up to 100 ms later).
        r = in_ns(POP, ["ping", "-c", "5", "-i", "0.3", "-W", "2",
                        "198.18.0.2"])
        m = re.search(r"= [\d.]+/[\d.]+/([\d.]+)/", r.stdout)
        check(m is not None and float(m.group(1)) < 50,
              "idle: wait: a frame from the kernel wakes the worker at once "
              "(the PoP's ping to the client, rtt max %s ms)"
              % (m and m.group(1)))
        r = in_ns(CLIENT, ["ping", "-6", "-c", "2", "-W", "2", V6])
        check(r.returncode == 0, "ping6 to the service address (ND + ICMPv6 via the kernel)")
        r = in_ns(CLIENT, ["dig", "+tcp", "+short", "@" + V4, "www.example.test"])
        check("192.0.2.3" in r.stdout, "dig +tcp through the exception path")
        r = in_ns(CLIENT, ["kdig", "+noedns", "@" + V4, "big.example.test", "TXT"])
        check(r.stdout.count("TXT\t") >= 6 and "TCP" in r.stdout,
              "kdig retries a TC=1 dataplane answer over TCP")
        # NSID (RFC 5001) from the config: the workers answer UDP with it,
        # the kernel sockets TCP, and neither sends it unasked.
        before = stats(sock)
        nsid = {}
        for proto in ("+notcp", "+tcp"):
            for nsid_flag in ("+nsid", "+nonsid"):
                r = in_ns(CLIENT, ["kdig", proto, nsid_flag, "+time=2",
                                   "+retry=0", "@" + V4, "www.example.test"])
                nsid[proto + nsid_flag] = kdig_nsid(r.stdout)
        answered = stats(sock).get("answered", 0) - before.get("answered", 0)
        check(nsid == {"+notcp+nsid": "pop-softnic", "+tcp+nsid": "pop-softnic",
                       "+notcp+nonsid": None, "+tcp+nonsid": None}
              and answered >= 2,
              "NSID only when asked, from the worker (UDP, %d answered) and "
              "the kernel sockets (TCP): %s" % (answered, nsid))

        # The conformance corpus on the worker (UDP) and through the
        # exception path (TCP) against the kernel sockets.
        check_corpus(CLIENT, V4, POP, "127.0.0.1", 5399, "the DPDK worker",
                     tmp)

        # App-aware answers on the worker (192.0.2.0 lies in ::/102 of
        # no network: scope 6).
        check_variants(CLIENT, V4, V6, "the DPDK worker", 6)
        check_endpoint_health(
            CLIENT, V4, endpoint, MGMT_PORT,
            lambda: in_ns(POP, [POPDNSCTL, "--socket", sock,
                                "endpoints"]).stdout,
            "the DPDK worker")

        # Malformed and non-DNS frames.
        exc_mac = in_ns(POP, ["cat", "/sys/class/net/%s/address" % EXC_IF]).stdout.strip()
        wire_mac = in_ns(CLIENT, ["cat", "/sys/class/net/%s/address" % WIRE_IF]).stdout.strip()
        fl = frames(bytes.fromhex(exc_mac.replace(":", "")),
                    bytes.fromhex(wire_mac.replace(":", "")))
        before = stats(sock)
        r = inject([f for _, f, _ in fl])
        check(r.returncode == 0, "raw frames injected (%s)" % r.stderr.strip())
        time.sleep(0.5)
        after = stats(sock)
        want_mal = sum(1 for *_, c in fl if c == "malformed")
        want_ker = sum(1 for *_, c in fl if c == "to_kernel")
        got_mal = after.get("malformed", 0) - before.get("malformed", 0)
        got_ker = after.get("to_kernel", 0) - before.get("to_kernel", 0)
        check(got_mal == want_mal,
              "malformed frames counted as malformed (%d of %d)" % (got_mal, want_mal))
        check(got_ker >= want_ker,
              "options/fragments/extension headers/runts go to the kernel (%d >= %d)"
              % (got_ker, want_ker))
        r = in_ns(CLIENT, ["dig", "+short", "@" + V4, "www.example.test"])
        check("192.0.2.3" in r.stdout, "dataplane still answers after bad input")

        # Messages for the control side cross the exception path: the
        # worker counts them as slow_path and to_kernel, the kernel-socket
        # server behind the exception interface answers them.
        slow = slow_path_queries()
        for host in (V4, V6):
            fam = "IPv6" if ":" in host else "IPv4"
            before = stats(sock)
            kbefore = popdnsctl_stats(POP, POPDNSCTL, sock)
            out = ask(CLIENT, host, 53, [q for _, q, _ in slow])
            time.sleep(0.3)
            after = stats(sock)
            kafter = popdnsctl_stats(POP, POPDNSCTL, sock)
            check_slow_path_answers(slow, out, fam)
            d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            check(d.get("slow_path", 0) == len(slow) and
                  d.get("to_kernel", 0) >= len(slow),
                  "the worker left them to the kernel over %s: slow_path +%d, "
                  "to_kernel +%d" % (fam, d.get("slow_path", 0),
                                     d.get("to_kernel", 0)))
            check(d.get("rx", 0) == d.get("answered", 0) + d.get("malformed", 0) +
                  d.get("to_kernel", 0) + d.get("engine_drop", 0),
                  "counters add up with slow-path frames (%s)" % d)
            got = kafter.get("queries.udp", 0) - kbefore.get("queries.udp", 0)
            check(got >= len(slow),
                  "the kernel-socket server received them over %s (%d)"
                  % (fam, got))

        # dnsperf for 10 s with reloads.
        qfile = os.path.join(tmp, "queries.txt")
        with open(qfile, "w") as f:
            for n in ("www", "mail", "ns1", "nope", "x.wild", "alias"):
                f.write("%s.example.test A\n" % n)
        before = stats(sock)
        perf = subprocess.Popen(
            ["ip", "netns", "exec", CLIENT, "dnsperf", "-s", V4, "-d", qfile,
             "-l", "10", "-Q", "2000", "-t", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        text = open(zone).read()
        serial = 2024010101
        reload_ok = True
        reload_errors = []
        for i in range(10):
            time.sleep(0.8)
            serial += 1
            with open(zone, "w") as f:
                f.write(text.replace("2024010101", str(serial)))
            rl = in_ns(POP, [POPDNSCTL, "--socket", sock, "reload"])
            if rl.returncode != 0:
                reload_ok = False
                reload_errors.append("exit %d: %s" % (rl.returncode,
                                                      rl.stdout + rl.stderr))
        out, _ = perf.communicate(timeout=60)
        after = stats(sock)
        print(out)
        m = re.search(r"Queries sent:\s+(\d+)", out)
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        check(reload_ok, "10 reloads during the load run succeed %s"
              % reload_errors)
        check(m and int(m.group(1)) > 10000 and lost and lost.group(1) == "0",
              "dnsperf 10 s at 2000 qps: no query lost (%s sent, %s lost)"
              % (m and m.group(1), lost and lost.group(1)))
        r = in_ns(CLIENT, ["dig", "+short", "@" + V4, "example.test", "SOA"])
        check(str(serial) in r.stdout, "answers switched to the last serial")
        d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        check(d.get("rx", 0) == d.get("answered", 0) + d.get("malformed", 0) +
              d.get("to_kernel", 0) + d.get("engine_drop", 0),
              "counters add up: rx = answered + malformed + to_kernel + "
              "engine_drop (%s)" % d)
        check(d.get("tx_drop", 0) == 0, "no TX drops")
        check_wait_refused(popdns, src)
    finally:
        endpoint.stop()
        stop_reference(ref)
        log = os.path.join(tmp, "state", "popdns.log")
        run(["bash", softnic, "down"], env=env)
        if failures and os.path.exists(log):
            print("--- popdns log ---\n" + open(log).read())
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "ask":
        sys.exit(ask_main(sys.argv[2:]))
    require("softnic_test", "network namespaces, net_tap", tun=True)
    main(sys.argv[1], sys.argv[2])
    sys.exit(summary())
