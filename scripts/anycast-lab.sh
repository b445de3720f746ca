#!/usr/bin/env bash
# The anycast lab of DESIGN.md: two PoPs announce one service address over
# BGP to a router, and health decides which of them does.
#
#   netns $LAB-router  BIRD 2 (AS 65000): BGP with both PoPs, installs the
#                      service routes in its kernel table (ECMP over both
#                      PoPs, hashed on ports); holds both PoPs' wire taps
#   netns $LAB-pop1    popdns on a software NIC (net_tap; idle: sleep), its
#   netns $LAB-pop2    wire tap moved into the router's namespace, so ARP,
#                      ND and BGP cross the exception path; BIRD 2 (AS 65053)
#                      announcing the service address from the exception
#                      interface; scripts/bird-health-hook.sh toggling that
#                      announcement with popdns's /health
#   netns $LAB-client  a client behind the router: dig @198.18.53.1 here
#
#   198.18.N.0/24, fd00:N::/64      router (.1, ::1) <-> popN (.2, ::2)
#   198.18.100.0/24, fd00:100::/64  router (.1, ::1) <-> client (.2, ::2)
#   198.18.53.1/32, fd00:53::1/128  the anycast service address
#
#   scripts/anycast-lab.sh up              build it; returns once the router
#                                          has the service route via both PoPs
#   scripts/anycast-lab.sh down            stop everything (by PID), remove
#                                          the namespaces
#   scripts/anycast-lab.sh status          router's routes, BGP sessions,
#                                          each PoP's health
#   scripts/anycast-lab.sh routes          the router's routes to the service
#   scripts/anycast-lab.sh start-pop N     start popdns in PoP N (after a
#                                          kill or a drain); uses
#                                          $STATE/popN/popdns.yaml
#   scripts/anycast-lab.sh kill-pop N      kill -9 popdns in PoP N
#   scripts/anycast-lab.sh drain-pop N [S] popdnsctl drain [S] in PoP N
#   scripts/anycast-lab.sh watch           dig id.server CH TXT in a loop from
#                                          the client: which PoP answers
#
# Settings (environment): LAB=anycast-lab (namespace prefix)
# STATE=/run/popdns-anycast-lab POPDNS=build/control/popdns DRAIN=5 (the
# PoPs' shutdown_drain_seconds) IDLE=sleep (dataplane.idle) HOOK_INTERVAL=0.5.
# Needs root, bird2, curl, /dev/net/tun. Only 198.18.0.0/15 and fd00::/8
# inside the lab's own namespaces are used.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

LAB=${LAB:-anycast-lab}
STATE=${STATE:-/run/popdns-anycast-lab}
POPDNS=${POPDNS:-build/control/popdns}
POPDNSCTL=${POPDNSCTL:-$(dirname "$POPDNS")/popdnsctl}
DRAIN=${DRAIN:-5}
IDLE=${IDLE:-sleep}
HOOK_INTERVAL=${HOOK_INTERVAL:-0.5}
ROUTER=$LAB-router CLIENT=$LAB-client
SVC4=198.18.53.1 SVC6=fd00:53::1

die() { echo "anycast-lab: $*" >&2; exit 1; }
# True while process $1 runs (a zombie, or one still dying, does not).
running() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}
pop_ns() { echo "$LAB-pop$1"; }

# Stops the process whose PID is in file $1: SIGTERM (twice: a draining
# popdns stops at the second), SIGKILL after 5 s.
stop_pidfile() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    sleep 0.2
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

down() {
  for n in 1 2; do
    stop_pidfile "$STATE/pop$n/hook.pid"
    stop_pidfile "$STATE/pop$n/popdns.pid"
    stop_pidfile "$STATE/pop$n/bird.pid"
  done
  stop_pidfile "$STATE/router/bird.pid"
  for ns in "$CLIENT" "$(pop_ns 1)" "$(pop_ns 2)" "$ROUTER"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}

write_pop_config() {
  local n=$1 d=$STATE/pop$1
  cp "$SRC/examples/example.test.zone" "$d/example.test.zone"
  cat > "$d/popdns.yaml" <<EOF
# PoP $n of the anycast lab (scripts/anycast-lab.sh).
zones:
  - name: example.test
    file: $d/example.test.zone
identity: pop$n
control_socket: $d/control.sock
shutdown_drain_seconds: $DRAIN
management:
  listen: 127.0.0.1:8053
dataplane:
  eal: ["--no-huge", "--in-memory", "-m", "256", "--no-pci", "-l", "0-1",
        "--vdev", "net_tap0,iface=p${n}wire", "--vdev", "net_tap1,iface=p${n}exc",
        "--log-level", "*:error"]
  ports:
    - wire: net_tap0
      exception: net_tap1
      exception_interface: p${n}exc
      addresses: ["198.18.$n.2/24", "fd00:$n::2/64"]
  service_addresses: ["$SVC4/32", "$SVC6/128"]
  idle: $IDLE
EOF
}

