#!/usr/bin/env bash
# RFC 2136 UPDATEs into a large zone while the DPDK worker answers (issue
# 12's "workers keep answering at full rate"): popdns on the software NIC,
# worker on CPU 1, updates and dnsperf on CPU 0. Details and options:
# bench/update_dataplane.py (the docstring), or --help.
#
#   bench/update_dataplane.sh             1M names, 8 senders, 4 x 10 s runs
#   bench/update_dataplane.sh --names 50000 --duration 5     a quick check
#
# Root (network namespaces, net_tap). Needs /usr/bin/python3 with
# dnspython, dnsperf and a popdns build (default build/control/popdns).
# Writes bench/results/update_dataplane-DATE.{md,json}. Traffic only inside
# the namespaces it makes; every run bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/update_dataplane.py" "$@"
