#!/usr/bin/env python3
"""Peer comparison under load (issue 7; the XDP benchmark of issue 6).

Serves one generated zone from knotd (UDP sockets), knotd (XDP), nsd
(RRL off), popdns on kernel sockets, popdns in its XDP fallback (DPDK
net_af_xdp) and popdns on a software NIC (DPDK net_tap), one after the
other, and loads each with dnsperf (offered-rate sweep, -Q) and kxdpgun
(XDP packet generator, rate sweep) from a client network namespace.
Run it through bench/peer_compare.sh; see that script for the options.

Topology (made and removed by this script, addresses only inside them):
  sockets and XDP modes: namespaces pbpeer-srv / pbpeer-cli joined by a
    veth pair pbsrv0 (198.18.2.1/24) -- pbcli0 (198.18.2.2/24);
  software NIC: scripts/softnic.sh (namespaces pbpeer-pop / pbpeer-client,
    wire tap pbwire0 in the client namespace, service 198.18.0.1).
Pinning: the server on core 1 (taskset -c 1; popdns's DPDK worker is EAL
lcore 1, its control thread lcore 0), every generator on core 0.
Every server runs under `timeout` and every generator run is bounded
(-l / -t plus a subprocess timeout); processes are stopped by their PID.

Answers inside the XDP program (issue 17): target popdns-xdp-hot runs
popdns exactly as popdns-xdp (same config, same `idle: sleep`) plus
`xdp.hot_answers` {entries 8192, every_name false, sample_every 64,
refresh_ms 500} with every question kxdpgun asks pinned. So that the hot
set covers what the generator asks, kxdpgun (for every server of the run,
the same sweep) reads a file of the first --kxdpgun-questions (default
8192 when popdns-xdp-hot runs, else the whole query file) distinct
questions of the query mix, round and round; kxdpgun's lines carry no
flag, so its queries have no EDNS (answerable in the driver). This
measures the hot path: real traffic is skewed (a few hundred names take
most queries), while a uniform draw over a 200k-name zone would mostly
miss a map of 8,192 entries. dnsperf keeps the whole mix (its hot share
is small and shown per step). xdp.answered and xdp.redirect move per
step into the JSON; a warning is printed when the driver answered less
than HOT_SHARE_WARN % of a popdns-xdp-hot kxdpgun step.

CPU per answer (issue 17): for knotd-xdp, popdns-xdp and popdns-xdp-hot,
core 1's CPU time per million answers at the highest kxdpgun offered rate
all of them sustained (< LOSS_OK % lost), and at one extra fixed-rate
step (--cpu-rate) run for each of them. Core 1's busy time is the wall
time of the traffic window minus core 1's idle time (/proc/stat; with
NO_HZ idle that idle time is exact, while user/system/softirq are tick
samples, 4 ms apart, too coarse for a core a few % busy), so user,
system, softirq, ksoftirqd and NAPI threads on core 1 all count. Next to
it: the scheduler's run time (schedstat) of the server's threads and of
pbsrv0's NAPI threads over the same window, and the tick-sampled
user+system+softirq of core 1. On a veth the
receive side (the server veth's XDP program, and its XDP_TX or redirect)
runs in the NAPI of the device that was sent to, on the CPU that sent
(kxdpgun's core 0): for these three targets both veths switch to threaded
NAPI, pbsrv0's thread pinned to core 1 with the server and pbcli0's to
core 0 with the generator (--no-threaded-napi: off), so that core 1
carries the server's whole cost and none of the generator's. popdns's
XDP modes run with `idle: wait` (--popdns-idle; `poll` busy-polls core 1
at 100% whatever the load, and CPU per answer would mean nothing; `wait`
blocks in poll() on the AF_XDP socket as knotd's XDP threads do). This
script pins itself to core 0.
"""

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import zone_load_helper  # noqa: E402  (zone generator: gen)

ORIGIN = "load.test."
SERIAL = 2026112501
SRV_NS, CLI_NS = "pbpeer-srv", "pbpeer-cli"
SRV_IF, CLI_IF = "pbsrv0", "pbcli0"
SRV_IP, CLI_IP = "198.18.2.1", "198.18.2.2"
SN_POP, SN_CLIENT = "pbpeer-pop", "pbpeer-client"
SN_WIRE, SN_EXC = "pbwire0", "pbexc0"
SN_IP = "198.18.0.1"

# (id, server, mode) in run order; knotd (sockets) is the baseline.
TARGETS = [
    ("knotd-udp", "knotd", "UDP sockets"),
    ("knotd-xdp", "knotd", "XDP"),
    ("nsd", "nsd", "UDP sockets, RRL off"),
    ("popdns-sockets", "popdns", "kernel sockets"),
    ("popdns-xdp", "popdns", "XDP fallback (net_af_xdp)"),
    ("popdns-xdp-hot", "popdns", "answers in the XDP program (hot_answers)"),
    ("popdns-softnic", "popdns", "software NIC (net_tap)"),
]
SHORT_MODE = {"knotd-udp": "UDP sockets", "knotd-xdp": "XDP",
              "nsd": "sockets, RRL off", "popdns-sockets": "kernel sockets",
              "popdns-xdp": "XDP (af_xdp)",
              "popdns-xdp-hot": "XDP, answers in driver",
              "popdns-softnic": "softNIC (tap)"}
BASELINE = "knotd-udp"
LOSS_OK = 1.0   # a step counts for "max replies/s" below this loss (%)
# popdns in XDP mode: the XDP fallback and the same with hot_answers.
POPDNS_XDP = ("popdns-xdp", "popdns-xdp-hot")
# CPU time per million answers (issue 17): these, at one common rate.
CPU_TARGETS = ("knotd-xdp", "popdns-xdp", "popdns-xdp-hot")
HOT = "popdns-xdp-hot"
HOT_SHARE_WARN = 90.0   # % of a popdns-xdp-hot kxdpgun step answered in the driver
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=30, check=False, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: "
                           f"{(r.stderr or r.stdout).strip()[-500:]}")
    return r


def in_ns(ns, cmd, **kw):
    return run(["ip", "netns", "exec", ns] + cmd, **kw)


# ------------------------------------------------------------ query file

def zone_names(path):
    """Owner names by type from the generated zone (relative names)."""
    a, aaaa, cname, cuts = [], [], [], []
    with open(path) as f:
        for line in f:
            if not line or line[0] in ";$\n":
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            owner, rtype = parts[0], parts[-2]
            if owner == "@":
                continue
            if rtype == "A":
                a.append(owner)
            elif rtype == "AAAA":
                aaaa.append(owner)
            elif rtype == "CNAME":
                cname.append(owner)
            elif rtype == "NS":
                cuts.append(owner)
    cutset = set(cuts)

    def below_cut(o):
        labels = o.split(".")
        return any(".".join(labels[i:]) in cutset for i in range(len(labels)))

    # Exact hits only: no glue below a cut, no wildcard owner, no duplicates.
    a = [o for o in dict.fromkeys(a) if not below_cut(o) and "*" not in o]
    aaaa = [o for o in dict.fromkeys(aaaa) if not below_cut(o) and "*" not in o]
    return a, aaaa, sorted(set(cname)), sorted(cutset)


def make_queries(zone, out, count):
    """Writes `count` queries in dnsperf/kxdpgun format ("name type"):
    70% existing A/AAAA (3:1), 10% NXDOMAIN, 10% wildcard (*.w),
    5% CNAME (A query for an alias), 5% referral (a name below a cut).
    Deterministic; the order is interleaved so every window has the mix."""
    a, aaaa, cname, cuts = zone_names(zone)
    o = ORIGIN
    mix = zone_load_helper.mix
    b36 = zone_load_helper.b36
    plan = ([("exist", 70)] + [("nxdomain", 10)] + [("wildcard", 10)] +
            [("cname", 5)] + [("referral", 5)])
    # 100-slot pattern, spread with a coprime stride.
    slots = []
    for kind, n in plan:
        slots += [kind] * n
    stride = 37
    pattern = [slots[(i * stride) % 100] for i in range(100)]
    counts = {}
    names = set()
    with open(out, "w") as f:
        for i in range(count):
            kind = pattern[i % 100]
            x = mix(i, 21)
            if kind == "exist":
                if x % 4 == 3:
                    q = f"{aaaa[mix(i, 22) % len(aaaa)]}.{o} AAAA"
                else:
                    q = f"{a[mix(i, 23) % len(a)]}.{o} A"
            elif kind == "nxdomain":
                q = f"nx-{b36(x)}.{o} A"
            elif kind == "wildcard":
                q = f"h{b36(x)}.w.{o} {'AAAA' if x & 1 else 'A'}"
            elif kind == "cname":
                q = f"{cname[mix(i, 24) % len(cname)]}.{o} A"
            else:
                q = f"www{x % 100}.{cuts[mix(i, 25) % len(cuts)]}.{o} A"
            counts[kind] = counts.get(kind, 0) + 1
            names.add(q)
            f.write(q + "\n")
    return {"queries": count, "distinct": len(names), "by_kind": counts,
            "zone_names": {"A": len(a), "AAAA": len(aaaa),
                           "CNAME": len(cname), "cuts": len(cuts)}}


def make_hot_queries(qfile, out, count):
    """kxdpgun's query file when the hot path is measured: the first
    `count` distinct questions of the query mix (`qfile`, in its order, so
    the mix of kinds is kept), one per line; kxdpgun reads it round and
    round. Returns the questions ("name TYPE")."""
    seen = {}
    with open(qfile) as f:
        for line in f:
            q = line.strip()
            if q and q not in seen:
                seen[q] = True
                if len(seen) >= count:
                    break
    hot = list(seen)
    with open(out, "w") as f:
        f.write("".join(q + "\n" for q in hot))
    return hot


# ------------------------------------------------------------- cpu usage

def cpu_times():
    """Per CPU (clock ticks): total, idle+iowait, softirq, user+nice+
    system+irq+softirq (tick samples), steal. With NO_HZ idle the kernel
    reports idle and iowait from its exact idle clock; the others are
    samples taken at the tick."""
    t = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                p = line.split()
                v = [int(x) for x in p[1:]]
                idle = v[3] + v[4]
                t[p[0]] = (sum(v[:8]), idle, v[6],
                           v[0] + v[1] + v[2] + v[5] + v[6], v[7])
    return t


def core_seconds(before, after, wall):
    """Busy seconds per CPU over `wall` seconds: wall minus (exact) idle
    minus steal, which counts user, system, softirq, ksoftirqd and NAPI
    threads alike; and the tick-sampled user+system+softirq next to it."""
    out = {}
    for k in sorted(after):
        if k not in before:
            continue
        idle = (after[k][1] - before[k][1]) / CLK_TCK
        steal = (after[k][4] - before[k][4]) / CLK_TCK
        out[k] = {"window_s": round(wall, 3),
                  "busy_s": round(max(0.0, wall - idle - steal), 3),
                  "tick_busy_s": round((after[k][3] - before[k][3]) / CLK_TCK, 3),
                  "softirq_s": round((after[k][2] - before[k][2]) / CLK_TCK, 3),
                  "steal_s": round(steal, 3)}
    return out


def ksoftirqd_pids():
    pids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    name = f.read().strip()
            except OSError:
                continue
            m = re.match(r"ksoftirqd/(\d+)$", name)
            if m:
                pids["cpu" + m.group(1)] = int(d)
    return pids


