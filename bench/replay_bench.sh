#!/bin/bash
# Replay benchmark (issue 7): one popdns worker lcore fed prebuilt query
# frames from memory, for a fixed time, on a 10k-name and a 1M-name zone.
#
#   bench/replay_bench.sh [BUILD_DIR] [-t SECONDS] [-n FRAMES] [-z "10000 1000000"] [-r ROUNDS]
#
# For each zone size: bench/make_replay_pcap.py writes the zone and a pcap of
# FRAMES Ethernet/IPv4/UDP queries (70% A/AAAA hits, 10% NXDOMAIN, 10%
# wildcard, 5% CNAME, 5% referral, names spread over the zone); popdns starts
# with EAL `-l 0-1` (one worker lcore) and the wire port
# `net_pcap0,rx_pcap=FILE,infinite_rx=1`: net_pcap preloads the frames into
# mbufs and every rx burst hands out copies of them, round and round; with no
# tx_pcap/tx_iface its TX drops (frees) what the worker sends. (DPDK 22.11
# has no `tx_drop` devarg: it rejects the device.) The script reads
# dpdk.p0.q0.* through popdnsctl, waits SECONDS (10), reads again and prints a
# Markdown table: answered/s is the Mqps per core.
#
# The cores are shared (other jobs may run on the worker's CPU), so the
# table also gives the worker thread's (rte-worker-1) CPU time over the same
# window from /proc/PID/task/TID/schedstat, and answered per worker CPU
# second: what one core would do if the worker had it to itself.
#
# -r ROUNDS runs the zone sizes in turn ROUNDS times (10k, 1M, 10k, 1M,
# ...; zone and pcap made once) and ends with each round's 1M / 10k ratio
# and the medians. This VM's speed moves by half within minutes: a 1M
# figure is only comparable with the 10k figure measured beside it.
#
# A last row replays the 10k pcap's frames sent to 198.18.0.2, which is not
# a service address: the worker classifies each (no checksum work) and, with
# no exception port, frees it (to_kernel). Its rx rate is what net_pcap's
# replay (mbuf alloc, ring dequeue/enqueue, copy) plus the poll loop cost,
# about the NIC emulation's share of the rows above (it also includes
# classifying each frame up to the address check).
# (Only with a popdns that runs without an exception port; -B skips it.)
#
# FRAMES defaults to 12288, not 65536: infinite_rx keeps every frame of the
# pcap in an mbuf of popdns's one pool, whose size is fixed at 16383
# (dpdk::DataplaneConfig::mbufs, not in the config file). 16000 frames
# still start; 20000 fail in rx_queue_setup ("Not enough mbufs to
# accommodate packets in pcap file"). 12288 leaves room for the bursts and
# the per-lcore mempool caches.
#
# Exception port: when this popdns accepts a dataplane section without one
# (non-DNS frames dropped), none is given. Otherwise (the config parser
# requires exception_port + exception_interface) popdns runs in a network
# namespace made here, with `net_null0,no-rx=1` as the exception port and a
# veth in that namespace as the exception interface (popdns puts the service
# address on it), so nothing outside the namespace is touched and worker 0's
# exception poll is a no-op function call.
#
# Root (network namespace, EAL). Every popdns run is bounded by `timeout`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
secs=10
frames=12288
sizes="10000 1000000"
baseline=1
rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    -t) secs=$2; shift 2 ;;
    -n) frames=$2; shift 2 ;;
    -z) sizes=$2; shift 2 ;;
    -B) baseline=0; shift ;;
    -r) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) build=$1; shift ;;
  esac
