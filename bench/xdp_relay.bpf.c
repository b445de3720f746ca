// The wire of bench/xdp_hot_bench.py --relay: every frame that arrives on
// one veth of the relay namespace leaves by the other, redirected in XDP
// (ndo_xdp_xmit). The server's veth then receives XDP frames, as a NIC's
// driver receives DMA'd buffers, instead of the generator's socket
// buffers, which a veth must first copy into an XDP buffer on the
// server's core. That copy happens here, on the generator's core.
// Compiled once per veth by the bench script, with -DPEER_IFINDEX; not part
// of popdns.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#ifndef PEER_IFINDEX
#error "compile with -DPEER_IFINDEX=<ifindex of the other veth>"
#endif

SEC("xdp")
int xdp_relay(struct xdp_md *ctx) {
  (void)ctx;
  return bpf_redirect(PEER_IFINDEX, 0);
}

char LICENSE[] SEC("license") = "GPL";