KSOFTIRQD = ksoftirqd_pids()


def ksoftirqd_sched():
    """run and run-queue wait time (ns) of each CPU's ksoftirqd: softirq
    work deferred to the thread, and how long it waited for its CPU."""
    out = {}
    for cpu, pid in KSOFTIRQD.items():
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
            out[cpu] = (run_ns, wait_ns)
        except (OSError, ValueError):
            pass
    return out


def ksoftirqd_delta(before, after, wall):
    return {cpu: {"run_pct": round(100.0 * (after[cpu][0] - before[cpu][0])
                                   / 1e9 / wall, 1),
                  "wait_ms": round((after[cpu][1] - before[cpu][1]) / 1e6, 1)}
            for cpu in after if cpu in before and wall > 0}


def run_ns(tasks):
    """Sum of the scheduler's run time (ns, /proc/.../schedstat) of `tasks`
    (paths /proc/PID or /proc/PID/task/TID): exact, where the tick's
    samples miss or double short bursts."""
    total = 0
    for t in tasks or ():
        try:
            with open(f"{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def netdev_packets(pid, ifname):
    """rx + tx packets of `ifname` in the network namespace of process
    `pid` (/proc/PID/net/dev is that namespace's); None if not there (yet:
    `ip netns exec` has not entered the namespace, or the process is
    gone)."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == ifname:
                    v = rest.split()
                    return int(v[1]) + int(v[9])
    except (OSError, ValueError, IndexError):
        pass
    return None


class CpuSampler:
    """Samples /proc/stat every 0.2 s while a generator runs; busy() is the
    per-core usage over the window as long as the traffic (kxdpgun spends
    about 2 s attaching and detaching XDP around its -t seconds) that saw
    the most packets on the client's interface (watch(): the generator's
    PID, whose /proc/PID/net/dev is the client namespace's), else the
    busiest. With `tasks` (the server's threads and its veth's NAPI
    threads) their run time is sampled too (self.seconds["tasks"])."""

    def __init__(self, tasks=None):
        self.tasks = tasks
        self.traffic = None
        self.samples = [self.sample()]
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def watch(self, pid, ifname):
        if ifname:
            self.traffic = (pid, ifname)

    def sample(self):
        return (time.monotonic(), cpu_times(), run_ns(self.tasks),
                netdev_packets(*self.traffic) if self.traffic else None)

    def loop(self):
        while not self.stop_ev.wait(0.2):
            self.samples.append(self.sample())

    def busy(self, window):
        """Also sets self.seconds: core_seconds() over the same window."""
        self.stop_ev.set()
        self.th.join()
        self.samples.append(self.sample())
        s = self.samples
        best, best_key, at = None, None, None
        for i in range(len(s)):
            for j in range(i + 1, len(s)):
                if s[j][0] - s[i][0] >= window - 0.1:
                    b = cpu_busy(s[i][1], s[j][1])
                    # The interface's counters run over the veth's whole
                    # life: a window counts its packets only if both ends
                    # read them.
                    pk = (s[j][3] - s[i][3] if s[i][3] is not None
                          and s[j][3] is not None else -1)
                    key = (pk, sum(v["busy"] for v in b.values()))
                    if best_key is None or key > best_key:
                        best, best_key, at = b, key, (i, j)
                    break
        if at is None:      # the run was shorter than the window
            at = (0, len(s) - 1)
            best = cpu_busy(s[0][1], s[-1][1])
        i, j = at
        self.seconds = core_seconds(s[i][1], s[j][1], s[j][0] - s[i][0])
        self.seconds["packets"] = (s[j][3] - s[i][3] if s[i][3] is not None
                                   and s[j][3] is not None else None)
        if self.tasks:
            self.seconds["tasks"] = {
                "window_s": round(s[j][0] - s[i][0], 3),
                "run_s": round((s[j][2] - s[i][2]) / 1e9, 3),
                "count": len(self.tasks)}
        return best


def run_watched(cmd, sampler, ifname, timeout, **kw):
    """subprocess.run(cmd, timeout=...) that tells `sampler` the PID (the
    generator runs in the client namespace: `ip netns exec` and taskset
    exec it in place). On timeout the generator is killed by its PID."""
    p = subprocess.Popen(cmd, text=True, **kw)
    sampler.watch(p.pid, ifname)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def cpu_busy(before, after):
    out = {}
    for k in sorted(after):
        tot = after[k][0] - before[k][0]
        idle = after[k][1] - before[k][1]
        si = after[k][2] - before[k][2]
        if tot > 0:
            out[k] = {"busy": round(100.0 * (tot - idle) / tot, 1),
                      "softirq": round(100.0 * si / tot, 1)}
    return out


def udp_snmp(ns):
    """Udp counters of a namespace (/proc/net/snmp as seen inside it)."""
    if not ns:
        return {}
    r = in_ns(ns, ["cat", "/proc/net/snmp"], timeout=10)
    lines = [l.split() for l in r.stdout.splitlines() if l.startswith("Udp:")]
    if len(lines) < 2:
        return {}
    return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}


def if_stats(ns, ifname):
    """rx/tx packets and drops of an interface inside a namespace."""
    if not ns or not ifname:
        return {}
    r = run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", ifname],
            timeout=10)
    try:
        st = json.loads(r.stdout)[0]["stats64"]
    except (ValueError, IndexError, KeyError):
        return {}
    return {f"{d}_{k}": st[d][k] for d in ("rx", "tx")
            for k in ("packets", "dropped") if k in st[d]}


def snmp_delta(before, after):
    keys = ("InDatagrams", "OutDatagrams", "RcvbufErrors", "SndbufErrors",
            "InErrors", "NoPorts", "InCsumErrors")
    return {k: after[k] - before.get(k, 0) for k in keys if k in after}


# -------------------------------------------------------------- generators

def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 *
                                                 (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def parse_dnsperf(text, vfile):
    def num(pat, cast=float):
        m = re.search(pat, text)
        return cast(m.group(1)) if m else None
    r = {
        "sent": num(r"Queries sent:\s+(\d+)", int),
        "completed": num(r"Queries completed:\s+(\d+)", int),
        "lost": num(r"Queries lost:\s+(\d+)", int),
        "run_s": num(r"Run time \(s\):\s+([\d.]+)"),
        "replies_per_s": num(r"Queries per second:\s+([\d.]+)"),
        "lat_avg_ms": num(r"Average Latency \(s\):\s+([\d.]+)"),
        "lat_sd_ms": num(r"Latency StdDev \(s\):\s+([\d.]+)"),
    }
    for k in ("lat_avg_ms", "lat_sd_ms"):
        if r[k] is not None:
            r[k] = round(r[k] * 1000, 3)
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        r["rcodes"] = {c: int(n) for c, n in
                       re.findall(r"([A-Z]+) (\d+) \(", m.group(1))}
    if r["sent"] is not None and r["run_s"]:
        r["sent_per_s"] = r["sent"] / r["run_s"]
    if r["sent"]:
        r["lost_pct"] = 100.0 * (r["sent"] - (r["completed"] or 0)) / r["sent"]
    # Per-query latencies (dnsperf -v: "> RCODE name type seconds").
    lats = []
    if vfile and os.path.exists(vfile):
        with open(vfile, errors="replace") as f:
            for line in f:
                if line.startswith("> "):
                    try:
                        lats.append(float(line.rsplit(" ", 1)[1]))
                    except ValueError:
                        pass
        lats.sort()
        if lats:
            r["lat_p50_ms"] = round(percentile(lats, 50) * 1000, 3)
            r["lat_p99_ms"] = round(percentile(lats, 99) * 1000, 3)
    return r


def parse_kxdpgun(text):
    r = {}
    m = re.search(r"total queries:\s+(\d+) \((\d+) pps\)", text)
    if m:
        r["sent"], r["sent_per_s"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"total replies:\s+(\d+) \((\d+) pps\)", text)
    if m:
        r["completed"], r["replies_per_s"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"duration:\s+(\d+)", text)
    if m:
        r["run_s"] = int(m.group(1))
    rc = {}
    for code, n in re.findall(r"responded ([A-Z]+):\s+(\d+)", text):
        rc[code] = int(n)
    if rc:
        r["rcodes"] = rc
    if r.get("sent"):
        r["lost_pct"] = 100.0 * (r["sent"] - r.get("completed", 0)) / r["sent"]
    return r


def xdp_delta(before, after):
    """What the XDP program did during a step: deltas of popdnsctl's xdp.*
    counters (answered, redirect and why, passes), without the prefix, and
    the share answered in the driver."""
    d = {}
    for k, v in after.items():
        if k.startswith("xdp.") and not k.startswith("xdp.hot."):
            n = v - before.get(k, 0)
            if n:
                d[k[4:]] = n
    d.setdefault("answered", 0)
    d.setdefault("redirect", 0)
    tot = d["answered"] + d["redirect"]
    if tot:
        d["hot_share_pct"] = round(100.0 * d["answered"] / tot, 2)
    return d


class Runner:
    def __init__(self, args, tmp):
        self.a = args
        self.tmp = tmp
        self.qfile = os.path.join(tmp, "queries.txt")
        self.kxdpgun_qfile = self.qfile   # main(): the hot questions
        self.iface = None
        # Set while a popdns XDP mode runs: () -> its counters (popdnsctl),
        # read before and after each step (xdp.* deltas per step).
        self.counters = None
        self.hot_step = False   # warn when the driver answered too little
        # Set while an XDP server runs: () -> its threads and its veth's
        # NAPI threads (/proc paths), whose run time each step samples.
        self.tasks = None

    def dnsperf(self, ns, ip, rate, tag):
        secs = self.a.step_seconds
        vfile = os.path.join(self.tmp, f"dnsperf-{tag}-{rate}.v")
        cmd = ["ip", "netns", "exec", ns, "taskset", "-c", "0", "dnsperf",
               "-s", ip, "-d", self.qfile, "-l", str(secs), "-t", "1",
               "-c", "1", "-T", "1", "-b", str(self.a.sockbuf_kib)]
        if rate == "max":
            cmd += ["-q", str(self.a.outstanding)]
        else:
            cmd += ["-Q", str(rate), "-q", "2000"]
        if self.a.percentiles:
            cmd.append("-v")
        sampler = CpuSampler(self.tasks() if self.tasks else None)
        t0 = time.monotonic()
        with open(vfile, "w") as out:
            p = run_watched(cmd, sampler, self.iface, secs + 20, stdout=out,
                            stderr=subprocess.PIPE)
        wall = time.monotonic() - t0
        busy = sampler.busy(secs)
        cpu_s = sampler.seconds
        with open(vfile, errors="replace") as f:
            text = "".join(l for l in f if not l.startswith(("> ", "[Timeout]")))
        r = parse_dnsperf(text + p.stderr, vfile if self.a.percentiles else None)
        if not self.a.keep:
            os.unlink(vfile)
        r.update({"generator": "dnsperf", "offered": rate, "cpu": busy,
                  "cpu_s": cpu_s, "wall_s": round(wall, 2),
                  "exit": p.returncode})
        if r.get("replies_per_s") is None:
            r["error"] = (p.stderr or text).strip()[-300:]
        return r

    def kxdpgun(self, ns, ip, rate, tag):
        secs = self.a.kxdpgun_seconds
        q = self.a.kxdpgun_max if rate == "max" else rate
        cmd = ["ip", "netns", "exec", ns, "taskset", "-c", "0", "kxdpgun",
               "-t", str(secs), "-Q", str(q), "-F", "0", "-i",
               self.kxdpgun_qfile, ip]
        sampler = CpuSampler(self.tasks() if self.tasks else None)
        t0 = time.monotonic()
        p = run_watched(cmd, sampler, self.iface, secs + 20,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wall = time.monotonic() - t0
        busy = sampler.busy(secs)
        r = parse_kxdpgun(p.stdout + p.stderr)
        r["cpu_s"] = sampler.seconds
        m = re.search(r"using interface .*", p.stdout + p.stderr)
        if m:
            r["info"] = m.group(0).strip()   # interface, threads, XDP mode
        r.update({"generator": "kxdpgun", "offered": rate, "cpu": busy,
                  "wall_s": round(wall, 2), "exit": p.returncode})
        if r.get("replies_per_s") is None:
            r["error"] = (p.stderr + p.stdout).strip()[-300:]
        return r

    def step(self, gen, ns, srv_ns, ip, rate, tag):
        fn = self.dnsperf if gen == "dnsperf" else self.kxdpgun
        c0, s0 = udp_snmp(ns), udp_snmp(srv_ns)
        i0 = if_stats(ns, self.iface)
        k0 = ksoftirqd_sched()
        x0 = self.counters() if self.counters else None
        r = fn(ns, ip, rate, tag)
        if x0 is not None:
            r["xdp"] = xdp_delta(x0, self.counters())
        r["ksoftirqd"] = ksoftirqd_delta(k0, ksoftirqd_sched(),
                                         r.get("wall_s") or 0)
        c1, s1 = udp_snmp(ns), udp_snmp(srv_ns)
        i1 = if_stats(ns, self.iface)
        r["client_if"] = {k: i1[k] - i0.get(k, 0) for k in i1}
        r["udp_client"] = snmp_delta(c0, c1)
        if srv_ns:
            r["udp_server"] = snmp_delta(s0, s1)
        drops = []
        if r["udp_client"].get("RcvbufErrors"):
            drops.append(f"client rcvbuf {r['udp_client']['RcvbufErrors']}")
        if r.get("udp_server", {}).get("RcvbufErrors"):
            drops.append(f"server rcvbuf {r['udp_server']['RcvbufErrors']}")
        if r["client_if"].get("tx_dropped"):
            drops.append(f"{self.iface} tx_dropped {r['client_if']['tx_dropped']}")
        x = r.get("xdp") or {}
        hot = ""
        if "hot_share_pct" in x:
            hot = (f", driver answered {x['hot_share_pct']:.1f}% "
                   f"({x.get('answered', 0):,} answered, "
                   f"{x.get('redirect', 0):,} redirected)")
        c1 = (r.get("cpu_s") or {}).get("cpu1")
        log(f"  {gen:7s} offered {str(rate):>7s}: "
            f"{r.get('replies_per_s') or 0:9.0f} replies/s, lost "
            f"{r.get('lost_pct', 100):5.2f}%"
            + (f", core1 {100.0 * c1['busy_s'] / c1['window_s']:.0f}% busy"
               if c1 and c1.get("window_s") else "")
            + hot
            + (f" [{', '.join(drops)}]" if drops else "")
            + (f" ({r['error'][:160]})" if r.get("error") else ""))
        if (self.hot_step and gen == "kxdpgun" and r.get("completed")
                and x.get("hot_share_pct", 0) < HOT_SHARE_WARN):
            r["warning"] = (f"only {x.get('hot_share_pct', 0):.1f}% answered "
                            f"in the driver (xdp.answered "
                            f"{x.get('answered', 0):,}, xdp.redirect "
                            f"{x.get('redirect', 0):,}: "
                            + ", ".join(f"{k} {v:,}" for k, v in x.items()
                                        if k.startswith("redirect_")) + ")")
            log(f"  WARNING: {r['warning']}")
        return r

    def sweep(self, gen, ns, srv_ns, ip, iface, tag):
        self.iface = iface
        try:
            return self.sweep_steps(gen, ns, srv_ns, ip, tag)
        finally:
            if gen == "kxdpgun" and iface:
                # kxdpgun leaves its XDP program on the client interface.
                in_ns(ns, ["ip", "link", "set", "dev", iface, "xdp", "off"])

    def sweep_steps(self, gen, ns, srv_ns, ip, tag):
        """Fixed offered rates upwards until the first one with >= 1% loss,
        then "max", then up to --refine steps that narrow the highest clean
        rate: first just under what "max" achieved, then bisection."""
        steps = []
        lo, hi = 0, None          # highest clean / lowest lossy offered rate

        def dead(r):              # the generator cannot run here at all
            return r.get("error") and not r.get("sent")

        rates = self.a.rates if gen == "dnsperf" else self.a.kxdpgun_rates
        for rate in [r for r in rates if r != "max"]:
            r = self.step(gen, ns, srv_ns, ip, rate, tag)
            steps.append(r)
            if dead(r):
                return steps
            if r.get("lost_pct", 100) < LOSS_OK:
                lo = rate
            else:
                hi = rate
                break             # higher fixed rates lose more
        cap = None
        if "max" in rates:
            r = self.step(gen, ns, srv_ns, ip, "max", tag)
            steps.append(r)
            if dead(r):
                return steps
            if r.get("lost_pct", 100) < LOSS_OK:
                lo = max(lo, int(r.get("replies_per_s") or 0))
            else:
                cap = r.get("replies_per_s")
        if "max" in rates and cap is None:
            return steps          # the closed loop ran clean: that is the max
        if cap and hi is None:
            hi = int(cap) + 1000  # max's replies/s bounds what can be clean
        for i in range(self.a.refine):
            if i == 0 and cap and lo < 0.9 * cap and (hi is None or
                                                      0.9 * cap < hi):
                mid = int(round(0.9 * cap, -3))   # just under capacity
            elif hi is not None:
                mid = int(round((lo + hi) / 2, -3))
            else:
                break
            if mid <= lo or (hi is not None and mid >= hi):
                break
            r = self.step(gen, ns, srv_ns, ip, mid, tag)
            steps.append(r)
            if r.get("lost_pct", 100) < LOSS_OK:
                lo = mid
            else:
                hi = mid
        return steps


# ---------------------------------------------------------------- topology

def add_namespaces(*names):
    for ns in names:
        run(["ip", "netns", "add", ns], check=True)
        run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)


def add_veth(dev, dev_ns, peer, peer_ns):
    run(["ip", "link", "add", dev, "type", "veth", "peer", "name", peer],
        check=True)
    run(["ip", "link", "set", dev, "netns", dev_ns], check=True)
    run(["ip", "link", "set", peer, "netns", peer_ns], check=True)


def address_server_and_client():
    run(["ip", "-n", SRV_NS, "addr", "add", SRV_IP + "/24", "dev", SRV_IF],
        check=True)
    run(["ip", "-n", CLI_NS, "addr", "add", CLI_IP + "/24", "dev", CLI_IF],
        check=True)


def veth_up():
    veth_down()
    add_namespaces(SRV_NS, CLI_NS)
    add_veth(SRV_IF, SRV_NS, CLI_IF, CLI_NS)
    address_server_and_client()
    # Full UDP checksums from the client: AF_XDP receivers (popdns's
    # worker) see frames as sent; same setting for every server.
    in_ns(CLI_NS, ["ethtool", "-K", CLI_IF, "tx", "off"])
    run(["ip", "-n", SRV_NS, "link", "set", SRV_IF, "up"], check=True)
    run(["ip", "-n", CLI_NS, "link", "set", CLI_IF, "up"], check=True)


def veth_down():
    for ns in (CLI_NS, SRV_NS):
        run(["ip", "netns", "del", ns])


def napi_threads(ifname):
    """PIDs of the NAPI kthreads of `ifname` (threaded NAPI)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip().startswith(f"napi/{ifname}"):
                        out.append(int(d))
            except OSError:
                pass
    return out


def server_napi_tasks():
    """/proc paths of pbsrv0's NAPI threads: the server's receive work."""
    return [f"/proc/{p}" for p in napi_threads(SRV_IF)]


def threaded_napi(ns, ifname):
    r = in_ns(ns, ["sh", "-c",
                   f"echo 1 > /sys/class/net/{ifname}/threaded && "
                   f"cat /sys/class/net/{ifname}/threaded"])
    if r.returncode != 0 or r.stdout.strip() != "1":
        raise RuntimeError(f"threaded NAPI on {ifname}: "
                           f"{(r.stderr or r.stdout).strip()}")


def compile_bpf(src, obj, defines=()):
    """clang -target bpf of one of bench/'s programs into `obj`."""
    multiarch = subprocess.run(["clang", "-print-multiarch"],
                               capture_output=True, text=True).stdout
    cmd = ["clang", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror",
           *[f"-D{d}" for d in defines], "-c", os.path.join(HERE, src),
           "-o", obj]
    if multiarch.strip():
        cmd[1:1] = ["-idirafter", "/usr/include/" + multiarch.strip()]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"clang {src}: " + r.stderr[-600:])


