#!/usr/bin/env bash
# RFC 2136 UPDATE benchmark: popdns vs knotd as the primary of the same
# zone, in the same run, measured one after the other with the same client
# code. Details, options and what is measured: bench/update_bench.py (the
# docstring), or --help.
#
#   bench/update_bench.sh               1M names (~1.37M records): ~8 min
#   bench/update_bench.sh --quick       50k names, fewer updates: ~2 min
#   bench/update_bench.sh --names N --updates N --senders K --duration D
#                         --stream M --propagation U --udp-threads T
#                         --popdns PATH --servers popdns,knotd
#
# Needs /usr/bin/python3 with dnspython (python3-dnspython), knot (knotd,
# knsupdate), dnsperf and a popdns binary (default build/control/popdns of
# this repo). Writes bench/results/update_bench-DATE[-quick].{md,json}.
# Traffic only to 127.0.0.1 on free ports; every server is stopped by its
# PID; every phase is bounded in time. Run on a quiet machine (`uptime`,
# no ninja running): the numbers are wall-clock rates on a shared VM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! "$py" -c 'import dns.message' 2>/dev/null; then
  echo "needs dnspython for $py (apt-get install python3-dnspython)" >&2
  exit 1
fi
exec "$py" "$here/update_bench.py" "$@"
