#!/usr/bin/env python3
"""Integration test of a DPDK dataplane with two wire ports (net_tap).

Two links, as a PoP with two uplinks: wire port 0 in namespace C0 (the
service prefixes are on its link), wire port 1 in namespace C1 on its own
link (198.18.1.0/24, fd00:54::/64) that routes to the service addresses via
port 1's link address, like a router next hop. Each wire port has its own
exception port. Two workers (on one CPU here), so each worker polls its
own queue of both ports and the exception ports are split between them.
Checks:
  - dig over IPv4 and IPv6 is answered on both ports, and each port's
    counters (dpdk.pP.qN.*) show its own answers;
  - ARP/ND for the next hop and ping to the service address cross port 1's
    exception path and come back on port 1; dig +tcp over port 1 works;
  - dnsperf on both ports at once for 5 s loses nothing, and each port's
    counters add up: rx = answered + malformed + to_kernel + engine_drop.
Usage: multiport_test.py BUILD_DIR SOURCE_DIR     (root; in CI a missing
capability is a failure, elsewhere the test is skipped with exit code 77)
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import (check, dataplane_config, require, failures, in_ns,  # noqa: E402
                    popdnsctl_stats, run, summary)

POP, C0, C1 = "popdns-m-pop", "popdns-m-c0", "popdns-m-c1"
WIRE = ["pmwire0", "pmwire1"]
EXC = ["pmexc0", "pmexc1"]
V4, V6 = "198.18.0.1", "fd00:53::1"
CLIENTS = [(C0, WIRE[0], "198.18.0.2/24", "fd00:53::2/64", None),
           (C1, WIRE[1], "198.18.1.2/24", "fd00:54::2/64",
            ("198.18.1.1", "fd00:54::1"))]


def port_stats(popdnsctl, sock):
    """{port: {counter: sum over queues}} from popdnsctl stats."""
    out = {}
    for k, v in popdnsctl_stats(POP, popdnsctl, sock).items():
        m = re.match(r"dpdk\.p(\d+)\.q\d+\.(.*)", k)
        if m:
            port = out.setdefault(int(m.group(1)), {})
            port[m.group(2)] = port.get(m.group(2), 0) + v
    return out


def delta(after, before, port, key):
    return after.get(port, {}).get(key, 0) - before.get(port, {}).get(key, 0)


def cleanup():
    for ns in (C0, C1, POP):
        run(["ip", "netns", "del", ns])


def main(build, src):
    popdns = os.path.join(build, "control", "popdns")
    popdnsctl = os.path.join(build, "control", "popdnsctl")
    tmp, zone, sock, conf = dataplane_config(src, "popdns-multiport-", f"""\
  # Two workers on CPU 1: each polls queue N of both wire ports.
  eal: ["--no-huge", "--in-memory", "-m", "256", "--no-pci",
        "--lcores", "0@0,1@1,2@1",
        "--vdev", "net_tap0,iface={WIRE[0]}", "--vdev", "net_tap1,iface={EXC[0]}",
        "--vdev", "net_tap2,iface={WIRE[1]}", "--vdev", "net_tap3,iface={EXC[1]}",
        "--log-level", "*:error"]
  ports:
    - wire: net_tap0
      exception: net_tap1
      exception_interface: {EXC[0]}
    - wire: net_tap2
      exception: net_tap3
      exception_interface: {EXC[1]}
      addresses: ["198.18.1.1/24", "fd00:54::1/64"]
  service_addresses: ["{V4}/24", "{V6}/64"]
