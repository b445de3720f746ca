#!/usr/bin/env bash
# Runs every popdns test: installs missing Debian packages, builds a release
# tree (build/, GCC) and an ASan+UBSan tree (build-asan/, clang, with the
# libFuzzer targets), runs the fuzzers for a bounded time, and runs
# `meson test` in both trees. Exits non-zero on any
# failure. Usage: scripts/test.sh [--quick]  (--quick: release tree only)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ ${1:-} == --quick ]] && quick=1

bash scripts/install-deps.sh

# Warnings are errors here (CI), not by default (meson.build: users and
# packagers); a tree configured before keeps werror on too.
configure() {  # dir, extra meson args...
  local dir=$1; shift
  if [[ ! -f $dir/build.ninja ]]; then
    meson setup "$dir" -Dwerror=true "$@"
  elif [[ $(meson introspect "$dir" --buildoptions | python3 -c \
      'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="werror"][0])') != True ]]; then
    meson configure "$dir" -Dwerror=true
  fi
}

# Two cores: one ninja at a time, each using both. No debug info in the
# trees made here (a fresh one, as in CI): -g doubles the compile time of
# a file (13.9 s against 7.9 s for zone_store.cc), and the sanitized tree
# keeps line tables for its stack traces.
configure build -Ddebug=false
ninja -C build

status=0
if ((quick)); then
  meson test -C build --print-errorlogs || status=$?
  exit $status
fi

# One sanitized tree for both the tests and the fuzzers (the CI time
# budget: a second sanitized build took ~7 min): clang, ASan+UBSan, with
# the libFuzzer targets (their coverage instrumentation costs the tests
# little).
if [[ -f build-asan/build.ninja ]] &&
    ! grep -q 'command = clang++' build-asan/build.ninja; then
  rm -rf build-asan  # a GCC tree of an earlier layout
fi
if [[ ! -f build-asan/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup build-asan -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false \
    -Dfuzzers=true -Ddebug=false -Dc_args=-gline-tables-only \
    -Dcpp_args=-gline-tables-only
fi
configure build-asan
ninja -C build-asan

# libFuzzer (clang) over every parser of outside input, bounded in time.
FUZZ_BUILD=$PWD/build-asan bash tests/fuzz/run_fuzzers.sh \
  "${FUZZ_SECONDS:-30}" || status=1

# ThreadSanitizer over the RCU snapshot publication (readers vs publisher).
configure build-tsan -Db_sanitize=thread -Db_lundef=false -Dbenchmarks=false
ninja -C build-tsan tests/rcu_snapshot_test
echo "=== rcu_snapshot_test under TSan ==="
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  build-tsan/tests/rcu_snapshot_test || status=1

echo "=== meson test: build (release) ==="
# The package test builds the .deb unoptimized (noopt: half the compile
# time; its subject is the packaging, the release tree is tested here).
DEB_BUILD_OPTIONS="noopt ${DEB_BUILD_OPTIONS:-}" \
  meson test -C build --print-errorlogs || status=1
echo "=== meson test: build-asan (ASan+UBSan) ==="
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
# Not the suite `release_only`: tests whose subject is popdns with outside
# tools and topologies (the package, which builds its own release tree;
# the BIRD lab, certbot, Prometheus, the load tests), tested above; their
# popdns code paths run under ASan in the other integration tests.
meson test -C build-asan --print-errorlogs --timeout-multiplier 3 \
  --no-suite release_only || status=1

# One plain closing line over both trees (meson's own summary is above).
python3 - build build-asan <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for tree in sys.argv[1:]:
    with open(tree + "/meson-logs/testlog.json") as f:
        for line in f:
            r = json.loads(line).get("result", "")
            key = {"OK": "passed", "SKIP": "skipped"}.get(r, "failed")
            counts[key] += 1
print("popdns: %(passed)d passed, %(failed)d failed, %(skipped)d skipped" % counts)
PY
exit $status
