#!/usr/bin/python3
"""The DPDK worker's answer rate with and without 1,000+ UPDATEs a second.

Issue 12: "1,000 single-record updates per second into [a 1M-name] zone
while the workers keep answering at full rate". A load generator on this
2-vCPU VM cannot saturate a worker (bench/update_dataplane.sh: dnsperf is
the bottleneck), so here the worker is fed as bench/replay_bench.sh feeds
it: net_pcap replays prebuilt query frames (bench/make_replay_pcap.py: 70%
A/AAAA hits, 10% NXDOMAIN, 10% wildcard, 5% CNAME, 5% referral, names
spread over the zone) from memory as fast as the worker polls, its TX
frees what it answers. The worker lcore runs on CPU 1; the control side
(which commits the updates) and the update clients on CPU 0. Windows of
--duration seconds, alternating: alone, with --senders sequential UDP
clients sending TSIG-signed UPDATEs (delete the A RRset of an existing
host, add one A) to popdns's kernel socket on loopback, alone, ... --pairs
times, ending alone; then one with CPU 0 busy with a spin loop. For each:
the worker's answered/s (popdnsctl stats), the worker thread's CPU time
(schedstat) and answered per worker CPU second, and the updates
acknowledged per second. Each window with updates is compared with the
mean of the two alone windows around it: this VM's speed moves by 10-40%
from one minute to the next, so one pair says little; the table gives
every ratio and their median.

--to-twin sends the same UPDATEs to a second popdns instead (same zone and
policy, kernel sockets only, pinned to CPU 0): the same work on CPU 0,
none of it in the measured worker's process. What the worker loses then
is what this VM charges for activity on its other vCPU, not what popdns's
versions, publishing or journal cost the worker.

    bench/update_replay.sh [--names N] [--senders K] [--duration D]
                           [--pairs P] [--to-twin] [--popdns PATH]
                           [--no-save]
Writes bench/results/update_replay-DATE.{md,json}. Traffic: loopback only
(the replayed frames never leave the process); popdns bounded by `timeout`
and stopped by its PID.
"""
import argparse
import multiprocessing
import os
import re
import statistics
import socket
import subprocess
import sys
import tempfile
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import update_bench as ub  # noqa: E402
from ixfr_bench import name_wire  # noqa: E402
from zone_load_helper import cpu_model, stop_process  # noqa: E402

APEX = "bench.test."


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def counters(popdnsctl, sock):
    r = subprocess.run([popdnsctl, "--socket", sock, "stats"],
                       capture_output=True, text=True, timeout=10)
    tot = {}
    for line in r.stdout.splitlines():
        m = re.match(r"dpdk\.p\d+\.q\d+\.(\w+) (\d+)$", line.strip())
        if m:
            tot[m.group(1)] = tot.get(m.group(1), 0) + int(m.group(2))
    return tot


def worker_task(pid):
    """The worker lcore's thread (EAL names it rte-worker-1)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip().startswith("rte-worker"):
                return int(tid)
    return None


def cpu_s(pid, tid):
    with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
        return int(f.read().split()[0]) / 1e9


def spin(t_end):
    """Burns CPU until t_end (the control window: load on CPU 0 that is
    not popdns's)."""
    os.sched_setaffinity(0, {0})
    while time.monotonic() < t_end:
        pass


def cpu1_interrupts():
    """Interrupts on CPU 1 (the worker's) by kind: function calls (TLB
    flushes of a guest go there), rescheduling, TLB shootdowns."""
    out = {}
    with open("/proc/interrupts") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] in ("CAL:", "RES:", "TLB:") and len(parts) > 2:
                out[parts[0][:-1]] = int(parts[2])
    return out


