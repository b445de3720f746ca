#!/usr/bin/env bash
# Zone load benchmark: how long popdns, knotd and nsd take to load the same
# large zone file (exec until they answer a SOA query for it) and how much
# memory they hold at that moment. Prints a Markdown table for the README.
#
#   bench/zone_load_bench.sh [--records N] [--runs R] [--json FILE]
#                            [--popdns PATH] [--servers "popdns knotd nsd"]
#                            [--timeout SEC] [--keep]
#
#   --shape names --records N: N names with several types each and CNAME
#                 chains (issue 11's realistic 1M-name zone: ~1.37M records)
#   --records N   zone size (default 1000000); the zone is generated
#                 deterministically by bench/zone_load_helper.py gen
#   --runs R      runs per server, interleaved popdns/knotd/nsd (default 3);
#                 the table shows the median
#   --json FILE   also write medians, every run and the table as JSON
#   --popdns PATH popdns binary (default build/control/popdns next to this
#                 script: meson setup build && ninja -C build control/popdns)
#   --servers     subset/order of servers to run
#   --timeout SEC give up on one load after SEC seconds (default 300)
#   --keep        keep the temp dir (zone, configs, logs) and print its path
#
# Needs python3, and Debian packages knot (knotd) and nsd for the peers; a
# missing peer is reported as skipped. Servers listen on 127.0.0.1 only, on
# free high ports; every run is bounded by --timeout and stopped with
# SIGTERM to the PID that was started. Run it on a quiet machine (check
# `uptime`): the load time is wall-clock time.
#
# What is measured (bench/zone_load_helper.py measure):
#   load s       exec -> first authoritative NOERROR SOA answer carrying the
#                zone's serial (UDP probe every 50 ms, so +-50 ms)
#   peak RSS     VmHWM of the started process at that moment; for a server
#                that forks (nsd: main, xfrd, server children) the maximum
#                VmHWM over the process and its descendants. RSS sum and
#                PSS sum (smaps_rollup) over all of them are shown too.
#   bytes/record peak RSS / records
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
helper=$here/zone_load_helper.py

records=1000000
shape=records
runs=3
json=""
popdns=$root/build/control/popdns
servers="popdns knotd nsd"
timeout=300
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --shape) shape=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --popdns) popdns=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$json" ]; then
  case "$json" in /*) ;; *) json=$PWD/$json ;; esac
fi

zone=load.test.
tmp=$(mktemp -d /tmp/zone_load_bench.XXXXXX)
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() {
  python3 - <<'PY'
import socket
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    if port >= 20000:
        print(port)
        break
PY
}

echo "generating a $records-record zone in $tmp ..." >&2
gen=$(python3 "$helper" gen --records "$records" --shape "$shape" \
      --origin "$zone" --out "$tmp/zone.db")
echo "$gen" >&2
serial=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["serial"])' "$gen")
# --shape names counts names; the table's per-record figures use records.
records=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records"])' "$gen")
zone_bytes=$(stat -c %s "$tmp/zone.db")
cat "$tmp/zone.db" >/dev/null  # page cache: every server reads it warm

declare -A version note
active=""
for s in $servers; do
  case "$s" in
    popdns)
      if [ ! -x "$popdns" ]; then
        echo "no popdns binary at $popdns (ninja -C build control/popdns)" >&2
        exit 1
      fi
      version[popdns]="popdns $(git -C "$root" describe --always --tags --dirty 2>/dev/null || echo '?')"
      ;;
    knotd)
      if ! command -v knotd >/dev/null; then note[knotd]="skipped: knotd not installed"; continue; fi
      version[knotd]=$(knotd --version | sed -n 's/.*version /knotd /p' | head -1)
      ;;
    nsd)
      if ! command -v nsd >/dev/null; then note[nsd]="skipped: nsd not installed"; continue; fi
      version[nsd]=$(nsd -v 2>&1 | sed -n 's/^NSD version /nsd /p' | head -1)
      ;;
    *) echo "unknown server $s" >&2; exit 2 ;;
  esac
  active="$active $s"
done

# Writes the config for server $1 on port $2 into $tmp/$1.$3 and prints the
# command line that starts it in the foreground.
prepare() {
  local s=$1 port=$2 run=$3 d=$tmp/$1.$3
  mkdir -p "$d"
  case "$s" in
    popdns)
      echo "$popdns --zone $zone=$tmp/zone.db --listen 127.0.0.1:$port --control-socket $d/control.sock"
      ;;
    knotd)
      mkdir -p "$d/storage"
      cat >"$d/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: "$d"
log:
  - target: stderr
    any: info
database:
    storage: "$d/storage"
template:
  - id: default
    storage: "$d/storage"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
    zonefile-load: whole
zone:
  - domain: $zone
    file: "$tmp/zone.db"
EOF
      echo "knotd -c $d/knot.conf"
      ;;
    nsd)
      mkdir -p "$d/xfr"
      cat >"$d/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    username: ""
    chroot: ""
    zonesdir: "$tmp"
    zonelistfile: "$d/zone.list"
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    xfrdir: "$d/xfr"
    database: ""
    logfile: "$d/nsd.log"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: $zone
    zonefile: "$tmp/zone.db"
EOF
      echo "nsd -d -c $d/nsd.conf"
      ;;
  esac
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$tmp/runs.jsonl"
failed=0
for run in $(seq 1 "$runs"); do
  for s in $active; do
    port=$(free_port)
    cmd=$(prepare "$s" "$port" "$run")
    echo "run $run/$runs: $s on 127.0.0.1:$port ..." >&2
    # shellcheck disable=SC2086  # cmd is our own, space-free paths
    if ! line=$(python3 "$helper" measure --name "$s" --port "$port" \
                  --zone "$zone" --serial "$serial" --timeout "$timeout" \
                  --log "$tmp/$s.$run/server.log" -- $cmd); then
      failed=1
      echo "  $s failed: $line" >&2
      tail -5 "$tmp/$s.$run/server.log" >&2 || true
    fi
    echo "$line" >>"$tmp/runs.jsonl"
  done
done

report_args=(--records "$records" --zone-bytes "$zone_bytes"
             --loadavg "$load_before")
for s in $active; do report_args+=(--version "$s=${version[$s]}"); done
for s in "${!note[@]}"; do report_args+=(--note "$s=${note[$s]}"); done
[ -n "$json" ] && report_args+=(--json-out "$json")
echo
python3 "$helper" report "${report_args[@]}" "$tmp/runs.jsonl"
exit $failed
