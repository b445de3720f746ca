// A small frame builder for the XDP program tests: layers appended in wire
// order, lengths and the IPv4 header checksum filled in by Build(), and the
// [begin, end) of every layer kept so tests can cut a frame at each header.
// Test-only; not for the data path.
#ifndef POPDNS_TESTS_BPF_PACKET_BUILDER_H_
#define POPDNS_TESTS_BPF_PACKET_BUILDER_H_

#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace popdns::testing {

inline constexpr uint16_t kEthIpv4 = 0x0800;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kEthArp = 0x0806;
inline constexpr uint16_t kEth8021Q = 0x8100;
inline constexpr uint16_t kEth8021AD = 0x88a8;
inline constexpr uint8_t kProtoHopByHop = 0;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

inline Ip4 ParseIp4(const char* text) {
  Ip4 a{};
  inet_pton(AF_INET, text, a.data());
  return a;
}
inline Ip6 ParseIp6(const char* text) {
  Ip6 a{};
  inet_pton(AF_INET6, text, a.data());
  return a;
}

// A DNS message for DnsMessage(): the header (RFC 1035 4.1.1), QDCOUNT
// questions of `qname`/`qtype` (class IN), then `records` as given, counted
// in ancount/nscount/arcount.
struct DnsSpec {
  uint16_t id = 0x1234;
  bool qr = false;
  uint8_t opcode = 0;  // QUERY
  uint16_t qdcount = 1;
  uint16_t ancount = 0, nscount = 0, arcount = 0;
  std::string qname = "www.example.test.";  // absolute, presentation
  uint16_t qtype = 1;
  std::vector<uint8_t> records;
};

// Wire form of an absolute name in presentation format ("a.b." -> 1a1b0).
inline std::vector<uint8_t> DnsName(const std::string& name) {
  std::vector<uint8_t> out;
  size_t start = 0;
  while (start < name.size()) {
    const size_t dot = name.find('.', start);
    const size_t end = dot == std::string::npos ? name.size() : dot;
    if (end > start) {
      out.push_back(static_cast<uint8_t>(end - start));
      out.insert(out.end(), name.begin() + start, name.begin() + end);
    }
    start = end + 1;
  }
  out.push_back(0);
  return out;
}

// An OPT record owned by the root (RFC 6891 6.1.2), 1232 bytes, no options.
inline std::vector<uint8_t> DnsOptRecord(bool dnssec_ok = false) {
  return {0, 0, 41, 0x04, 0xd0, 0, 0, static_cast<uint8_t>(dnssec_ok ? 0x80 : 0),
          0, 0, 0};
}

// A TSIG record (RFC 8945 4.2) owned by "key.", hmac-sha256, zero MAC.
inline std::vector<uint8_t> DnsTsigRecord() {
  std::vector<uint8_t> rr = DnsName("key.");
  for (uint8_t b : {0, 250, 0, 255, 0, 0, 0, 0}) rr.push_back(b);  // ANY, TTL 0
  std::vector<uint8_t> rdata = DnsName("hmac-sha256.");
  for (uint8_t b : {0, 0, 0x65, 0, 0, 0, 1, 44, 0, 32}) rdata.push_back(b);
  rdata.insert(rdata.end(), 32, 0);
  for (uint8_t b : {0x12, 0x34, 0, 0, 0, 0}) rdata.push_back(b);
  rr.push_back(static_cast<uint8_t>(rdata.size() >> 8));
  rr.push_back(static_cast<uint8_t>(rdata.size()));
  rr.insert(rr.end(), rdata.begin(), rdata.end());
  return rr;
}

