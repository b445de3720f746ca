// App-aware answers (issue 16, zone/variant.h): variants chosen by the
// client's network (EDNS Client Subnet, RFC 7871, else the sender's
// address) and by the PoP, on the one-query and the burst entry points
// and through the general path alike.
#include <arpa/inet.h>

#include <memory>
#include <string>
#include <vector>

#include "control/answers/network_prefix.h"
#include "dataplane/dns/answer.h"
#include "gtest/gtest.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

using testutil::Message;
using testutil::QueryOptions;

constexpr char kZone[] =
    "@ 3600 SOA ns hm 1 3600 600 86400 300\n"
    "@ NS ns\n"
    "ns A 192.0.2.53\n"
    "www 300 A 192.0.2.1\n"
    "www 30 VARIANT net:eu A 198.51.100.10\n"
    "www 30 VARIANT net:eu A 198.51.100.11\n"
    "www 30 VARIANT pop:fra1 A 203.0.113.5\n"
    "www 30 VARIANT net:us AAAA 2001:db8::10\n"
    "txt TXT \"default\"\n"
    "txt 30 VARIANT pop:fra1 TXT \"fra1\"\n"
    "plain A 192.0.2.7\n";

class VariantAnswerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto set = testutil::MakeZoneSet({{"example.test.", kZone}});
    ASSERT_TRUE(set.ok()) << set.status();
    zones_ = *set;
    config_.use_precompiled = GetParam();
    std::vector<zone::NetworkTable::Prefix> prefixes;
    for (const auto& [text, id] :
         std::vector<std::pair<std::string, uint16_t>>{
             {"10.1.0.0/16", 0}, {"2001:db8:e0::/48", 0}, {"10.2.0.0/16", 1}}) {
      auto p = control::ParseNetworkPrefix(text, id);
      ASSERT_TRUE(p.ok());
      prefixes.push_back(*p);
    }
    auto table = zone::NetworkTable::Build(prefixes);
    ASSERT_TRUE(table.ok());
    table_ = *std::move(table);
    selectors_ = {zone::NameIndex::Hash("eu"), zone::NameIndex::Hash("us")};
    config_.client_subnet = true;
    config_.networks = &table_;
    config_.network_selectors = selectors_.data();
  }

  // Asks from `from` (an IPv4 or IPv6 address), one query alone and the
  // same in a burst between two others: both must give the same bytes.
  Message Ask(std::string_view name, uint16_t qtype, const char* from,
              const QueryOptions& o = {}) {
    const std::vector<uint8_t> query = testutil::MakeQuery(name, qtype, o);
    uint8_t ip[16];
    Client client;
    client.ipv6 = inet_pton(AF_INET, from, ip) != 1;
    if (client.ipv6) {
      EXPECT_EQ(inet_pton(AF_INET6, from, ip), 1);
    }
    client.ip = ip;
    std::vector<uint8_t> buf(4096, 0);
    std::copy(query.begin(), query.end(), buf.begin());
    const AnswerResult r = Answer(*zones_, config_, Transport::kUdp,
                                  buf.data(), query.size(), buf.size(), client);
    std::vector<std::vector<uint8_t>> bufs;
    const std::vector<std::vector<uint8_t>> queries = {
        testutil::MakeQuery("plain.example.test.", rrtype::kA), query,
        testutil::MakeQuery("www.example.test.", rrtype::kA)};
    std::vector<AnswerJob> jobs;
    for (const auto& q : queries) {
      bufs.emplace_back(4096, 0);
      std::copy(q.begin(), q.end(), bufs.back().begin());
    }
    for (size_t i = 0; i < queries.size(); ++i) {
      jobs.push_back({bufs[i].data(), queries[i].size(), 4096, {}, client});
    }
    AnswerBurst(*zones_, config_, Transport::kUdp, jobs.data(), jobs.size());
    EXPECT_EQ(jobs[1].result.size, r.size);
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + r.size,
                           bufs[1].begin()))
        << "the burst answered otherwise";
    auto m = testutil::ParseMessage(buf.data(), r.size);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : Message{};
  }

  static std::vector<std::string> Rdata(const Message& m) {
    std::vector<std::string> out;
    for (const auto& rr : m.answer) out.push_back(rr.rdata);
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string V4(const char* text) {
    uint8_t b[4];
    inet_pton(AF_INET, text, b);
    return std::string(reinterpret_cast<char*>(b), 4);
  }
  static QueryOptions WithEcs(std::string data) {
    QueryOptions o;
    o.edns = true;
    const auto opt = testutil::EdnsOption(kEdnsClientSubnet, data);
    o.edns_options.assign(opt.begin(), opt.end());
    return o;
  }
  static std::optional<std::string> EcsOf(const Message& m) {
    for (const auto& [code, data] : m.opt_options) {
      if (code == kEdnsClientSubnet) return data;
    }
    return std::nullopt;
  }

  std::shared_ptr<zone::ZoneSet> zones_;
  AnswerConfig config_;
  zone::NetworkTable table_;
  std::vector<uint64_t> selectors_;
};

