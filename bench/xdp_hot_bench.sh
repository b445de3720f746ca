#!/usr/bin/env bash
# Answers inside the XDP program (issue 17): knotd XDP, popdns's AF_XDP
# path and popdns answering in the driver under the same kxdpgun sweep,
# with the server core's CPU time per million answers at one common rate.
# See bench/xdp_hot_bench.py for the topology and what is measured.
#
#   bench/xdp_hot_bench.sh [--records N] [--hot N] [--rates "50000 ... max"]
#                          [--cpu-rate QPS] [--seconds S] [--json FILE]
#                          [--link relay|veth] [--relay-core 0|1]
#                          [--xdp-program OBJ] [--rounds N] [--no-sweep]
#                          [--servers knotd-xdp,popdns-xdp,popdns-xdp-hot,xdp-bounce,
#                                     popdns-xdp-hot-rrl,popdns-xdp-hot-flood,
#                                     popdns-xdp-hot-flood-worker]
#
# --link relay (the default): the server's veth receives XDP frames, as
# from a native-XDP NIC (bench/xdp_relay.bpf.c in a third namespace, its
# NAPI on the server's core as a NIC queue's interrupt would be;
# --relay-core 0 runs it on the generator's core); --link veth: kxdpgun's
# veth is the server's peer. --rounds N (default 3) measures the targets N
# times in turn at --cpu-rate (default 100000/s) and gives each round's
# ratios, their median and how many rounds meet issue 17's targets; the
# first round also sweeps for max replies/s (--no-sweep: not);
# --xdp-program: popdns's XDP object instead of the build's, to compare two
# versions. Root (namespaces, XDP). About 5 minutes with the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec timeout -k 10 1500 python3 "$here/xdp_hot_bench.py" "$@"