# --link relay: kxdpgun's veth and the server's are not each other's peers but
# each the peer of one veth of a relay namespace, whose XDP programs
# (bench/xdp_relay.bpf.c) redirect every frame to the other. A veth that
# receives a socket buffer (kxdpgun's AF_XDP is in copy mode on a veth)
# first copies it into a page for XDP, on the receiving device's NAPI:
# without the relay, on the server's core, a cost no native-XDP NIC has
# (its driver hands XDP the DMA'd buffer). With it that copy is done by the
# relay's NAPI, and the server's veth receives XDP frames; the server's own
# transmit (knotd's and the AF_XDP worker's sends, the XDP_TX of answers in
# the driver) is the same as without it.
#
# --relay-core: where the relay's NAPI threads run; they are not the
# server's and their CPU is not counted either way. On the server's core
# (1, the default) the relay plays a NIC: the frames, their rings and
# their pages' state stay in that core's caches, as a NIC's queue stays
# with the core that serves it. On the generator's core (0; every --relay
# run before 2026-12-05 21:00 UTC) each frame and its metadata cross
# between the two cores twice on its way, and the server pays for those
# misses: xdp-bounce costs about 12 times as much there (1.44 against
# 0.12 CPU s per million answers, 20:50 UTC, with the same number of
# wake-up IPIs, about 7,000 a second per core, either way). No NIC moves
# a frame between cores like that; the figures with --relay-core 0 are
# kept as the pessimistic bound. The relay's frames are in the server
# core's L2 where a NIC's DMA leaves them in the last-level cache: a few
# tens of ns per frame in the server's favour, and knotd's.
RLY_NS = "pbpeer-rly"
RLY_CLI_IF, RLY_SRV_IF = "pbrly0", "pbrly1"  # peers of pbcli0, pbsrv0
# The NAPI threads NapiPinner pins, and where: the server veth's with the
# server, the client veth's with the generator; use_relay() adds the
# relay's.
NAPI_PINS = [(SRV_IF, 1), (CLI_IF, 0)]