TEST_P(VariantAnswerTest, ClientsInANetworkGetItsVariant) {
  Message eu = Ask("www.example.test.", rrtype::kA, "10.1.2.3");
  EXPECT_EQ(Rdata(eu), (std::vector<std::string>{V4("198.51.100.10"),
                                                 V4("198.51.100.11")}));
  ASSERT_EQ(eu.answer.size(), 2u);
  EXPECT_EQ(eu.answer[0].ttl, 30u);  // the VARIANT records' TTL
  EXPECT_TRUE(eu.aa);
  EXPECT_FALSE(EcsOf(eu));  // no ECS asked, none sent (RFC 7871 7.2.1)
  // An IPv6 client of the same network.
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "2001:db8:e0::9")).size(),
            2u);
  // Elsewhere: the name's own answer.
  Message other = Ask("www.example.test.", rrtype::kA, "10.9.9.9");
  EXPECT_EQ(Rdata(other), std::vector<std::string>{V4("192.0.2.1")});
  EXPECT_EQ(other.answer[0].ttl, 300u);
  // Another type of the same name varies for another network only.
  Message us = Ask("www.example.test.", rrtype::kAaaa, "10.2.0.1");
  ASSERT_EQ(us.answer.size(), 1u);
  EXPECT_EQ(us.answer[0].type, rrtype::kAaaa);
  Message eu6 = Ask("www.example.test.", rrtype::kAaaa, "10.1.2.3");
  EXPECT_TRUE(eu6.answer.empty());  // NODATA, as without variants
  EXPECT_EQ(eu6.rcode, 0);
  // Names without variants are untouched.
  EXPECT_EQ(Rdata(Ask("plain.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("192.0.2.7")});
}

TEST_P(VariantAnswerTest, ThePopsVariantForEveryoneElse) {
  EXPECT_EQ(Rdata(Ask("txt.example.test.", rrtype::kTxt, "10.9.9.9")),
            std::vector<std::string>{std::string("\7default")});
  config_.pop_selector = zone::NameIndex::Hash("fra1");
  EXPECT_EQ(Rdata(Ask("txt.example.test.", rrtype::kTxt, "10.9.9.9")),
            std::vector<std::string>{std::string("\4fra1")});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.9.9.9")),
            std::vector<std::string>{V4("203.0.113.5")});
  // A network's variant wins over the PoP's.
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.0.1")).size(), 2u);
  config_.pop_selector = zone::NameIndex::Hash("ams1");
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.9.9.9")),
            std::vector<std::string>{V4("192.0.2.1")});
}

// RFC 7871: the resolver's ECS option decides, not the resolver's own
// address, and the answer says for which part of the client's network it
// holds (7.2.1: SCOPE PREFIX-LENGTH).
TEST_P(VariantAnswerTest, ClientSubnetDecidesAndScopes) {
  // A resolver in no network asks for a client of eu (10.1.0.0/16).
  Message eu = Ask("www.example.test.", rrtype::kA, "192.0.2.200",
                   WithEcs(std::string("\0\1\x10\0\x0a\x01", 6)));
  EXPECT_EQ(Rdata(eu).size(), 2u);
  EXPECT_EQ(EcsOf(eu), std::string("\0\1\x10\x10\x0a\x01", 6));  // scope 16
  // A /24 inside eu: the answer holds for all of eu's /16.
  Message eu24 = Ask("www.example.test.", rrtype::kA, "192.0.2.200",
                     WithEcs(std::string("\0\1\x18\0\x0a\x01\x07", 7)));
  EXPECT_EQ(EcsOf(eu24), std::string("\0\1\x18\x10\x0a\x01\x07", 7));
  // A resolver in eu asks for a client elsewhere: the client's answer
  // (variants never leak to the resolver's own network).
  Message far = Ask("www.example.test.", rrtype::kA, "10.1.2.3",
                    WithEcs(std::string("\0\1\x10\0\x0a\x09", 6)));
  EXPECT_EQ(Rdata(far), std::vector<std::string>{V4("192.0.2.1")});
  // 10.8.0.0/13 holds no network: that is the scope of the default.
  EXPECT_EQ(EcsOf(far), std::string("\0\1\x10\x0d\x0a\x09", 6));
  // SOURCE PREFIX-LENGTH 0 (7.1.2): no client information is to be used.
  Message none = Ask("www.example.test.", rrtype::kA, "10.1.2.3",
                     WithEcs(std::string("\0\1\0\0", 4)));
  EXPECT_EQ(Rdata(none), std::vector<std::string>{V4("192.0.2.1")});
  EXPECT_EQ(EcsOf(none), std::string("\0\1\0\0", 4));
  // A name without variants: scope 0.
  EXPECT_EQ(EcsOf(Ask("plain.example.test.", rrtype::kA, "192.0.2.200",
                      WithEcs(std::string("\0\1\x10\0\x0a\x01", 6)))),
            std::string("\0\1\x10\0\x0a\x01", 6));
}

