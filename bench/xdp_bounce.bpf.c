// The floor of any answer in the driver on a given link, for
// bench/xdp_hot_bench.py: every IPv4 UDP query to port 53 goes back as it
// came, with QR set, addresses and ports swapped and the UDP checksum off
// (RFC 768). No lookup, no answer records: what is left is the kernel's
// own cost of receiving a frame into XDP and sending it with XDP_TX.
// Compiled by the bench script (clang -target bpf); not part of popdns.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_bounce(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) {
    return XDP_PASS;
  }
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) {
    return XDP_PASS;
  }
  struct udphdr *udp = (void *)(ip + 1);
  __u8 *dns = (void *)(udp + 1);
  if ((void *)(dns + 12) > end || udp->dest != bpf_htons(53)) {
    return XDP_PASS;
  }
  dns[2] |= 0x80;
  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
  // Swapped addresses and ports leave both checksums' sums as they were.
  const __be32 addr = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = addr;
  const __be16 port = udp->source;
  udp->source = udp->dest;
  udp->dest = port;
  udp->check = 0;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