write_pop_bird() {
  local n=$1
  cat > "$STATE/pop$n/bird.conf" <<EOF
# PoP $n: announce the service address to the router while popdns's
# exception interface exists (popdns runs) and the health hook has enabled
# anycast4/anycast6 (GET /health is 200). They start disabled.
router id 198.18.$n.2;
log stderr all;
protocol device { scan time 1; }
protocol direct anycast4 {
  disabled yes;
  ipv4 { import where net = $SVC4/32; };
  interface "p${n}exc";
}
protocol direct anycast6 {
  disabled yes;
  ipv6 { import where net = $SVC6/128; };
  interface "p${n}exc";
}
template bgp router_peer {
  local as 65053;
  direct;
  hold time 6; keepalive time 2;
  connect retry time 1; error wait time 1, 4;
}
protocol bgp router4 from router_peer {
  neighbor 198.18.$n.1 as 65000;
  ipv4 { import none; export where proto = "anycast4"; };
}
protocol bgp router6 from router_peer {
  neighbor fd00:$n::1 as 65000;
  ipv6 { import none; export where proto = "anycast6"; };
}
EOF
}

write_router_bird() {
  cat > "$STATE/router/bird.conf" <<EOF
# The router: BGP with both PoPs; the service routes go to the kernel,
# both PoPs' paths merged into one ECMP route.
router id 198.18.100.1;
log stderr all;
protocol device { scan time 1; }
protocol kernel kernel4 { ipv4 { import none; export all; }; merge paths yes; }
protocol kernel kernel6 { ipv6 { import none; export all; }; merge paths yes; }
template bgp pop_peer {
  local as 65000;
  direct;
  hold time 6; keepalive time 2;
  connect retry time 1; error wait time 1, 4;
}
protocol bgp pop1_4 from pop_peer { neighbor 198.18.1.2 as 65053; ipv4 { import all; export none; }; }
protocol bgp pop1_6 from pop_peer { neighbor fd00:1::2 as 65053; ipv6 { import all; export none; }; }
protocol bgp pop2_4 from pop_peer { neighbor 198.18.2.2 as 65053; ipv4 { import all; export none; }; }
protocol bgp pop2_6 from pop_peer { neighbor fd00:2::2 as 65053; ipv6 { import all; export none; }; }
EOF
}

# Starts bird in namespace $1 with state dir $2, in the foreground of a
# background job (its PID is ours to stop).
start_bird() {
  local ns=$1 d=$2
  ip netns exec "$ns" bird -f -c "$d/bird.conf" -s "$d/bird.ctl" \
    -P "$d/bird.run.pid" >"$d/bird.log" 2>&1 &
  echo $! > "$d/bird.pid"
}

start_pop() {
  local n=$1 ns d pid
  ns=$(pop_ns "$n")
  d=$STATE/pop$n
  [[ -f $d/popdns.yaml ]] || die "no $d/popdns.yaml (run up first)"
  if [[ -f $d/popdns.pid ]]; then
    # After a kill -9 the process may take a moment to go (its memory).
    for _ in $(seq 50); do running "$(cat "$d/popdns.pid")" || break; sleep 0.1; done
    ! running "$(cat "$d/popdns.pid")" ||
      die "popdns already runs in pop$n (pid $(cat "$d/popdns.pid"))"
  fi
  ip netns exec "$ns" "$POPDNS" --config "$d/popdns.yaml" >>"$d/popdns.log" 2>&1 &
  pid=$!
  echo $pid > "$d/popdns.pid"
  for _ in $(seq 200); do
    if ip netns exec "$ns" "$POPDNSCTL" --socket "$d/control.sock" status \
        >/dev/null 2>&1 && ip -n "$ns" link show "p${n}wire" >/dev/null 2>&1; then
      break
    fi
    running "$pid" || break
    sleep 0.1
  done
  running "$pid" && ip -n "$ns" link show "p${n}wire" >/dev/null 2>&1 ||
    { tail -20 "$d/popdns.log" >&2; die "popdns did not start in pop$n"; }
  # The wire tap goes to the router: the PoP's "cable".
  ip -n "$ns" link set "p${n}wire" netns "$ROUTER"
  ip -n "$ROUTER" addr add "198.18.$n.1/24" dev "p${n}wire"
  ip -n "$ROUTER" addr add "fd00:$n::1/64" dev "p${n}wire" nodad
  ip -n "$ROUTER" link set "p${n}wire" up
  # The kernel's own replies (TCP, ICMP) go back through the router.
  ip -n "$ns" route replace default via "198.18.$n.1"
  ip -n "$ns" -6 route replace default via "fd00:$n::1"
  echo "pop$n: popdns pid $pid"
}