TEST_P(VariantAnswerTest, WithoutNetworksOnlyThePopApplies) {
  config_.networks = nullptr;
  config_.network_selectors = nullptr;
  config_.client_subnet = false;
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("192.0.2.1")});
}

// Health (issue 16): a ZoneSet published with endpoints down answers
// without them; a variant with none left gives way to the next choice
// (the network's to the PoP's, the PoP's to the name's own answer).
TEST_P(VariantAnswerTest, DownEndpointsAreLeftOut) {
  auto with_down = [&](std::vector<const char*> down) {
    std::vector<zone::Address> addresses;
    for (const char* text : down) {
      uint8_t b[16];
      if (inet_pton(AF_INET, text, b) == 1) {
        addresses.push_back(zone::FromIpv4Bytes(b));
      } else {
        EXPECT_EQ(inet_pton(AF_INET6, text, b), 1);
        addresses.push_back(zone::FromIpv6(b));
      }
    }
    std::sort(addresses.begin(), addresses.end());
    auto set = std::make_shared<zone::ZoneSet>();
    set->set_down_endpoints(std::move(addresses));
    for (const auto& z : zones_->zones()) set->Add(z);
    zones_ = set;
  };
  config_.pop_selector = zone::NameIndex::Hash("fra1");
  with_down({"198.51.100.10"});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("198.51.100.11")});
  with_down({"198.51.100.11"});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("198.51.100.10")});
  // The ECS scope still says whose answer it is.
  Message scoped = Ask("www.example.test.", rrtype::kA, "192.0.2.200",
                       WithEcs(std::string("\0\1\x10\0\x0a\x01", 6)));
  EXPECT_EQ(Rdata(scoped), std::vector<std::string>{V4("198.51.100.10")});
  EXPECT_EQ(EcsOf(scoped), std::string("\0\1\x10\x10\x0a\x01", 6));
  with_down({"198.51.100.10", "198.51.100.11"});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("203.0.113.5")});
  with_down({"198.51.100.10", "198.51.100.11", "203.0.113.5"});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("192.0.2.1")});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.9.9.9")),
            std::vector<std::string>{V4("192.0.2.1")});
  // IPv6 endpoints; the name has no AAAA of its own: NODATA.
  with_down({"2001:db8::10"});
  Message us = Ask("www.example.test.", rrtype::kAaaa, "10.2.0.1");
  EXPECT_TRUE(us.answer.empty());
  EXPECT_EQ(us.rcode, 0);
  // Other addresses down change nothing; neither do TXT variants.
  with_down({"192.0.2.1", "192.0.2.7"});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")).size(), 2u);
  EXPECT_EQ(Rdata(Ask("plain.example.test.", rrtype::kA, "10.1.2.3")),
            std::vector<std::string>{V4("192.0.2.7")});
  EXPECT_EQ(Rdata(Ask("txt.example.test.", rrtype::kTxt, "10.9.9.9")),
            std::vector<std::string>{std::string("\4fra1")});
  with_down({});
  EXPECT_EQ(Rdata(Ask("www.example.test.", rrtype::kA, "10.1.2.3")).size(), 2u);
}

TEST_P(VariantAnswerTest, TheRecordsThemselvesAreOrdinaryData) {
  Message m = Ask("www.example.test.", rrtype::kVariant, "10.1.2.3");
  EXPECT_EQ(m.answer.size(), 4u);
}