done
popdns=$build/control/popdns
popdnsctl=$build/control/popdnsctl
for b in "$popdns" "$popdnsctl"; do
  [ -x "$b" ] || { echo "missing $b (ninja -C $build control/popdns control/popdnsctl)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/popdns-replay.XXXXXX)
ns=""
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP+UDP port on loopback for the kernel listeners (--listen), so
# that popdns does not bind the service address on the host.
free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_config FILE ZONE PCAP WITH_EXCEPTION
write_config() {
  local eal='"--no-huge", "--no-shconf", "-m", "512", "--no-pci", "-l", "0-1",
        "--vdev", "net_pcap0,rx_pcap='"$3"',infinite_rx=1"'
  local exc=""
  if [ "$4" = 1 ]; then
    eal="$eal"', "--vdev", "net_null0,no-rx=1"'
    exc='  exception_port: net_null0
  exception_interface: pdrexc0'
  fi
  cat >"$1" <<EOF
zones:
  - name: bench.test
    file: $2
control_socket: $tmp/control.sock
dataplane:
  eal: [$eal, "--log-level", "*:error"]
  wire_port: net_pcap0
$exc
  service_addresses: ["198.18.0.1/24"]
EOF
}

# Does this popdns take a dataplane section without an exception port?
python3 "$here/make_replay_pcap.py" --names 40 --zone-out "$tmp/probe.zone"
write_config "$tmp/probe.yaml" "$tmp/probe.zone" "$tmp/none.pcap" 0
if timeout 60 "$popdns" --config "$tmp/probe.yaml" --check >"$tmp/probe.log" 2>&1; then
  with_exc=0
elif grep -q "exception_port' is required" "$tmp/probe.log"; then
  with_exc=1
  ns=popdns-replay-$$
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add pdrexc0 type veth peer name pdrexc1
else
  cat "$tmp/probe.log" >&2
  exit 1
fi

# worker_tid PID: the rte-worker thread of the popdns below PID (timeout,
# maybe a subshell in between).
worker_tid() {
  local p=$1 t
  for _ in 1 2 3 4; do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = popdns ] && break
    p=$(awk '{ print $1 }' "/proc/$p/task/$p/children" 2>/dev/null)
    [ -n "$p" ] || return 0
  done
  for t in /proc/"$p"/task/*; do
    case "$(cat "$t/comm")" in rte-worker*|lcore-worker*) echo "$t"; return 0 ;; esac
  done
}
# cpu_ns TASKDIR: nanoseconds on CPU so far (0 if unknown).
cpu_ns() { if [ -n "$1" ]; then awk '{ print $1 }' "$1/schedstat"; else echo 0; fi; }

# counter NAME FILE: the value of dpdk.p0.q0.NAME in a stats dump (0 if absent).
counter() { awk -v k="dpdk.p0.q0.$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$2"; }

runs=""
for _ in $(seq 1 "$rounds"); do runs="$runs $sizes"; done
[ "$baseline" = 1 ] && [ "$with_exc" = 0 ] && runs="$runs not-for-us"
rows=()
for run in $runs; do
  names=$run dst=198.18.0.1
  if [ "$run" = not-for-us ]; then names=10000 dst=198.18.0.2; fi
  zone=$tmp/bench-$names.zone
  pcap=$tmp/queries-$run.pcap
  echo "== $run: $names names, $frames frames to $dst" >&2
  if [ ! -s "$pcap" ]; then
    python3 "$here/make_replay_pcap.py" --names "$names" --count "$frames" \
      --zone-out "$zone" --pcap-out "$pcap" --dst "$dst"
  fi
  write_config "$tmp/popdns.yaml" "$zone" "$pcap" "$with_exc"
  port=$(free_port)
  log=$tmp/popdns-$run.log
  # Bounded: zone load (up to a few minutes for 1M names) + the run.
  limit=$((secs + 400))
  if [ -n "$ns" ]; then
    ip netns exec "$ns" timeout "$limit" "$popdns" --config "$tmp/popdns.yaml" \
      --listen "127.0.0.1:$port" >"$log" 2>&1 &
  else
    timeout "$limit" "$popdns" --config "$tmp/popdns.yaml" \
      --listen "127.0.0.1:$port" >"$log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 3000); do
    grep -q "popdns: serving" "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "popdns: serving" "$log"; then
    echo "popdns did not come up:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 1  # past start-up: first mbufs, page faults
  task=$(worker_tid "$pid")
  c0=$(cpu_ns "$task")
  t0=$(date +%s.%N)
  "$popdnsctl" --socket "$tmp/control.sock" stats >"$tmp/s0"
  sleep "$secs"
  t1=$(date +%s.%N)
  "$popdnsctl" --socket "$tmp/control.sock" stats >"$tmp/s1"
  c1=$(cpu_ns "$task")
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  rows+=("$(python3 - "$run" "$frames" "$t0" "$t1" "$load" "$c0" "$c1" \
      "$(counter rx "$tmp/s0")" "$(counter rx "$tmp/s1")" \
      "$(counter answered "$tmp/s0")" "$(counter answered "$tmp/s1")" \
      "$(counter malformed "$tmp/s0")" "$(counter malformed "$tmp/s1")" \
      "$(counter tx_drop "$tmp/s0")" "$(counter tx_drop "$tmp/s1")" \
      "$(counter engine_drop "$tmp/s0")" "$(counter engine_drop "$tmp/s1")" \
      "$(counter rcode.NXDOMAIN "$tmp/s0")" "$(counter rcode.NXDOMAIN "$tmp/s1")" \
      "$(counter to_kernel "$tmp/s0")" "$(counter to_kernel "$tmp/s1")" <<'PY'
import sys
a = sys.argv[1:]
run, frames, t0, t1, load = a[0], int(a[1]), float(a[2]), float(a[3]), a[4]
cpu = (int(a[6]) - int(a[5])) / 1e9
v = [int(x) for x in a[7:]]
d = {k: v[2 * i + 1] - v[2 * i] for i, k in enumerate(
    ["rx", "answered", "malformed", "tx_drop", "engine_drop", "nx", "kernel"])}
dt = t1 - t0
per_cpu = f"{d['answered'] / cpu / 1e6:.2f}" if cpu > 0 else "?"
if run == "not-for-us":
    label = "net_pcap + poll loop only (to 198.18.0.2, freed)"
    rate = f"({d['rx'] / dt / 1e6:.2f} Mpps rx; to_kernel {d['kernel']:,})"
    if cpu > 0:
        per_cpu = f"({d['rx'] / cpu / 1e6:.2f} rx)"
else:
    label = f"{int(run):,}"
    rate = f"**{d['answered'] / dt / 1e6:.2f}**"
print(f"| {label} | {frames:,} | {dt:.2f} | {d['rx']:,} | {d['answered']:,} "
      f"| {d['malformed']} | {d['engine_drop']} | {d['tx_drop']} "
      f"| {100.0 * d['nx'] / max(d['answered'], 1):.1f}% "
      f"| {rate} | {100.0 * cpu / dt:.0f}% | {per_cpu} | {load} |")
PY
)")
done

echo
echo "<!-- $(date -u +%FT%TZ) $(uname -n), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); exception port: $([ "$with_exc" = 1 ] && echo 'net_null0 (namespace)' || echo none) -->"
echo "| zone names | pcap frames | seconds | rx | answered | malformed | engine_drop | tx_drop | NXDOMAIN share | Mqps (1 core) | worker CPU | Mqps per worker CPU-second | load avg (1/5/15 min) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"

# Each round's 1M / 10k (the sizes' last over their first), and medians.
if [ "$rounds" -gt 1 ]; then
  printf '%s\n' "${rows[@]}" | python3 -c '
import re, statistics, sys
sizes = sys.argv[1].split()
rates = {}
for line in sys.stdin:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    m = re.fullmatch(r"\*\*([0-9.]+)\*\*", cells[9])
    if m:
        rates.setdefault(cells[0].replace(",", ""), []).append(float(m.group(1)))
first, last = rates.get(sizes[0], []), rates.get(sizes[-1], [])
print()
print(f"| round | {sizes[0]} names | {sizes[-1]} names | ratio |")
print("|---:|---:|---:|---:|")
for i, (a, b) in enumerate(zip(first, last), 1):
    print(f"| {i} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
if first and last:
    ratios = [b / a for a, b in zip(first, last)]
    print(f"| median | {statistics.median(first):.2f} | "
          f"{statistics.median(last):.2f} | {statistics.median(ratios):.2f} |")
' "$sizes"
fi
