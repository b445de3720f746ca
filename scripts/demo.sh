#!/usr/bin/env bash
# The quick-start demo: serves examples/example.test.zone with popdns in its
# own network namespace and shows real dig queries from a client namespace.
#
#   scripts/demo.sh           # stays up until Ctrl-C, then removes everything
#   scripts/demo.sh --once    # runs the sample queries and exits (used by CI)
#
# Topology (addresses from the benchmarking range, RFC 2544 / RFC 4193):
#   netns popdns-demo-client  veth 198.18.0.2/24 fd00:53::2/64
#        |
#   netns popdns-demo-pop     veth 198.18.0.1/24 fd00:53::1/64  <- popdns
set -euo pipefail
cd "$(dirname "$0")/.."

once=0
[[ ${1:-} == --once ]] && once=1
if [[ $(id -u) != 0 ]]; then
  echo "demo: needs root (network namespaces)" >&2
  exit 1
fi

bash scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then meson setup build >/dev/null; fi
ninja -C build control/popdns control/popdnsctl >/dev/null

POP=popdns-demo-pop
CLIENT=popdns-demo-client
SOCK=/run/popdns/demo.sock
pid=""
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  ip netns del "$POP" 2>/dev/null || true
  ip netns del "$CLIENT" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM
cleanup  # leftovers of an interrupted run

ip netns add "$POP"
ip netns add "$CLIENT"
ip link add pd-pop type veth peer name pd-client
ip link set pd-pop netns "$POP"
ip link set pd-client netns "$CLIENT"
ip -n "$POP" addr add 198.18.0.1/24 dev pd-pop
ip -n "$POP" addr add fd00:53::1/64 dev pd-pop nodad
ip -n "$CLIENT" addr add 198.18.0.2/24 dev pd-client
ip -n "$CLIENT" addr add fd00:53::2/64 dev pd-client nodad
for ns in "$POP" "$CLIENT"; do ip -n "$ns" link set lo up; done
ip -n "$POP" link set pd-pop up
ip -n "$CLIENT" link set pd-client up

ip netns exec "$POP" build/control/popdns \
  --zone example.test=examples/example.test.zone \
  --listen 198.18.0.1:53 --listen '[fd00:53::1]:53' \
  --identity popdns-demo --control-socket "$SOCK" &
pid=$!

for _ in $(seq 50); do
  if ip netns exec "$CLIENT" dig +time=1 +tries=1 @198.18.0.1 www.example.test A \
      2>/dev/null | grep -q "status: NOERROR"; then
    break
  fi
  sleep 0.2
done

run() { echo "\$ $*"; "$@"; echo; }
echo
echo "popdns serves example.test. on 198.18.0.1 and fd00:53::1 (namespace $POP)."
echo "Sample queries from namespace $CLIENT:"
echo
run ip netns exec "$CLIENT" dig +norec @198.18.0.1 www.example.test A +nocmd +nostats
run ip netns exec "$CLIENT" dig +norec @fd00:53::1 nope.example.test AAAA +nocmd +nostats +nocomments
run ip netns exec "$CLIENT" dig +norec +tcp @198.18.0.1 example.test MX +nocmd +nostats +nocomments
run ip netns exec "$POP" build/control/popdnsctl --socket "$SOCK" stats

if ((once)); then exit 0; fi
echo "Try your own:  ip netns exec $CLIENT dig @198.18.0.1 www.example.test"
echo "Ctrl-C stops popdns and removes both namespaces."
wait "$pid"