def window(a, pid, tid, popdnsctl, sock, key, port, hosts, say, label,
           updates, busy=False):
    res = []
    procs = []
    out = None
    t_start = time.monotonic() + 0.3
    if busy:
        spinner = multiprocessing.get_context("fork").Process(
            target=spin, args=(t_start + a.duration + 0.5,))
        spinner.start()
        procs.append(spinner)
    if updates:
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        per = len(hosts) // a.senders
        for i in range(a.senders):
            lst = hosts[i * per:(i + 1) * per]
            procs.append(ctx.Process(target=ub.sender, args=(
                i, port, key.secret_b64, lst, t_start, a.duration, out)))
        for p in procs:
            p.start()
    while time.monotonic() < t_start:
        time.sleep(0.005)
    i0 = cpu1_interrupts()
    s0, c0, t0 = counters(popdnsctl, sock), cpu_s(pid, tid), time.monotonic()
    time.sleep(a.duration)
    s1, c1, t1 = counters(popdnsctl, sock), cpu_s(pid, tid), time.monotonic()
    i1 = cpu1_interrupts()
    for _ in procs if updates else ():
        try:
            res.append(out.get(timeout=a.duration + 30))
        except Exception:  # noqa: BLE001 - a sender that hung
            break
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.terminate()
    dt = t1 - t0
    answered = s1.get("answered", 0) - s0.get("answered", 0)
    cpu = c1 - c0
    lat = [x for r in res for x in r["lat"]]
    w = dict(seconds=dt, answered=answered, answered_per_s=answered / dt,
             worker_cpu_s=cpu,
             answered_per_cpu_s=answered / cpu if cpu > 0 else None,
             tx_drop=s1.get("tx_drop", 0) - s0.get("tx_drop", 0),
             updates_acked=len(lat), updates_per_s=len(lat) / a.duration,
             update_timeouts=sum(r["timeouts"] for r in res),
             update_latency_ms=ub.summary(lat) if lat else None,
             cpu1_interrupts_per_s={k: (i1.get(k, 0) - i0.get(k, 0)) / dt
                                    for k in i1})
    say("  %s: worker answered %.3f Mqps (%.2f s of worker CPU in %.1f s: "
        "%.3f M per CPU second; CPU 1 interrupts/s %s)%s" % (
            label, w["answered_per_s"] / 1e6, cpu, dt,
            (w["answered_per_cpu_s"] or 0) / 1e6,
            " ".join("%s %.0f" % kv for kv in
                     sorted(w["cpu1_interrupts_per_s"].items())),
            "" if not updates else "; %d updates/s acked (%d timeouts, p50 "
            "%s p99 %s ms)" % (w["updates_per_s"], w["update_timeouts"],
                               ub.fm(w["update_latency_ms"]["p50"]),
                               ub.fm(w["update_latency_ms"]["p99"]))))
    return w


def update_ratios(r):
    """Each window with updates over the mean of the alone windows on
    either side of it."""
    ws = r["windows"]
    out = []
    for i, (label, w) in enumerate(ws):
        if label != "with updates":
            continue
        base = (ws[i - 1][1]["answered_per_s"] + ws[i + 1][1]["answered_per_s"]) / 2
        out.append(w["answered_per_s"] / base if base else 0)
    return out


