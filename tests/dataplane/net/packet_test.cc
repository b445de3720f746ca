// Unit tests of L2-L4 classification and response rewriting
// (dataplane/net/packet.h) on hand-built frames.
#include "dataplane/net/packet.h"

#include <arpa/inet.h>

#include <vector>

#include "gtest/gtest.h"

namespace popdns::net {
namespace {

struct FrameOptions {
  bool ipv6 = false;
  bool vlan = false;
  uint16_t dport = 53;
  uint8_t proto = 17;
  const char* dst = nullptr;
  size_t payload = 30;
};

// Ethernet [VLAN] IPv4/IPv6 UDP with a payload of `payload` bytes, valid
// checksums.
std::vector<uint8_t> MakeFrame(const FrameOptions& o) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  if (o.vlan) f.insert(f.end(), {0x81, 0x00, 0x00, 0x05});
  DnsFrame d;
  if (o.ipv6) {
    f.insert(f.end(), {0x86, 0xDD});
    d.l3 = static_cast<uint16_t>(f.size());
    std::vector<uint8_t> ip(40, 0);
    ip[0] = 0x60;
    const uint16_t plen = static_cast<uint16_t>(8 + o.payload);
    ip[4] = plen >> 8;
    ip[5] = plen & 0xFF;
    ip[6] = o.proto;
    ip[7] = 64;
    inet_pton(AF_INET6, "fd00::2", ip.data() + 8);
    inet_pton(AF_INET6, o.dst ? o.dst : "fd00::1", ip.data() + 24);
    f.insert(f.end(), ip.begin(), ip.end());
  } else {
    f.insert(f.end(), {0x08, 0x00});
    d.l3 = static_cast<uint16_t>(f.size());
    std::vector<uint8_t> ip(20, 0);
    ip[0] = 0x45;
    const uint16_t tlen = static_cast<uint16_t>(20 + 8 + o.payload);
    ip[2] = tlen >> 8;
    ip[3] = tlen & 0xFF;
    ip[8] = 64;
    ip[9] = o.proto;
    inet_pton(AF_INET, "198.18.0.2", ip.data() + 12);
    inet_pton(AF_INET, o.dst ? o.dst : "198.18.0.1", ip.data() + 16);
    const uint16_t c = ChecksumFold(ChecksumAdd(0, ip.data(), 20));
    ip[10] = c >> 8;
    ip[11] = c & 0xFF;
    f.insert(f.end(), ip.begin(), ip.end());
  }
  d.l4 = static_cast<uint16_t>(f.size());
  d.ipv6 = o.ipv6;
  const uint16_t ulen = static_cast<uint16_t>(8 + o.payload);
  f.insert(f.end(), {0x30, 0x39, static_cast<uint8_t>(o.dport >> 8),
                     static_cast<uint8_t>(o.dport), static_cast<uint8_t>(ulen >> 8),
                     static_cast<uint8_t>(ulen), 0, 0});
  for (size_t i = 0; i < o.payload; ++i) f.push_back(static_cast<uint8_t>(i));
  const uint16_t c = UdpChecksum(f.data(), d, ulen);
  f[d.l4 + 6] = c >> 8;
  f[d.l4 + 7] = c & 0xFF;
  return f;
}

class PacketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint8_t a[16];
    inet_pton(AF_INET, "198.18.0.1", a);
    std::memcpy(&service_.v4[service_.v4_count++], a, 4);
    inet_pton(AF_INET6, "fd00::1", service_.v6[service_.v6_count++]);
  }
  FrameVerdict Classify(const std::vector<uint8_t>& f, size_t len = 0) {
    return ClassifyFrame(f.data(), len ? len : f.size(), service_, {},
                         &frame_);
  }
  ServiceAddresses service_;
  DnsFrame frame_;
};

// RFC 1071: the word-at-a-time sum equals the plain 16-bit big-endian sum,
// for every length and alignment.
TEST(ChecksumTest, MatchesReferenceSum) {
  uint32_t seed = 12345;
  std::vector<uint8_t> buf(300);
  for (auto& b : buf) {
    seed = seed * 1103515245 + 12345;
    b = static_cast<uint8_t>(seed >> 16);
  }
  for (size_t off = 0; off < 8; ++off) {
    for (size_t len = 0; len + off <= buf.size(); ++len) {
      uint32_t ref = 7;
      for (size_t i = 0; i + 1 < len; i += 2) {
        ref += static_cast<uint32_t>(buf[off + i] << 8 | buf[off + i + 1]);
      }
      if (len % 2) ref += static_cast<uint32_t>(buf[off + len - 1]) << 8;
      ASSERT_EQ(ChecksumFold(ChecksumAdd(7, buf.data() + off, len)),
                ChecksumFold(ref))
          << "off " << off << " len " << len;
    }
  }
  // Carries on every addition, up to the largest datagram.
  for (size_t len : {64, 1500, 65535}) {
    std::vector<uint8_t> ones(len, 0xFF);
    uint64_t ref = 0;
    for (size_t i = 0; i + 1 < len; i += 2) ref += 0xFFFF;
    if (len % 2) ref += 0xFF00;
    while (ref >> 16) ref = (ref & 0xFFFF) + (ref >> 16);
    EXPECT_EQ(ChecksumFold(ChecksumAdd(0, ones.data(), len)),
              ChecksumFold(static_cast<uint32_t>(ref)))
        << "len " << len;
  }
}

