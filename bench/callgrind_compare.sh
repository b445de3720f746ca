#!/bin/bash
# Instructions per answered query under callgrind (deterministic, unlike
# timings on a shared VM): popdns's packet path vs knotd and nsd (issue 7).
#
#   bench/callgrind_compare.sh [BUILD_DIR] [-z NAMES] [-p PATH_COUNT] [-q SERVER_COUNT]
#
# One zone (bench/make_replay_pcap.py, NAMES=10000 names by default: knotd
# and nsd load zones under valgrind ~50x slower than natively) and one pcap
# of 12288 queries with the replay mix (70% A/AAAA hits, 10% NXDOMAIN, 10%
# wildcard, 5% CNAME, 5% referral, all with EDNS).
#
#   popdns (packet path): bench/path_driver answers PATH_COUNT (1,000,000)
#     frames in bursts of 32 as the DPDK worker does: copy frame, classify
#     (IPv4 header + UDP checksum verified), AnswerBurst in place, response
#     frame with checksums; minus a run with 0. Twice more: with
#     `rx-csum-offload` (the query's checksums left to the NIC, which
#     reports them good) and with `csum-offload` (the response's checksums
#     too: what the worker does on a NIC that offers both offloads). The
#     last is the figure to hold against the servers below, whose
#     checksums are computed by the kernel (or its NIC), outside the
#     user-space count.
#   knotd (udp-workers 1, tcp-workers 1, background-workers 1), nsd
#     (server-count 1, RRL off, minimal-responses) and popdns's own
#     kernel-socket slow path
#     (--udp-threads 1), each on 127.0.0.1:<free port> with its own temp
#     config, started under `valgrind --tool=callgrind --trace-children=yes`
#     (nsd forks its server and xfrd), sent SERVER_COUNT (20,000) queries of
#     the pcap by bench/send_pcap_queries.py (window 8), stopped with
#     SIGTERM; minus a run that answers only the readiness probe. Their
#     figure includes the user-space side of the socket calls (recvmmsg/
#     sendmmsg or recvfrom/sendto wrappers, epoll), not the kernel.
#
# Ir of a run = sum over the callgrind output files of all its processes
# (all threads of one process are in one file).
# Every run is bounded by `timeout`; only loopback traffic.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
names=10000
path_count=1000000
server_count=20000
frames=12288
servers="knotd nsd popdns-sockets"
while [ $# -gt 0 ]; do
  case "$1" in
    -z) names=$2; shift 2 ;;
    -p) path_count=$2; shift 2 ;;
    -q) server_count=$2; shift 2 ;;
    -s) servers=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) build=$1; shift ;;
  esac
done
driver=$build/bench/path_driver
popdns=$build/control/popdns
for b in "$driver" "$popdns"; do
  [ -x "$b" ] || { echo "missing $b (ninja -C $build bench/path_driver control/popdns)" >&2; exit 1; }
done
for t in valgrind knotd nsd; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/popdns-callgrind.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ir DIR: total instructions over the callgrind files in DIR.
ir() {
  python3 - "$1" <<'PY'
import glob, re, sys
total = 0
for path in glob.glob(sys.argv[1] + "/callgrind.out.*"):
    best = 0
    for line in open(path, errors="replace"):
        m = re.match(r"(?:summary|totals):\s+(\d+)", line)
        if m:
            best = max(best, int(m.group(1)))
    total += best
print(total)
PY
}

zone=$tmp/bench.zone
pcap=$tmp/queries.pcap
echo "== zone of $names names, $frames query frames" >&2
python3 "$here/make_replay_pcap.py" --names "$names" --count "$frames" \
  --zone-out "$zone" --pcap-out "$pcap"

vg=(valgrind --tool=callgrind --trace-children=yes --child-silent-after-fork=no)

# ---- popdns packet path ------------------------------------------------------
path_ir() {  # COUNT [rx-csum-offload] -> Ir
  local d=$tmp/path-$1${2:+-$2}
  mkdir -p "$d"
  timeout 1800 "${vg[@]}" --callgrind-out-file="$d/callgrind.out.%p" \
    "$driver" "$zone" "$pcap" "$@" >"$d/out" 2>"$d/log" ||
    { cat "$d/log" >&2; exit 1; }
  grep "path_driver:" "$d/log" >&2 || true
  ir "$d"
}
p0=0 p1=0 o0=0 o1=0 c0=0 c1=0
if [ "$path_count" -gt 0 ]; then
  echo "== popdns path_driver under callgrind: 0 and $path_count packets" >&2
  p0=$(path_ir 0)
  p1=$(path_ir "$path_count")
  # As with a NIC that verifies the query's UDP checksum (RX offload).
  o0=$(path_ir 0 rx-csum-offload)
  o1=$(path_ir "$path_count" rx-csum-offload)
  c0=$(path_ir 0 csum-offload)
  c1=$(path_ir "$path_count" csum-offload)
fi

# ---- servers -----------------------------------------------------------------
write_knot() {  # DIR PORT
  mkdir -p "$1/db"
  cat >"$1/knot.conf" <<EOF
server:
    rundir: $1
    listen: 127.0.0.1@$2
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $1/db
log:
  - target: stderr
    any: notice
template:
  - id: default
    storage: $1
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: bench.test
    file: $zone
EOF
}

