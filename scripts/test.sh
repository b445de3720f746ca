#!/usr/bin/env bash
# Runs every popdns test: installs missing Debian packages, builds a release
# tree (build/) and an ASan+UBSan tree (build-asan/), runs the fuzzers for a
# bounded time, and runs `meson test` in both trees. Exits non-zero on any
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

# Two cores: one ninja at a time, each using both.
configure build
ninja -C build

status=0
if ((quick)); then
  meson test -C build --print-errorlogs || status=$?
  exit $status
fi

configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbenchmarks=false
ninja -C build-asan

# libFuzzer (clang) over the answer engine, bounded in time.
bash tests/fuzz/run_fuzzers.sh "${FUZZ_SECONDS:-30}" || status=1

# ThreadSanitizer over the RCU snapshot publication (readers vs publisher).
configure build-tsan -Db_sanitize=thread -Db_lundef=false -Dbenchmarks=false
ninja -C build-tsan tests/rcu_snapshot_test
echo "=== rcu_snapshot_test under TSan ==="
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  build-tsan/tests/rcu_snapshot_test || status=1

echo "=== meson test: build (release) ==="
meson test -C build --print-errorlogs || status=1
echo "=== meson test: build-asan (ASan+UBSan) ==="
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
# (not the package: it builds its own release tree, tested above)
meson test -C build-asan --print-errorlogs --timeout-multiplier 3 \
  --no-suite package || status=1

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
