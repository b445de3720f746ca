#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan in build-fuzz/ and
# runs each on a scratch copy of its seed corpus for N seconds (default 60).
# Exits non-zero if a fuzzer crashes; the reproducer is left in
# tests/fuzz/crashes/ (crash-<sha1>), replay it with
#   build-fuzz/tests/fuzz/answer_fuzzer tests/fuzz/crashes/crash-...
#
#   tests/fuzz/run_fuzzers.sh [seconds]
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
# FUZZ_BUILD: a clang tree configured with -Dfuzzers=true to use instead
# (scripts/test.sh: its sanitized test tree).
build=${FUZZ_BUILD:-$root/build-fuzz}
cd "$root"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzzers=true -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false \
    -Dxdp=disabled
fi
ninja -C "$build" tests/fuzz/answer_fuzzer tests/control/zone_file_fuzzer \
  tests/fuzz/tsig_fuzzer tests/fuzz/xfr_fuzzer tests/fuzz/update_fuzzer

mkdir -p tests/fuzz/crashes
status=0
# fuzzer name, binary, seed files
targets=(
  "answer $build/tests/fuzz/answer_fuzzer tests/fuzz/corpus/answer/*"
  "zone_file $build/tests/control/zone_file_fuzzer tests/testdata/zones/*.zone"
  "tsig $build/tests/fuzz/tsig_fuzzer tests/fuzz/corpus/tsig/*"
  "xfr $build/tests/fuzz/xfr_fuzzer tests/fuzz/corpus/xfr/*"
  "update $build/tests/fuzz/update_fuzzer tests/fuzz/corpus/update/*"
)
for t in "${targets[@]}"; do
  read -r fuzzer binary seeds <<<"$t"
  work=$(mktemp -d)
  # shellcheck disable=SC2086  # the seed glob expands here on purpose
  cp $seeds "$work"/
  echo "== ${fuzzer}_fuzzer for ${seconds}s"
  # UBSan findings are errors, not warnings.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_OPTIONS=abort_on_error=1 \
    "$binary" "$work" \
      -max_total_time="$seconds" -max_len=1024 -timeout=10 \
      -print_final_stats=1 \
      -artifact_prefix="$root/tests/fuzz/crashes/" || rc=$?
  rm -rf "$work"
  # Each fuzzer's own result: one that failed does not make the next
  # ones look failed too.
  if [ "${rc:-0}" -ne 0 ]; then
    echo "${fuzzer}_fuzzer failed (exit $rc); see tests/fuzz/crashes/" >&2
    status=$rc
  fi
  unset rc
done
exit "$status"