class Relay:
    """The relay topology, in place of veth_up()/veth_down()
    (use_relay)."""

    def __init__(self, tmp, veth_down):
        self.tmp = tmp
        self.veth_down = veth_down  # the plain pair's

    def up(self):
        self.down()
        add_namespaces(SRV_NS, CLI_NS, RLY_NS)
        links = ((SRV_IF, SRV_NS, RLY_SRV_IF),
                 (CLI_IF, CLI_NS, RLY_CLI_IF))
        for dev, ns, peer in links:
            add_veth(dev, ns, peer, RLY_NS)
        address_server_and_client()
        # Full checksums from both kernels: a socket buffer's pending
        # checksum (CHECKSUM_PARTIAL) does not survive the relay's XDP
        # redirect (the server's slow-path answers, dig's SOA with a cookie).
        for dev, ns, _ in links:
            in_ns(ns, ["ethtool", "-K", dev, "tx", "off"])
        # A veth takes redirected XDP frames only with its NAPI on: an XDP
        # program of its own (the server's, kxdpgun's), else GRO, which
        # covers the moments before either attaches (ARP, ping).
        for dev, ns, peer in links:
            in_ns(ns, ["ethtool", "-K", dev, "gro", "on"])
            for d, n in ((dev, ns), (peer, RLY_NS)):
                run(["ip", "-n", n, "link", "set", d, "up"], check=True)
        index = {}
        for d in (RLY_CLI_IF, RLY_SRV_IF):
            out = run(["ip", "-n", RLY_NS, "-j", "link", "show", "dev", d],
                      check=True).stdout
            index[d] = json.loads(out)[0]["ifindex"]
        for d, other in ((RLY_CLI_IF, RLY_SRV_IF), (RLY_SRV_IF, RLY_CLI_IF)):
            obj = os.path.join(self.tmp, f"xdp_relay_{d}.o")
            compile_bpf("xdp_relay.bpf.c", obj, [f"PEER_IFINDEX={index[other]}"])
            run(["ip", "-n", RLY_NS, "link", "set", "dev", d, "xdpdrv",
                 "obj", obj, "sec", "xdp"], check=True)
            threaded_napi(RLY_NS, d)

    def down(self):
        self.veth_down()
        run(["ip", "netns", "del", RLY_NS])


def use_relay(tmp, core):
    """Every later veth_up()/veth_down() builds and removes the relay
    topology, its NAPI threads pinned to `core`."""
    global veth_up, veth_down
    relay = Relay(tmp, veth_down)
    veth_up, veth_down = relay.up, relay.down
    NAPI_PINS.extend(((RLY_CLI_IF, core), (RLY_SRV_IF, core)))


class NapiPinner:
    """Threaded NAPI for the veth pair while an XDP server runs: pbsrv0's
    NAPI threads on core 1 (the server's core: its XDP program, XDP_TX and
    redirects count there) and pbcli0's on core 0 (the generator's: the
    replies' receive does not count as the server's). A veth has a NAPI
    only while an XDP program is attached to it: pbsrv0's is the server's
    (attached for the server's whole life); pbcli0's comes and goes with
    kxdpgun's program (or the pass-everything one for dnsperf), so one
    shell in the client namespace (on core 0, no process per round) turns
    it threaded within 50 ms of each attach and a thread here pins the
    NAPI threads as they appear. The CPU sampler takes the busiest window
    of a step, inside the traffic."""

    def __init__(self):
        threaded_napi(SRV_NS, SRV_IF)
        self.stop_ev = threading.Event()
        self.pinned = {}
        self.shell = subprocess.Popen(
            ["taskset", "-c", "0", "timeout", "1800", "ip", "netns", "exec",
             CLI_NS, "bash", "-c",
             "exec 3<> <(:); while :; do echo 1 > /sys/class/net/%s/threaded"
             " 2>/dev/null; read -t 0.05 -u 3; done" % CLI_IF],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while True:
            for ifname, cpu in NAPI_PINS:
                for pid in napi_threads(ifname):
                    if self.pinned.get(pid) != cpu:
                        try:
                            os.sched_setaffinity(pid, {cpu})
                            self.pinned[pid] = cpu
                        except OSError:
                            pass
            if self.stop_ev.wait(0.05):
                return

    def where(self):
        """{ifname: [[pid, cpus]]} of the NAPI threads now."""
        out = {}
        for ifname, _ in NAPI_PINS:
            for pid in napi_threads(ifname):
                try:
                    out.setdefault(ifname, []).append(
                        [pid, sorted(os.sched_getaffinity(pid))])
                except OSError:
                    pass
        return out

    def stop(self):
        self.stop_ev.set()
        self.th.join()
        if self.shell.poll() is None:
            self.shell.terminate()      # by its PID
        try:
            self.shell.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.shell.kill()
            self.shell.wait()


def client_pass_program(popdns, on):
    """A frame the server's XDP program sends back with XDP_TX reaches the
    client veth only if that veth runs an XDP program too: for dnsperf
    against popdns-xdp-hot, popdns's own program on pbcli0 (its maps are
    empty, so it passes everything)."""
    if on:
        obj = os.path.join(os.path.dirname(os.path.dirname(popdns)), "bpf",
                           "xdp_dns.bpf.o")
        run(["ip", "-n", CLI_NS, "link", "set", "dev", CLI_IF, "xdpdrv",
             "obj", obj, "sec", "xdp"], check=True)
    else:
        run(["ip", "-n", CLI_NS, "link", "set", "dev", CLI_IF, "xdpdrv",
             "off"])


def softnic_env(tmp, popdns_wrapper):
    return dict(os.environ, POP=SN_POP, CLIENT=SN_CLIENT, WIRE_IF=SN_WIRE,
                EXC_IF=SN_EXC, SERVICE_V4=SN_IP, CLIENT_V4="198.18.0.2/24",
                CLIENT_V6="fd00:55::2/64",
                STATE=os.path.join(tmp, "softnic-state"),
                POPDNS=popdns_wrapper)


def wait_answer(ns, ip, timeout):
    """Until the server answers the zone's SOA with our serial."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = in_ns(ns, ["dig", "+time=1", "+tries=1", "+short", "+norec",
                       "@" + ip, ORIGIN, "SOA"], timeout=10)
        if f" {SERIAL} " in r.stdout:
            return time.monotonic()
        time.sleep(0.2)
    return None


# ----------------------------------------------------------------- servers

class Server:
    """Starts one server/mode; stop() by PID."""

    def __init__(self, tid, a, tmp, zone):
        self.tid, self.a, self.tmp, self.zone = tid, a, tmp, zone
        self.dir = os.path.join(tmp, tid)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.logf = None
        self.moved_threads = 0
        self.affinity = {}
        self.client_ns, self.ip, self.client_if = CLI_NS, SRV_IP, CLI_IF
        self.server_ns = SRV_NS
        self.softnic = False

    def bounded(self, cmd):
        # Stops by itself even if this script dies.
        return ["timeout", "-k", "5", str(int(self.a.server_lifetime))] + cmd

    def start(self):
        t = self.tid
        if t == "popdns-softnic":
            return self.start_softnic()
        veth_up()
        logpath = os.path.join(self.dir, "server.log")
        self.logf = open(logpath, "w")
        if t.startswith("knotd"):
            cmd = ["taskset", "-c", "1"] + self.bounded(
                ["knotd", "-c", self.knot_conf(xdp=(t == "knotd-xdp"))])
        elif t == "nsd":
            cmd = ["taskset", "-c", "1"] + self.bounded(
                ["nsd", "-d", "-c", self.nsd_conf()])
        elif t == "popdns-sockets":
            cmd = ["taskset", "-c", "1"] + self.bounded(
                [self.a.popdns, "--zone", f"{ORIGIN}={self.zone}",
                 "--listen", f"{SRV_IP}:53", "--udp-threads", "1",
                 "--control-socket", os.path.join(self.dir, "control.sock")])
        elif t in POPDNS_XDP:
            # No taskset: EAL pins lcore 0 (control) and lcore 1 (worker).
            cmd = self.bounded([self.a.popdns, "--config", self.popdns_xdp_conf()])
        else:
            raise ValueError(t)
        self.proc = subprocess.Popen(["ip", "netns", "exec", SRV_NS] + cmd,
                                     stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        ok = wait_answer(CLI_NS, SRV_IP, self.a.load_timeout)
        if ok is None or self.proc.poll() is not None:
            raise RuntimeError("did not answer: " + self.log_tail())
        self.ready_s = ok - t0
        if t not in POPDNS_XDP:
            self.moved_threads = self.repin(1)
        self.affinity = self.threads_affinity()
        # Neighbour entry for kxdpgun (it reads the remote MAC from it).
        in_ns(CLI_NS, ["ping", "-c", "1", "-W", "1", SRV_IP])
        return self.ready_s

    def threads_affinity(self):
        """{tid: allowed CPUs} of every thread of the started process tree."""
        out = {}
        for pid in zone_load_helper.descendants(self.proc.pid)[1:]:
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    out[int(tid)] = sorted(os.sched_getaffinity(int(tid)))
            except OSError:
                pass
        return out

    def repin(self, cpu):
        """knotd pins each UDP/XDP worker thread to CPU (thread id mod
        CPUs) when it starts, whatever taskset said; put every thread of
        the server back on `cpu` (they do not re-pin themselves later)."""
        moved = 0
        for tid, cpus in self.threads_affinity().items():
            if cpus != [cpu]:
                try:
                    os.sched_setaffinity(tid, {cpu})
                    moved += 1
                except OSError:
                    pass
        return moved

    def start_softnic(self):
        wrapper = os.path.join(self.dir, "popdns-bounded")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec timeout -k 5 %d %s \"$@\"\n"
                    % (int(self.a.server_lifetime), self.a.popdns))
        os.chmod(wrapper, 0o755)
        self.env = softnic_env(self.tmp, wrapper)
        conf = self.popdns_softnic_conf()
        self.softnic = True
        self.client_ns, self.ip, self.client_if = SN_CLIENT, SN_IP, SN_WIRE
        self.server_ns = None      # the dataplane bypasses the pop's kernel
        t0 = time.monotonic()
        r = run(["bash", os.path.join(ROOT, "scripts", "softnic.sh"), "up",
                 conf], env=self.env, timeout=self.a.load_timeout + 30)
        if r.returncode != 0:
            raise RuntimeError("softnic.sh up failed: " +
                               (r.stderr + r.stdout).strip()[-800:])
        ok = wait_answer(SN_CLIENT, SN_IP, self.a.load_timeout)
        if ok is None:
            raise RuntimeError("softnic: no SOA answer")
        in_ns(SN_CLIENT, ["ping", "-c", "1", "-W", "1", SN_IP])
        return ok - t0

    def log_tail(self):
        try:
            if self.logf:
                self.logf.flush()
                with open(self.logf.name) as f:
                    return f.read()[-800:]
        except OSError:
            pass
        return ""

    def stop(self):
        if self.softnic:
            run(["bash", os.path.join(ROOT, "scripts", "softnic.sh"), "down"],
                env=self.env, timeout=60)
            return
        if self.proc:
            # ip netns exec -> timeout -> the server
            zone_load_helper.stop_process(self.proc, 20)
        if self.logf:
            self.logf.close()
        veth_down()

    # -- configs
    def knot_conf(self, xdp):
        d = self.dir
        os.makedirs(os.path.join(d, "storage"), exist_ok=True)
        xdp_sec = f"xdp:\n    listen: {SRV_IF}\n    udp: on\n" if xdp else ""
        path = os.path.join(d, "knot.conf")
        with open(path, "w") as f:
            f.write(f"""server:
    listen: {SRV_IP}@53
    rundir: "{d}"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
{xdp_sec}log:
  - target: stderr
    any: info
database:
    storage: "{d}/storage"
template:
  - id: default
    storage: "{d}/storage"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
    zonefile-load: whole
zone:
  - domain: {ORIGIN}
    file: "{self.zone}"
""")
        return path

    def nsd_conf(self):
        d = self.dir
        os.makedirs(os.path.join(d, "xfr"), exist_ok=True)
        path = os.path.join(d, "nsd.conf")
        with open(path, "w") as f:
            f.write(f"""server:
    ip-address: {SRV_IP}
    port: 53
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "{os.path.dirname(self.zone)}"
    zonelistfile: "{d}/zone.list"
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}/xfr"
    database: ""
    logfile: "{d}/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {ORIGIN}
    zonefile: "{self.zone}"
