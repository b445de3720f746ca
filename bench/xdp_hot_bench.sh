#!/usr/bin/env bash
# Answers inside the XDP program (issue 17): knotd XDP, popdns's AF_XDP
# path and popdns answering in the driver under the same kxdpgun sweep,
# with the server core's CPU time per million answers at one common rate.
# See bench/xdp_hot_bench.py for the topology and what is measured.
#
#   bench/xdp_hot_bench.sh [--records N] [--hot N] [--rates "50000 ... max"]
#                          [--cpu-rate QPS] [--seconds S] [--json FILE]
#                          [--relay [--relay-core 0|1]] [--xdp-program OBJ]
#                          [--rounds N] [--no-sweep]
#                          [--servers knotd-xdp,popdns-xdp,popdns-xdp-hot,xdp-bounce,
#                                     popdns-xdp-hot-flood,popdns-xdp-hot-flood-worker]
#
# --relay: the server's veth receives XDP frames, as from a native-XDP NIC
# (bench/xdp_relay.bpf.c in a third namespace; --relay-core 0 runs it on the
# generator's core instead of the server's); --rounds N measures the targets
# N times in turn and gives each round's ratios and their median;
# --no-sweep skips max replies/s; --xdp-program: popdns's
# XDP object instead of the build's, to compare two versions.
# Root (namespaces, XDP). About 3 minutes with the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec timeout -k 10 1500 python3 "$here/xdp_hot_bench.py" "$@"
