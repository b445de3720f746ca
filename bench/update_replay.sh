#!/usr/bin/env bash
# The DPDK worker's answer rate (net_pcap replay, as bench/replay_bench.sh)
# with and without 1,000+ RFC 2136 UPDATEs a second into the same 1M-name
# zone (issue 12). Details and options: bench/update_replay.py, or --help.
#
#   bench/update_replay.sh                    1M names, 8 senders, 3 x 10 s
#   bench/update_replay.sh --names 50000 --duration 3     a quick check
#
# Needs /usr/bin/python3, a popdns build with DPDK (default
# build/control/popdns). Writes bench/results/update_replay-DATE.{md,json}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/update_replay.py" "$@"