""")
    log = os.path.join(tmp, "popdns.log")
    cleanup()
    proc = None
    try:
        for ns in (POP, C0, C1):
            run(["ip", "netns", "add", ns])
            in_ns(ns, ["ip", "link", "set", "lo", "up"])
        proc = subprocess.Popen(["ip", "netns", "exec", POP, popdns,
                                 "--config", conf],
                                stdout=subprocess.DEVNULL,
                                stderr=open(log, "w"))
        for _ in range(100):
            if "popdns: serving" in open(log).read() or proc.poll() is not None:
                break
            time.sleep(0.1)
        started = "popdns: serving" in open(log).read()
        check(started, "popdns starts with two wire ports and two exception "
              "ports (EAL --no-huge --in-memory)")
        if not started:
            return
        check("wire net_tap2 exception net_tap3 (pmexc1)" in open(log).read(),
              "the start-up log names both ports")
        for ns, wire, v4, v6, via in CLIENTS:
            run(["ip", "-n", POP, "link", "set", wire, "netns", ns])
            in_ns(ns, ["ip", "addr", "add", v4, "dev", wire])
            in_ns(ns, ["ip", "addr", "add", v6, "dev", wire, "nodad"])
            in_ns(ns, ["ip", "link", "set", wire, "up"])
            if via:
                in_ns(ns, ["ip", "route", "add", V4 + "/32", "via", via[0]])
                in_ns(ns, ["ip", "-6", "route", "add", V6 + "/128", "via",
                           via[1]])
        before = port_stats(popdnsctl, sock)
        for port, (ns, *_rest) in enumerate(CLIENTS):
            for host in (V4, V6):
                r = None
                for _ in range(20):  # the first query waits for ARP/ND
                    r = in_ns(ns, ["dig", "+short", "+time=1", "+tries=1",
                                   "@" + host, "www.example.test"])
                    if "192.0.2.3" in r.stdout:
                        break
                    time.sleep(0.2)
                check("192.0.2.3" in r.stdout,
                      "wire port %d answers dig over %s" %
                      (port, "IPv6" if ":" in host else "IPv4"))
        after = port_stats(popdnsctl, sock)
        for port in (0, 1):
            check(delta(after, before, port, "answered") >= 2,
                  "port %d's counters show its answers (%d)" %
                  (port, delta(after, before, port, "answered")))
        r = in_ns(C1, ["ping", "-c", "2", "-W", "2", V4])
        check(r.returncode == 0, "ping via port 1 (ARP for the next hop, ICMP "
              "through port 1's exception path and back)")
        r = in_ns(C1, ["ping", "-6", "-c", "2", "-W", "2", V6])
        check(r.returncode == 0, "ping6 via port 1 (ND, ICMPv6)")
        r = in_ns(C1, ["dig", "+tcp", "+short", "@" + V4, "www.example.test"])
        check("192.0.2.3" in r.stdout, "dig +tcp via port 1's exception path")

        qfile = os.path.join(tmp, "queries.txt")
        with open(qfile, "w") as f:
            for n in ("www", "mail", "nope", "x.wild", "alias"):
                f.write("%s.example.test A\n" % n)
        before = port_stats(popdnsctl, sock)
        perfs = [subprocess.Popen(
            ["ip", "netns", "exec", ns, "dnsperf", "-s", V4, "-d", qfile,
             "-l", "5", "-Q", "1000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for ns, *_ in CLIENTS]
        outs = [p.communicate(timeout=60)[0] for p in perfs]
        after = port_stats(popdnsctl, sock)
        for port, out in enumerate(outs):
            sent = re.search(r"Queries sent:\s+(\d+)", out)
            lost = re.search(r"Queries lost:\s+(\d+)", out)
            check(sent and int(sent.group(1)) > 2000 and lost and
                  lost.group(1) == "0",
                  "port %d: dnsperf 5 s at 1000 qps beside the other port "
                  "loses nothing (%s sent, %s lost)" %
                  (port, sent and sent.group(1), lost and lost.group(1)))
            d = {k: delta(after, before, port, k)
                 for k in ("rx", "answered", "malformed", "to_kernel",
                           "engine_drop")}
            check(d["rx"] == d["answered"] + d["malformed"] + d["to_kernel"] +
                  d["engine_drop"] and d["answered"] > 2000,
                  "port %d's counters add up (%s)" % (port, d))
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        cleanup()
        if failures and os.path.exists(log):
            print("--- popdns log ---\n" + open(log).read())
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    require("multiport_test", "network namespaces, net_tap", tun=True)
    main(sys.argv[1], sys.argv[2])
    sys.exit(summary())
