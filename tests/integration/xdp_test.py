#!/usr/bin/env python3
"""Integration test of the XDP fallback: popdns's worker loop over DPDK
net_af_xdp on a veth interface the kernel keeps, with bpf/xdp_dns.bpf.o
steering UDP/53 for the service addresses to AF_XDP and passing everything
else (ARP, ND, ICMP, TCP) to the kernel.

Namespaces: popdns-x-pop (veth xpop0, 198.18.1.1/24, fd00:54::1/64, popdns)
and popdns-x-client (veth xcli0, .2). Checks dig/kdig over IPv4 and IPv6
(answered by the worker: the XDP redirect and dataplane counters move),
NOTIFY, AXFR and a TSIG-signed query passed by the program to the kernel
sockets (pass_slow_path) and answered there, TCP and TC->TCP through the
kernel (RFC 7766), ping, a 10 s dnsperf run
without loss, detach on exit, and a start after a crash (SIGKILL) replacing
the stale program, that start with `idle: wait` (the worker waits in poll()
on its AF_XDP socket: few wake-ups without traffic, healthy, answers). The veth runs the program in native XDP mode (DPDK
22.11's net_af_xdp attaches in the mode the driver offers).
Usage: xdp_test.py BUILD_DIR   (root; CI fails if a capability is missing,
elsewhere the test is skipped with exit code 77)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import (ask, check, check_slow_path_answers,  # noqa: E402
                    dataplane_config, check_idle_wakeups, kdig_nsid, require,
                    in_ns,
                    popdnsctl_stats, run, slow_path_queries, summary,
                    append_variants, check_variants, variant_networks)
from endpoint_health import (Endpoint, append_health_variants,  # noqa: E402
                             check_endpoint_health)
from corpus_paths import (check_corpus, corpus_zones,  # noqa: E402
                          start_reference, stop_reference, zones_yaml)

POP, CLIENT = "popdns-x-pop", "popdns-x-client"
POP_IF, CLIENT_IF = "xpop0", "xcli0"
MACVLAN_IF = "xmv0"
V4, V6 = "198.18.1.1", "fd00:54::1"
# In POP, a namespace of this test's own: any port is free there.
HEALTH_PORT, MGMT_PORT = 8098, 8053
# Answer settings of the dataplane's popdns and of its kernel-socket
# reference.
TOP = 'nsid: 0x706f702d786470\n' + variant_networks("198.18.1.0/24",
                                                      "fd00:54::/64")


def setup(mode):
    """native: popdns on the veth itself (veth has native XDP). generic:
    popdns on a macvlan on top of the veth; macvlan has no native XDP, so
    the kernel runs the program in generic (skb) mode."""
    teardown()
    for ns in (POP, CLIENT):
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "link", "add", POP_IF, "type", "veth", "peer", "name", CLIENT_IF])
    run(["ip", "link", "set", POP_IF, "netns", POP])
    run(["ip", "link", "set", CLIENT_IF, "netns", CLIENT])
    serve_if = POP_IF
    if mode == "generic":
        serve_if = MACVLAN_IF
        run(["ip", "-n", POP, "link", "add", MACVLAN_IF, "link", POP_IF,
             "type", "macvlan", "mode", "bridge"])
        run(["ip", "-n", POP, "link", "set", MACVLAN_IF, "up"])
        # The lower veth must not take the service traffic itself: the
        # kernel would accept a query sent to its MAC (the addresses are
        # the host's) and answer it on a socket, past the macvlan's XDP
        # program. No IPv6 and no ARP answers for others' addresses there.
        in_ns(POP, ["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % POP_IF])
        in_ns(POP, ["sysctl", "-qw", "net.ipv4.conf.%s.arp_ignore=1" % POP_IF])
    run(["ip", "-n", POP, "addr", "add", V4 + "/24", "dev", serve_if])
    run(["ip", "-n", POP, "addr", "add", V6 + "/64", "dev", serve_if, "nodad"])
    run(["ip", "-n", CLIENT, "addr", "add", "198.18.1.2/24", "dev", CLIENT_IF])
    run(["ip", "-n", CLIENT, "addr", "add", "fd00:54::2/64", "dev", CLIENT_IF,
         "nodad"])
    # A veth sender leaves UDP checksums partial (offload); over AF_XDP the
    # worker sees them as they are and would count them as malformed. A
    # real NIC delivers complete checksums.
    in_ns(CLIENT, ["ethtool", "-K", CLIENT_IF, "tx", "off"])
    run(["ip", "-n", POP, "link", "set", POP_IF, "up"])
    run(["ip", "-n", CLIENT, "link", "set", CLIENT_IF, "up"])


def teardown():
    run(["ip", "netns", "del", CLIENT])
    run(["ip", "netns", "del", POP])


def start(popdns, conf, log):
    log.flush()
    seen = open(log.name).read().count("popdns: serving")
    p = subprocess.Popen(["ip", "netns", "exec", POP, popdns, "--config", conf],
                         stdout=log, stderr=subprocess.STDOUT)
    for _ in range(150):
        log.flush()
        if open(log.name).read().count("popdns: serving") > seen:
            return p
        if p.poll() is not None:
            return p
        time.sleep(0.1)
    return p


def xdp_attached(ifname):
    return "xdp" in run(["ip", "-n", POP, "link", "show", ifname]).stdout


def xdp_mode_of(ifname):
    out = run(["ip", "-n", POP, "link", "show", ifname]).stdout
    return "generic" if "xdpgeneric" in out else "native" if "xdp" in out else ""


def main(build, mode):
    serve_if = MACVLAN_IF if mode == "generic" else POP_IF
    popdns = os.path.join(build, "control", "popdns")
    popdnsctl = os.path.join(build, "control", "popdnsctl")
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    endpoint = Endpoint(POP, port=HEALTH_PORT)
    served = {}  # the corpus's zones, signed once for both servers
    tmp, zone, sock, conf = dataplane_config(src, "popdns-xdp-", f"""\
  xdp:
    interface: {serve_if}
    queues: 1
  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "popdns-x", "--log-level", "*:error"]
  service_addresses: ["{V4}/24", "{V6}/64"]
