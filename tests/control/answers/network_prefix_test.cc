#include "control/answers/network_prefix.h"

#include "gtest/gtest.h"

namespace popdns::control {
namespace {

TEST(NetworkPrefix, ParsesBothFamiliesAndHosts) {
  auto p = ParseNetworkPrefix("192.0.2.0/24", 3);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->address, zone::FromIpv4(0xC0000200u));
  EXPECT_EQ(p->length, 96 + 24);
  EXPECT_EQ(p->network, 3);
  p = ParseNetworkPrefix("2001:db8::/32", 1);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->length, 32);
  p = ParseNetworkPrefix("198.51.100.7", 1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->length, 128);
  p = ParseNetworkPrefix("0.0.0.0/0", 1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->length, 96);  // all of IPv4, not all addresses
  p = ParseNetworkPrefix("::/0", 1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->length, 0);
}

TEST(NetworkPrefix, RefusesWithAReason) {
  auto p = ParseNetworkPrefix("192.0.2.1/24", 1);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("beyond /24"), std::string::npos);
  p = ParseNetworkPrefix("192.0.2.0/33", 1);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("0..32"), std::string::npos);
  EXPECT_FALSE(ParseNetworkPrefix("2001:db8::/129", 1).ok());
  EXPECT_FALSE(ParseNetworkPrefix("example.net/24", 1).ok());
  EXPECT_FALSE(ParseNetworkPrefix("10.0.0.0/x", 1).ok());
  EXPECT_FALSE(ParseNetworkPrefix("", 1).ok());
}

}  // namespace
}  // namespace popdns::control