def markdown(r, a):
    m = r["meta"]
    rows = r["windows"] + [("no updates, CPU 0 busy with a spin loop",
                            r["busy"])]
    lines = [
        "# The DPDK worker's answer rate while UPDATEs commit (%s)" % m["date"],
        "", "`bench/update_replay.sh` — zone %s of %s names (%s), queries "
        "replayed by net_pcap from memory (bench/make_replay_pcap.py mix); "
        "%s; worker lcore on CPU 1, control side and %d update senders on "
        "CPU 0%s. Machine: %s, %d vCPU, load average before %s. Disk: 4 KiB "
        "write + fdatasync p50 %s ms." % (
            APEX, f"{a.names:,}", m["zone_mb"], m["version"], a.senders,
            ("; the UPDATEs go to a second popdns with the same zone "
             "(kernel sockets, on CPU 0), not to the one whose worker is "
             "measured" if a.to_twin else ""),
            m["cpu"], m["nproc"], " ".join(m["loadavg_before"]),
            ub.fm(m["fsync_ms"]["p50"])), "",
        "| window (%d s), in order | worker answered | worker CPU | answered "
        "per worker CPU second | updates/s acked | update p50 / p99 |"
        % a.duration,
        "|---|---:|---:|---:|---:|---:|"]
    for label, w in rows:
        lat = w["update_latency_ms"]
        lines.append("| %s | %.3f Mqps | %.2f s | %.3f M | %s | %s |" % (
            label, w["answered_per_s"] / 1e6, w["worker_cpu_s"],
            (w["answered_per_cpu_s"] or 0) / 1e6,
            "%d" % w["updates_per_s"] if w["updates_acked"] else "",
            "%s / %s ms" % (ub.fm(lat["p50"]), ub.fm(lat["p99"]))
            if lat else ""))
    ratios = update_ratios(r)
    alone = [w["answered_per_s"] for label, w in r["windows"]
             if label == "alone"]
    lines += ["", "Answer rate in each window with updates / the mean of "
              "the alone windows on either side: %s (median **%.3f**). "
              "The alone windows themselves range over %.1f%% of their "
              "mean; CPU 0 merely busy / all alone windows: %.3f (the cost "
              "of any load on the other vCPU of this VM, not of the "
              "updates)." % (
                  ", ".join("%.3f" % x for x in ratios),
                  statistics.median(ratios),
                  100 * (max(alone) - min(alone)) / statistics.mean(alone),
                  r["busy"]["answered_per_s"] / statistics.mean(alone))]
    return "\n".join(lines) + "\n"


def config_text(sock, key, zone, storage):
    """popdns's config for the updated zone (the dataplane section apart)."""
    return f"""control_socket: {sock}
keys:
  - {{name: {ub.KEY_NAME}, algorithm: {key.algorithm}, secret: "{key.secret_b64}"}}
zones:
  - name: {APEX.rstrip('.')}
    file: {zone}
    storage: {storage}
    update:
      - {{key: {ub.KEY_NAME}, subtree: {APEX.rstrip('.')}}}
"""