TEST_F(PacketTest, Ipv4DnsQuery) {
  auto f = MakeFrame({});
  EXPECT_EQ(Classify(f), FrameVerdict::kDns);
  EXPECT_EQ(frame_.payload, 14 + 20 + 8);
  EXPECT_EQ(frame_.payload_len, 30);
  EXPECT_FALSE(frame_.ipv6);
}

TEST_F(PacketTest, Ipv6AndVlan) {
  EXPECT_EQ(Classify(MakeFrame({.ipv6 = true})), FrameVerdict::kDns);
  EXPECT_EQ(frame_.payload, 14 + 40 + 8);
  EXPECT_EQ(Classify(MakeFrame({.vlan = true})), FrameVerdict::kDns);
  EXPECT_EQ(frame_.l3, 18);
  EXPECT_EQ(Classify(MakeFrame({.ipv6 = true, .vlan = true})),
            FrameVerdict::kDns);
}

// Whatever is not UDP/53 to a service address belongs to the kernel.
TEST_F(PacketTest, OthersGoToKernel) {
  EXPECT_EQ(Classify(MakeFrame({.dport = 5353})), FrameVerdict::kToKernel);
  EXPECT_EQ(Classify(MakeFrame({.proto = 6})), FrameVerdict::kToKernel);
  EXPECT_EQ(Classify(MakeFrame({.dst = "198.18.0.9"})), FrameVerdict::kToKernel);
  EXPECT_EQ(Classify(MakeFrame({.ipv6 = true, .dst = "fd00::9"})),
            FrameVerdict::kToKernel);
  auto arp = MakeFrame({});
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(Classify(arp), FrameVerdict::kToKernel);
}

// RFC 791 3.1: options (IHL > 5) and fragments are left to the kernel,
// which reassembles; RFC 8200 4: so are IPv6 extension headers.
TEST_F(PacketTest, OptionsFragmentsExtensionHeadersGoToKernel) {
  auto opt = MakeFrame({});
  opt[14] = 0x46;
  EXPECT_EQ(Classify(opt), FrameVerdict::kToKernel);
  auto mf = MakeFrame({});
  mf[14 + 6] = 0x20;  // MF
  EXPECT_EQ(Classify(mf), FrameVerdict::kToKernel);
  auto off = MakeFrame({});
  off[14 + 7] = 0x10;  // fragment offset
  EXPECT_EQ(Classify(off), FrameVerdict::kToKernel);
  auto ext = MakeFrame({.ipv6 = true});
  ext[14 + 6] = 0;  // hop-by-hop
  EXPECT_EQ(Classify(ext), FrameVerdict::kToKernel);
}

// A checksum the NIC verified (DPDK RX_*_CKSUM_GOOD) is not checked again.
TEST_F(PacketTest, ChecksumsTheNicCheckedAreNotVerifiedAgain) {
  auto ip_csum = MakeFrame({});
  ip_csum[14 + 10] ^= 1;
  DnsFrame f;
  EXPECT_EQ(ClassifyFrame(ip_csum.data(), ip_csum.size(), service_,
                          {.ipv4_header = false, .udp = true}, &f),
            FrameVerdict::kDns);
  auto udp_csum = MakeFrame({.ipv6 = true});
  udp_csum.back() ^= 1;
  EXPECT_EQ(ClassifyFrame(udp_csum.data(), udp_csum.size(), service_,
                          {.ipv4_header = true, .udp = false}, &f),
            FrameVerdict::kDns);
  EXPECT_EQ(ClassifyFrame(udp_csum.data(), udp_csum.size(), service_, {}, &f),
            FrameVerdict::kMalformed);
}

