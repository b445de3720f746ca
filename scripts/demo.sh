#!/usr/bin/env bash
# The quick-start demo: popdns's DPDK dataplane on a software NIC (net_tap)
# serving examples/example.test.zone, with real dig queries from a client
# network namespace (topology: scripts/softnic.sh, ../shared/DESIGN.md).
#
#   scripts/demo.sh           # stays up until Ctrl-C, then removes everything
#   scripts/demo.sh --once    # runs the sample queries and exits
set -euo pipefail
cd "$(dirname "$0")/.."

once=0
[[ ${1:-} == --once ]] && once=1
if [[ $(id -u) != 0 ]]; then
  echo "demo: needs root (network namespaces, DPDK net_tap)" >&2
  exit 1
fi

bash scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then meson setup build >/dev/null; fi
ninja -C build control/popdns control/popdnsctl >/dev/null

export POP=popdns-demo-pop CLIENT=popdns-demo-client
export STATE=/run/popdns-demo
trap 'bash scripts/softnic.sh down' EXIT
trap 'exit 0' INT TERM
bash scripts/softnic.sh up examples/softnic.yaml

run() { echo "\$ $*"; "$@"; echo; }
echo
echo "Sample queries from namespace $CLIENT, answered by the DPDK worker"
echo "(UDP) or by the kernel behind the exception port (TCP, ping):"
echo
run ip netns exec "$CLIENT" dig +norec @198.18.0.1 www.example.test A +nocmd +nostats
run ip netns exec "$CLIENT" dig +norec @fd00:53::1 nope.example.test AAAA +nocmd +nostats +nocomments
run ip netns exec "$CLIENT" dig +norec +tcp @198.18.0.1 example.test MX +nocmd +nostats +nocomments
run ip netns exec "$CLIENT" ping -c 1 -W 2 198.18.0.1
run bash scripts/softnic.sh status

if ((once)); then exit 0; fi
echo "Try your own:  ip netns exec $CLIENT dig @198.18.0.1 www.example.test"
echo "Ctrl-C stops popdns and removes both namespaces."
while kill -0 "$(cat "$STATE/popdns.pid")" 2>/dev/null; do sleep 1; done