def start_popdns(a, conf, port, log_path, cpus, what):
    """popdns with `conf`, listening on 127.0.0.1:port, its threads allowed
    on `cpus`, once its log says it serves. Bounded whatever happens here
    (`timeout`), and stopped if it does not come up."""
    proc = subprocess.Popen(["timeout", "-k", "5", "1200", a.popdns,
                             "--config", conf, "--listen",
                             "127.0.0.1:%d" % port],
                            stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT,
                            preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            with open(log_path) as f:
                if "popdns: serving" in f.read():
                    return proc
            if proc.poll() is not None:
                raise SystemExit("%s exited: %s" % (
                    what, open(log_path).read()[-2000:]))
            time.sleep(0.2)
        raise SystemExit("%s did not come up in 400 s" % what)
    except BaseException:
        stop(proc)
        raise


def stop(proc):
    """SIGTERM to a process started here (SIGKILL after 30 s)."""
    if proc is not None:
        stop_process(proc, 30)


def start_twin(a, tmp, zone, key):
    """A second popdns with the same zone and update policy on kernel
    sockets only, pinned to CPU 0: (process, port) once it serves."""
    storage = os.path.join(tmp, "twin-storage")
    os.makedirs(storage)
    conf = os.path.join(tmp, "twin.yaml")
    with open(conf, "w") as f:
        f.write(config_text(os.path.join(tmp, "twin.sock"), key, zone,
                            storage))
    port = free_port()
    return start_popdns(a, conf, port, os.path.join(tmp, "twin.log"), {0},
                        "twin popdns"), port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=int, default=1000000)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--duration", type=int, default=6)
    ap.add_argument("--to-twin", action="store_true",
                    help="send the UPDATEs to a second popdns (kernel "
                    "sockets only, same zone, on CPU 0) instead: the same "
                    "work on CPU 0, none of it in the worker's process")
    ap.add_argument("--pairs", type=int, default=3,
                    help="windows with updates, each between two alone")
    ap.add_argument("--popdns", default=os.path.join(ROOT, "build", "control",
                                                     "popdns"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    a = ap.parse_args()
    # This process, the update senders it forks and popdnsctl on CPU 0:
    # the worker's core is the worker's (popdns pins its own threads with
    # EAL's -l 0-1: the main lcore's on CPU 0).
    os.sched_setaffinity(0, {0})
    popdnsctl = os.path.join(os.path.dirname(a.popdns), "popdnsctl")
    lines = []

    def say(t):
        print(t, flush=True)
        lines.append(t)

    load_before = open("/proc/loadavg").read().split()[:3]
    tmp = tempfile.mkdtemp(prefix="update_replay.")
    proc = None
    twin = None
    try:
        zone, pcap = os.path.join(tmp, "bench.zone"), os.path.join(tmp, "q.pcap")
        subprocess.run([sys.executable, os.path.join(HERE, "make_replay_pcap.py"),
                        "--names", str(a.names), "--zone-out", zone,
                        "--pcap-out", pcap], check=True, timeout=600)
        key = ub.TsigKey(ub.KEY_NAME)
        storage = os.path.join(tmp, "storage")
        os.makedirs(storage)
        sock = os.path.join(tmp, "control.sock")
        conf = os.path.join(tmp, "popdns.yaml")
        with open(conf, "w") as f:
            f.write(config_text(sock, key, zone, storage) + f"""dataplane:
  eal: ["--no-huge", "--no-shconf", "-m", "512", "--no-pci", "-l", "0-1",
        "--vdev", "net_pcap0,rx_pcap={pcap},infinite_rx=1",
        "--log-level", "*:error"]
  wire_port: net_pcap0
  service_addresses: ["198.18.0.1/24"]
""")
        port = free_port()
        update_port = port
        if a.to_twin:
            twin = start_twin(a, tmp, zone, key)
            update_port = twin[1]
        # EAL places its lcores itself (-l 0-1).
        proc = start_popdns(a, conf, port, os.path.join(tmp, "popdns.log"),
                            range(os.cpu_count()), "popdns")
        time.sleep(1)
        with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
            pid = int(f.read().split()[0])   # popdns, under timeout
        tid = worker_task(pid)
        if tid is None:
            raise SystemExit("no rte-worker thread in popdns")
        fs = ub.fsync_probe(tmp)
        # The update clients' names: existing hosts (make_replay_pcap.py's
        # host<i>), each sender its own, every update a new address.
        ub.ZONE_W = name_wire(APEX)
        hosts = [("host%d.%s" % (i * 7 % (a.names // 2), APEX),
                  bytes((10, 99, (i >> 8) & 255, i & 255)))
                 for i in range(20000)]
        say("popdns serving %s names on net_pcap replay (worker TID %d)" % (
            f"{a.names:,}", tid))
        r = dict(windows=[])
        for i in range(a.pairs):
            # Each sender walks its own part of the hosts from the start in
            # every window: a second octet of its own per window, so that
            # no update repeats an earlier one (which changes nothing).
            addrs = [(n, bytes((10, 99 + i)) + ad[2:]) for n, ad in hosts]
            for label, updates in ([("alone", False)] if i == 0 else []) + [
                    ("with updates", True), ("alone", False)]:
                r["windows"].append((label, window(
                    a, pid, tid, popdnsctl, sock, key, update_port, addrs,
                    say, label, updates)))
        r["busy"] = window(a, pid, tid, popdnsctl, sock, key, port, hosts,
                           say, "no updates, CPU 0 busy (spin loop)", False,
                           busy=True)
        version = subprocess.run([a.popdns, "--version"], capture_output=True,
                                 text=True).stdout.strip().splitlines()
        r["meta"] = dict(
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            cpu=cpu_model(), nproc=os.cpu_count(), loadavg_before=load_before,
            fsync_ms=fs, version=version[0] if version else "popdns ?",
            zone_mb="%.0f MB" % (os.path.getsize(zone) / 1e6),
            options=vars(a))
        r["log"] = lines
        md = markdown(r, a)
        print(md)
        if not a.no_save:
            ub.save_result(a.out_dir, "update_replay",
                           "-to-twin" if a.to_twin else "", md, r)
        return 0
    finally:
        stop(twin[0] if twin else None)
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