TEST_F(PacketTest, BadLengthsAndChecksumsAreMalformed) {
  auto udp_len = MakeFrame({});
  udp_len[14 + 20 + 5] += 1;
  EXPECT_EQ(Classify(udp_len), FrameVerdict::kMalformed);
  EXPECT_EQ(frame_.malformed, MalformedReason::kBadLength);
  auto ip_len = MakeFrame({});
  ip_len[14 + 3] += 40;  // total length past the frame
  EXPECT_EQ(Classify(ip_len), FrameVerdict::kMalformed);
  auto ip_csum = MakeFrame({});
  ip_csum[14 + 10] ^= 1;
  EXPECT_EQ(Classify(ip_csum), FrameVerdict::kMalformed);
  EXPECT_EQ(frame_.malformed, MalformedReason::kBadChecksum);
  auto udp_csum = MakeFrame({});
  udp_csum.back() ^= 1;
  EXPECT_EQ(Classify(udp_csum), FrameVerdict::kMalformed);
  auto v6_zero = MakeFrame({.ipv6 = true});
  v6_zero[14 + 40 + 6] = v6_zero[14 + 40 + 7] = 0;  // RFC 8200 8.1
  EXPECT_EQ(Classify(v6_zero), FrameVerdict::kMalformed);
  auto v4_zero = MakeFrame({});
  v4_zero[14 + 20 + 6] = v4_zero[14 + 20 + 7] = 0;  // RFC 768: optional
  EXPECT_EQ(Classify(v4_zero), FrameVerdict::kDns);
}

TEST_F(PacketTest, TruncatedAtEveryOffsetNeverCrashes) {
  for (bool v6 : {false, true}) {
    for (bool vlan : {false, true}) {
      auto f = MakeFrame({.ipv6 = v6, .vlan = vlan});
      for (size_t len = 0; len < f.size(); ++len) {
        std::vector<uint8_t> cut(f.begin(), f.begin() + len);
        const FrameVerdict v = Classify(cut);
        EXPECT_NE(v, FrameVerdict::kDns) << len;
      }
    }
  }
}

// The response swaps addresses and ports and carries valid checksums.
TEST_F(PacketTest, ResponseFrameIsValid) {
  for (bool v6 : {false, true}) {
    auto f = MakeFrame({.ipv6 = v6, .vlan = true});
    ASSERT_EQ(Classify(f), FrameVerdict::kDns);
    const DnsFrame q = frame_;
    f.resize(f.size() + 20);
    for (size_t i = 0; i < 50; ++i) f[q.payload + i] = static_cast<uint8_t>(0xA0 + i);
    const size_t len = MakeResponseFrame(f.data(), q, 50);
    EXPECT_EQ(len, q.payload + 50u);
    f.resize(len);
    EXPECT_EQ(f[5], 2);  // dst MAC is the old src
    EXPECT_EQ(f[11], 1);
    EXPECT_EQ(f[q.l4] << 8 | f[q.l4 + 1], 53);       // src port
    EXPECT_EQ(f[q.l4 + 2] << 8 | f[q.l4 + 3], 12345);  // dst port
    // Served back to a "service" at the client's address: swap the sets.
    ServiceAddresses client;
    uint8_t a[16];
    inet_pton(AF_INET, "198.18.0.2", a);
    std::memcpy(&client.v4[client.v4_count++], a, 4);
    inet_pton(AF_INET6, "fd00::2", client.v6[client.v6_count++]);
    client.port = 12345;
    DnsFrame r;
    EXPECT_EQ(ClassifyFrame(f.data(), f.size(), client, {}, &r),
              FrameVerdict::kDns);  // lengths and both checksums verify
    EXPECT_EQ(r.payload_len, 50);
  }
}

// With TX checksum offload the IPv4 checksum is left to the NIC and the UDP
// field holds the pseudo-header sum; adding the UDP header and payload to
// it and complementing gives the same checksum as software computes.
TEST_F(PacketTest, ChecksumOffloadLeavesPseudoHeaderSum) {
  for (bool v6 : {false, true}) {
    auto f = MakeFrame({.ipv6 = v6});
    ASSERT_EQ(Classify(f), FrameVerdict::kDns);
    const DnsFrame q = frame_;
    auto soft = f;
    MakeResponseFrame(soft.data(), q, q.payload_len, false);
    MakeResponseFrame(f.data(), q, q.payload_len, true);
    if (!v6) {
      EXPECT_EQ(f[q.l3 + 10] << 8 | f[q.l3 + 11], 0);
    }
    const size_t udp_len = 8 + q.payload_len;
    uint32_t sum = static_cast<uint32_t>(f[q.l4 + 6] << 8 | f[q.l4 + 7]);
    std::vector<uint8_t> udp(f.begin() + q.l4, f.begin() + q.l4 + udp_len);
    udp[6] = udp[7] = 0;
    sum = ChecksumAdd(sum, udp.data(), udp.size());
    uint16_t finished = ChecksumFold(sum);
    if (finished == 0) finished = 0xFFFF;
    EXPECT_EQ(finished, soft[q.l4 + 6] << 8 | soft[q.l4 + 7]) << v6;
  }
}

}  // namespace
}  // namespace popdns::net
