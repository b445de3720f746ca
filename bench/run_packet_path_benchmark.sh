#!/bin/sh
# Runs the packet-path micro-benchmarks (BM_PacketPath_*) briefly and
# prints a Markdown table: benchmark, zone size, ns per packet, million packets
# per second on one core, allocations per packet.
#
#   bench/run_packet_path_benchmark.sh [path/to/packet_path_benchmark] [--benchmark_... args]
#   e.g. bench/run_packet_path_benchmark.sh --benchmark_filter=Mix
#
# Default binary: build/bench/packet_path_benchmark (meson setup build
# -Dbenchmarks=true && ninja -C build -j1 bench/packet_path_benchmark).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../build/bench/packet_path_benchmark
case "${1:-}" in
  ""|-*) ;;
  *) bin=$1; shift ;;
esac
if [ ! -x "$bin" ]; then
  echo "no benchmark binary at $bin; build it with ninja -C build bench/packet_path_benchmark" >&2
  exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" --benchmark_min_time=0.2 --benchmark_format=json "$@" >"$out"
python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
ctx = data.get("context", {})
print(f"<!-- {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs @ "
      f"{ctx.get('mhz_per_cpu', '?')} MHz, {ctx.get('date', '')} -->")
print("| benchmark | zone names | ns/packet | Mpps/core | allocs/packet |")
print("|---|---:|---:|---:|---:|")
scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
for b in data["benchmarks"]:
    if b.get("run_type") == "aggregate":
        continue
    name, _, arg = b["name"].partition("/")
    size = arg.split(":")[-1] if arg else ""
    if "error_occurred" in b and b["error_occurred"]:
        print(f"| {name} | {size} | error: {b.get('error_message', '')} | | |")
        continue
    ns = b["cpu_time"] * scale[b.get("time_unit", "ns")]
    mqps = b.get("items_per_second", 0) / 1e6
    allocs = b.get("allocs_per_packet", float("nan"))
    print(f"| {name} | {int(size):,} | {ns:.1f} | {mqps:.2f} | {allocs:g} |")
PY
