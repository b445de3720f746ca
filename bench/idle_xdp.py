#!/usr/bin/env python3
"""What the workers' idle mode costs in the XDP fallback: popdns on one
veth of bench/peer_compare.py's pair (net_af_xdp, one worker on core 1,
every query answered by the AF_XDP worker) with dataplane.idle poll,
sleep (idle_max_sleep_us 200) and wait, each measured for
  - CPU when idle: the process's CPU time over 10 s with no traffic
    (/proc/PID/stat utime+stime), in % of one core;
  - latency at low load: bench/idle_latency.py from the client namespace,
    one query at a time at 100/s and 1000/s (p50, p90, p99).

  sudo python3 bench/idle_xdp.py [--popdns build/control/popdns]

The counterpart of bench/idle_mode.sh (software NIC). Namespaces
pbpeer-srv/pbpeer-cli (198.18.2.0/24), removed at exit; every server
runs under `timeout` and is stopped by PID; every load is bounded
(idle_latency.py: COUNT queries, 1 s each at most)."""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peer_compare as pc  # noqa: E402

ZONE = f"""$ORIGIN {pc.ORIGIN}
$TTL 300
@ SOA ns hm {pc.SERIAL} 3600 600 86400 300
@ NS ns
ns A 198.18.2.1
www A 192.0.2.1
"""


def process_cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(popdns, tmp, mode):
    conf = os.path.join(tmp, f"{mode}.yaml")
    with open(conf, "w") as f:
        f.write(f"""zones:
  - name: {pc.ORIGIN}
    file: {tmp}/zone.db
control_socket: {tmp}/{mode}.sock
dataplane:
  xdp:
    interface: {pc.SRV_IF}
    queues: 1
  idle: {mode}
{"  idle_max_sleep_us: 200" if mode == "sleep" else ""}
  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "pbidle", "--log-level", "*:error"]
  service_addresses: ["{pc.SRV_IP}/24"]
""")
    log = open(os.path.join(tmp, f"{mode}.log"), "w")
    # `ip netns exec` execs popdns: this PID is popdns's.
    proc = subprocess.Popen(["ip", "netns", "exec", pc.SRV_NS, "timeout",
                             "--foreground", "180", popdns, "--config", conf],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        if pc.wait_answer(pc.CLI_NS, pc.SRV_IP, 30) is None:
            raise RuntimeError(f"{mode}: popdns did not answer")
        kids = subprocess.run(["pgrep", "-P", str(proc.pid)],
                              capture_output=True, text=True).stdout.split()
        pid = int(kids[0]) if kids else proc.pid
        time.sleep(2)
        c0 = process_cpu_s(pid)
        time.sleep(10)
        idle = (process_cpu_s(pid) - c0) / 10 * 100
        out = {"mode": mode, "idle_cpu_pct": round(idle, 1)}
        for rate, count in ((100, 1000), (1000, 5000)):
            r = pc.in_ns(pc.CLI_NS, ["python3", os.path.join(HERE, "idle_latency.py"),
                                     pc.SRV_IP, "--rate", str(rate),
                                     "--count", str(count), "--name",
                                     "www." + pc.ORIGIN], timeout=60)
            out[f"{rate}/s"] = r.stdout.strip()
        return out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--popdns", default=os.path.join(pc.ROOT, "build",
                                                     "control", "popdns"))
    ap.add_argument("--modes", default="poll,sleep,wait")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="popdns-idlexdp-")
    with open(os.path.join(tmp, "zone.db"), "w") as f:
        f.write(ZONE)
    try:
        pc.veth_up()
        # Full checksums from the server's kernel too (its slow-path
        # answers to the readiness check's SOA with a cookie).
        pc.in_ns(pc.SRV_NS, ["ethtool", "-K", pc.SRV_IF, "tx", "off"])
        print("| mode | CPU when idle | 100 q/s | 1000 q/s |")
        print("|---|---:|---|---|")
        for mode in a.modes.split(","):
            r = measure(a.popdns, tmp, mode)
            print(f"| `{mode}` | {r['idle_cpu_pct']}% | {r['100/s']} | "
                  f"{r['1000/s']} |", flush=True)
    finally:
        pc.veth_down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
