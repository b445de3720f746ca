#include "dataplane/zone/network_table.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace popdns::zone {
namespace {

Address V4(const char* text) {
  in_addr a;
  EXPECT_EQ(inet_pton(AF_INET, text, &a), 1) << text;
  return FromIpv4(ntohl(a.s_addr));
}

Address V6(const char* text) {
  uint8_t b[16];
  EXPECT_EQ(inet_pton(AF_INET6, text, b), 1) << text;
  return FromIpv6(b);
}

NetworkTable::Prefix P4(const char* addr, int len, NetworkTable::NetworkId net) {
  return {V4(addr), static_cast<uint8_t>(kIpv4MappedBits + len), net};
}

NetworkTable::Prefix P6(const char* addr, int len, NetworkTable::NetworkId net) {
  return {V6(addr), static_cast<uint8_t>(len), net};
}

NetworkTable Table(std::vector<NetworkTable::Prefix> prefixes) {
  auto t = NetworkTable::Build(std::move(prefixes));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : NetworkTable();
}

TEST(NetworkTable, EmptyMatchesNothingWithScopeZero) {
  const NetworkTable t = Table({});
  EXPECT_TRUE(t.empty());
  const auto m = t.Find(V4("192.0.2.1"));
  EXPECT_EQ(m.network, NetworkTable::kNoNetwork);
  EXPECT_EQ(m.scope, 0);  // the same answer for every address
}

TEST(NetworkTable, LongestPrefixWinsAmongNested) {
  const NetworkTable t = Table({P4("10.0.0.0", 8, 1), P4("10.1.0.0", 16, 2),
                                P4("10.1.2.0", 24, 3)});
  EXPECT_EQ(t.Find(V4("10.9.9.9")).network, 1);
  EXPECT_EQ(t.Find(V4("10.1.9.9")).network, 2);
  EXPECT_EQ(t.Find(V4("10.1.2.200")).network, 3);
  EXPECT_EQ(t.Find(V4("10.1.3.0")).network, 2);  // just after the /24
  EXPECT_EQ(t.Find(V4("10.1.1.255")).network, 2);  // just before it
  EXPECT_EQ(t.Find(V4("11.0.0.0")).network, NetworkTable::kNoNetwork);
  EXPECT_EQ(t.Find(V4("9.255.255.255")).network, NetworkTable::kNoNetwork);
}

TEST(NetworkTable, OrderOfPrefixesDoesNotMatter) {
  const NetworkTable a = Table({P4("10.1.2.0", 24, 3), P4("10.0.0.0", 8, 1),
                                P4("10.1.0.0", 16, 2)});
  EXPECT_EQ(a.Find(V4("10.1.2.3")).network, 3);
  EXPECT_EQ(a.Find(V4("10.1.200.3")).network, 2);
  EXPECT_EQ(a.Find(V4("10.200.2.3")).network, 1);
}

// The scope is the shortest prefix of the address that gets the same
// match throughout (RFC 7871 7.2.1): inside a /8 with a /16 carved out,
// an address far from the hole is answered for a wide block, one next to
// it for a narrow one.
TEST(NetworkTable, ScopeIsTheWidestBlockWithOneAnswer) {
  const NetworkTable t = Table({P4("10.0.0.0", 8, 1), P4("10.128.0.0", 16, 2)});
  EXPECT_EQ(t.Find(V4("10.128.5.5")).scope, kIpv4MappedBits + 16);
  // 10.0.0.0/9 holds no part of the hole.
  EXPECT_EQ(t.Find(V4("10.1.2.3")).scope, kIpv4MappedBits + 9);
  // 10.129.0.0/16 is next to it: /16 (10.128/15 would include the hole).
  EXPECT_EQ(t.Find(V4("10.129.0.1")).scope, kIpv4MappedBits + 16);
  // Outside every network: as wide as the gap allows, never wider.
  const auto outside = t.Find(V4("11.0.0.1"));
  EXPECT_EQ(outside.network, NetworkTable::kNoNetwork);
  EXPECT_EQ(outside.scope, kIpv4MappedBits + 8);  // 11/8 is all outside
}

TEST(NetworkTable, AdjacentPrefixesOfOneNetworkAreOneRange) {
  const NetworkTable t = Table({P4("10.0.0.0", 9, 1), P4("10.128.0.0", 9, 1)});
  EXPECT_EQ(t.ranges(), 3u);  // before, 10/8, after
  EXPECT_EQ(t.Find(V4("10.200.0.0")).scope, kIpv4MappedBits + 8);
}

TEST(NetworkTable, Ipv6AndMappedIpv4InOneTable) {
  const NetworkTable t = Table({P6("2001:db8::", 32, 1), P4("192.0.2.0", 24, 2),
                                P6("2001:db8:1::", 48, 3)});
  EXPECT_EQ(t.Find(V6("2001:db8:ffff::1")).network, 1);
  EXPECT_EQ(t.Find(V6("2001:db8:1::53")).network, 3);
  EXPECT_EQ(t.Find(V4("192.0.2.77")).network, 2);
  // The same IPv4 address written as an IPv4-mapped IPv6 address.
  EXPECT_EQ(t.Find(V6("::ffff:192.0.2.77")).network, 2);
  EXPECT_EQ(t.Find(V6("2001:db9::1")).network, NetworkTable::kNoNetwork);
}

TEST(NetworkTable, DefaultRouteCoversEverything) {
  const NetworkTable t = Table({P6("::", 0, 7), P4("198.51.100.0", 24, 8)});
  EXPECT_EQ(t.Find(V6("fd00::1")).network, 7);
  EXPECT_EQ(t.Find(V4("198.51.100.1")).network, 8);
  EXPECT_EQ(t.Find(V4("198.51.101.1")).network, 7);
  EXPECT_EQ(t.Find(~Address{0}).network, 7);
  EXPECT_EQ(t.Find(0).network, 7);
}

TEST(NetworkTable, HostRoutes) {
  const NetworkTable t = Table({P4("192.0.2.1", 32, 1), P6("fd00::1", 128, 2)});
  EXPECT_EQ(t.Find(V4("192.0.2.1")).network, 1);
  EXPECT_EQ(t.Find(V4("192.0.2.1")).scope, 128);
  EXPECT_EQ(t.Find(V4("192.0.2.2")).network, NetworkTable::kNoNetwork);
  EXPECT_EQ(t.Find(V6("fd00::1")).network, 2);
  EXPECT_EQ(t.Find(V6("fd00::2")).network, NetworkTable::kNoNetwork);
}

TEST(NetworkTable, RefusesConflictsAndBadPrefixes) {
  EXPECT_FALSE(NetworkTable::Build({P4("10.0.0.0", 8, 1), P4("10.0.0.0", 8, 2)})
                   .ok());
  // The same prefix twice for one network is harmless.
  EXPECT_TRUE(NetworkTable::Build({P4("10.0.0.0", 8, 1), P4("10.0.0.0", 8, 1)})
                  .ok());
  EXPECT_FALSE(NetworkTable::Build({P4("10.0.0.1", 8, 1)}).ok());  // host bits
  EXPECT_FALSE(
      NetworkTable::Build({P4("10.0.0.0", 8, NetworkTable::kNoNetwork)}).ok());
}

// A brute-force oracle over random nested prefixes in a small corner of
// the space: every address's match and scope agree with the definition.
TEST(NetworkTable, AgreesWithBruteForce) {
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<NetworkTable::Prefix> prefixes;
    for (int i = 0; i < 12; ++i) {
      const int len = 24 + static_cast<int>(next() % 9);  // /24../32
      uint32_t a = 0x0A000000u | (next() & 0xFFu);         // 10.0.0.x
      a &= len == 32 ? ~0u : ~((1u << (32 - len)) - 1);
      prefixes.push_back({FromIpv4(a), static_cast<uint8_t>(kIpv4MappedBits + len),
                          static_cast<uint16_t>(next() % 4)});
    }
    auto built = NetworkTable::Build(prefixes);
    if (!built.ok()) continue;  // the same prefix drawn for two networks
    auto expect = [&](uint32_t addr) {
      int best_len = -1;
      NetworkTable::NetworkId best = NetworkTable::kNoNetwork;
      for (const auto& p : prefixes) {
        const int len = p.length - kIpv4MappedBits;
        const uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
        const auto start = static_cast<uint32_t>(p.address);
        if ((addr & mask) == start && len > best_len) {
          best_len = len;
          best = p.network;
        }
      }
      return best;
    };
    for (uint32_t x = 0x0A000000u; x <= 0x0A0000FFu; ++x) {
      const auto m = built->Find(FromIpv4(x));
      ASSERT_EQ(m.network, expect(x)) << std::hex << x;
      // Every address of the scope's block matches alike, and the block
      // one bit wider does not (unless the scope is 0).
      const int scope = m.scope - kIpv4MappedBits;
      ASSERT_GE(scope, 0);
      ASSERT_LE(scope, 32);
      const uint32_t mask = scope == 0 ? 0 : ~0u << (32 - scope);
      for (uint32_t y = std::max(x & mask, 0x0A000000u);
           y <= ((x & mask) | ~mask) && y <= 0x0A0000FFu; ++y) {
        ASSERT_EQ(expect(y), m.network) << std::hex << x << " " << y;
      }
      if (scope > 24) {  // the wider block stays in 10.0.0.0/24
        const uint32_t wider = ~0u << (32 - scope + 1);
        bool differs = false;
        for (uint32_t y = x & wider; y <= ((x & wider) | ~wider); ++y) {
          differs |= expect(y) != m.network;
        }
        ASSERT_TRUE(differs) << std::hex << x << " scope " << scope;
      }
    }
  }
}

}  // namespace
}  // namespace popdns::zone
