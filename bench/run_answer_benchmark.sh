#!/bin/sh
# Runs the answer-engine micro-benchmarks briefly and prints a Markdown
# table for the README: benchmark, zone size, ns per query, million queries
# per second on one core, allocations per query.
#
#   bench/run_answer_benchmark.sh [path/to/answer_benchmark] [--benchmark_... args]
#   e.g. bench/run_answer_benchmark.sh --benchmark_filter=ExactHit
#
# Default binary: build/bench/answer_benchmark (meson setup build
# -Dbenchmarks=true && ninja -C build -j1 bench/answer_benchmark).
exec sh "$(dirname "$0")/benchmark_table.sh" query answer_benchmark "$@"
