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
exec sh "$(dirname "$0")/benchmark_table.sh" packet packet_path_benchmark "$@"
