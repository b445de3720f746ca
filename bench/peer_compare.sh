#!/usr/bin/env bash
# Peer comparison under load (issue 7; the XDP benchmark of issue 6): one
# generated zone served in turn by knotd (UDP sockets), knotd (XDP), nsd
# (RRL off), popdns on kernel sockets, popdns's XDP fallback (DPDK
# net_af_xdp on a veth) and popdns on a software NIC (DPDK net_tap via
# scripts/softnic.sh), each loaded by dnsperf (offered-rate sweep) and
# kxdpgun (AF_XDP generator) from a client network namespace. Prints one
# Markdown table; optionally writes JSON and a PNG chart (gnuplot).
#
#   bench/peer_compare.sh [--quick] [--json FILE] [--png FILE]
#                         [--records N] [--queries N] [--rates "5000 ... max"]
#                         [--step-seconds S] [--kxdpgun-seconds S] [--refine K]
#                         [--servers knotd-udp,knotd-xdp,nsd,popdns-sockets,popdns-xdp,popdns-softnic]
#                         [--generators dnsperf,kxdpgun] [--popdns PATH]
#                         [--kxdpgun-rates "40000 ... max"] [--no-percentiles]
#                         [--budget SEC] [--wait-idle SEC] [--keep]
#
#   (default)     300,000-record zone (~200k names), 200k-query file,
#                 rates 5k 10k 20k 40k 80k 160k max, 3 s per step; the sweep
#                 stops at the first rate with >= 1% loss, runs max, then up
#                 to 2 refining steps (just under what max achieved, then
#                 bisection); about 8 minutes, hard budget 720 s
#   --quick       160,000-record zone (~108k names), rates 40k max, 2 s per
#                 dnsperf step, 1 s per kxdpgun step (plus ~2 s of XDP
#                 attach/detach each), 2 refining steps; under 2 minutes
#                 (budget 170 s)
#   --json FILE   every step of every run, the table and the run's metadata
#   --png FILE    bar chart per server/mode: max replies/s under 1% loss
#                 for dnsperf and kxdpgun, and kxdpgun's replies/s at its
#                 maximum offered rate (gnuplot-nox)
#   --servers     subset/order (knotd-udp is the baseline for the ratio)
#   --budget SEC  servers not started by then are reported as skipped;
#                 every server also runs under `timeout` (budget + 60 s)
#   --wait-idle SEC  first wait up to SEC for the 1-min load average < 0.7
#   --keep        keep the temp dir (zone, queries, configs, logs)
#
# Per server and generator the table gives: max replies/s at the highest
# offered rate with < 1% loss (or the best achieved), its loss, dnsperf's
# average/stddev latency and p50/p99 from dnsperf -v per-query lines (at
# that step and at one common rate), what the maximum offered rate gave,
# per-core busy %, which side ran out (from loss, CPU and the kernel's UDP
# and interface drop counters, popdns's dataplane counters) and the ratio
# to knotd (UDP sockets) in the same run.
#
# Topology (made here, removed on exit): network namespaces pbpeer-srv and
# pbpeer-cli joined by a veth pair (198.18.2.1 / 198.18.2.2); for the
# software NIC scripts/softnic.sh with namespaces pbpeer-pop/pbpeer-client
# (service 198.18.0.1). No traffic leaves these namespaces. The server is
# pinned to core 1 (taskset -c 1; popdns's DPDK worker is EAL lcore 1), the
# generator to core 0 (knotd pins its UDP/XDP workers to CPU "thread id mod
# CPUs" itself, overriding taskset; its threads are moved back to core 1
# once it answers). Every generator run is bounded (-l / -t and a
# subprocess timeout); servers are stopped by their PID with SIGTERM.
#
# Needs root and the Debian packages knot (knotd), knot-dnsutils (kxdpgun),
# nsd, dnsperf, dnsutils (dig), iproute2, ethtool and gnuplot-nox
# (scripts/install-deps.sh), plus a popdns build with XDP (build/control/popdns
# and build/bpf/xdp_dns.bpf.o: meson setup build && ninja -C build).
# Run it when the machine is otherwise idle (check `uptime`): on 2 vCPUs
# the generator, the kernel's veth/tap delivery and the server share the
# cores, so any other load changes the numbers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
  -h|--help) sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [[ $(id -u) != 0 ]]; then
  echo "peer_compare: needs root (network namespaces, XDP, DPDK)" >&2
  exit 1
fi
exec python3 "$here/peer_compare.py" "$@"
