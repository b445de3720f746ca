#!/usr/bin/env bash
# What the workers' idle mode costs: popdns on a software NIC
# (scripts/softnic.sh, one worker) with dataplane.idle poll, then sleep
# (and sleep with a 500 us cap), then wait, each measured for
#   - CPU when idle: the process's CPU time over 10 s with no traffic
#     (/proc/PID/stat utime+stime), in % of one core;
#   - latency at low load: bench/idle_latency.py from the client namespace,
#     one query at a time at 100/s and 1000/s (p50, p90, p99).
#
#   sudo bench/idle_mode.sh [BUILD_DIR]        (default build)
#   MODES="sleep:1 sleep:50" bench/idle_mode.sh (mode:idle_max_sleep_us)
#   (the default: poll, sleep, sleep with a 500 us cap, and wait)
#
# Namespaces are named after this script's PID and removed at exit; all
# traffic stays in them (198.18.0.0/15, fd00::/8); every run is bounded.
# The numbers include net_tap's system calls and the client's Python: run
# it on a quiet machine and compare the modes with each other.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
tmp=$(mktemp -d /tmp/popdns-idle.XXXXXX)
export POP=pdidle$$-pop CLIENT=pdidle$$-cl WIRE_IF=piwire0 EXC_IF=piexc0
export STATE=$tmp/state POPDNS=$BUILD/control/popdns
cleanup() { bash scripts/softnic.sh down >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT

cp tests/testdata/example.test.zone "$tmp/"
config() {  # $1: idle mode, $2: idle_max_sleep_us
  cat > "$tmp/popdns.yaml" <<EOF
zones:
  - name: example.test
    file: $tmp/example.test.zone
control_socket: $tmp/control.sock
dataplane:
  eal: ["--no-huge", "--in-memory", "-m", "256", "--no-pci", "-l", "0-1",
        "--vdev", "net_tap0,iface=$WIRE_IF", "--vdev", "net_tap1,iface=$EXC_IF",
        "--log-level", "*:error"]
  wire_port: net_tap0
  exception_port: net_tap1
  exception_interface: $EXC_IF
  service_addresses: ["198.18.0.1/24", "fd00:53::1/64"]
  idle: $1
  idle_max_sleep_us: $2
EOF
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
printf '%-22s %10s  %s\n' "mode" "idle CPU" "latency (one query at a time)"
for mode in ${MODES:-poll:200 sleep:200 sleep:500 wait:200}; do
  set -- ${mode/:/ }
  config "$1" "$2"
  timeout 60 bash scripts/softnic.sh up "$tmp/popdns.yaml" >/dev/null
  pid=$(cat "$STATE/popdns.pid")
  sleep 2
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  sleep 10
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  hz=$(getconf CLK_TCK)
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{printf "%.1f%%", (b-a)/hz/10*100}')
  for rate in 100 1000; do
    lat=$(ip netns exec "$CLIENT" timeout 60 python3 bench/idle_latency.py \
      198.18.0.1 --rate "$rate" --count $((rate * 5)))
    label="$1"; [[ $1 == sleep ]] && label="sleep (cap $2 us)"
    printf '%-22s %10s  %s\n' "$label" "$cpu" "$lat"
  done
  bash scripts/softnic.sh down >/dev/null
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