""", top=TOP + endpoint.config(MGMT_PORT),
        more_zones=lambda tmp: zones_yaml(served.setdefault(
            "corpus", corpus_zones(tmp, src))))
    append_variants(zone)
    append_health_variants(zone)
    log = open(os.path.join(tmp, "popdns.log"), "w+")
    proc = None
    try:
        setup(mode)
        proc = start(popdns, conf, log)
        up = proc.poll() is None
        check(up, "[%s] popdns starts in XDP mode" % mode)
        if not up:
            return
        check(xdp_mode_of(serve_if) == mode,
              "[%s] the XDP program is attached to %s in %s mode (ip link: %s)"
              % (mode, serve_if, mode, xdp_mode_of(serve_if)))
        # Neighbour resolution first (ARP/ND pass to the kernel), so the
        # queries below go straight to the service.
        in_ns(CLIENT, ["ping", "-c", "1", "-W", "2", V4])
        in_ns(CLIENT, ["ping", "-6", "-c", "1", "-W", "2", V6])
        # And until the worker has answered once over each family, so that
        # the counted queries below do not race the AF_XDP socket set-up.
        for addr in (V4, V6):
            for _ in range(10):
                seen = popdnsctl_stats(POP, popdnsctl, sock).get(
                    "dpdk.p0.q0.answered", 0)
                in_ns(CLIENT, ["dig", "+short", "+time=1", "+tries=1",
                               "@" + addr, "mail.example.test"])
                if popdnsctl_stats(POP, popdnsctl, sock).get(
                        "dpdk.p0.q0.answered", 0) > seen:
                    break
        before = popdnsctl_stats(POP, popdnsctl, sock)
        r4 = in_ns(CLIENT, ["dig", "+short", "+time=2", "+tries=1", "@" + V4,
                            "www.example.test"])
        r6 = in_ns(CLIENT, ["kdig", "+short", "+time=2", "+retry=0", "@" + V6,
                            "www.example.test", "AAAA"])
        after = popdnsctl_stats(POP, popdnsctl, sock)
        check("192.0.2.3" in r4.stdout, "dig over IPv4 is answered")
        check(r6.returncode == 0 and "status" not in r6.stdout,
              "kdig over IPv6 is answered (NODATA for AAAA)")
        print("xdp deltas:", {k: after[k] - before.get(k, 0) for k in after
                              if after[k] != before.get(k, 0)})
        red = after.get("xdp.redirect", 0) - before.get("xdp.redirect", 0)
        ans = after.get("dpdk.p0.q0.answered", 0) - before.get("dpdk.p0.q0.answered", 0)
        check(red >= 2 and ans >= 2,
              "[%s] answered by the AF_XDP worker (redirected %d, answered %d)"
              % (mode, red, ans))
        if red < 2 or ans < 2:
            print(in_ns(CLIENT, ["ip", "neigh"]).stdout)
            print(in_ns(POP, ["ip", "-br", "link"]).stdout)
        # Messages for the control side: the program passes them to the
        # kernel (pass_slow_path), whose sockets answer them; the worker
        # never sees them.
        slow = slow_path_queries()
        for host in (V4, V6):
            fam = "%s %s" % (mode, "IPv6" if ":" in host else "IPv4")
            before = popdnsctl_stats(POP, popdnsctl, sock)
            out = ask(CLIENT, host, 53, [q for _, q, _ in slow])
            after = popdnsctl_stats(POP, popdnsctl, sock)
            check_slow_path_answers(slow, out, fam)
            d = {k: after[k] - before.get(k, 0) for k in after}
            check(d.get("xdp.pass_slow_path", 0) == len(slow) and
                  d.get("dpdk.p0.q0.rx", 0) == 0 and
                  d.get("queries.udp", 0) >= len(slow),
                  "[%s] passed to the kernel sockets, not the worker: "
                  "xdp.pass_slow_path +%d, worker rx +%d, kernel UDP +%d"
                  % (fam, d.get("xdp.pass_slow_path", 0),
                     d.get("dpdk.p0.q0.rx", 0), d.get("queries.udp", 0)))
        r = in_ns(CLIENT, ["dig", "+tcp", "+short", "@" + V4, "example.test", "MX"])
        check("mail.example.test" in r.stdout, "dig +tcp is answered by the kernel path")
        # NSID (RFC 5001), configured in hex ("pop-xdp"): the AF_XDP worker
        # answers UDP with it, the kernel sockets TCP; nobody unasked.
        before = popdnsctl_stats(POP, popdnsctl, sock)
        nsid = {}
        for host in (V4, V6):
            for proto in ("+notcp", "+tcp"):
                for flag in ("+nsid", "+nonsid"):
                    r = in_ns(CLIENT, ["kdig", proto, flag, "+time=2",
                                       "+retry=0", "@" + host,
                                       "www.example.test"])
                    nsid[host + proto + flag] = kdig_nsid(r.stdout)
        answered = popdnsctl_stats(POP, popdnsctl, sock).get(
            "dpdk.p0.q0.answered", 0) - before.get("dpdk.p0.q0.answered", 0)
        want = {h + p + f: ("pop-xdp" if f == "+nsid" else None)
                for h in (V4, V6) for p in ("+notcp", "+tcp")
                for f in ("+nsid", "+nonsid")}
        check(nsid == want and answered >= 4,
              "[%s] NSID only when asked, from the AF_XDP worker (UDP, %d "
              "answered) and the kernel sockets (TCP): %s"
              % (mode, answered, nsid))
        check_variants(CLIENT, V4, V6, "[%s] the AF_XDP worker" % mode, 6)
        # The conformance corpus on the AF_XDP worker (UDP) and the kernel
        # (TCP) against the kernel sockets of a reference popdns.
        ref = start_reference(popdns, POP, tmp, TOP, zone, served["corpus"])
        try:
            check_corpus(CLIENT, V4, POP, "127.0.0.1", 5399,
                         "[%s] the AF_XDP worker" % mode, tmp)
        finally:
            stop_reference(ref)
        check_endpoint_health(
            CLIENT, V4, endpoint, MGMT_PORT,
            lambda: in_ns(POP, [popdnsctl, "--socket", sock,
                                "endpoints"]).stdout,
            "[%s] the AF_XDP worker" % mode)
        r = in_ns(CLIENT, ["kdig", "+noedns", "@" + V4, "big.example.test", "TXT"])
        check(r.stdout.count("TXT\t") >= 6 and "TCP" in r.stdout,
              "kdig retries a TC=1 answer over TCP")
        r = in_ns(CLIENT, ["ping", "-c", "2", "-W", "2", V4])
        check(r.returncode == 0, "ping (ICMP passes to the kernel)")
        r = in_ns(CLIENT, ["ping", "-6", "-c", "2", "-W", "2", V6])
        check(r.returncode == 0, "ping6 (ND and ICMPv6 pass to the kernel)")

        qfile = os.path.join(tmp, "q.txt")
        with open(qfile, "w") as f:
            for n in ("www", "mail", "nope", "x.wild", "alias"):
                f.write("%s.example.test A\n" % n)
        out = in_ns(CLIENT, ["dnsperf", "-s", V4, "-d", qfile, "-l", "10",
                             "-Q", "2000"], timeout=60).stdout
        print(out)
        sent = re.search(r"Queries sent:\s+(\d+)", out)
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        check(sent and int(sent.group(1)) > 10000 and lost and lost.group(1) == "0",
              "[%s] dnsperf 10 s at 2000 qps over XDP: nothing lost (%s sent, %s lost)"
              % (mode, sent and sent.group(1), lost and lost.group(1)))

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
        check(rc == 0, "SIGTERM stops popdns (exit %s)" % rc)
        check(not xdp_attached(serve_if), "the XDP program is detached on exit")

        # A crash leaves the program attached; the next start replaces it.
        proc = start(popdns, conf, log)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check(xdp_attached(serve_if), "after SIGKILL the program is still attached")
        # Started again with `idle: wait`, whose worker waits in poll() on
        # its AF_XDP socket when nothing comes.
        wait_conf = conf + ".wait.yaml"
        text = open(conf).read()
        with open(wait_conf, "w") as f:
            f.write(text.replace("\ndataplane:\n", "\ndataplane:\n  idle: wait\n", 1))
        proc = start(popdns, wait_conf, log)
        r = in_ns(CLIENT, ["dig", "+short", "+time=2", "+tries=2", "@" + V4,
                           "www.example.test"])
        check(proc.poll() is None and "192.0.2.3" in r.stdout,
              "a start after a crash replaces the stale program and answers")
        check_idle_wait(proc.pid, popdnsctl, sock, mode)
    finally:
        endpoint.stop()
        finish(proc, log, tmp)


def check_idle_wait(pid, popdnsctl, sock, mode):
    """`dataplane.idle: wait`: the worker wakes for its heartbeat only
    (checks.check_idle_wakeups); it stays healthy, and the first query
    after a quiet spell is answered."""
    check_idle_wakeups(pid, "[%s] " % mode)
    health = in_ns(POP, [popdnsctl, "--socket", sock, "health"]).stdout
    r = in_ns(CLIENT, ["dig", "+short", "+time=2", "+tries=1", "@" + V4,
                       "www.example.test"])
    check("has not polled" not in health and "192.0.2.3" in r.stdout,
          "[%s] idle: wait: healthy (%s) and the first query after 3 quiet "
          "seconds is answered (%r)" % (mode, health.strip().splitlines()[:1],
                                        r.stdout.strip()))


def finish(proc, log, tmp):
    """Stops popdns (SIGTERM, then SIGKILL), removes the namespaces and the
    temp dir; prints the end of popdns's log if a check failed."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.seek(0)
    text = log.read()
    teardown()
    shutil.rmtree(tmp, ignore_errors=True)
    from checks import failures
    if failures:
        print("--- popdns log ---\n" + text[-4000:])


if __name__ == "__main__":
    require("xdp_test", "network namespaces, XDP, AF_XDP")
    for mode in ("native", "generic"):
        main(sys.argv[1], mode)
    sys.exit(summary())
