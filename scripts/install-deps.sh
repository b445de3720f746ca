#!/usr/bin/env bash
# Installs every Debian 12 package that popdns's build, tests, benchmarks and
# demo need. Idempotent, and quick when everything is already present: apt is
# only called for the packages dpkg does not report as installed.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config meson ninja-build git
  clang llvm lld libclang-rt-14-dev
  libdpdk-dev dpdk
  libbpf-dev libelf-dev zlib1g-dev linux-libc-dev bpftool
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libssl-dev liblmdb-dev libcpp-httplib-dev
  libmaxminddb-dev
  # GeoIP: mmdblookup reads the test databases back (tests/testutil/write_mmdb.py)
  mmdb-bin
  # tests, peers, load generators
  knot knot-dnsutils nsd dnsperf dnsutils bind9-utils gnuplot-nox
  pdns-backend-bind
  bind9 pdns-server pdns-backend-sqlite3 sqlite3
  certbot python3-certbot-dns-rfc2136 pebble openssl
  # /metrics is scraped by a real Prometheus and checked by promtool
  prometheus
  iproute2 iputils-ping ethtool procps python3 python3-dnspython valgrind
  # the anycast lab: BGP speakers, and the health hook asks /health with curl
  bird2 curl
  # the man pages' test renders them (man -l, groff)
  man-db groff-base
  # packaging: dpkg-buildpackage and lintian (tests/package/package_test.sh)
  dpkg-dev debhelper fakeroot lintian devscripts
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO=sudo; fi
# Daemons from these packages (knotd, nsd) must not start and grab port 53:
# tests start their own instances with their own configs.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null
  $SUDO chmod +x $policy
  created_policy=1
fi
cleanup() { if ((created_policy)); then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