# Routes of the router to the service address, one "via" a line.
routes() {
  ip -n "$ROUTER" route show "$SVC4/32" 2>/dev/null
  ip -n "$ROUTER" -6 route show "$SVC6/128" 2>/dev/null
}

up() {
  [[ $(id -u) == 0 ]] || die "needs root (network namespaces, net_tap)"
  [[ -x $POPDNS ]] || die "$POPDNS not built (ninja -C build)"
  command -v bird >/dev/null || die "bird2 not installed (scripts/install-deps.sh)"
  command -v curl >/dev/null || die "curl not installed"
  mkdir -p "$STATE/router" "$STATE/pop1" "$STATE/pop2"
  down
  ip netns add "$ROUTER"
  ip netns add "$CLIENT"
  ip netns add "$(pop_ns 1)"
  ip netns add "$(pop_ns 2)"
  for ns in "$ROUTER" "$CLIENT" "$(pop_ns 1)" "$(pop_ns 2)"; do
    ip -n "$ns" link set lo up
  done
  ip netns exec "$ROUTER" sysctl -qw net.ipv4.ip_forward=1 \
    net.ipv6.conf.all.forwarding=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv6.fib_multipath_hash_policy=1
  ip -n "$ROUTER" link add rcl0 type veth peer name cl0 netns "$CLIENT"
  ip -n "$ROUTER" addr add 198.18.100.1/24 dev rcl0
  ip -n "$ROUTER" addr add fd00:100::1/64 dev rcl0 nodad
  ip -n "$ROUTER" link set rcl0 up
  ip -n "$CLIENT" addr add 198.18.100.2/24 dev cl0
  ip -n "$CLIENT" addr add fd00:100::2/64 dev cl0 nodad
  ip -n "$CLIENT" link set cl0 up
  ip -n "$CLIENT" route add default via 198.18.100.1
  ip -n "$CLIENT" -6 route add default via fd00:100::1

  write_router_bird
  start_bird "$ROUTER" "$STATE/router"
  for n in 1 2; do
    write_pop_config "$n"
    write_pop_bird "$n"
    start_pop "$n"
    start_bird "$(pop_ns "$n")" "$STATE/pop$n"
    ip netns exec "$(pop_ns "$n")" "$SRC/scripts/bird-health-hook.sh" \
      --url http://127.0.0.1:8053/health --birdc-socket "$STATE/pop$n/bird.ctl" \
      --interval "$HOOK_INTERVAL" anycast4 anycast6 >"$STATE/pop$n/hook.log" 2>&1 &
    echo $! > "$STATE/pop$n/hook.pid"
  done
  for _ in $(seq 300); do
    if (( $(routes | grep -c "via") >= 4 )); then
      echo "anycast lab up: router $ROUTER, PoPs $(pop_ns 1) $(pop_ns 2), client $CLIENT"
      routes
      echo "try: ip netns exec $CLIENT dig @$SVC4 www.example.test"
      echo "     ip netns exec $CLIENT dig @$SVC6 id.server CH TXT"
      return 0
    fi
    sleep 0.2
  done
  status >&2 || true
  die "the router did not get the service route via both PoPs in 60 s"
}

status() {
  echo "== router: routes to the service address"
  routes
  echo "== router: BGP sessions"
  ip netns exec "$ROUTER" birdc -s "$STATE/router/bird.ctl" show protocols | grep -i bgp || true
  for n in 1 2; do
    echo "== pop$n: popdnsctl health"
    ip netns exec "$(pop_ns "$n")" "$POPDNSCTL" --socket "$STATE/pop$n/control.sock" health || true
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  routes) routes ;;
  start-pop) [[ ${2:-} =~ ^[12]$ ]] || die "usage: $0 start-pop 1|2"; start_pop "$2" ;;
  kill-pop)
    [[ ${2:-} =~ ^[12]$ ]] || die "usage: $0 kill-pop 1|2"
    kill -KILL "$(cat "$STATE/pop$2/popdns.pid")" ;;
  drain-pop)
    [[ ${2:-} =~ ^[12]$ ]] || die "usage: $0 drain-pop 1|2 [SECONDS]"
    ip netns exec "$(pop_ns "$2")" "$POPDNSCTL" --socket "$STATE/pop$2/control.sock" \
      drain ${3:+"$3"} ;;
  watch)
    while :; do
      printf '%s v4 %s v6 %s\n' "$(date +%T)" \
        "$(ip netns exec "$CLIENT" dig +short +time=1 +tries=1 @$SVC4 id.server CH TXT)" \
        "$(ip netns exec "$CLIENT" dig +short +time=1 +tries=1 @$SVC6 id.server CH TXT)"
      sleep 0.5
    done ;;
  *) die "usage: $0 up | down | status | routes | start-pop N | kill-pop N | drain-pop N [S] | watch" ;;
esac