// An SOA record for the question name (pointer to offset 12), as an IXFR
// query carries in its authority section (RFC 1995 3).
inline std::vector<uint8_t> DnsSoaRecord() {
  return {0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0,
          0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
}

struct Layer {
  std::string name;  // "eth", "vlan", "ipv4", "ipv6", "hbh", "udp", ...
  size_t begin;
  size_t end;
};

class PacketBuilder {
 public:
  // Destination/source MACs, then `ethertype` (the TPID for a VLAN frame).
  PacketBuilder& Ethernet(uint16_t ethertype) {
    Begin("eth");
    for (uint8_t b : {0x02, 0, 0, 0, 0, 0x01}) Put8(b);  // dst
    for (uint8_t b : {0x02, 0, 0, 0, 0, 0x02}) Put8(b);  // src
    Put16(ethertype);
    return End();
  }

  // An 802.1Q/802.1ad tag: TCI (PCP 0, VID `vid`) and the inner EtherType.
  PacketBuilder& Vlan(uint16_t inner_ethertype, uint16_t vid = 100) {
    Begin("vlan");
    Put16(vid & 0x0fff);
    Put16(inner_ethertype);
    return End();
  }

  // IPv4 header; `ihl` > 5 adds (ihl - 5) words of NOP options (RFC 791).
  // `frag_off` is the flags + offset field as on the wire (host order here).
  PacketBuilder& Ipv4(uint8_t protocol, Ip4 src, Ip4 dst, uint8_t ihl = 5,
                      uint16_t frag_off = 0) {
    Begin("ipv4");
    ipv4_at_ = bytes_.size();
    Put8(static_cast<uint8_t>(0x40 | (ihl & 0x0f)));
    Put8(0);        // DSCP/ECN
    Put16(0);       // total length, Build()
    Put16(0x1234);  // identification
    Put16(frag_off);
    Put8(64);  // TTL
    Put8(protocol);
    Put16(0);  // checksum, Build()
    for (uint8_t b : src) Put8(b);
    for (uint8_t b : dst) Put8(b);
    for (int i = 5; i < ihl; ++i) Put32(0x01010101);  // NOP options
    return End();
  }

  PacketBuilder& Ipv6(uint8_t next_header, Ip6 src, Ip6 dst) {
    Begin("ipv6");
    ipv6_at_ = bytes_.size();
    Put32(0x60000000);  // version 6, class 0, flow 0
    Put16(0);           // payload length, Build()
    Put8(next_header);
    Put8(64);  // hop limit
    for (uint8_t b : src) Put8(b);
    for (uint8_t b : dst) Put8(b);
    return End();
  }

  // Hop-by-Hop Options (RFC 8200 section 4.3), 8 bytes: a PadN option.
  PacketBuilder& HopByHop(uint8_t next_header) {
    Begin("hbh");
    Put8(next_header);
    Put8(0);  // length in 8-byte units, not counting the first 8
    Put8(1);  // PadN
    Put8(4);
    Put32(0);
    return End();
  }

  PacketBuilder& Udp(uint16_t src_port, uint16_t dst_port) {
    Begin("udp");
    udp_at_ = bytes_.size();
    Put16(src_port);
    Put16(dst_port);
    Put16(0);  // length, Build()
    Put16(0);  // checksum, Build() (RFC 768 / RFC 8200 8.1)
    return End();
  }

  PacketBuilder& Tcp(uint16_t src_port, uint16_t dst_port) {
    Begin("tcp");
    Put16(src_port);
    Put16(dst_port);
    Put32(1);       // seq
    Put32(0);       // ack
    Put16(0x5002);  // data offset 5, SYN
    Put16(65535);   // window
    Put32(0);       // checksum, urgent pointer
    return End();
  }

  // ICMP or ICMPv6 echo request header.
  PacketBuilder& IcmpEcho(uint8_t type) {
    Begin("icmp");
    Put8(type);
    Put8(0);
    Put16(0);
    Put32(0x00010001);
    return End();
  }

  // ARP request for `target` (RFC 826).
  PacketBuilder& Arp(Ip4 sender, Ip4 target) {
    Begin("arp");
    Put16(1);  // Ethernet
    Put16(kEthIpv4);
    Put8(6);
    Put8(4);
    Put16(1);  // request
    for (uint8_t b : {0x02, 0, 0, 0, 0, 0x02}) Put8(b);
    for (uint8_t b : sender) Put8(b);
    for (int i = 0; i < 6; ++i) Put8(0);
    for (uint8_t b : target) Put8(b);
    return End();
  }

  // A DNS message, named "dns" among the layers.
  PacketBuilder& DnsMessage(const DnsSpec& d = {}) {
    Begin("dns");
    Put16(d.id);
    Put8(static_cast<uint8_t>((d.qr ? 0x80 : 0) | (d.opcode & 0x0f) << 3));
    Put8(0);
    Put16(d.qdcount);
    Put16(d.ancount);
    Put16(d.nscount);
    Put16(d.arcount);
    const std::vector<uint8_t> name = DnsName(d.qname);
    for (uint16_t i = 0; i < d.qdcount; ++i) {
      bytes_.insert(bytes_.end(), name.begin(), name.end());
      Put16(d.qtype);
      Put16(1);  // IN
    }
    bytes_.insert(bytes_.end(), d.records.begin(), d.records.end());
    return End();
  }

  // A DNS message as given (built elsewhere, e.g. testutil::MakeQuery).
  PacketBuilder& DnsBytes(const std::vector<uint8_t>& message) {
    Begin("dns");
    bytes_.insert(bytes_.end(), message.begin(), message.end());
    return End();
  }

  // Any bytes after the last header (not a DNS message: see DnsMessage).
  PacketBuilder& Payload(size_t n, uint8_t fill = 0xab) {
    Begin("payload");
    bytes_.insert(bytes_.end(), n, fill);
    return End();
  }

  // The frame, with length fields and the IPv4 checksum filled in.
  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out = bytes_;
    if (ipv4_at_ != kNone) {
      const size_t ihl = (out[ipv4_at_] & 0x0f) * 4u;
      Set16(out, ipv4_at_ + 2, static_cast<uint16_t>(out.size() - ipv4_at_));
      uint32_t sum = 0;
      for (size_t i = 0; i < ihl; i += 2) {
        sum += static_cast<uint32_t>(out[ipv4_at_ + i] << 8 |
                                     out[ipv4_at_ + i + 1]);
      }
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      Set16(out, ipv4_at_ + 10, static_cast<uint16_t>(~sum));
    }
    if (ipv6_at_ != kNone) {
      Set16(out, ipv6_at_ + 4,
            static_cast<uint16_t>(out.size() - ipv6_at_ - 40));
    }
    if (udp_at_ != kNone) {
      const size_t udp_len = out.size() - udp_at_;
      Set16(out, udp_at_ + 4, static_cast<uint16_t>(udp_len));
      // The pseudo-header's addresses, protocol and length, then the
      // datagram (checksum field 0), as 16-bit numbers.
      uint32_t sum = 17 + static_cast<uint32_t>(udp_len);
      auto add = [&](size_t at, size_t n) {
        for (size_t i = 0; i < n; ++i) {
          sum += (i & 1) ? out[at + i] : static_cast<uint32_t>(out[at + i]) << 8;
        }
      };
      if (ipv4_at_ != kNone) add(ipv4_at_ + 12, 8);
      if (ipv6_at_ != kNone) add(ipv6_at_ + 8, 32);
      add(udp_at_, udp_len);
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      const uint16_t c = static_cast<uint16_t>(~sum);
      Set16(out, udp_at_ + 6, c == 0 ? 0xffff : c);
    }
    return out;
  }

  const std::vector<Layer>& layers() const { return layers_; }

 private:
  static constexpr size_t kNone = ~size_t{0};

  void Begin(const char* name) { layers_.push_back({name, bytes_.size(), 0}); }
  PacketBuilder& End() {
    layers_.back().end = bytes_.size();
    return *this;
  }
  void Put8(uint8_t v) { bytes_.push_back(v); }
  void Put16(uint16_t v) {
    Put8(static_cast<uint8_t>(v >> 8));
    Put8(static_cast<uint8_t>(v));
  }
  void Put32(uint32_t v) {
    Put16(static_cast<uint16_t>(v >> 16));
    Put16(static_cast<uint16_t>(v));
  }
  static void Set16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
  }

  std::vector<uint8_t> bytes_;
  std::vector<Layer> layers_;
  size_t ipv4_at_ = kNone;
  size_t ipv6_at_ = kNone;
  size_t udp_at_ = kNone;
};

}  // namespace popdns::testing

#endif  // POPDNS_TESTS_BPF_PACKET_BUILDER_H_
