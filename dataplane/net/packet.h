// L2-L4 for the fast path: classify a received Ethernet frame (is it a UDP
// DNS query to one of our service addresses?), and turn the frame into the
// response in place once the engine has rewritten its DNS payload.
// Per packet on worker lcores: no allocation, locks, Status or logging, and
// no DPDK types (frames are byte spans), so it is unit-tested without EAL.
#ifndef POPDNS_DATAPLANE_NET_PACKET_H_
#define POPDNS_DATAPLANE_NET_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace popdns::net {

// The addresses (network byte order) whose UDP port `port` we answer.
struct ServiceAddresses {
  static constexpr size_t kMax = 16;
  uint32_t v4[kMax];
  size_t v4_count = 0;
  uint8_t v6[kMax][16];
  size_t v6_count = 0;
  uint16_t port = 53;

  bool HasV4(const uint8_t* addr) const {
    uint32_t a;
    std::memcpy(&a, addr, 4);
    for (size_t i = 0; i < v4_count; ++i) {
      if (v4[i] == a) return true;
    }
    return false;
  }
  bool HasV6(const uint8_t* addr) const {
    for (size_t i = 0; i < v6_count; ++i) {
      if (std::memcmp(v6[i], addr, 16) == 0) return true;
    }
    return false;
  }
};

enum class FrameVerdict : uint8_t {
  kDns,        // a UDP query for us: answer it
  kToKernel,   // not ours to answer here (ARP, ND, ICMP, TCP, fragments,
               // IP options, extension headers, other ports/addresses)
  kMalformed,  // for our DNS service but broken: count and drop
};

enum class MalformedReason : uint8_t {
  kNone,
  kRunt,          // shorter than the headers it announces
  kBadLength,     // IP/UDP length fields disagree with the frame
  kBadChecksum,   // IPv4 header or UDP checksum wrong
};

struct DnsFrame {
  uint16_t l3 = 0;       // offset of the IP header
  uint16_t l4 = 0;       // offset of the UDP header
  uint16_t payload = 0;  // offset of the DNS message
  uint16_t payload_len = 0;
  bool ipv6 = false;
  MalformedReason malformed = MalformedReason::kNone;
};

// Which checksums of a query to verify in software: those the NIC did not
// check already (DPDK's RX_IP_CKSUM_GOOD / RX_L4_CKSUM_GOOD).
struct ChecksumChecks {
  bool ipv4_header = true;
  bool udp = true;
};

// `frame` holds `len` bytes.
[[nodiscard]] FrameVerdict ClassifyFrame(const uint8_t* frame, size_t len,
                                         const ServiceAddresses& service,
                                         ChecksumChecks checks,
                                         DnsFrame* out);

// Rewrites the headers of a classified query frame into the response's:
// swaps MAC addresses, IP addresses and ports, resets TTL/hop limit, sets
// lengths and checksums for a DNS payload of `dns_len` bytes (already
// written at f.payload). Returns the new frame length.
// With `checksum_offload` the NIC finishes the checksums: the IPv4 header
// checksum is left 0 and the UDP field holds the pseudo-header sum, as
// DPDK's TX checksum offload expects.
size_t MakeResponseFrame(uint8_t* frame, const DnsFrame& f, size_t dns_len,
                         bool checksum_offload = false);

// RFC 1071 one's-complement sum helpers.
uint32_t ChecksumAdd(uint32_t sum, const uint8_t* data, size_t len);
uint16_t ChecksumFold(uint32_t sum);
// UDP checksum over pseudo-header + UDP header + payload (RFC 768, RFC 8200
// 8.1); returns the value to store (0xFFFF instead of 0 for IPv4 and IPv6).
uint16_t UdpChecksum(const uint8_t* frame, const DnsFrame& f, size_t udp_len);

}  // namespace popdns::net

#endif  // POPDNS_DATAPLANE_NET_PACKET_H_