write_nsd() {  # DIR PORT
  cat >"$1/nsd.conf" <<EOF
server:
    server-count: 1
    ip-address: 127.0.0.1@$2
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: $1
    database: ""
    pidfile: $1/nsd.pid
    xfrdfile: $1/xfrd.state
    zonelistfile: $1/zone.list
    xfrdir: $1
    verbosity: 0
    tcp-count: 16
    # Debian's nsd has response rate limiting on: it would drop or slip
    # (TC=1) part of a benchmark's queries from one client. Off, as in
    # knotd (RRL is an opt-in module there) and popdns.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    # No NS/glue added to positive answers, like knotd and popdns.
    minimal-responses: yes
remote-control:
    control-enable: no
zone:
    name: bench.test
    zonefile: $zone
EOF
}

# server_ir NAME COUNT: sets RESULT to the Ir of a whole server run
# answering COUNT queries (plus the readiness probe). Not run in a $(...)
# subshell, so that the EXIT trap stops the server on failure.
RESULT=0
ANSWERED=0
server_ir() {
  local name=$1 count=$2 d=$tmp/$1-$2 port
  mkdir -p "$d"
  port=$(free_port)
  local cmd
  case "$name" in
    knotd) write_knot "$d" "$port"; cmd=(knotd -c "$d/knot.conf") ;;
    nsd) write_nsd "$d" "$port"; cmd=(nsd -d -c "$d/nsd.conf") ;;
    popdns-sockets)
      cmd=("$popdns" --zone "bench.test=$zone" --listen "127.0.0.1:$port"
           --udp-threads 1 --control-socket "$d/control.sock") ;;
  esac
  timeout 900 "${vg[@]}" --callgrind-out-file="$d/callgrind.out.%p" \
    "${cmd[@]}" >"$d/log" 2>&1 &
  pid=$!
  if ! python3 "$here/send_pcap_queries.py" 127.0.0.1 "$port" --probe \
      --deadline 600 >&2; then
    cat "$d/log" >&2
    exit 1
  fi
  if [ "$count" -gt 0 ]; then
    python3 "$here/send_pcap_queries.py" 127.0.0.1 "$port" "$pcap" "$count" \
      --window 8 --deadline 600 >"$d/sender" || { cat "$d/sender" >&2; exit 1; }
    echo "   $name: $(cat "$d/sender")" >&2
    # Divide by what the server answered (a query lost in a socket buffer
    # costs it nothing; late answers count).
    ANSWERED=$(awk '{ print $4 }' "$d/sender")
  fi
  # timeout passes SIGTERM on to valgrind, which hands it to the server.
  # nsd's first process becomes xfrd after forking "main"; main (the PID
  # in its pidfile) is the one that shuts everything down on SIGTERM.
  if [ "$name" = nsd ] && [ -s "$d/nsd.pid" ]; then
    kill -TERM "$(cat "$d/nsd.pid")"
  else
    kill -TERM "$pid"
  fi
  wait "$pid" || true
  pid=""
  RESULT=$(ir "$d")
  echo "   $name: $count queries: Ir $RESULT" >&2
}

declare -A s0 s1 n1
for name in $servers; do
  echo "== $name under callgrind: probe only, then $server_count queries" >&2
  server_ir "$name" 0
  s0[$name]=$RESULT
  server_ir "$name" "$server_count"
  s1[$name]=$RESULT
  n1[$name]=$ANSWERED
done

args=()
if [ "$path_count" -gt 0 ]; then
  args+=("popdns packet path (bench/path_driver, no syscalls)" "$p0" "$p1" "$path_count")
  args+=("popdns packet path, query checksums left to the NIC" "$o0" "$o1" "$path_count")
  args+=("popdns packet path, all checksums left to the NIC" "$c0" "$c1" "$path_count")
fi
for name in $servers; do
  case "$name" in
    knotd) label="knotd $(knotd -V 2>&1 | grep -o '[0-9][0-9.]*' | head -1) (UDP socket, udp-workers 1)" ;;
    nsd) label="nsd $(nsd -v 2>&1 | grep -o '[0-9][0-9.]*' | head -1) (UDP socket, server-count 1)" ;;
    popdns-sockets) label="popdns slow path (kernel UDP socket, --udp-threads 1)" ;;
  esac
  args+=("$label" "${s0[$name]}" "${s1[$name]}" "${n1[$name]}")
done
python3 - "$names" "${args[@]}" <<'PY'
import sys
names, a = int(sys.argv[1]), sys.argv[2:]
rows = []
for i in range(0, len(a), 4):
    i0, i1, n = int(a[i + 1]), int(a[i + 2]), int(a[i + 3])
    rows.append((a[i], i0, i1, n, (i1 - i0) / n))
knot = next((r[4] for r in rows if r[0].startswith("knotd")), None)
print(f"<!-- zone of {names:,} names; query mix 70/10/10/5/5, EDNS -->")
print("| program | Ir, 0 queries | Ir, N queries | N answered | instructions/query "
      "| / knotd |")
print("|---|---:|---:|---:|---:|---:|")
for name, i0, i1, n, per in rows:
    ratio = f"{per / knot:.3f}" if knot else "-"
    print(f"| {name} | {i0:,} | {i1:,} | {n:,} | **{per:,.0f}** | {ratio} |")
PY
