#!/usr/bin/env bash
# The Debian package, end to end (issue 13): builds the .deb with
# `dpkg-buildpackage -b -us -uc` from a copy of the repository, checks it
# with lintian (no errors), installs it on this machine, runs the INSTALLED
# /usr/sbin/popdns with the INSTALLED example config exactly as shipped
# (127.0.0.1:53) in a private network namespace with only
# CAP_NET_BIND_SERVICE (the unit's bounding set), queries it with kdig over
# UDP and TCP, asks the installed popdnsctl for its status, stops it by PID,
# then purges the package and checks that nothing is left.
#
#   tests/package/package_test.sh [SOURCE_DIR]
#
# Needs root (dpkg -i, unshare -n). Exit 77 (skipped; in CI: failed) without
# root or a tool, or when a popdns package is already installed (it would be
# replaced and purged).
# Builds take /tmp/popdns-build.lock as every build on the shared machine.
# Nothing starts on port 53 of the host: the package does not enable the
# unit (debian/rules), no systemd runs here, and a policy-rc.d that says
# 101 is in place for the install.
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }
# In CI (CI set) a missing capability is a failure, as in the other tests.
skip() { [[ -z ${CI:-} ]] || fail "$*"; echo "SKIP: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root (dpkg -i, network namespace)"
for tool in dpkg-buildpackage lintian kdig unshare setpriv git; do
  command -v "$tool" >/dev/null || skip "$tool not installed (scripts/install-deps.sh)"
done
if dpkg-query -W -f='${Status}' popdns 2>/dev/null | grep -q installed; then
  skip "a popdns package is already installed here; not replacing it"
fi

work=$(mktemp -d /tmp/popdns-package-test.XXXXXX)
installed=0
created_policy=0
created_dropin=0
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
  if ((installed)); then
    dpkg --purge popdns >"$work/purge.log" 2>&1 || cat "$work/purge.log" >&2
  fi
  if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  if ((created_dropin)); then rm -rf /etc/systemd/system/popdns.service.d; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# 1. Build from a copy of the tree as a checkout would have it (tracked and
# untracked-but-not-ignored files; no build trees), so that the shared
# source tree gets no obj-* directory and ../*.deb land in $work.
mkdir "$work/src"
git -C "$src" ls-files -z -c -o --exclude-standard |
  (cd "$src" && xargs -0 tar -c --no-recursion -f -) | tar -x -C "$work/src"
echo "== dpkg-buildpackage -b -us -uc"
start=$(date +%s)
# Unless a caller already holds the lock (`flock ... meson test`): waiting
# for it here would never end.
lock=(flock /tmp/popdns-build.lock)
p=$$
while ((p > 1)); do
  if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q '^flock .*popdns-build.lock'; then
    lock=()
    break
  fi
  p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status")
done
(cd "$work/src" &&
  DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    "${lock[@]}" dpkg-buildpackage -b -us -uc \
    >"$work/build.log" 2>&1) || { tail -50 "$work/build.log"; fail "dpkg-buildpackage"; }
compile=$(grep -m1 -E '^\[[0-9/]+\] c\+\+ .* -c ' "$work/build.log" || true)
echo "built in $(( $(date +%s) - start ))s;" \
  "$(grep -c 'warning:' "$work/build.log" || true) compiler warnings;" \
  "a C++ compile line has:$(grep -oE ' -O[0-3s]| -DNDEBUG' <<<"$compile" | tr -d '\n')"
deb=$(ls "$work"/popdns_*_amd64.deb)
changes=$(ls "$work"/popdns_*_amd64.changes)

# 2. lintian: errors fail the test; warnings are printed.
echo "== lintian"
lintian --fail-on error --display-info "$changes" | tee "$work/lintian.log" ||
  fail "lintian reports errors"
echo "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors," \
  "$(grep -c '^W:' "$work/lintian.log" || true) warnings"

# 3. What the package holds.
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for path in ./usr/sbin/popdns ./usr/bin/popdnsctl \
    ./usr/lib/x86_64-linux-gnu/popdns/xdp_dns.bpf.o \
    ./lib/systemd/system/popdns.service \
    ./etc/popdns/popdns.yaml ./etc/popdns/example.test.zone \
    ./usr/share/man/man8/popdns.8.gz ./usr/share/man/man8/popdnsctl.8.gz \
    ./usr/share/man/man5/popdns.yaml.5.gz \
    ./usr/share/doc/popdns/examples/systemd/xdp.conf \
    ./usr/share/doc/popdns/examples/systemd/dpdk.conf; do
  grep -qxF "$path" "$work/contents" || fail "$path missing from the .deb"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/popdns/popdns.yaml ||
  fail "/etc/popdns/popdns.yaml is not a conffile"

# The maintainer scripts: no restart on upgrade, a stop on removal.
dpkg-deb -e "$deb" "$work/control"
! grep -q 'restart' "$work/control/postinst" ||
  fail "the postinst restarts popdns on upgrade"
grep -q 'deb-systemd-invoke stop' "$work/control/prerm" ||
  fail "the prerm does not stop popdns on removal"

# 4. Install. No service may start: the unit is not enabled (and the
# postinst only starts units when systemd runs, which it does not here);
# policy-rc.d covers anything else.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
echo "== dpkg -i"
installed=1
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
/usr/sbin/popdns --version
unit=/lib/systemd/system/popdns.service
grep -qx 'ExecStart=/usr/sbin/popdns --config /etc/popdns/popdns.yaml' "$unit" ||
  fail "$unit: unexpected ExecStart"
grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' "$unit" ||
  fail "$unit: unexpected capabilities"
if command -v systemd-analyze >/dev/null; then
  # --man=no: the manual pages it would look up are checked above.
  systemd-analyze verify --man=no "$unit" 2>&1 | grep -v '^$' |
    tee "$work/verify.log" || true
  ! grep -qi 'unknown\|invalid\|failed' "$work/verify.log" ||
    fail "systemd-analyze verify $unit"
  # The shipped drop-ins for the XDP and DPDK modes, installed where their
  # comments say, merged into the unit the same way (systemd reads them
  # from the unit's .d directory).
  dropin_dir=/etc/systemd/system/popdns.service.d
  [[ ! -e $dropin_dir ]] || fail "$dropin_dir exists already; not touching it"
  for mode in xdp dpdk; do
    mkdir -p "$dropin_dir"
    created_dropin=1
    zcat -f /usr/share/doc/popdns/examples/systemd/$mode.conf* \
      >"$dropin_dir/dataplane.conf"
    systemd-analyze verify --man=no "$unit" 2>&1 | grep -v '^$' |
      tee "$work/verify-$mode.log" || true
    ! grep -qi 'unknown\|invalid\|failed' "$work/verify-$mode.log" ||
      fail "systemd-analyze verify $unit with the $mode drop-in"
    rm -rf "$dropin_dir"
    echo "the $mode drop-in verifies"
  done
fi
/usr/sbin/popdns --check --config /etc/popdns/popdns.yaml ||
  fail "the installed example config does not check"

# 5. The installed binary on the installed config, as the unit would run it
# (its bounding set), in a network namespace of its own: 127.0.0.1:53 there
# is nobody else's. The control socket goes to $work, not /run/popdns.
echo "== popdns in a private network namespace, CAP_NET_BIND_SERVICE only"
cat >"$work/run.sh" <<'RUN'
set -euo pipefail
work=$1
ip link set lo up
setpriv --bounding-set=-all,+net_bind_service --inh-caps=-all -- \
  /usr/sbin/popdns --config /etc/popdns/popdns.yaml \
  --control-socket "$work/control.sock" >"$work/popdns.log" 2>&1 &
pid=$!
echo "$pid" >"$work/pid"
status=1
for _ in $(seq 100); do
  if kdig @127.0.0.1 -p 53 +time=1 +retry=0 +short SOA example.test \
      >/dev/null 2>&1; then status=0; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if ((status)); then echo "popdns did not answer"; cat "$work/popdns.log"; fi
if ((status == 0)); then
  # CAP_NET_BIND_SERVICE is bit 10: nothing else in the bounding set.
  grep CapBnd "/proc/$pid/status"
  grep -q 'CapBnd:[[:space:]]*0000000000000400$' "/proc/$pid/status" ||
    status=1
  udp=$(kdig @127.0.0.1 +short A www.example.test | sort | tr '\n' ' ')
  tcp=$(kdig @127.0.0.1 +tcp +short A www.example.test | sort | tr '\n' ' ')
  flags=$(kdig @127.0.0.1 A www.example.test | grep -m1 'Flags:')
  echo "udp: $udp / tcp: $tcp / $flags"
  [[ $udp == "192.0.2.3 192.0.2.4 " && $tcp == "$udp" ]] || status=1
  [[ $flags == *" aa"* ]] || status=1
  nx=$(kdig @127.0.0.1 A nothere.example.test | grep -o 'status: [A-Z]*')
  echo "nothere.example.test: $nx"
  [[ $nx == "status: NXDOMAIN" ]] || status=1
  /usr/bin/popdnsctl --socket "$work/control.sock" status | tee "$work/status"
  grep -q example.test "$work/status" || status=1
fi
kill "$pid" 2>/dev/null || true
wait "$pid" || true
exit $status
RUN
unshare -n bash "$work/run.sh" "$work" || { cat "$work/popdns.log"; fail "the installed popdns"; }

# 6. Purge: nothing of the package stays.
echo "== dpkg --purge"
installed=0
dpkg --purge popdns >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
for path in /usr/sbin/popdns /usr/bin/popdnsctl /etc/popdns "$unit" \
    /usr/lib/x86_64-linux-gnu/popdns; do
  [[ ! -e $path ]] || fail "$path left after purge"
done
echo "PASS: package built, lintian clean of errors, installed, answered, purged"
