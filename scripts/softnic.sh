#!/usr/bin/env bash
# Brings up popdns on a software NIC (DPDK net_tap) in the topology of
# DESIGN.md, for any popdns config whose dataplane uses net_tap:
#
#   netns $POP     popdns (EAL, workers); exception interface ($EXC_IF) with
#                  the service addresses: the kernel's ARP/ND/ICMP/TCP side
#   netns $CLIENT  the wire interface ($WIRE_IF), moved here after start,
#                  with the client addresses: point dig/kdig/dnsperf here
#
#   scripts/softnic.sh up CONFIG     start; prints the service addresses and
#                                    the client namespace; returns when
#                                    popdns answers on the dataplane
#   scripts/softnic.sh down          stop popdns, remove both namespaces
#   scripts/softnic.sh status        popdnsctl status + stats
#
# Settings (environment): POP=popdns-pop CLIENT=popdns-client WIRE_IF=pdwire0
# EXC_IF=pdexc0 CLIENT_V4=198.18.0.2/24 CLIENT_V6=fd00:53::2/64
# SERVICE_V4=198.18.0.1 STATE=/run/popdns-softnic POPDNS=build/control/popdns
# START_SECONDS=10 (how long popdns may take to load its zones)
set -euo pipefail
cd "$(dirname "$0")/.."

POP=${POP:-popdns-pop}
CLIENT=${CLIENT:-popdns-client}
WIRE_IF=${WIRE_IF:-pdwire0}
EXC_IF=${EXC_IF:-pdexc0}
CLIENT_V4=${CLIENT_V4:-198.18.0.2/24}
CLIENT_V6=${CLIENT_V6:-fd00:53::2/64}
SERVICE_V4=${SERVICE_V4:-198.18.0.1}
STATE=${STATE:-/run/popdns-softnic}
POPDNS=${POPDNS:-build/control/popdns}
POPDNSCTL=${POPDNSCTL:-$(dirname "$POPDNS")/popdnsctl}

die() { echo "softnic: $*" >&2; exit 1; }

control_socket() {
  local sock
  sock=$(sed -n 's/^control_socket:[[:space:]]*//p' "$(cat "$STATE/config")" | tr -d '"')
  echo "${sock:-/run/popdns/control.sock}"
}

down() {
  if [[ -f $STATE/popdns.pid ]]; then
    local pid
    pid=$(cat "$STATE/popdns.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$STATE/popdns.pid"
  fi
  ip netns del "$CLIENT" 2>/dev/null || true
  ip netns del "$POP" 2>/dev/null || true
}

up() {
  local config=$1
  [[ -f $config ]] || die "no config file $config"
  [[ $(id -u) == 0 ]] || die "needs root (network namespaces, net_tap)"
  [[ -x $POPDNS ]] || die "$POPDNS not built (ninja -C build)"
  mkdir -p "$STATE"
  down
  realpath "$config" > "$STATE/config"
  ip netns add "$POP"
  ip netns add "$CLIENT"
  ip -n "$POP" link set lo up
  ip -n "$CLIENT" link set lo up
  ip netns exec "$POP" "$POPDNS" --config "$config" >"$STATE/popdns.log" 2>&1 &
  echo $! > "$STATE/popdns.pid"
  # popdns creates both tap interfaces in $POP and configures $EXC_IF
  # (once its zones are loaded: START_SECONDS for big ones).
  for _ in $(seq $((${START_SECONDS:-10} * 10))); do
    if grep -q "popdns: serving" "$STATE/popdns.log"; then break; fi
    kill -0 "$(cat "$STATE/popdns.pid")" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "popdns: serving" "$STATE/popdns.log"; then
    cat "$STATE/popdns.log" >&2
    down
    die "popdns did not start"
  fi
  ip -n "$POP" link set "$WIRE_IF" netns "$CLIENT"
  ip -n "$CLIENT" addr add "$CLIENT_V4" dev "$WIRE_IF"
  ip -n "$CLIENT" addr add "$CLIENT_V6" dev "$WIRE_IF" nodad
  ip -n "$CLIENT" link set "$WIRE_IF" up
  for _ in $(seq 50); do
    if ip netns exec "$CLIENT" dig +time=1 +tries=1 +norec @"$SERVICE_V4" \
        . SOA 2>/dev/null | grep -q "status:"; then
      echo "popdns dataplane up (pid $(cat "$STATE/popdns.pid"), log $STATE/popdns.log)"
      echo "service addresses: $(ip -n "$POP" -br addr show "$EXC_IF" | awk '{$1=$2=""; print}' | xargs)"
      echo "client namespace:  $CLIENT ($CLIENT_V4 $CLIENT_V6 on $WIRE_IF)"
      echo "try: ip netns exec $CLIENT dig @$SERVICE_V4 <name>"
      return 0
    fi
    sleep 0.2
  done
  cat "$STATE/popdns.log" >&2
  down
  die "no answer from $SERVICE_V4 through the dataplane"
}

case ${1:-} in
  up) [[ $# == 2 ]] || die "usage: $0 up CONFIG"; up "$2" ;;
  down) down ;;
  status)
    ip netns exec "$POP" "$POPDNSCTL" --socket "$(control_socket)" status
    ip netns exec "$POP" "$POPDNSCTL" --socket "$(control_socket)" stats ;;
  *) die "usage: $0 up CONFIG | down | status" ;;
esac
