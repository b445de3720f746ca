// GeoIP tables (control/answers/geo_networks.h) from a MaxMind DB that
// tests/testutil/write_mmdb.py wrote (GEO_TEST_DB, see meson.build):
//   198.51.100.0/24 country DE, 198.51.100.128/25 FR (nested),
//   2001:db8:1::/48 NL, 10.0.0.0/8 AS 64500.
#include "control/answers/geo_networks.h"

#include <arpa/inet.h>

#include <fstream>
#include <string>

#include "dataplane/zone/variant.h"
#include "gtest/gtest.h"

namespace popdns::control {
namespace {

zone::Address Parse(const char* text) {
  uint8_t b[16];
  if (inet_pton(AF_INET, text, b) == 1) return zone::FromIpv4Bytes(b);
  EXPECT_EQ(inet_pton(AF_INET6, text, b), 1) << text;
  return zone::FromIpv6(b);
}

// The name of the entry holding `address`, "" if none, and the scope.
std::pair<std::string, int> Lookup(const GeoNetworks& g, const char* address) {
  const zone::NetworkTable::Match m = g.table.Find(Parse(address));
  if (m.network == zone::NetworkTable::kNoNetwork) return {"", m.scope};
  return {g.names.at(m.network), m.scope};
}

TEST(GeoNetworks, CountriesFromTheDatabase) {
  auto g = LoadGeoNetworks(GEO_TEST_DB, GeoKey::kCountry);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->prefixes, 3u);  // DE /25, FR /25 (FR split DE's /24), NL
  EXPECT_EQ(Lookup(*g, "198.51.100.5"), std::make_pair(std::string("DE"), 96 + 25));
  EXPECT_EQ(Lookup(*g, "198.51.100.200"), std::make_pair(std::string("FR"), 96 + 25));
  EXPECT_EQ(Lookup(*g, "2001:db8:1::7").first, "NL");
  EXPECT_EQ(Lookup(*g, "2001:db8:1::7").second, 48);
  EXPECT_EQ(Lookup(*g, "10.1.2.3").first, "");  // an ASN record only
  EXPECT_EQ(Lookup(*g, "192.0.2.1").first, "");
  // IPv4 is mapped, not at ::/96 where the file keeps it.
  EXPECT_EQ(Lookup(*g, "::198.51.100.5").first, "");
  // Selectors are what VARIANT cc:XX compiles to.
  const auto m = g->table.Find(Parse("198.51.100.5"));
  EXPECT_EQ(g->selectors.at(m.network),
            zone::VariantSelectorHash(zone::VariantKind::kCountry, "de"));
}

TEST(GeoNetworks, AutonomousSystems) {
  auto g = LoadGeoNetworks(GEO_TEST_DB, GeoKey::kAsn);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(Lookup(*g, "10.1.2.3"), std::make_pair(std::string("64500"), 96 + 8));
  EXPECT_EQ(Lookup(*g, "198.51.100.5").first, "");
  const auto m = g->table.Find(Parse("10.200.0.1"));
  EXPECT_EQ(g->selectors.at(m.network),
            zone::VariantSelectorHash(zone::VariantKind::kAsn, "64500"));
}

TEST(GeoNetworks, SharedOncePerPath) {
  auto a = SharedGeoNetworks(GEO_TEST_DB, GeoKey::kCountry);
  auto b = SharedGeoNetworks(GEO_TEST_DB, GeoKey::kCountry);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_NE(SharedGeoNetworks(GEO_TEST_DB, GeoKey::kAsn), a);
}

TEST(GeoNetworks, BadFilesAreRefusedWithTheReason) {
  auto missing = LoadGeoNetworks("/nonexistent/geo.mmdb", GeoKey::kCountry);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "GeoIP database /nonexistent/geo.mmdb: No such file or directory");
  const std::string junk = ::testing::TempDir() + "/junk.mmdb";
  std::ofstream(junk) << "not a MaxMind database";
  auto bad = CheckGeoDatabase(junk);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find(junk + ": "), std::string::npos) << bad;
  EXPECT_EQ(SharedGeoNetworks(junk, GeoKey::kAsn), nullptr);
}

}  // namespace
}  // namespace popdns::control
