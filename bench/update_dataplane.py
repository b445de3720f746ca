#!/usr/bin/python3
"""RFC 2136 UPDATEs into a large zone while the DPDK worker answers.

Issue 12 asks for 1,000 single-record updates per second into a 1M-name
zone "while the workers keep answering at full rate". bench/update_bench.py
measures popdns against knotd on kernel sockets, where the answering
threads, dnsperf, the update clients and the commits share this VM's two
cores, so its answer ratio mixes CPU sharing into the result. Here popdns
runs as on a PoP: the DPDK dataplane on a software NIC (scripts/softnic.sh,
net_tap) with its worker lcore on CPU 1, and everything else (the control
side that commits, the update clients, dnsperf, the kernel's tap and
socket work) pinned to CPU 0. What the worker answers is then the worker's
own business, and the question is whether updates slow it down:

  1. capacity: dnsperf (client namespace, as fast as it goes) alone;
  2. the same, while --senders sequential UDP clients (pop namespace, the
     kernel socket on the service address) send TSIG-signed single-record
     UPDATEs (delete the A RRset of an existing host, add one A) for
     --duration seconds;
  3. a fixed offered rate (--rate, default 70% of 1) alone, then with the
     updates: every query answered, and its latency.
The worker's own counters (popdnsctl stats: rx, answered) are read around
each run. No knotd here: it has no dataplane; bench/update_bench.py has it
on the same stream. Network namespaces made by softnic.sh; traffic only
inside them (198.18.0.0/15); every run bounded in time; popdns stopped by
softnic.sh down (its PID) and bounded by `timeout` as well.

    bench/update_dataplane.sh [--names N] [--senders K] [--duration D]
                              [--rate QPS] [--popdns PATH] [--no-save]
Writes bench/results/update_dataplane-DATE.{md,json}.
"""
import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import update_bench as ub  # noqa: E402
from zone_load_helper import cpu_model  # noqa: E402

POP, CLIENT = "pdub-pop", "pdub-client"
WIRE_IF, EXC_IF = "pdubwire0", "pdubexc0"
SERVICE = "198.18.0.1"


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, **kw)


def in_ns(ns, cmd, **kw):
    return run(["ip", "netns", "exec", ns] + cmd, **kw)


def softnic_env(tmp, wrapper):
    return dict(os.environ, POP=POP, CLIENT=CLIENT, WIRE_IF=WIRE_IF,
                EXC_IF=EXC_IF, SERVICE_V4=SERVICE, CLIENT_V4="198.18.0.2/24",
                CLIENT_V6="fd00:57::2/64",
                STATE=os.path.join(tmp, "softnic-state"), POPDNS=wrapper,
                START_SECONDS="300")


def write_config(tmp, zone_file, key):
    storage = os.path.join(tmp, "storage")
    os.makedirs(storage, exist_ok=True)
    path = os.path.join(tmp, "popdns.yaml")
    with open(path, "w") as f:
        f.write(f"""control_socket: {tmp}/control.sock
keys:
  - {{name: {ub.KEY_NAME}, algorithm: {key.algorithm}, secret: "{key.secret_b64}"}}
zones:
  - name: {ub.ORIGIN.rstrip('.')}
    file: {zone_file}
    storage: {storage}
    update:
      - {{key: {ub.KEY_NAME}, subtree: {ub.ORIGIN.rstrip('.')}}}
dataplane:
  # main lcore (control thread) on CPU 0, the worker lcore on CPU 1
  eal: ["--no-huge", "--in-memory", "-m", "512", "--no-pci", "-l", "0-1",
        "--vdev", "net_tap0,iface={WIRE_IF}", "--vdev", "net_tap1,iface={EXC_IF}",
        "--log-level", "*:error"]
  wire_port: net_tap0
  exception_port: net_tap1
  exception_interface: {EXC_IF}
  service_addresses: ["{SERVICE}/24", "fd00:57::1/64"]
""")
    return path


def worker_counters(tmp, popdnsctl):
    r = in_ns(POP, [popdnsctl, "--socket", os.path.join(tmp, "control.sock"),
                    "stats"], timeout=10)
    tot = {}
    for line in r.stdout.splitlines():
        m = re.match(r"dpdk\.p\d+\.q\d+\.(\w+) (\d+)$", line.strip())
        if m:
            tot[m.group(1)] = tot.get(m.group(1), 0) + int(m.group(2))
    return tot


