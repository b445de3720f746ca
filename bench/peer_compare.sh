#!/usr/bin/env bash
# Peer comparison under load (issue 7; the XDP benchmark of issue 6; the
# driver answers of issue 17): one generated zone served in turn by knotd
# (UDP sockets), knotd (XDP), nsd (RRL off), popdns on kernel sockets,
# popdns's XDP fallback (DPDK net_af_xdp on a veth), the same with answers
# inside the XDP program (xdp.hot_answers) and popdns on a software NIC
# (DPDK net_tap via scripts/softnic.sh), each loaded by dnsperf
# (offered-rate sweep) and kxdpgun (AF_XDP generator) from a client
# network namespace. Prints a Markdown table (and, for knotd-xdp,
# popdns-xdp and popdns-xdp-hot, a table of the server core's CPU time per
# million answers); optionally writes JSON and a PNG chart (gnuplot).
#
#   bench/peer_compare.sh [--quick] [--json FILE] [--png FILE]
#                         [--records N] [--queries N] [--rates "5000 ... max"]
#                         [--step-seconds S] [--kxdpgun-seconds S] [--refine K]
#                         [--servers knotd-udp,knotd-xdp,nsd,popdns-sockets,popdns-xdp,popdns-xdp-hot,popdns-softnic]
#                         [--generators dnsperf,kxdpgun] [--popdns PATH]
#                         [--kxdpgun-rates "40000 ... max"] [--no-percentiles]
#                         [--kxdpgun-questions N] [--cpu-rate QPS]
#                         [--no-threaded-napi] [--popdns-idle poll|sleep]
#                         [--popdns-idle-max-us US]
#                         [--link veth|relay] [--relay-core 0|1]
#                         [--budget SEC] [--wait-idle SEC] [--keep]
#
#   (default)     300,000-record zone (~200k names), 200k-query file,
#                 rates 5k 10k 20k 40k 80k 160k max, 3 s per step; the sweep
#                 stops at the first rate with >= 1% loss, runs max, then up
#                 to 2 refining steps (just under what max achieved, then
#                 bisection); about 9 minutes, hard budget 840 s
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
#   --kxdpgun-questions N  kxdpgun asks the first N distinct questions of
#                 the mix round and round, for every server (default 8192
#                 when popdns-xdp-hot runs: popdns-xdp-hot pins them all,
#                 so the benchmark measures the hot path; real traffic is
#                 skewed; else 0: the whole query file as in issue 7)
#   --cpu-rate QPS  one extra kxdpgun step at QPS for knotd-xdp, popdns-xdp
#                 and popdns-xdp-hot (default 100000; 0: none); CPU per
#                 answer is reported there and at the highest sweep rate
#                 all three sustained
#   --no-threaded-napi  leave the veths' receive work on the sending core
#                 (default for the three XDP targets: pbsrv0's NAPI thread
#                 pinned to core 1 with the server, pbcli0's to core 0)
#   --popdns-idle poll|sleep  dataplane.idle of popdns's XDP modes
#                 (default sleep, up to --popdns-idle-max-us 1000: poll
#                 keeps core 1 at 100% and CPU per answer means nothing)
#   --keep        keep the temp dir (zone, queries, configs, logs)
#   --link relay  frames reach the server's veth through a relay namespace
#                 as XDP frames, as from a native-XDP NIC (its NAPI on
#                 --relay-core, default 1, the server's): where issue 17's
#                 CPU ratios are measured; every server's max replies/s is
#                 then the link's (~100k/s). Default veth: kxdpgun's and
#                 dnsperf's veth is the server's peer
#
# Per server and generator the table gives: max replies/s at the highest
# offered rate with < 1% loss (or the best achieved), its loss, dnsperf's
# average/stddev latency and p50/p99 from dnsperf -v per-query lines (at
# that step and at one common rate), what the maximum offered rate gave,
# per-core busy %, which side ran out (from loss, CPU and the kernel's UDP
# and interface drop counters, popdns's dataplane counters) and the ratio
# to knotd (UDP sockets) in the same run. For knotd-xdp, popdns-xdp and
# popdns-xdp-hot (kxdpgun) a second table: core 1's busy time (wall minus
# exact idle: user, system, softirq, ksoftirqd, NAPI threads) per million
# answers, and the tick-sampled user+system+softirq, at the highest sweep
# rate all three sustained (< 1% loss) and at --cpu-rate, with the ratios
# popdns-xdp / popdns-xdp-hot and knotd-xdp / popdns-xdp-hot; per step the
# JSON has xdp.answered / xdp.redirect deltas (popdns) and a warning is
# printed when popdns-xdp-hot answered < 90% of a kxdpgun step in the driver.
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
