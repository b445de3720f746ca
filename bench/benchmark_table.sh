#!/bin/sh
# Runs a Google Benchmark binary of bench/ briefly and prints a Markdown
# table for the README: benchmark, zone size, ns per query (or packet),
# millions per second on one core, allocations per query (or packet).
# Called by run_answer_benchmark.sh and run_packet_path_benchmark.sh:
#
#   bench/benchmark_table.sh query|packet TARGET [path/to/binary] [--benchmark_... args]
#
# TARGET is the binary's name under build/bench/ (the default binary).
set -eu
unit=$1 target=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../build/bench/$target
case "${1:-}" in
  ""|-*) ;;
  *) bin=$1; shift ;;
esac
if [ ! -x "$bin" ]; then
  echo "no benchmark binary at $bin; build it with ninja -C build bench/$target" >&2
  exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" --benchmark_min_time=0.2 --benchmark_format=json "$@" >"$out"
python3 - "$out" "$unit" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
unit = sys.argv[2]  # "query" or "packet"
rate = "Mqps" if unit == "query" else "Mpps"
ctx = data.get("context", {})
print(f"<!-- {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs @ "
      f"{ctx.get('mhz_per_cpu', '?')} MHz, {ctx.get('date', '')} -->")
print(f"| benchmark | zone names | ns/{unit} | {rate}/core | allocs/{unit} |")
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
    # Per item: burst benchmarks answer 32 items per iteration.
    mqps = b.get("items_per_second", 0) / 1e6
    ns = (1e3 / mqps if mqps else
          b["cpu_time"] * scale[b.get("time_unit", "ns")])
    allocs = b.get(f"allocs_per_{unit}", float("nan"))
    print(f"| {name} | {int(size):,} | {ns:.1f} | {mqps:.2f} | {allocs:g} |")
PY