def dnsperf(qfile, duration, rate=0):
    cmd = ["ip", "netns", "exec", CLIENT, "taskset", "-c", "0", ub.DNSPERF,
           "-s", SERVICE, "-d", qfile, "-l", str(duration), "-c", "4",
           "-T", "1", "-q", "200", "-t", "2"]
    if rate:
        cmd += ["-Q", str(int(rate))]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def start_senders(tmp, names, key, a, t_start):
    """The senders, in the pop namespace (update_dataplane.py send)."""
    per = max(1, 20000 // a.senders)
    lists = [[(n, list(ad)) for n, ad in
              (names.next() for _ in range(per))] for _ in range(a.senders)]
    path = os.path.join(tmp, "senders.json")
    with open(path, "w") as f:
        json.dump(dict(lists=lists, secret=key.secret_b64, t_start=t_start,
                       duration=a.duration), f)
    return subprocess.Popen(
        ["ip", "netns", "exec", POP, "taskset", "-c", "0", sys.executable,
         os.path.abspath(__file__), "send", path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def send_main(path):
    """`send FILE`: run the sender processes against SERVICE:53 and print
    their results as one JSON line."""
    with open(path) as f:
        job = json.load(f)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=ub.sender, args=(
        i, 53, job["secret"], [(n, bytes(ad)) for n, ad in lst],
        job["t_start"], job["duration"], out, SERVICE))
        for i, lst in enumerate(job["lists"])]
    for p in procs:
        p.start()
    res = []
    for _ in procs:
        try:
            res.append(out.get(timeout=job["duration"] + 30))
        except Exception:  # noqa: BLE001 - a sender that hung
            break
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.terminate()
    print(json.dumps(res))
    return 0


def measure(tmp, qfile, a, popdnsctl, names, key, rate, with_updates, say,
            label):
    c0 = worker_counters(tmp, popdnsctl)
    senders = None
    t_start = time.monotonic() + 0.5
    if with_updates:
        senders = start_senders(tmp, names, key, a, t_start)
        while time.monotonic() < t_start - 0.05:
            time.sleep(0.01)
    dp = dnsperf(qfile, a.duration, rate)
    d = ub.dnsperf_result(dp)
    upd = None
    if senders:
        out, err = senders.communicate(timeout=a.duration + 60)
        try:
            res = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res = []
            say("    senders failed: %s" % err[-500:])
        lat = [x for r in res for x in r["lat"]]
        upd = dict(acked=len(lat), per_s=len(lat) / a.duration,
                   timeouts=sum(r["timeouts"] for r in res),
                   latency_ms=ub.summary(lat))
    c1 = worker_counters(tmp, popdnsctl)
    w = {k: c1.get(k, 0) - c0.get(k, 0) for k in ("rx", "answered",
                                                   "slow_path", "tx_drop")}
    say("  %s: dnsperf %s answers/s (sent %s, lost %s, avg latency %s ms)%s; "
        "worker rx %d answered %d tx_drop %d" % (
            label, ub.fq(d.get("qps")), ub.fi(d.get("sent")),
            ub.fi(d.get("lost")),
            ub.fm((d.get("avg_latency_s") or 0) * 1000),
            "" if not upd else "; %.0f updates/s acked (%d timeouts, p50 %s "
            "p99 %s ms)" % (upd["per_s"], upd["timeouts"],
                            ub.fm(upd["latency_ms"]["p50"]),
                            ub.fm(upd["latency_ms"]["p99"])),
            w["rx"], w["answered"], w["tx_drop"]))
    return dict(dnsperf=d, updates=upd, worker=w, rate=rate)


def markdown(r, a):
    m = r["meta"]
    cap, capu = r["capacity"], r["capacity_updates"]
    fix, fixu = r["fixed"], r["fixed_updates"]

    def qps(x):
        return x["dnsperf"].get("qps") or 0

    def ratio(x, y):
        return "%.2f" % (x / y) if y else "-"
    lines = [
        "# UPDATEs while the DPDK worker answers (%s)" % m["date"], "",
        "`bench/update_dataplane.sh` — zone %s: %s names, %s records "
        "(%s hosts, %s CNAME aliases); %s; popdns on the software NIC "
        "(DPDK net_tap), worker lcore on CPU 1; control thread, %d update "
        "senders and dnsperf on CPU 0. Machine: %s, %d vCPU, load average "
        "before %s. Disk: 4 KiB write + fdatasync p50 %s ms." % (
            ub.ORIGIN, f"{m['names']:,}", f"{m['records']:,}",
            f"{m['hosts']:,}", f"{m['aliases']:,}", m["version"],
            a.senders, m["cpu"], m["nproc"], " ".join(m["loadavg_before"]),
            ub.fm(m["fsync_ms"]["p50"])), "",
        "| run (%d s each) | answers/s | lost | avg latency | updates/s "
        "acked | update p50 / p99 | worker answered |" % a.duration,
        "|---|---:|---:|---:|---:|---:|---:|"]
    for label, x in (("dnsperf unbounded, alone", cap),
                     ("dnsperf unbounded, with updates", capu),
                     ("dnsperf at %d qps, alone" % fix["rate"], fix),
                     ("dnsperf at %d qps, with updates" % fix["rate"], fixu)):
        u = x["updates"]
        lines.append("| %s | %s | %s | %s ms | %s | %s |%s |" % (
            label, ub.fq(x["dnsperf"].get("qps")),
            ub.fi(x["dnsperf"].get("lost")),
            ub.fm((x["dnsperf"].get("avg_latency_s") or 0) * 1000),
            "%.0f" % u["per_s"] if u else "",
            "%s / %s ms" % (ub.fm(u["latency_ms"]["p50"]),
                            ub.fm(u["latency_ms"]["p99"])) if u else "",
            f" {x['worker']['answered']:,}"))
    lines += [
        "", "Answer rate with updates / alone: unbounded %s, at the fixed "
        "rate %s (answered / offered: %s)." % (
            ratio(qps(capu), qps(cap)), ratio(qps(fixu), qps(fix)),
            ratio(qps(fixu), fix["rate"])), "",
        "Read: the worker runs on its own core and never waits for the "
        "writer (RCU); what the updates cost is CPU on core 0, where "
        "dnsperf runs too, so the unbounded run shows the load generator's "
        "share as much as the server's. The fixed-rate run says whether "
        "the worker keeps answering everything offered while the zone "
        "changes."]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "send":
        return send_main(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=int, default=1000000)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rate", type=int, default=0,
                    help="fixed dnsperf rate (default 70%% of capacity)")
    ap.add_argument("--popdns", default=os.path.join(ROOT, "build", "control",
                                                     "popdns"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, DPDK net_tap)")
    popdnsctl = os.path.join(os.path.dirname(a.popdns), "popdnsctl")
    lines = []

    def say(t):
        print(t, flush=True)
        lines.append(t)

    load_before = open("/proc/loadavg").read().split()[:3]
    tmp = tempfile.mkdtemp(prefix="update_dataplane.")
    wrapper = os.path.join(tmp, "popdns-bounded")
    with open(wrapper, "w") as f:   # popdns stops by itself in any case
        f.write("#!/bin/sh\nexec timeout -k 5 1800 %s \"$@\"\n" % a.popdns)
    os.chmod(wrapper, 0o755)
    env = softnic_env(tmp, wrapper)
    softnic = os.path.join(ROOT, "scripts", "softnic.sh")
    up = False
    try:
        zone_file = os.path.join(tmp, "apps.example.net.zone")
        g = run([sys.executable, os.path.join(HERE, "zone_load_helper.py"),
                 "gen", "--records", str(a.names), "--origin", ub.ORIGIN,
                 "--out", zone_file, "--shape", "names"], timeout=600)
        summ = json.loads(g.stdout.strip().splitlines()[-1])
        zone = ub.Zone(a.names, summ)
        qfile = os.path.join(tmp, "queries.txt")
        with open(qfile, "w") as f:
            f.write("\n".join(zone.query_lines(20000)) + "\n")
        key = ub.TsigKey(ub.KEY_NAME)
        fs = ub.fsync_probe(tmp)
        conf = write_config(tmp, zone_file, key)
        t0 = time.monotonic()
        r = run(["bash", softnic, "up", conf], env=env, timeout=400)
        if r.returncode != 0:
            raise SystemExit("softnic.sh up failed: " +
                             (r.stdout + r.stderr)[-1500:])
        up = True
        say("zone %s: %d names, %d records; popdns up on the software NIC "
            "in %.1f s" % (ub.ORIGIN, a.names, summ["records"],
                           time.monotonic() - t0))
        names = ub.Names(zone)
        cap = measure(tmp, qfile, a, popdnsctl, names, key, 0, False, say,
                      "capacity alone")
        capu = measure(tmp, qfile, a, popdnsctl, names, key, 0, True, say,
                       "capacity with updates")
        rate = a.rate or int(0.7 * (cap["dnsperf"].get("qps") or 10000))
        fix = measure(tmp, qfile, a, popdnsctl, names, key, rate, False, say,
                      "%d qps alone" % rate)
        fixu = measure(tmp, qfile, a, popdnsctl, names, key, rate, True, say,
                       "%d qps with updates" % rate)
        version = run([a.popdns, "--version"]).stdout.strip().splitlines()
        result = dict(
            meta=dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      cpu=cpu_model(), nproc=os.cpu_count(),
                      loadavg_before=load_before, fsync_ms=fs,
                      names=a.names, records=summ["records"],
                      hosts=summ["hosts"], aliases=summ["aliases"],
                      version=version[0] if version else "popdns ?",
                      options=vars(a)),
            capacity=cap, capacity_updates=capu, fixed=fix,
            fixed_updates=fixu, log=lines)
        md = markdown(result, a)
        print(md)
        if not a.no_save:
            ub.save_result(a.out_dir, "update_dataplane", "", md, result)
        return 0
    finally:
        if up:
            run(["bash", softnic, "down"], env=env, timeout=120)
        if a.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
