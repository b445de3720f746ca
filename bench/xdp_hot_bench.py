#!/usr/bin/env python3
"""Answers inside the XDP program (issue 17) against the AF_XDP path and
knotd's XDP mode: the same kxdpgun sweep for knotd (XDP), popdns (XDP
fallback, every query over AF_XDP to the worker) and popdns with
`xdp.hot_answers` (the asked questions answered in the driver; and, as
popdns-xdp-hot-rrl, the same with `rrl:` at a rate no client reaches, so
that every answer pays the driver's RRL counting), one after the other in
one run; max replies/s and, at one offered rate all of them
sustain, the server core's CPU time per million answers, softirq
included. Run it through bench/xdp_hot_bench.sh (options there).

Topology and servers are bench/peer_compare.py's (namespaces pbpeer-srv /
pbpeer-cli, pbsrv0 198.18.2.1 and pbcli0 198.18.2.2, the generated zone,
server on core 1, generator on core 0), by default with its relay
between the two veths (--link relay: peer_compare.Relay; the server's
veth receives XDP frames, as from a native-XDP NIC, the relay's NAPI on
the server's core); --link veth makes them each other's peers. What
differs from the peer comparison:

- The queries: a hot set of --hot distinct questions (existing A and AAAA
  names and CNAME aliases of the zone, 3:1:1), repeated. This measures the
  hot path: real traffic is skewed (a few hundred names take most
  queries), and a uniform draw over the whole zone would mostly miss a
  map of 8,192 entries. popdns-xdp-hot pins exactly these questions.
- Where the kernel's receive work runs. On a veth the receive side (the
  XDP program of pbsrv0, and the XDP_TX or redirect it does) runs in the
  NAPI of the device that was sent to, on the CPU that sent: kxdpgun's
  core (or the relay's). Both veths are switched to threaded NAPI, pbsrv0's thread pinned
  to core 1 with the server and pbcli0's to core 0 with the generator, so
  that core 1's busy time (/proc/stat: user, system, softirq) is the
  server's whole cost. popdns runs with `idle: wait` (its worker would
  busy-poll core 1 at 100% otherwise; like knotd's XDP threads it waits
  in poll() on its AF_XDP socket when nothing comes, so the worker of
  popdns-xdp-hot sleeps almost all the time).
- The CPU time: the scheduler's run time (schedstat) of every thread of
  the server and of pbsrv0's NAPI thread over the fixed-rate step. (The
  tick-sampled /proc/stat busy share is printed too: on this kernel,
  without IRQ time accounting, it misses most of a NAPI thread's short
  bursts.)

Every server runs under `timeout`, every generator step is bounded.
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peer_compare as pc  # noqa: E402
import zone_load_helper  # noqa: E402

TARGETS = [("knotd-xdp", "knotd", "XDP"),
           ("popdns-xdp", "popdns", "XDP fallback: AF_XDP worker"),
           ("popdns-xdp-hot", "popdns", "answers in the XDP program"),
           ("popdns-xdp-hot-rrl", "popdns", "answers in the XDP program, "
            "rrl on (a rate no client reaches: the counting's cost)"),
           ("xdp-bounce", "none", "each query sent back as it came "
            "(bench/xdp_bounce.bpf.c)"),
           ("popdns-xdp-hot-flood", "popdns", "a flood over `rrl:` "
            "(rate 5, slip 2): limited in the XDP program"),
           ("popdns-xdp-hot-flood-worker", "popdns", "a flood over `rrl:` "
            "(rate 5, slip 2) with a whitelist longer than the program's "
            "map: every query over the rate to the AF_XDP worker")]

# `rrl:` of the popdns-xdp-hot targets. The floods: kxdpgun's one source
# asks each hot question far more than 5 times a second, so almost every
# query is over the rate. A whitelist of 1,025 other prefixes, more than
# the program's map holds (XDP_DNS_RRL_WHITELIST_MAX), makes the program
# hand them to the worker's RRL, which limits them as the program would:
# the cost of the crossing the driver saves. (Until the program took
# log_only on 2026-12-05, log_only did that; before the whitelist went
# into the program, a whitelist of another prefix.) Their CPU is per
# million queries, and they have no sweep.
OTHER_PREFIXES = ", ".join('"10.%d.%d.0/24"' % (i // 256, i % 256)
                           for i in range(1025))
RRL = {"popdns-xdp-hot-rrl": "rrl: {rate: 1000000}\n",
       "popdns-xdp-hot-flood": "rrl: {rate: 5, slip: 2}\n",
       "popdns-xdp-hot-flood-worker":
           "rrl: {rate: 5, slip: 2, whitelist: [%s]}\n" % OTHER_PREFIXES}
FLOODS = ("popdns-xdp-hot-flood", "popdns-xdp-hot-flood-worker")
# Issue 17: answers in the driver cost at least this many times less CPU
# than the other target.
TARGET_RATIO = {"popdns-xdp": 2.0, "knotd-xdp": 3.0}


def hot_questions(zone, count):
    a, aaaa, cname, _ = pc.zone_names(zone)
    out = []
    mix = zone_load_helper.mix
    for i in range(count):
        k = i % 5
        if k < 3:
            out.append(f"{a[mix(i, 31) % len(a)]}.{pc.ORIGIN} A")
        elif k == 3:
            out.append(f"{aaaa[mix(i, 32) % len(aaaa)]}.{pc.ORIGIN} AAAA")
        else:
            out.append(f"{cname[mix(i, 33) % len(cname)]}.{pc.ORIGIN} A")
    return sorted(set(out))


class Server(pc.Server):
    hot = None  # pinned questions for popdns-xdp-hot
    rrl = ""  # the config's `rrl:` line (RRL), if any

    def popdns_xdp_conf(self):
        hot = ""
        if self.hot is not None:
            pinned = ", ".join('"%s"' % q for q in self.hot)
            hot = (f"    hot_answers:\n      entries: 8192\n"
                   f"      sample_every: {self.a.sample_every}\n"
                   f"      refresh_ms: {self.a.refresh_ms}\n"
                   f"      pinned: [{pinned}]\n")
        program = (f"    program: {self.a.xdp_program}\n"
                   if self.a.xdp_program else "")
        path = self.popdns_conf(f"""\
  xdp:
    interface: {pc.SRV_IF}
    queues: 1
{program}{hot}  idle: wait
  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "pbhot-x", "--log-level", "*:error"]
  service_addresses: ["{pc.SRV_IP}/24"]