// GeoIP selectors (zone/variant.h cc:, asn:): the network's variant
// first, then the AS's, then the country's, then the PoP's; the ECS scope
// is the longest of the tables consulted.
TEST_P(VariantAnswerTest, AsAndCountryVariants) {
  auto set = testutil::MakeZoneSet({{"geo.test.",
      "@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\n"
      "www A 192.0.2.1\n"
      "www 30 VARIANT net:eu A 198.51.100.1\n"
      "www 30 VARIANT asn:64500 A 198.51.100.2\n"
      "www 30 VARIANT cc:de A 198.51.100.3\n"
      "www 30 VARIANT pop:fra1 A 198.51.100.4\n"}});
  ASSERT_TRUE(set.ok()) << set.status();
  zones_ = *set;
  // Countries: 10.0.0.0/8 DE (the eu network 10.1/16 lies inside it) and
  // 172.16.0.0/12 DE; ASes: 10.0.0.0/9 and 172.16.0.0/16 AS64500.
  auto table = [](std::vector<std::pair<const char*, uint32_t>> prefixes) {
    std::vector<zone::NetworkTable::Prefix> p;
    for (const auto& [text, id] : prefixes) {
      p.push_back(*control::ParseNetworkPrefix(text, id));
    }
    return *zone::NetworkTable::Build(p);
  };
  const zone::NetworkTable countries =
      table({{"10.0.0.0/8", 0}, {"172.16.0.0/12", 0}});
  const zone::NetworkTable asns = table({{"10.0.0.0/9", 0}, {"172.16.0.0/16", 0}});
  const uint64_t country_selectors[] = {
      zone::VariantSelectorHash(zone::VariantKind::kCountry, "DE")};
  const uint64_t asn_selectors[] = {
      zone::VariantSelectorHash(zone::VariantKind::kAsn, "64500")};
  config_.countries = &countries;
  config_.country_selectors = country_selectors;
  config_.asns = &asns;
  config_.asn_selectors = asn_selectors;
  config_.pop_selector = zone::NameIndex::Hash("fra1");
  auto answer = [&](const char* from) {
    return Rdata(Ask("www.geo.test.", rrtype::kA, from));
  };
  EXPECT_EQ(answer("10.1.2.3"), std::vector<std::string>{V4("198.51.100.1")});
  EXPECT_EQ(answer("10.2.0.1"), std::vector<std::string>{V4("198.51.100.2")});
  EXPECT_EQ(answer("10.200.0.1"), std::vector<std::string>{V4("198.51.100.3")});
  EXPECT_EQ(answer("172.17.0.1"), std::vector<std::string>{V4("198.51.100.3")});
  EXPECT_EQ(answer("192.0.2.9"), std::vector<std::string>{V4("198.51.100.4")});
  // By ECS: 172.16.5.0/24 is in no network (the network table alone would
  // give scope 1: 128.0.0.0/1 holds none) but in AS64500's /16: the
  // answer holds for that /16.
  Message as = Ask("www.geo.test.", rrtype::kA, "192.0.2.200",
                   WithEcs(std::string("\0\1\x18\0\xac\x10\x05", 7)));
  EXPECT_EQ(Rdata(as), std::vector<std::string>{V4("198.51.100.2")});
  EXPECT_EQ(EcsOf(as), std::string("\0\1\x18\x10\xac\x10\x05", 7));
  // 172.17.5.0/24: not in the AS (its block without it: 172.17.0.0/16),
  // in DE's /12: scope 16, the longest.
  Message cc = Ask("www.geo.test.", rrtype::kA, "192.0.2.200",
                   WithEcs(std::string("\0\1\x18\0\xac\x11\x05", 7)));
  EXPECT_EQ(Rdata(cc), std::vector<std::string>{V4("198.51.100.3")});
  EXPECT_EQ(EcsOf(cc), std::string("\0\1\x18\x10\xac\x11\x05", 7));
  // The AS's endpoint down: the country's.
  auto down = std::make_shared<zone::ZoneSet>();
  down->set_down_endpoints({zone::FromIpv4(0xc6336402)});
  for (const auto& z : zones_->zones()) down->Add(z);
  zones_ = down;
  EXPECT_EQ(answer("10.2.0.1"), std::vector<std::string>{V4("198.51.100.3")});
}

// Many variants: compiling them grows the arena that holds their RDATA
// (it moved under the compiler once: under ASan a use after free).
TEST_P(VariantAnswerTest, AZoneOfManyVariants) {
  std::string text = "@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\n";
  for (int i = 0; i < 3000; ++i) {
    const std::string name = "v" + std::to_string(i);
    text += name + " A 192.0.2.1\n";
    for (int k = 0; k < 4; ++k) {
      text += name + " 30 VARIANT net:eu A 198.51.100." + std::to_string(k) +
              "\n";
    }
  }
  auto set = testutil::MakeZoneSet({{"many.test.", text}});
  ASSERT_TRUE(set.ok()) << set.status();
  zones_ = *set;
  for (const char* name : {"v0.many.test.", "v2999.many.test."}) {
    EXPECT_EQ(Rdata(Ask(name, rrtype::kA, "10.1.2.3")),
              (std::vector<std::string>{V4("198.51.100.0"), V4("198.51.100.1"),
                                        V4("198.51.100.2"),
                                        V4("198.51.100.3")}))
        << name;
  }
}

INSTANTIATE_TEST_SUITE_P(PrecompiledAndGeneral, VariantAnswerTest,
                         ::testing::Bool());

}  // namespace
}  // namespace popdns::dns
