// EDNS Client Subnet option (RFC 7871 6, 7.1.1, 7.2.1).
#include "dataplane/dns/client_subnet.h"

#include <vector>

#include "gtest/gtest.h"

namespace popdns::dns {
namespace {

bool Parse(std::vector<uint8_t> data, ClientSubnet* out) {
  return ParseClientSubnet(data.data(), data.size(), out);
}

TEST(ClientSubnet, ParsesIpv4AndIpv6) {
  ClientSubnet c;
  ASSERT_TRUE(Parse({0, 1, 24, 0, 192, 0, 2}, &c));
  EXPECT_EQ(c.family, 1);
  EXPECT_EQ(c.source_prefix, 24);
  EXPECT_EQ(c.MappedAddress(), zone::FromIpv4(0xC0000200u));
  EXPECT_EQ(c.MappedSourcePrefix(), 96 + 24);
  ASSERT_TRUE(Parse({0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1}, &c));
  EXPECT_EQ(c.family, 2);
  EXPECT_EQ(c.source_prefix, 48);
  EXPECT_EQ(c.MappedSourcePrefix(), 48);
  EXPECT_EQ(absl::Uint128High64(c.MappedAddress()),
            0x20010db800010000ull);
}

// RFC 7871 7.1.2: SOURCE PREFIX-LENGTH 0 is how a stub or resolver asks
// that no client information be used; it has no ADDRESS octets.
TEST(ClientSubnet, SourcePrefixZero) {
  ClientSubnet c;
  ASSERT_TRUE(Parse({0, 1, 0, 0}, &c));
  EXPECT_EQ(c.source_prefix, 0);
  ASSERT_TRUE(Parse({0, 2, 0, 0}, &c));
  EXPECT_FALSE(Parse({0, 1, 0, 0, 0}, &c));  // an octet too many
}

// RFC 7871 6: what a server "SHOULD return FORMERR" for.
TEST(ClientSubnet, RefusesMalformed) {
  ClientSubnet c;
  EXPECT_FALSE(Parse({0, 1, 24}, &c));                  // shorter than 4
  EXPECT_FALSE(Parse({0, 3, 24, 0, 1, 2, 3}, &c));      // unknown family
  EXPECT_FALSE(Parse({0, 1, 33, 0, 1, 2, 3, 4, 5}, &c));  // past 32 bits
  EXPECT_FALSE(Parse({0, 2, 129, 0}, &c));              // past 128 bits
  EXPECT_FALSE(Parse({0, 1, 24, 0, 192, 0}, &c));       // too few octets
  EXPECT_FALSE(Parse({0, 1, 24, 0, 192, 0, 2, 0}, &c));  // too many
  EXPECT_FALSE(Parse({0, 1, 23, 0, 192, 0, 3}, &c));    // bit 24 set
  EXPECT_TRUE(Parse({0, 1, 23, 0, 192, 0, 2}, &c));
  // 7.1.1: SCOPE PREFIX-LENGTH "In queries, it MUST be set to 0".
  EXPECT_FALSE(Parse({0, 1, 24, 8, 192, 0, 2}, &c));
}

TEST(ClientSubnet, WritesTheAnswerOptionWithItsScope) {
  ClientSubnet c;
  ASSERT_TRUE(Parse({0, 1, 24, 0, 198, 51, 100}, &c));
  uint8_t out[32];
  const size_t n = WriteClientSubnet(c, 16, out, sizeof(out));
  EXPECT_EQ(std::vector<uint8_t>(out, out + n),
            (std::vector<uint8_t>{0, 8, 0, 7, 0, 1, 24, 16, 198, 51, 100}));
  EXPECT_EQ(WriteClientSubnet(c, 16, out, 10), 0u);  // no room
}

TEST(ClientSubnet, ScopeInTheFamilysBits) {
  ClientSubnet v4;
  ASSERT_TRUE(Parse({0, 1, 24, 0, 198, 51, 100}, &v4));
  EXPECT_EQ(v4.FamilyScope(96 + 20), 20);
  // A range wider than the IPv4 space: one answer for all of it.
  EXPECT_EQ(v4.FamilyScope(64), 0);
  ClientSubnet v6;
  ASSERT_TRUE(Parse({0, 2, 32, 0, 0x20, 0x01, 0x0d, 0xb8}, &v6));
  EXPECT_EQ(v6.FamilyScope(40), 40);
}

}  // namespace
}  // namespace popdns::dns