""")
        return path

    def popdns_conf(self, dataplane):
        """popdns.yaml serving the zone, with `dataplane` (YAML lines under
        `dataplane:`, indented two spaces)."""
        path = os.path.join(self.dir, "popdns.yaml")
        with open(path, "w") as f:
            f.write(f"""zones:
  - name: {ORIGIN}
    file: {self.zone}
control_socket: {self.dir}/control.sock
dataplane:
""" + dataplane)
        return path

    def popdns_xdp_conf(self):
        """popdns-xdp; popdns-xdp-hot is the same plus xdp.hot_answers with
        the questions kxdpgun asks pinned (main(): a.hot_questions)."""
        hot = ""
        if self.tid == HOT:
            pinned = "".join(f'        - "{q}"\n'
                             for q in getattr(self.a, "hot_questions", []))
            hot = ("    hot_answers:\n"
                   "      entries: 8192\n"
                   "      every_name: false\n"
                   "      sample_every: 64\n"
                   "      refresh_ms: 500\n"
                   + (f"      pinned:\n{pinned}" if pinned else ""))
        idle = getattr(self.a, "popdns_idle", "poll")
        idle_conf = f"  idle: {idle}\n"
        if idle == "sleep":
            idle_conf += f"  idle_max_sleep_us: {self.a.popdns_idle_max_us}\n"
        return self.popdns_conf(f"""\
  xdp:
    interface: {SRV_IF}
    queues: 1
{hot}{idle_conf}  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "pbpeer-x", "--log-level", "*:error"]
  service_addresses: ["{SRV_IP}/24"]
