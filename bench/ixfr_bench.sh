#!/usr/bin/env bash
# IXFR benchmark: how fast a secondary publishes an IXFR into a large zone,
# popdns vs knotd in the same run, both secondaries (TSIG, journal on) of
# one scripted primary on loopback. Details, options and what is measured:
# bench/ixfr_bench.py (the docstring), or --help.
#
#   bench/ixfr_bench.sh                 1M names (~1.28M records), sizes
#                                       1,100,10000, 3 runs each (~10 min)
#   bench/ixfr_bench.sh --quick         50k names: a fast end-to-end check
#   bench/ixfr_bench.sh --records N | --names N   --sizes 1,100,10000
#                       --runs R  --popdns PATH  --servers popdns,knotd
#   bench/ixfr_bench.sh selftest        the scripted primary checked with
#                                       dnspython (AXFR/IXFR/TSIG/NOTIFY)
#
# Needs /usr/bin/python3 with dnspython (python3-dnspython), knot (knotd,
# kdig) and a popdns binary (default build/control/popdns of this repo).
# Writes bench/results/ixfr_bench-DATE[-quick].{md,json}. Every transfer is
# bounded by --timeout; servers are stopped by PID. Run on a quiet machine:
# the times are wall-clock times (check `uptime`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! "$py" -c 'import dns.message' 2>/dev/null; then
  echo "needs dnspython for $py (apt-get install python3-dnspython)" >&2
  exit 1
fi
exec "$py" "$here/ixfr_bench.py" "$@"