""")
        if self.rrl:
            with open(path, "a") as f:
                f.write(self.rrl)
        return path


class Bounce:
    """No server: bench/xdp_bounce.bpf.c on pbsrv0 sends every query back
    with XDP_TX, QR set and nothing looked up. Its CPU per answer (pbsrv0's
    NAPI thread alone) is the floor of any answer in the driver on this
    link: what receiving a frame into XDP and sending it back costs the
    kernel."""

    proc = None

    def __init__(self, tmp):
        self.obj = os.path.join(tmp, "xdp_bounce.o")
        pc.compile_bpf("xdp_bounce.bpf.c", self.obj)

    def start(self):
        pc.veth_up()
        r = pc.in_ns(pc.SRV_NS, ["ip", "link", "set", "dev", pc.SRV_IF,
                                 "xdpdrv", "obj", self.obj, "sec", "xdp"])
        if r.returncode != 0:
            raise RuntimeError("attach xdp_bounce: " + r.stderr.strip())
        # Neighbour entry for kxdpgun (ARP and ICMP pass to the kernel).
        pc.in_ns(pc.CLI_NS, ["ping", "-c", "1", "-W", "1", pc.SRV_IP])

    def stop(self):
        pc.veth_down()

    def server_tasks(self):
        return pc.server_napi_tasks()


def run_ns_by_thread(tasks):
    """sum_exec_runtime (ns) of `tasks` by thread name: where the server's
    CPU goes (the NAPI thread, the worker, the control thread)."""
    out = {}
    for t in tasks:
        try:
            with open(f"{t}/comm") as f:
                name = f.read().strip()
            with open(f"{t}/schedstat") as f:
                out[name] = out.get(name, 0) + int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def run_ns(tasks):
    """Total sum_exec_runtime (ns) of `tasks` (/proc/.../schedstat): the
    scheduler's clock, not the tick's sampling, which misses or doubles
    the short bursts of a NAPI thread."""
    total = 0
    for t in tasks:
        try:
            with open(f"{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def xdp_counters(server):
    c = server.popdns_counters()
    return {k: v for k, v in c.items() if k.startswith("xdp.")}


def cpu_per_million(step):
    """Core 1's busy time per million answers (CPU seconds)."""
    busy = step.get("cpu", {}).get("cpu1", {}).get("busy")
    rps = step.get("replies_per_s")
    if busy is None or not rps:
        return None
    return round(busy / 100.0 * 1e6 / rps, 3)