""")

    def server_tasks(self):
        """Every thread of the server's process tree and pbsrv0's NAPI
        threads (/proc paths): what does the server's work, softirq
        included (without IRQ time accounting the kernel charges softirq
        work to the thread it interrupts, and with threaded NAPI the
        receive work is the NAPI thread's)."""
        out = []
        for pid in zone_load_helper.descendants(self.proc.pid)[1:]:
            try:
                out += [f"/proc/{pid}/task/{t}"
                        for t in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                pass
        return out + server_napi_tasks()

    def wait_hot_installed(self, want, timeout=60):
        """Until xdp.hot.installed stops growing (the pinned questions are
        compiled at start); returns the hot counters."""
        deadline = time.monotonic() + timeout
        last, c = -1, {}
        while time.monotonic() < deadline:
            c = self.popdns_counters()
            n = c.get("xdp.hot.installed", 0)
            if n >= want or (n == last and n > 0):
                break
            last = n
            time.sleep(0.5)
        return {k: v for k, v in c.items() if k.startswith("xdp.hot.")}

    def popdns_softnic_conf(self):
        return self.popdns_conf(f"""\
  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "pbpeer-t",
        "--vdev", "net_tap0,iface={SN_WIRE}", "--vdev", "net_tap1,iface={SN_EXC}",
        "--log-level", "*:error"]
  wire_port: net_tap0
  exception_port: net_tap1
  exception_interface: {SN_EXC}
  service_addresses: ["{SN_IP}/24", "fd00:55::1/64"]
""")

    def popdns_counters(self):
        """Dataplane counters (malformed/tx_drop tell where frames went)."""
        sock = os.path.join(self.dir, "control.sock")
        if not os.path.exists(sock) or "sockets" in self.tid:
            return {}
        ctl = os.path.join(os.path.dirname(self.a.popdns), "popdnsctl")
        ns = SN_POP if self.softnic else SRV_NS
        r = in_ns(ns, [ctl, "--socket", sock, "stats"], timeout=10)
        d = {}
        for line in r.stdout.splitlines():
            k, _, v = line.partition(" ")
            if v.strip().isdigit() and (k.startswith("dpdk.") or
                                        k.startswith("xdp.")):
                d[k] = int(v)
        return d


def versions(popdns):
    v = {}
    try:
        v["knotd"] = run(["knotd", "-V"]).stdout.strip().split("version ")[-1]
    except (OSError, subprocess.SubprocessError):
        v["knotd"] = None
    try:
        r = run(["nsd", "-v"])
        m = re.search(r"NSD version (\S+)", r.stderr + r.stdout)
        v["nsd"] = m.group(1) if m else "?"
    except (OSError, subprocess.SubprocessError):
        v["nsd"] = None
    d = run(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    v["popdns"] = d.stdout.strip() or "?"
    for tool, args in (("dnsperf", ["-h"]), ("kxdpgun", ["-V"])):
        try:
            r = run([tool] + args)
            m = re.search(r"[Vv]ersion:?\s+(\S+)", r.stdout + r.stderr)
            v[tool] = m.group(1) if m else "?"
        except (OSError, subprocess.SubprocessError):
            v[tool] = None
    return v


def cpu_model():
    return zone_load_helper.cpu_model()


# ------------------------------------------------------------------ report

def best_step(steps):
    """Highest replies/s among steps with < 1% loss; else the best achieved
    (flagged)."""
    good = [s for s in steps if s.get("replies_per_s") is not None
            and s.get("lost_pct", 100) < LOSS_OK]
    if good:
        return max(good, key=lambda s: s["replies_per_s"]), True
    ran = [s for s in steps if s.get("replies_per_s") is not None]
    if ran:
        return max(ran, key=lambda s: s["replies_per_s"]), False
    return None, False


def limit_note(tid, top, idle="poll"):
    """Which side ran out at the highest offered rate (heuristic, from the
    loss, the per-core busy time and the namespaces' UDP drop counters);
    `idle`: popdns's XDP modes' dataplane.idle in the run."""
    if not top or top.get("replies_per_s") is None:
        return ""
    c0 = top.get("cpu", {}).get("cpu0", {}).get("busy", 0)
    c1 = top.get("cpu", {}).get("cpu1", {}).get("busy", 0)
    lost = top.get("lost_pct", 0)
    poll = tid == "popdns-softnic" or (tid in POPDNS_XDP and idle == "poll")
    srv_drop = top.get("udp_server", {}).get("RcvbufErrors", 0)
    cli_drop = top.get("udp_client", {}).get("RcvbufErrors", 0)
    if lost >= LOSS_OK:
        if srv_drop:
            where = f"server socket full ({srv_drop / max(1, top.get('sent', 1)) * 100:.0f}% of queries dropped there)"
        elif cli_drop:
            where = f"generator socket full ({cli_drop} replies dropped)"
        elif top.get("client_if", {}).get("tx_dropped"):
            where = (f"queue to the server full ({top['client_if']['tx_dropped']:,}"
                     f" dropped on the client's {'tap' if tid == 'popdns-softnic' else 'veth'})")
        elif tid == "popdns-xdp":
            where = "server core: AF_XDP RX ring full (worker behind)"
        elif tid == HOT:
            where = ("answers in the driver: lost between the XDP program's "
                     "XDP_TX and kxdpgun (client veth) or in the AF_XDP ring "
                     "for the redirected rest")
        elif tid == "knotd-xdp":
            where = "server core: XDP RX ring full"
        elif poll:
            where = "server core (busy-polling)"
        else:
            where = "server side"
        return f"{where}; core1 {c1:.0f}%"
    if c0 >= 90:
        return f"generator core ({c0:.0f}% busy)"
    if c1 >= 90 and not poll:
        return f"server core ({c1:.0f}% busy)"
    return f"round trip (core0 {c0:.0f}%, core1 {c1:.0f}%)"


def fmt_rate(r):
    if r is None:
        return ""
    return "max" if r == "max" else f"{int(r)/1000:g}k"


def fmt_offered(step):
    """The offered rate, and what was really sent when the generator could
    not keep up with it."""
    txt = fmt_rate(step.get("offered"))
    sent = step.get("sent_per_s")
    if step.get("offered") != "max" and sent and sent < 0.95 * step["offered"]:
        txt += f" (sent {sent / 1e3:.0f}k)"
    return txt


def step_cpu(step, secs):
    """Core 1's CPU per million answers of one kxdpgun step: busy seconds
    in the traffic window (wall minus exact idle: softirq, ksoftirqd and
    NAPI threads included) over the answers in that window; the
    tick-sampled user+system+softirq likewise."""
    c1 = (step.get("cpu_s") or {}).get("cpu1")
    t = (step.get("cpu_s") or {}).get("tasks")
    rps = step.get("replies_per_s")
    if not c1 or not rps or not c1.get("window_s"):
        return None
    answers = rps * min(c1["window_s"], secs or c1["window_s"])
    x = step.get("xdp") or {}
    return {"offered": step.get("offered"), "replies_per_s": round(rps),
            "lost_pct": round(step.get("lost_pct", 0), 3),
            "core1_busy_pct": round(100.0 * c1["busy_s"] / c1["window_s"], 1),
            "core1_cpu_s": c1["busy_s"], "window_s": c1["window_s"],
            "cpu_s_per_million": round(c1["busy_s"] / (answers / 1e6), 3),
            "tick_cpu_s_per_million": round(c1["tick_busy_s"] /
                                            (answers / 1e6), 3),
            "tasks_cpu_s_per_million": (
                round(t["run_s"] / (rps * min(t["window_s"], secs or
                                              t["window_s"]) / 1e6), 3)
                if t and t.get("window_s") else None),
            "core1_softirq_s": c1.get("softirq_s"),
            "xdp_answered": x.get("answered"),
            "xdp_redirect": x.get("redirect"),
            "hot_share_pct": x.get("hot_share_pct")}


def cpu_per_answer(results, meta):
    """Issue 17: CPU per million answers of knotd-xdp, popdns-xdp and
    popdns-xdp-hot (kxdpgun) at the highest sweep rate all of them
    sustained (< LOSS_OK % lost), and at the fixed --cpu-rate step; the
    ratios popdns-xdp / popdns-xdp-hot and knotd-xdp / popdns-xdp-hot."""
    secs = meta.get("kxdpgun_seconds")
    by = {r["id"]: r for r in results if r["id"] in CPU_TARGETS}
    sweeps = {tid: r.get("generators", {}).get("kxdpgun") or []
              for tid, r in by.items()}
    sweeps = {tid: st for tid, st in sweeps.items() if st}
    out = {"targets": [t for t in CPU_TARGETS if t in sweeps],
           "loss_ok_pct": LOSS_OK}
    if not sweeps:
        return out
    ok = None
    for tid, steps in sweeps.items():
        rates = {st["offered"] for st in steps
                 if st.get("offered") != "max" and st.get("replies_per_s")
                 and st.get("lost_pct", 100) < LOSS_OK}
        ok = rates if ok is None else ok & rates
    common = max(ok) if ok else None
    out["common_rate"] = common
    sets = {}
    if common is not None:
        sets["sweep"] = {tid: step_cpu(next(st for st in steps
                                             if st.get("offered") == common),
                                        secs)
                         for tid, steps in sweeps.items()}
    fixed = {tid: step_cpu(by[tid]["cpu_step"], secs) for tid in by
             if by[tid].get("cpu_step")}
    if fixed:
        sets["fixed"] = fixed
        out["fixed_rate"] = meta.get("cpu_rate")
        out["fixed_all_sustained"] = all(
            f and f["lost_pct"] < LOSS_OK for f in fixed.values())
    for name, per in sets.items():
        out[name] = per
        hot = (per.get(HOT) or {})
        ratios = {}
        for other in ("popdns-xdp", "knotd-xdp"):
            o = per.get(other) or {}
            for key, tag in (("cpu_s_per_million", ""),
                             ("tasks_cpu_s_per_million", "tasks_"),
                             ("tick_cpu_s_per_million", "tick_")):
                if hot.get(key) and o.get(key):
                    ratios[f"{tag}{other}/{HOT}"] = round(o[key] / hot[key], 2)
        out[name + "_ratios"] = ratios
    return out


def cpu_table(cpa, link="veth", relay_core=None):
    """Markdown for cpu_per_answer(). With the relay on core 1, core 1's
    busy time includes the relay's work (what a NIC does): the verdict is
    then on the threads + NAPI figure, the server's own."""
    own = link == "relay" and relay_core == 1
    L = []
    if not any(c for name in ("sweep", "fixed")
               for c in (cpa.get(name) or {}).values()):
        return L      # e.g. a --from-json of a run without these numbers
    L.append("")
    L.append("CPU per answer (issue 17), kxdpgun, CPU seconds per million "
             "answers on the server's side: **core 1** = core 1's busy time "
             "(the traffic window's wall time minus core 1's exact idle "
             "time: user, system, softirq, ksoftirqd and the server veth's "
             "NAPI thread all count); threads + NAPI = the scheduler's run "
             "time of every thread of the server, on any core (so also "
             "popdns's control thread on core 0, which refreshes the hot "
             "set), and of pbsrv0's NAPI thread; ticks = core 1's "
             "tick-sampled user+system+softirq (unreliable here: with "
             "NO_HZ idle a tick charges the whole 4 ms to whatever runs at "
             "that moment).")
    L.append("")
    L.append("| at | server | mode | offered | replies/s | lost % "
             "| core 1 busy % | **core 1** s per million | threads + NAPI "
             "s per million | ticks s per million | answered in the driver |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    mode = {t[0]: (t[1], t[2]) for t in TARGETS}
    labels = []
    if "sweep" in cpa:
        labels.append(("sweep", f"highest sweep rate all sustained "
                                f"({fmt_rate(cpa['common_rate'])})"))
    if "fixed" in cpa:
        labels.append(("fixed", f"fixed step (--cpu-rate "
                                f"{fmt_rate(cpa['fixed_rate'])})"))
    for name, label in labels:
        for tid in CPU_TARGETS:
            c = cpa[name].get(tid)
            if not c:
                continue
            drv = ("" if c.get("hot_share_pct") is None
                   else f"{c['hot_share_pct']:.1f}%")
            tasks = c.get("tasks_cpu_s_per_million")
            L.append(f"| {label} | {mode[tid][0]} | {mode[tid][1]} "
                     f"| {fmt_rate(c['offered'])} | {c['replies_per_s']:,} "
                     f"| {c['lost_pct']:.2f} | {c['core1_busy_pct']:.1f} "
                     f"| **{c['cpu_s_per_million']:.3f}** "
                     f"| {'–' if tasks is None else f'{tasks:.3f}'} "
                     f"| {c['tick_cpu_s_per_million']:.3f} | {drv} |")
    L.append("")
    if "sweep" not in cpa:
        L.append("No offered rate of the sweep was sustained (< "
                 f"{LOSS_OK:g}% lost) by every one of "
                 f"{', '.join(cpa['targets'])}.")
    for name, label in labels:
        r = cpa.get(name + "_ratios") or {}
        parts = []
        for other, target in (("popdns-xdp", 2), ("knotd-xdp", 3)):
            kinds = (("", "core 1"), ("tasks_", "threads + NAPI"),
                     ("tick_", "ticks"))
            if own:
                kinds = (kinds[1], kinds[0], kinds[2])
            v = r.get(f"{kinds[0][0]}{other}/{HOT}")
            if v is None:
                continue
            extra = [f"{tag} {r[k + other + '/' + HOT]:.2f}x"
                     for k, tag in kinds[1:]
                     if r.get(k + other + "/" + HOT)]
            parts.append(f"{other} / {HOT} = **{v:.2f}x**"
                         + (" (threads + NAPI" if own else " (")
                         + ("; " if own else "")
                         + f"target ≥ {target}x"
                         f"{'' if v >= target else ', not met'}"
                         + (f"; {', '.join(extra)}" if extra else "") + ")")
        if parts:
            lossy = [tid for tid, c in cpa[name].items()
                     if c and c["lost_pct"] >= LOSS_OK]
            L.append(f"CPU per answer, {label}: " + "; ".join(parts) + "."
                     + (f" (lost ≥ {LOSS_OK:g}% at this step: "
                        f"{', '.join(lossy)}.)" if lossy else ""))
    if link == "veth" and cpa.get("fixed_ratios"):
        L.append("")
        L.append("On the plain veth pair the server's core also turns each of "
                 "kxdpgun's frames (socket buffers: copy-mode AF_XDP) into a "
                 "page for XDP, a cost of the link that no native-XDP NIC "
                 "has and that bounds every server's figure from below "
                 "(bench/xdp_hot_bench.sh's xdp-bounce). Issue 17's targets "
                 "are measured with --link relay, where frames reach the "
                 "server's veth as XDP frames, as from a NIC: "
                 "bench/xdp_hot_bench.sh (its default) or this script with "
                 "--link relay.")
    return L


def report(results, meta, json_out, png_out, tmp):
    rows = []
    base = {}
    for res in results:
        for gen, steps in res.get("generators", {}).items():
            b, ok = best_step(steps)
            tops = [st for st in steps if st.get("offered") == "max"]
            top = tops[-1] if tops else (steps[-1] if steps else None)
            row = {"id": res["id"], "server": res["server"],
                   "mode": res["mode"], "generator": gen,
                   "max_replies_per_s": b and round(b["replies_per_s"]),
                   "under_1pct_loss": ok, "best": b, "top": top,
                   "limit": limit_note(res["id"], top,
                                       meta.get("popdns_idle", "poll")),
                   "error": (steps[-1].get("error") if steps and
                             steps[-1].get("error") and not steps[-1].get("sent")
                             else None)}
            common = [st for st in steps if st.get("offered") == meta["lat_rate"]]
            row["at_common_rate"] = common[0] if common else None
            row["replies_per_s_at_max"] = (top and top.get("replies_per_s")
                                           and round(top["replies_per_s"]))
            if res["id"] == BASELINE and b:
                base[gen] = b["replies_per_s"]
                base[gen + "@max"] = row["replies_per_s_at_max"]
            rows.append(row)
        if res.get("error"):
            rows.append({"id": res["id"], "server": res["server"],
                         "mode": res["mode"], "generator": "-",
                         "max_replies_per_s": None, "error": res["error"]})
    for row in rows:
        bb = base.get(row["generator"])
        if bb and row.get("max_replies_per_s"):
            row["ratio_to_knotd_sockets"] = round(row["max_replies_per_s"] / bb, 2)
        bm = base.get(row["generator"] + "@max")
        if bm and row.get("replies_per_s_at_max"):
            row["ratio_at_max_to_knotd_sockets"] = round(
                row["replies_per_s_at_max"] / bm, 2)

    L = []
    L.append(f"Peer comparison, {meta['zone']['records']:,}-record zone "
             f"({meta['zone']['names']:,} names), {meta['queries']['queries']:,}"
             f" queries (70% A/AAAA hits, 10% NXDOMAIN, 10% wildcard, 5% CNAME,"
             f" 5% referral); {meta['date']}; load average before "
             f"{meta['loadavg_before']}, after {meta.get('loadavg_after', '?')};"
             f" {meta['nproc']} vCPU {meta['cpu']}; kernel {meta['kernel']};"
             f" {meta['step_seconds']} s per dnsperf step, "
             f"{meta['kxdpgun_seconds']} s per kxdpgun step."
             + (f" kxdpgun asks the first {meta['kxdpgun_file']['distinct']:,}"
                f" distinct questions of that mix round and round (no EDNS; "
                f"popdns-xdp-hot pins them: this measures the hot path, real "
                f"traffic is skewed)." if meta.get("kxdpgun_file") else ""))
    L.append("")
    L.append(f"| server | mode | generator | max replies/s | offered | lost % "
             f"| latency avg ± sd ms | p50 / p99 ms | p50 / p99 ms at {fmt_rate(meta['lat_rate'])} "
             "| at max offered: sent/s → "
             "replies/s, lost % | core0 / core1 busy % | limit | vs knotd (sockets) |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for row in rows:
        if row.get("max_replies_per_s") is None:
            L.append(f"| {row['server']} | {row['mode']} | {row['generator']} "
                     f"| n/a | | | | | | | | {row.get('error') or 'no data'} | |")
            continue
        b, t = row["best"], row["top"]
        mark = "" if row["under_1pct_loss"] else " ‡"
        lat = (f"{b['lat_avg_ms']:.3f} ± {b['lat_sd_ms']:.3f}"
               if b.get("lat_avg_ms") is not None else "–")
        pct = (f"{b['lat_p50_ms']:.3f} / {b['lat_p99_ms']:.3f}"
               if b.get("lat_p50_ms") is not None else "–")
        c = row.get("at_common_rate") or {}
        pctc = (f"{c['lat_p50_ms']:.3f} / {c['lat_p99_ms']:.3f}"
                if c.get("lat_p50_ms") is not None else "–")
        tops = (f"{t.get('sent_per_s', 0)/1e3:.0f}k → "
                f"{t.get('replies_per_s', 0)/1e3:.0f}k, "
                f"{t.get('lost_pct', 0):.1f}")
        cpu = t.get("cpu", {})
        cores = (f"{cpu.get('cpu0', {}).get('busy', 0):.0f} / "
                 f"{cpu.get('cpu1', {}).get('busy', 0):.0f}")
        ratio = row.get("ratio_to_knotd_sockets")
        rmax = row.get("ratio_at_max_to_knotd_sockets")
        L.append(f"| {row['server']} | {row['mode']} | {row['generator']} "
                 f"| {row['max_replies_per_s']:,}{mark} | {fmt_offered(b)} "
                 f"| {b.get('lost_pct', 0):.2f} | {lat} | {pct} | {pctc} | {tops} "
                 f"| {cores} | {row['limit']} "
                 f"| {'–' if ratio is None else f'{ratio:.2f}x'} / "
                 f"{'–' if rmax is None else f'{rmax:.2f}x'} |")
    cpa = cpu_per_answer(results, meta)
    L += cpu_table(cpa, meta.get("link", "veth"), meta.get("relay_core"))
    L.append("")
    L.append(
        "max replies/s: responses per second at the highest offered rate with "
        "< 1% loss (‡: no step stayed under 1% loss; the best achieved rate "
        "is shown). Offered rates: dnsperf " +
        ", ".join(fmt_rate(r) for r in meta["rates"]) + "; kxdpgun " +
        ", ".join(fmt_rate(r) for r in meta["kxdpgun_rates"]) +
        f" queries/s (dnsperf -Q; max = dnsperf closed loop with "
        f"-q {meta['outstanding']} outstanding; kxdpgun -Q, max = -Q "
        f"{meta['kxdpgun_max']}); the sweep stops at the first lossy fixed "
        "rate, runs max, then up to --refine steps just under the rate max "
        "achieved and between the last clean and first lossy rate. dnsperf "
        "-Q is open loop and sends in bursts, which can overflow a server's "
        "default socket buffer at a rate its closed loop (max) sustains "
        "without loss; the generator's own socket buffers are 4 MiB (-b). "
        "Latency: dnsperf's average and standard "
        "deviation at the step shown; p50/p99 from dnsperf -v per-query lines "
        "at the step shown and at one common offered rate for every server "
        "(dnsperf prints "
        "no percentiles; -v costs the generator a few %, the same for every "
        "server); kxdpgun reports no latency. vs knotd: max replies/s over "
        "knotd (UDP sockets) with the same generator, same run.")
    L.append(
        "CPU split: this VM has 2 vCPUs. The server is pinned to core 1 "
        "(taskset -c 1; popdns's DPDK worker is EAL lcore 1 and busy-polls "
        "it, so core 1 reads 100% for the DPDK modes whatever the load"
        + (" (here the XDP modes %s when idle: dataplane.idle %s)"
           % ("sleep" if meta.get("popdns_idle") == "sleep" else
              "wait in poll()", meta.get("popdns_idle"))
           if meta.get("popdns_idle") in ("sleep", "wait") else "") +
        "; its "
        "control thread is lcore 0), the generator to core 0. The kernel's "
        "veth/tap delivery is not pinned: it runs as softirq on the core that "
        "sends (the generator's core for queries; the server's core for "
        "replies; for the software NIC the tap write and the kernel's "
        "receive run on popdns's worker core). So every number here is a "
        "CPU split between generator, kernel delivery and server on 2 cores, "
        "not a NIC line-rate figure; 'limit' says which side ran out at the "
        "highest offered rate (lost ≥ 1%: the server side could not keep "
        "up; otherwise a saturated generator core).")
    for n in meta.get("notes", []):
        L.append(n)
    text = "\n".join(L)
    print(text)

    if png_out:
        chart(rows, meta, png_out, tmp)
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"meta": meta, "rows": rows, "results": results,
                       "cpu_per_answer": cpa, "markdown": text}, f,
                      indent=1, default=str)
            f.write("\n")
    return text


def chart(rows, meta, png, tmp):
    if not shutil.which("gnuplot"):
        log("gnuplot not installed (apt-get install gnuplot-nox): no PNG")
        return
    labels = []
    vals = {}
    for row in rows:
        lab = f"{row['server']}\\n{SHORT_MODE.get(row['id'], row['mode'])}"
        if lab not in labels:
            labels.append(lab)
        if row.get("max_replies_per_s"):
            vals[(lab, row["generator"])] = row["max_replies_per_s"]
        if row.get("replies_per_s_at_max") and row["generator"] == "kxdpgun":
            vals[(lab, "kxdpgun@max")] = row["replies_per_s_at_max"]
    dat = os.path.join(tmp, "chart.dat")
    with open(dat, "w") as f:
        f.write("# label dnsperf kxdpgun kxdpgun_at_max\n")
        for lab in labels:
            f.write('"%s" %s %s %s\n' % (
                lab, vals.get((lab, "dnsperf"), "NaN"),
                vals.get((lab, "kxdpgun"), "NaN"),
                vals.get((lab, "kxdpgun@max"), "NaN")))
    gp = os.path.join(tmp, "chart.gp")
    title = (f"popdns peer comparison: replies/s per server and mode, "
             f"{meta['zone']['names']:,}-name zone, 2 vCPU VM, {meta['date']}")
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 1200,600 font ",10"
set output "{png}"
set title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "replies/s"
set format y "%.0s%c"
set yrange [0:*]
set grid ytics
set key tmargin center horizontal
set xrange [-0.6:{len(labels) - 0.4}]
set xtics noenhanced
set bmargin 5
plot "{dat}" using 2:xtic(1) title "dnsperf, < 1% loss", \\
     "" using 3 title "kxdpgun, < 1% loss", \\
     "" using 4 title "kxdpgun at max offered (any loss)", \\
     "" using ($0-0.25):2:(sprintf("%.0fk", $2/1000.0)) with labels offset 0,0.7 notitle, \\
     "" using ($0):3:(sprintf("%.0fk", $3/1000.0)) with labels offset 0,0.7 notitle, \\
     "" using ($0+0.25):4:(sprintf("%.0fk", $4/1000.0)) with labels offset 0,0.7 notitle
""")
    r = run(["gnuplot", gp], timeout=30)
    if r.returncode != 0:
        log("gnuplot failed: " + r.stderr.strip()[-300:])


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--queries", type=int, default=200000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rates", default=None)
    ap.add_argument("--step-seconds", type=int, default=None)
    ap.add_argument("--outstanding", type=int, default=100)
    ap.add_argument("--refine", type=int, default=None)
    ap.add_argument("--kxdpgun-seconds", type=int, default=None)
    ap.add_argument("--kxdpgun-rates", default=None)
    ap.add_argument("--sockbuf-kib", type=int, default=4096)
    ap.add_argument("--kxdpgun-max", type=int, default=2000000)
    ap.add_argument("--servers", default=",".join(t[0] for t in TARGETS))
    ap.add_argument("--generators", default="dnsperf,kxdpgun")
    ap.add_argument("--no-percentiles", dest="percentiles",
                    action="store_false")
    ap.add_argument("--json")
    ap.add_argument("--png")
    ap.add_argument("--popdns", default=os.path.join(ROOT, "build", "control",
                                                     "popdns"))
    ap.add_argument("--load-timeout", type=float, default=120)
    ap.add_argument("--budget", type=float, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--from-json", help="re-render the table, --json and "
                    "--png of an earlier run from its JSON; runs nothing")
    ap.add_argument("--kxdpgun-questions", type=int, default=None,
                    help="kxdpgun asks the first N distinct questions of "
                    "the mix round and round (default 8192 when "
                    "popdns-xdp-hot runs, else 0: the whole query file)")
    ap.add_argument("--cpu-rate", type=int, default=100000,
                    help="one extra kxdpgun step at this rate for knotd-xdp, "
                    "popdns-xdp and popdns-xdp-hot (CPU per answer); 0: none")
    ap.add_argument("--no-threaded-napi", dest="threaded_napi",
                    action="store_false",
                    help="leave the veths' receive work on the sending core")
    ap.add_argument("--popdns-idle", choices=("poll", "sleep", "wait"),
                    default="wait", help="dataplane.idle of popdns's XDP "
                    "modes (default wait: CPU per answer is measurable)")
    ap.add_argument("--popdns-idle-max-us", type=int, default=1000)
    ap.add_argument("--link", choices=("veth", "relay"), default="veth",
                    help="veth (the default): kxdpgun's veth is the "
                    "server's peer; relay: frames reach the server's veth as "
                    "XDP frames through a relay namespace, as from a "
                    "native-XDP NIC (Relay)")
    ap.add_argument("--relay-core", type=int, choices=(0, 1), default=1,
                    help="with --link relay: the relay's NAPI threads on the "
                    "server's core (1, as a NIC queue's) or the generator's")
    ap.add_argument("--wait-idle", type=float, default=0,
                    help="wait up to SEC for the 1-min load average < 0.7")
    a = ap.parse_args()
    if a.quick:
        a.rates = a.rates or "40000 max"
        a.step_seconds = a.step_seconds or 2
        a.refine = 2 if a.refine is None else a.refine
        a.budget = a.budget or 170
        if a.records == 300000:
            a.records = 160000
    a.rates = [r if r == "max" else int(r)
               for r in (a.rates or "5000 10000 20000 40000 80000 160000 max").split()]
    if a.quick:
        a.kxdpgun_rates = a.kxdpgun_rates or "40000 max"
    a.kxdpgun_rates = [r if r == "max" else int(r) for r in
                       (a.kxdpgun_rates or "40000 80000 160000 320000 max").split()]
    a.step_seconds = a.step_seconds or 3
    a.kxdpgun_seconds = a.kxdpgun_seconds or (1 if a.quick else a.step_seconds)
    a.refine = 2 if a.refine is None else a.refine
    a.budget = a.budget or 840
    a.popdns = os.path.abspath(a.popdns)
    # Servers stop by themselves even if this script is killed.
    a.server_lifetime = a.budget + 60
    for p in ("json", "png"):
        v = getattr(a, p)
        if v:
            setattr(a, p, os.path.abspath(v))

    if a.from_json:
        with open(a.from_json) as f:
            old = json.load(f)
        tmp = tempfile.mkdtemp(prefix="peer_compare.")
        try:
            report(old["results"], old["meta"], a.json, a.png, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    if os.geteuid() != 0:
        sys.exit("peer_compare: needs root (network namespaces, XDP)")
    want = [t for t in TARGETS if t[0] in a.servers.split(",")]
    unknown = set(a.servers.split(",")) - {t[0] for t in TARGETS} - {""}
    if unknown:
        sys.exit(f"peer_compare: unknown --servers {sorted(unknown)}")
    if a.kxdpgun_questions is None:
        a.kxdpgun_questions = 8192 if any(t[0] == HOT for t in want) else 0
    # This script's own work (samplers, NAPI pinning, popdnsctl, dig) stays
    # on the generator's core: core 1's busy time is the server's.
    os.sched_setaffinity(0, {0})
    gens = [g for g in a.generators.split(",") if g]
    notes = []
    for tool in ("dnsperf", "dig"):
        if not shutil.which(tool):
            sys.exit(f"peer_compare: {tool} missing (scripts/install-deps.sh)")
    if "kxdpgun" in gens and not shutil.which("kxdpgun"):
        notes.append("kxdpgun: not installed (knot-dnsutils): dnsperf only.")
        gens.remove("kxdpgun")

    if a.wait_idle:
        deadline = time.monotonic() + a.wait_idle
        while time.monotonic() < deadline:
            la = float(open("/proc/loadavg").read().split()[0])
            if la < 0.7:
                break
            log(f"load average {la:.2f}: waiting for an idle machine")
            time.sleep(10)
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="peer_compare.")
    if a.link == "relay":
        use_relay(tmp, a.relay_core)
    results = []
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "loadavg_before": " ".join(open("/proc/loadavg").read().split()[:3]),
            "nproc": os.cpu_count(), "cpu": cpu_model(),
            "kernel": platform.release(), "rates": a.rates,
            "step_seconds": a.step_seconds, "outstanding": a.outstanding,
            "kxdpgun_seconds": a.kxdpgun_seconds,
            "kxdpgun_rates": a.kxdpgun_rates,
            "kxdpgun_max": a.kxdpgun_max, "quick": a.quick,
            "lat_rate": (20000 if 20000 in a.rates else
                         min([r for r in a.rates if r != "max"] or [None])),
            "versions": versions(a.popdns), "notes": notes,
            "cpu_rate": a.cpu_rate, "threaded_napi": a.threaded_napi,
            "link": a.link, "relay_core": a.relay_core,
            "popdns_idle": a.popdns_idle,
            "popdns_idle_max_us": a.popdns_idle_max_us,
            "kxdpgun_questions": a.kxdpgun_questions}

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    server = None
    try:
        zone = os.path.join(tmp, "zone.db")
        log(f"generating a {a.records}-record zone and {a.queries} queries in {tmp}")
        gen_args = argparse.Namespace(records=a.records, origin=ORIGIN, out=zone,
                                      shape="records")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            zone_load_helper.gen(gen_args)
        zinfo = json.loads(buf.getvalue())
        q = make_queries(zone, os.path.join(tmp, "queries.txt"), a.queries)
        owners = set()
        with open(zone) as f:
            for line in f:
                if line and line[0] not in ";$\n":
                    owners.add(line.split("\t", 1)[0])
        names = len(owners)
        meta["zone"] = {"records": zinfo["records"], "names": names,
                        "by_type": zinfo["by_type"],
                        "bytes": os.path.getsize(zone)}
        meta["queries"] = q
        log(f"zone: {zinfo['records']} records, {names} names; queries: "
            f"{q['by_kind']}")
        runner = Runner(a, tmp)
        if a.kxdpgun_questions:
            runner.kxdpgun_qfile = os.path.join(tmp, "kxdpgun-queries.txt")
            hot = make_hot_queries(runner.qfile, runner.kxdpgun_qfile,
                                   a.kxdpgun_questions)
            meta["kxdpgun_file"] = {"distinct": len(hot)}
            log(f"kxdpgun: {len(hot)} distinct questions of the mix, round "
                "and round")
        else:
            # The whole mix: 8,192 of its questions pinned cover little.
            hot = make_hot_queries(runner.qfile, os.path.join(
                tmp, "pinned.txt"), 8192)
        a.hot_questions = hot[:8192]
        meta["hot_pinned"] = len(a.hot_questions)
        for tid, srv, mode in want:
            left = a.budget - (time.monotonic() - started)
            if left < 20:
                results.append({"id": tid, "server": srv, "mode": mode,
                                "error": "skipped: time budget used up"})
                log(f"{tid}: skipped (budget)")
                continue
            if srv in ("knotd", "nsd") and not shutil.which(srv):
                results.append({"id": tid, "server": srv, "mode": mode,
                                "error": f"{srv} not installed"})
                continue
            res = {"id": tid, "server": srv, "mode": mode, "generators": {}}
            log(f"{tid}: starting")
            server = Server(tid, a, tmp, zone)
            pinner = None
            try:
                res["ready_s"] = round(server.start(), 2)
                res["threads_repinned"] = server.moved_threads
                res["thread_cpus"] = sorted(set(
                    ",".join(map(str, c)) for c in server.affinity.values()))
                log(f"{tid}: answering after {res['ready_s']} s; threads on "
                    f"CPUs {res['thread_cpus']}"
                    + (f" ({server.moved_threads} re-pinned to core 1)"
                       if server.moved_threads else ""))
                if tid in CPU_TARGETS and a.threaded_napi:
                    pinner = NapiPinner()
                if tid in CPU_TARGETS:
                    runner.tasks = server.server_tasks
                if tid in POPDNS_XDP:
                    runner.counters = server.popdns_counters
                if tid == HOT:
                    res["hot"] = server.wait_hot_installed(
                        len(a.hot_questions))
                    runner.hot_step = True
                    log(f"{tid}: hot set {res['hot']} "
                        f"({len(a.hot_questions)} pinned)")
                for g in gens:
                    if (g == "kxdpgun" and tid in CPU_TARGETS and
                            a.cpu_rate):
                        # CPU per answer at one fixed rate, for each of the
                        # three (the sweep's common rate is the other).
                        runner.iface = server.client_if
                        try:
                            res["cpu_step"] = runner.step(
                                g, server.client_ns, server.server_ns,
                                server.ip, a.cpu_rate, tid)
                            if pinner:   # kxdpgun's program still attached
                                res["napi_threads"] = pinner.where()
                        finally:
                            in_ns(server.client_ns, ["ip", "link", "set",
                                                     "dev", server.client_if,
                                                     "xdp", "off"])
                    hot_pass = g == "dnsperf" and tid == HOT
                    if hot_pass:
                        client_pass_program(a.popdns, True)
                    try:
                        res["generators"][g] = runner.sweep(
                            g, server.client_ns, server.server_ns, server.ip,
                            server.client_if, tid)
                    finally:
                        if hot_pass:
                            client_pass_program(a.popdns, False)
                if pinner and "napi_threads" not in res:
                    res["napi_threads"] = pinner.where()
                if srv == "popdns":
                    res["counters"] = server.popdns_counters()
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                res["error"] = str(e)[-600:]
                log(f"{tid}: FAILED: {res['error']}")
            finally:
                runner.counters = None
                runner.hot_step = False
                runner.tasks = None
                if pinner:
                    pinner.stop()
                server.stop()
                server = None
            results.append(res)
        meta["loadavg_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
        if float(meta["loadavg_before"].split()[0]) > 1.0:
            notes.append(f"WARNING: the machine was busy before the run (load "
                         f"average {meta['loadavg_before']}): other processes "
                         f"took CPU from the generator and the servers, so the "
                         f"absolute numbers are low and noisy.")
        meta["runtime_s"] = round(time.monotonic() - started)
        # Same answers from everyone? (rcode mix at the lowest step)
        mixes = {}
        for res in results:
            st = res.get("generators", {}).get("dnsperf")
            if st and st[0].get("rcodes") and st[0].get("completed"):
                c = st[0]["completed"]
                mixes[res["id"]] = {k: round(100.0 * v / c, 1)
                                    for k, v in st[0]["rcodes"].items()}
        meta["rcode_mix_pct"] = mixes
        if mixes:
            notes.append("Response codes (dnsperf, first step, % of replies): " +
                         "; ".join(f"{k} " + ", ".join(f"{c} {p}" for c, p in
                                                       sorted(v.items()))
                                   for k, v in mixes.items()) + ".")
        infos = {}
        for res in results:
            for st in res.get("generators", {}).get("kxdpgun", []):
                if st.get("info"):
                    infos.setdefault(st["info"], []).append(res["id"])
        if infos:
            notes.append("kxdpgun: " + "; ".join(
                f"{i} ({', '.join(sorted(set(ids)))})"
                for i, ids in infos.items()) + ".")
        repinned = [r["id"] for r in results if r.get("threads_repinned")]
        if repinned:
            notes.append(
                "Pinning: " + ", ".join(repinned) + " pinned some of its own "
                "threads to another CPU at start (knotd binds each UDP/XDP "
                "worker to CPU = thread id mod CPUs, overriding taskset, "
                "which would put its only worker on the generator's core 0); "
                "the benchmark moved every thread of the server back to "
                "core 1 (sched_setaffinity) once it answered.")
        for res in results:
            c = res.get("counters") or {}
            if not c:
                continue
            rx = sum(v for k, v in c.items() if re.match(r"dpdk\.p\d+\.q\d+\.rx$", k))
            ans = sum(v for k, v in c.items()
                      if re.match(r"dpdk\.p\d+\.q\d+\.answered$", k))
            bad = sum(v for k, v in c.items()
                      if re.match(r"dpdk\.p\d+\.q\d+\.(malformed|engine_drop|tx_drop)$", k))
            line = (f"{res['id']} dataplane counters over all its steps: worker "
                    f"received {rx:,} frames, answered {ans:,}, "
                    f"malformed + engine_drop + tx_drop {bad:,}")
            if "xdp.redirect" in c:
                red = c["xdp.redirect"]
                line += (f"; the XDP program redirected {red:,} to AF_XDP, so "
                         f"{max(0, red - rx):,} were dropped in the full AF_XDP "
                         f"RX ring before the worker saw them")
            if c.get("xdp.answered"):
                line += (f"; the XDP program answered {c['xdp.answered']:,} "
                         f"itself (XDP_TX; hot set installed "
                         f"{c.get('xdp.hot.installed', 0):,}, not eligible "
                         f"{c.get('xdp.hot.not_eligible', 0):,} tries)")
            notes.append(line + ".")
        hot_res = next((r for r in results if r["id"] == HOT), None)
        if hot_res and hot_res.get("generators"):
            for g, steps in hot_res["generators"].items():
                shares = [f"{fmt_rate(st['offered'])} "
                          f"{st['xdp']['hot_share_pct']:.1f}%"
                          for st in steps if (st.get("xdp") or {})
                          .get("hot_share_pct") is not None]
                if shares:
                    notes.append(f"{HOT}, {g}: share answered in the driver "
                                 f"(xdp.answered / (answered + redirect)) "
                                 f"per offered rate: " + ", ".join(shares)
                                 + ".")
            warned = [st["warning"] for st in
                      hot_res["generators"].get("kxdpgun", [])
                      + [hot_res.get("cpu_step") or {}] if st.get("warning")]
            if warned:
                notes.append(f"WARNING: {HOT}: low share answered in the "
                             f"driver in {len(warned)} kxdpgun step(s): "
                             f"{warned[0]}.")
        xdp_ids = [r["id"] for r in results if r["id"] in CPU_TARGETS
                   and not r.get("error")]
        if xdp_ids:
            notes.append(
                "XDP targets (" + ", ".join(xdp_ids) + "): " +
                ("both veths in threaded NAPI, pbsrv0's NAPI thread pinned to "
                 "core 1 with the server, pbcli0's to core 0 with the "
                 "generator, so the server veth's receive work (its XDP "
                 "program, redirect or XDP_TX) counts on the server's core "
                 "and kxdpgun's receive does not"
                 if a.threaded_napi else
                 "veths in their default NAPI: the server veth's receive "
                 "work (its XDP program) runs on the sending core, the "
                 "generator's, and is not in core 1's busy time")
                + f"; popdns's XDP modes with idle: {a.popdns_idle}"
                + (f" (sleeps up to {a.popdns_idle_max_us} us)"
                   if a.popdns_idle == "sleep" else "") + ".")
        if a.link == "relay":
            notes.append(
                f"Link: the relay (frames reach pbsrv0 as XDP frames, as from "
                f"a native-XDP NIC), its NAPI threads on core "
                f"{a.relay_core}"
                + (": core 1's busy time includes the relay's work, a NIC's; "
                   "the server's own is the threads + NAPI column."
                   if a.relay_core == 1 else "."))
        notes.append(f"Versions: {meta['versions']}. Run time "
                     f"{meta['runtime_s']} s.")
        report(results, meta, a.json, a.png, tmp)
        return 0 if all(not r.get("error") for r in results) else 1
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
        return 130
    finally:
        if server:
            server.stop()
        veth_down()
        # softnic namespaces, in case its start failed half-way
        for ns in (SN_CLIENT, SN_POP):
            run(["ip", "netns", "del", ns])
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