def sweep(runner, server, res, a, tid):
    """The kxdpgun sweep of one target: max replies/s (into `res`)."""
    res["sweep"] = runner.sweep("kxdpgun", pc.CLI_NS, pc.SRV_NS,
                                pc.SRV_IP, pc.CLI_IF, tid)
    best, clean = pc.best_step(res["sweep"])
    res["max_replies_per_s"] = best and best.get("replies_per_s")
    res["max_clean"] = clean
    if res["server"] == "popdns":
        res["counters"] = xdp_counters(server)
    pc.log(f"{tid}: {res['cpu_s_per_million']} CPU s per million "
           f"answers at {a.cpu_rate}/s; max {res['max_replies_per_s']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--hot", type=int, default=1000)
    ap.add_argument("--rates", default="50000 100000 200000 400000 800000 max")
    ap.add_argument("--cpu-rate", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--kxdpgun-max", type=int, default=2000000)
    ap.add_argument("--link", choices=("relay", "veth"), default="relay",
                    help="relay (the default): frames reach the server's "
                    "veth as XDP frames, through a relay namespace, as from "
                    "a native-XDP NIC (see peer_compare.Relay); veth: kxdpgun's veth is "
                    "the server's peer")
    ap.add_argument("--relay", action="store_true",
                    help="the same as --link relay (kept for old command "
                    "lines)")
    ap.add_argument("--relay-core", type=int, choices=(0, 1), default=1,
                    help="the relay's NAPI threads on the server's core (1, "
                    "as a NIC's queue) or the generator's (0)")
    ap.add_argument("--xdp-program",
                    help="popdns's XDP object (default: the build's), to "
                    "compare two versions of bpf/xdp_dns.bpf.c")
    ap.add_argument("--rounds", type=int, default=3,
                    help="measure the targets this many times in turn "
                    "(knotd, popdns, knotd, ...): ratios per round and "
                    "their median, less at the mercy of this VM's drift "
                    "than one measurement of each minutes apart")
    ap.add_argument("--no-sweep", action="store_true",
                    help="the fixed-rate CPU step only, no max replies/s "
                    "(otherwise each target's sweep runs in the first round)")
    ap.add_argument("--sample-every", type=int, default=0,
                    help="hot_answers.sample_every of popdns-xdp-hot (default "
                    "0: the pinned set only; popdns's own default is 64)")
    ap.add_argument("--refresh-ms", type=int, default=1000,
                    help="hot_answers.refresh_ms of popdns-xdp-hot")
    ap.add_argument("--json")
    ap.add_argument("--popdns", default=os.path.join(pc.ROOT, "build",
                                                     "control", "popdns"))
    ap.add_argument("--servers", default="knotd-xdp,popdns-xdp,"
                    "popdns-xdp-hot,xdp-bounce",
                    help="targets, of: " + ",".join(t[0] for t in TARGETS))
    a = ap.parse_args()
    a.relay = a.relay or a.link == "relay"
    # This script's own work (sampling, pinning, popdnsctl) stays on the
    # generator's core: core 1's busy time is the server's.
    os.sched_setaffinity(0, {0})
    # What pc.Server and pc.Runner read of the arguments.
    a.kxdpgun_seconds = a.seconds
    a.kxdpgun_rates = [r if r == "max" else int(r) for r in a.rates.split()]
    a.rates = a.kxdpgun_rates
    a.refine = 2
    a.load_timeout = 120
    a.server_lifetime = 1200
    a.keep = False
    a.percentiles = False
    a.step_seconds = a.seconds
    tmp = tempfile.mkdtemp(prefix="popdns-xdphot-")
    if a.relay:
        pc.use_relay(tmp, a.relay_core)
    results = []
    server = None
    try:
        zone = os.path.join(tmp, "zone.db")
        gen = argparse.Namespace(records=a.records, origin=pc.ORIGIN, out=zone,
                                 shape="records")
        with contextlib.redirect_stdout(io.StringIO()):
            zone_load_helper.gen(gen)
        hot = hot_questions(zone, a.hot)
        runner = pc.Runner(a, tmp)
        runner.iface = pc.CLI_IF
        with open(runner.qfile, "w") as f:
            for i in range(max(len(hot), 100000)):
                f.write(hot[i % len(hot)] + "\n")
        pc.log(f"{a.records}-record zone, {len(hot)} distinct hot questions")
        chosen = [t for t in TARGETS if t[0] in a.servers.split(",")]
        for rnd, (tid, srv, mode) in ((r, t) for r in range(a.rounds)
                                      for t in chosen):
            res = {"id": tid, "server": srv, "mode": mode, "round": rnd + 1}
            if tid == "xdp-bounce":
                server = Bounce(tmp)
            else:
                server = Server("popdns-xdp" if srv == "popdns" else tid, a,
                                tmp, zone)
            if tid.startswith("popdns-xdp-hot"):
                server.hot = hot
                server.rrl = RRL.get(tid, "")
                server.dir = os.path.join(tmp, tid)
                os.makedirs(server.dir, exist_ok=True)
            pinner = None
            try:
                pc.log(f"{tid}: starting")
                server.start()
                pinner = pc.NapiPinner()
                time.sleep(1.5)  # the hot set is installed at start
                before = xdp_counters(server) if srv == "popdns" else {}
                tasks = server.server_tasks()
                ran0 = run_ns(tasks)
                by0 = run_ns_by_thread(tasks)
                fixed = runner.step("kxdpgun", pc.CLI_NS, pc.SRV_NS, pc.SRV_IP,
                                    a.cpu_rate, tid)
                ran = run_ns(tasks) - ran0
                by = run_ns_by_thread(tasks)
                res["thread_cpu_ms"] = {k: round((v - by0.get(k, 0)) / 1e6, 1)
                                        for k, v in by.items()
                                        if v - by0.get(k, 0) > 0}
                pc.log(f"{tid}: CPU ms by thread {res['thread_cpu_ms']}")
                res["fixed"] = fixed
                res["tick_cpu_s_per_million"] = cpu_per_million(fixed)
                answers = fixed.get("completed") or 0
                res["server_cpu_s"] = round(ran / 1e9, 3)
                res["cpu_s_per_million"] = (round(ran / 1e9 / (answers / 1e6), 3)
                                            if answers else None)
                res["cpu_s_per_million_queries"] = round(
                    ran / 1e9 / (a.cpu_rate * a.seconds / 1e6), 3)
                res["napi_threads"] = {
                    ifn: [(pid, sorted(os.sched_getaffinity(pid)))
                          for pid in pc.napi_threads(ifn)]
                    for ifn in (pc.SRV_IF, pc.CLI_IF)}
                pc.log(f"{tid}: NAPI threads {res['napi_threads']}")
                if srv == "popdns":
                    after = xdp_counters(server)
                    res["xdp_fixed"] = {k: after.get(k, 0) - before.get(k, 0)
                                        for k in after
                                        if after.get(k, 0) != before.get(k, 0)}
                pc.in_ns(pc.CLI_NS, ["ip", "link", "set", "dev", pc.CLI_IF,
                                     "xdp", "off"])
                if a.no_sweep or rnd > 0:
                    pc.log(f"{tid}: {res['cpu_s_per_million']} CPU s per "
                           f"million answers at {a.cpu_rate}/s")
                elif tid in FLOODS:
                    pc.log(f"{tid}: {res['cpu_s_per_million_queries']} CPU s "
                           f"per million queries at {a.cpu_rate}/s")
                else:
                    sweep(runner, server, res, a, tid)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                res["error"] = str(e)[-600:]
                pc.log(f"{tid}: FAILED: {res['error']}")
            finally:
                if pinner:
                    pinner.stop()
                server.stop()
                server = None
            results.append(res)
        report(results, a)
        return 0 if all(not r.get("error") for r in results) else 1
    finally:
        if server:
            server.stop()
        pc.veth_down()
        shutil.rmtree(tmp, ignore_errors=True)


def round_ratios(results):
    """{other: other's CPU per answer / popdns-xdp-hot's} of one round."""
    by = {r["id"]: r.get("cpu_s_per_million") for r in results}
    hot = by.get("popdns-xdp-hot")
    return {o: by[o] / hot for o in ("popdns-xdp", "knotd-xdp")
            if hot and by.get(o)}


def report(results, a):
    by = {r["id"]: r for r in results}  # the last round's
    lines = [
        f"<!-- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, {zone_load_helper.cpu_model()}; load avg "
        f"{' '.join(open('/proc/loadavg').read().split()[:3])} -->",
        "",
        f"{a.records:,}-record zone; kxdpgun from core 0 asking {a.hot:,} "
        f"questions (A, AAAA, CNAME) round and round; server on core 1"
        + (f"; through the relay (the server's veth receives XDP frames), "
           f"its NAPI on core {a.relay_core}." if a.relay else "."),
        "",
        "| server | mode | max replies/s (loss < 1%) | at "
        f"{a.cpu_rate // 1000}k/s: replies/s | server CPU s (threads + NAPI) "
        "| CPU s per million answers | core 1 busy (ticks) | answered in the "
        "driver |",
        "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        f = r.get("fixed", {})
        busy = f.get("cpu", {}).get("cpu1", {}).get("busy")
        drv = ""
        x = r.get("xdp_fixed", {})
        if x:
            tot = x.get("xdp.answered", 0) + x.get("xdp.redirect", 0)
            drv = f"{100.0 * x.get('xdp.answered', 0) / max(tot, 1):.1f}%"
        rnd = f" (round {r['round']})" if a.rounds > 1 else ""
        lines.append(
            f"| {r['server']} | {r['mode']}{rnd} | "
            + ("" if "sweep" not in r else
               f"{(r.get('max_replies_per_s') or 0):,.0f}"
               f"{'' if r.get('max_clean') else ' (lossy)'}") + " | "
            f"{(f.get('replies_per_s') or 0):,.0f} | "
            f"{r.get('server_cpu_s', '')} | "
            f"{r.get('cpu_s_per_million') or ''} | "
            f"{'' if busy is None else f'{busy:.1f}%'} | {drv} |"
            + (f" {r['error'][:80]}" if r.get("error") else ""))
    hot = by.get("popdns-xdp-hot", {}).get("cpu_s_per_million")
    ratios = []
    for other in ("popdns-xdp", "knotd-xdp"):
        o = by.get(other, {}).get("cpu_s_per_million")
        if hot and o:
            ratios.append(f"{other} / popdns-xdp-hot = {o / hot:.2f}x")
    if ratios and a.rounds == 1:
        lines += ["", "CPU per answer: " + "; ".join(ratios) + "."]
    if a.rounds > 1:
        per = [round_ratios([r for r in results if r["round"] == n])
               for n in range(1, a.rounds + 1)]
        for other in ("popdns-xdp", "knotd-xdp"):
            xs = [p[other] for p in per if other in p]
            if xs:
                goal = TARGET_RATIO[other]
                met = sum(x >= goal for x in xs)
                lines += ["", f"CPU per answer, {other} / popdns-xdp-hot, "
                          f"round by round: "
                          + ", ".join(f"{x:.2f}" for x in xs)
                          + f"; median {statistics.median(xs):.2f}x "
                          f"(issue 17's target {goal:g}x: met in {met} of "
                          f"{len(xs)} rounds)"]
    flood = [by.get(t, {}).get("cpu_s_per_million_queries") for t in FLOODS]
    if all(flood):
        lines += ["", f"A flood of queries over the rate, CPU s per million "
                  f"queries: limited in the driver {flood[0]}, handed to the "
                  f"worker {flood[1]} ({flood[1] / flood[0]:.2f}x)."]
    floor = by.get("xdp-bounce", {}).get("cpu_s_per_million")
    knotd = by.get("knotd-xdp", {}).get("cpu_s_per_million")
    if floor and knotd:
        lines += ["", f"The link's floor (xdp-bounce): knotd-xdp / xdp-bounce "
                  f"= {knotd / floor:.2f}x, the most CPU per answer any "
                  "answer in the driver could save against knotd here."]
    print("\n".join(lines))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "table": lines}, f, indent=1,
                      default=str)


if __name__ == "__main__":
    sys.exit(main())
