// The PowerDNS API's JSON <-> zone edits without a socket
// (control/update/pdns_patch.h, pdns_json.h): which records a PATCH
// removes and adds, the serial it leads to, PowerDNS 4.7's 422 messages
// for what it refuses (taken from a real pdns_server), and the zone
// documents (ids, json11 layout, RRset order, content text).
#include "control/update/pdns_patch.h"

#include <string>
#include <vector>

#include "control/build/zone_store.h"
#include "control/update/pdns_json.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_to_text.h"
#include "control/zonefile/zone_file.h"
#include "dataplane/dns/wire.h"
#include "gtest/gtest.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::update {
namespace {

using nlohmann::json;
namespace rrtype = dns::rrtype;

constexpr char kZone[] = R"($ORIGIN apps.test.
$TTL 300
@      IN SOA ns1.apps.test. hostmaster.apps.test. 100 3600 600 86400 300
@      IN NS  ns1.apps.test.
ns1    IN A   192.0.2.53
www    IN A   192.0.2.1
www    IN TXT "hello"
alias  IN CNAME www
)";

std::string Wire(const std::string& name) {
  return *control::NameFromText(name, "");
}

class PdnsPatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto z = testutil::MakeZone({"apps.test.", kZone}, /*updatable=*/true);
    ASSERT_TRUE(z.ok()) << z.status();
    zone_ = *z;
    config_.name = "apps.test.";
  }

  // Applies `patch` (JSON text); the 422 message, or "" and the change.
  std::string Patch(const std::string& patch, xfr::Changeset* change = nullptr,
                    control::SerialPolicy policy =
                        control::SerialPolicy::kIncrement) {
    ZoneEdit edit(*zone_);
    absl::Status s = ApplyPatch(json::parse(patch), policy, 1700000000, &edit);
    if (!s.ok()) {
      EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
      return std::string(s.message());
    }
    auto cs = edit.Finish(policy, 1700000000);
    if (!cs.ok()) return std::string(cs.status().message());
    if (change && *cs) *change = **cs;
    return "";
  }

  static std::vector<std::string> Texts(
      const std::vector<control::ZoneRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) {
      out.push_back(control::NameToText(r.owner) + " " +
                    std::to_string(r.ttl) + " " + control::TypeToText(r.type) +
                    " " + control::RdataToText(r.type, r.rdata));
    }
    return out;
  }

  static std::string Replace(const std::string& name, const std::string& type,
                             const std::vector<std::string>& contents,
                             int ttl = 60) {
    json records = json::array();
    for (const auto& c : contents) {
      records.push_back({{"content", c}, {"disabled", false}});
    }
    return json({{"rrsets", json::array({{{"name", name},
                                          {"type", type},
                                          {"ttl", ttl},
                                          {"changetype", "REPLACE"},
                                          {"records", records}}})}})
        .dump();
  }

  std::shared_ptr<const zone::Zone> zone_;
  control::ZoneConfig config_;
};

TEST_F(PdnsPatchTest, ReplaceAddsAndRemovesWithOneSerial) {
  xfr::Changeset cs;
  ASSERT_EQ(Patch(R"({"rrsets": [
      {"name": "t1.apps.test.", "type": "A", "ttl": 60, "changetype": "REPLACE",
       "records": [{"content": "192.0.2.10", "disabled": false},
                   {"content": "192.0.2.11", "disabled": false}]},
      {"name": "t1.apps.test.", "type": "CAA", "ttl": 60, "changetype": "replace",
       "records": [{"content": "0 issue \"letsencrypt.org\""}]},
      {"name": "www.apps.test.", "type": "A", "ttl": 300, "changetype": "REPLACE",
       "records": [{"content": "192.0.2.2"}]},
      {"name": "www.apps.test.", "type": "TXT", "changetype": "DELETE"}]})",
                  &cs),
            "");
  EXPECT_EQ(Texts(cs.added),
            (std::vector<std::string>{
                "t1.apps.test. 60 A 192.0.2.10", "t1.apps.test. 60 A 192.0.2.11",
                "t1.apps.test. 60 CAA 0 issue \"letsencrypt.org\"",
                "www.apps.test. 300 A 192.0.2.2"}));
  EXPECT_EQ(Texts(cs.removed),
            (std::vector<std::string>{"www.apps.test. 300 A 192.0.2.1",
                                      "www.apps.test. 300 TXT \"hello\""}));
  EXPECT_EQ(xfr::Changeset::SerialOf(cs.soa_to), 101u);
}

TEST_F(PdnsPatchTest, LaterRRsetsSeeEarlierOnes) {
  // A CNAME may replace data deleted earlier in the same PATCH.
  xfr::Changeset cs;
  EXPECT_EQ(Patch(R"({"rrsets": [
      {"name": "www.apps.test.", "type": "A", "changetype": "DELETE"},
      {"name": "www.apps.test.", "type": "TXT", "changetype": "DELETE"},
      {"name": "www.apps.test.", "type": "CNAME", "ttl": 60,
       "changetype": "REPLACE", "records": [{"content": "lb.example.com."}]}]})",
                  &cs),
            "");
  EXPECT_EQ(cs.added.size(), 1u);
  EXPECT_EQ(cs.removed.size(), 2u);
}

TEST_F(PdnsPatchTest, EmptyRecordsDeleteAndNoChangeKeepsTheSerial) {
  xfr::Changeset cs;
  EXPECT_EQ(Patch(Replace("alias.apps.test.", "CNAME", {}), &cs), "");
  EXPECT_EQ(Texts(cs.removed),
            (std::vector<std::string>{"alias.apps.test. 300 CNAME www.apps.test."}));
  xfr::Changeset none;
  EXPECT_EQ(Patch(Replace("www.apps.test.", "A", {"192.0.2.1"}, 300), &none),
            "");
  EXPECT_TRUE(none.added.empty() && none.removed.empty());
  EXPECT_EQ(xfr::Changeset::SerialOf(none.soa_to), 0u);  // no change made
}

TEST_F(PdnsPatchTest, SoaReplaceTakesFieldsAndMovesForward) {
  xfr::Changeset cs;
  // The serial as read (100): the next one, as PowerDNS's INCREASE.
  ASSERT_EQ(Patch(Replace("apps.test.", "SOA",
                          {"ns1.apps.test. admin.apps.test. 100 7200 600 86400 60"},
                          300),
                  &cs),
            "");
  EXPECT_EQ(Texts({cs.soa_to}),
            (std::vector<std::string>{
                "apps.test. 300 SOA ns1.apps.test. admin.apps.test. 101 7200 "
                "600 86400 60"}));
  // A serial ahead of the zone's: the one after it.
  ASSERT_EQ(Patch(Replace("apps.test.", "SOA",
                          {"ns1.apps.test. admin.apps.test. 500 7200 600 86400 60"},
                          300),
                  &cs),
            "");
  EXPECT_EQ(xfr::Changeset::SerialOf(cs.soa_to), 501u);
  // Behind it: never backwards (PowerDNS would set 6).
  ASSERT_EQ(Patch(Replace("apps.test.", "SOA",
                          {"ns1.apps.test. admin.apps.test. 5 7200 600 86400 60"},
                          300),
                  &cs),
            "");
  EXPECT_EQ(xfr::Changeset::SerialOf(cs.soa_to), 101u);
  // EPOCH: the time.
  ASSERT_EQ(Patch(Replace("t.apps.test.", "A", {"192.0.2.9"}), &cs,
                  control::SerialPolicy::kUnixtime),
            "");
  EXPECT_EQ(xfr::Changeset::SerialOf(cs.soa_to), 1700000000u);
}

// The messages pdns_server 4.7.3 answered the same PATCHes with.
TEST_F(PdnsPatchTest, PowerDnsMessages) {
  EXPECT_EQ(Patch("{}"), "No rrsets given in update request");
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "a.apps.test.", "type": "A",
      "ttl": 60, "changetype": "FOO", "records": []}]})"),
            "Changetype not understood");
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "a.apps.test.", "type": "BOGUS",
      "ttl": 60, "changetype": "REPLACE", "records": []}]})"),
            "RRset a.apps.test. IN BOGUS: unknown type given");
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "a.apps.test.", "type": "A",
      "changetype": "REPLACE", "records": [{"content": "192.0.2.1"}]}]})"),
            "Key 'ttl' not an Integer or not present");
  // A number no integer type holds (found by update_fuzzer: converting it
  // was undefined behaviour).
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "a.apps.test.", "type": "A",
      "ttl": 6.1e57, "changetype": "REPLACE",
      "records": [{"content": "192.0.2.1"}]}]})"),
            "Key 'ttl' not an Integer or not present");
  EXPECT_EQ(Patch(R"({"rrsets": [{"type": "A", "changetype": "DELETE"}]})"),
            "Key 'name' not present or not a String");
  EXPECT_EQ(Patch(Replace("a.apps.test", "A", {"192.0.2.1"})),
            "DNS Name 'a.apps.test' is not canonical");
  EXPECT_EQ(Patch(Replace("a.example.com.", "A", {"192.0.2.1"})),
            "RRset a.example.com. IN A: Name is out of zone");
  EXPECT_EQ(Patch(Replace("www.apps.test.", "CNAME", {"lb.example.com."})),
            "RRset www.apps.test. IN CNAME: Conflicts with pre-existing RRset");
  EXPECT_EQ(Patch(Replace("alias.apps.test.", "A", {"192.0.2.1"})),
            "RRset alias.apps.test. IN A: Conflicts with pre-existing RRset");
  EXPECT_EQ(Patch(Replace("a.apps.test.", "TXT", {"hello"})),
            "Record a.apps.test./TXT 'hello': Not in expected format (parsed "
            "as '\"hello\"')");
  EXPECT_EQ(Patch(Replace("a.apps.test.", "MX", {"10 mail.example.com"})),
            "Record a.apps.test./MX '10 mail.example.com': Not in expected "
            "format (parsed as '10 mail.example.com.')");
  EXPECT_EQ(Patch(Replace("a.apps.test.", "A", {"192.0.2.1", "192.0.2.1"})),
            "Duplicate record in RRset a.apps.test. IN A with content "
            "\"192.0.2.1\"");
  EXPECT_EQ(Patch(Replace("a.apps.test.", "CNAME", {"x.test.", "y.test."})),
            "RRset a.apps.test. IN CNAME has more than one record");
  EXPECT_EQ(Patch(Replace("a.apps.test.", "DNSKEY", {"257 3 13 AQID"})),
            "Record a.apps.test. IN DNSKEY is only allowed at apex");
  EXPECT_EQ(Patch(Replace("apps.test.", "DS", {"1 13 2 abcd"})),
            "Record apps.test. IN DS is not allowed at apex");
  EXPECT_EQ(Patch(Replace("a.apps.test.", "MX", {"10 a_b.example.com."})),
            "RRset a.apps.test. IN MX non-hostname content a_b.example.com.");
  EXPECT_EQ(Patch(R"({"rrsets": [
      {"name": "a.apps.test.", "type": "A", "changetype": "DELETE"},
      {"name": "a.apps.test.", "type": "A", "changetype": "DELETE"}]})"),
            "Duplicate RRset a.apps.test. IN A with changetype: DELETE");
}

TEST_F(PdnsPatchTest, RefusedOnPurpose) {
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "apps.test.", "type": "SOA",
      "changetype": "DELETE"}]})"),
            "RRset apps.test. IN SOA: the SOA cannot be deleted");
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "a.apps.test.", "type": "A",
      "ttl": 60, "changetype": "REPLACE",
      "records": [{"content": "192.0.2.1", "disabled": true}]}]})"),
            "Record a.apps.test./A '192.0.2.1': disabled records are not "
            "supported by popdns");
  EXPECT_EQ(Patch(R"({"rrsets": [{"name": "a.apps.test.", "type": "A",
      "ttl": 60, "changetype": "REPLACE", "records": [],
      "comments": [{"content": "x", "account": "y"}]}]})"),
            "RRset a.apps.test. IN A: comments are not supported by popdns");
  // RFC 1035 4.2.1: an RRset must fit a 64 KB message.
  std::vector<std::string> big;
  for (int i = 0; i < 400; ++i) {
    big.push_back("\"" + std::string(200, 'a' + i % 26) + std::to_string(i) +
                  "\"");
  }
  EXPECT_NE(Patch(Replace("big.apps.test.", "TXT", big)).find("64 KB"),
            std::string::npos);
}

TEST(ContentToRdata, AcceptsWhatPowerDnsPrints) {
  EXPECT_TRUE(ContentToRdata("a.", rrtype::kAaaa, "2001:DB8:0::1").ok());
  EXPECT_FALSE(ContentToRdata("a.", rrtype::kAaaa, "::ffff:1.2.3.4").ok());
  // Escapes as the client wrote them, PowerDNS keeps them.
  EXPECT_TRUE(ContentToRdata("a.", rrtype::kTxt, "\"\\065\"").ok());
  EXPECT_TRUE(ContentToRdata("a.", rrtype::kCname, "LB.Example.COM.").ok());
  EXPECT_FALSE(ContentToRdata("a.", rrtype::kA, "192.0.2.1\n1.2.3.4").ok());
  EXPECT_FALSE(ContentToRdata("a.", rrtype::kA, "192.0.2.1 ; x").ok());
}

TEST(PdnsJson, ZoneIdsAsPowerDns) {
  EXPECT_EQ(ZoneIdFromName("example.org."), "example.org.");
  EXPECT_EQ(ZoneIdFromName("0/25.2.0.192.in-addr.arpa."),
            "0=2F25.2.0.192.in-addr.arpa.");
  EXPECT_EQ(ZoneIdFromName("."), "=2E");
  EXPECT_EQ(ZoneNameFromId("0=2F25.2.0.192.in-addr.arpa."),
            "0/25.2.0.192.in-addr.arpa.");
  EXPECT_EQ(ZoneNameFromId("example.org"), "example.org");
  EXPECT_FALSE(ZoneNameFromId("a=2").has_value());
  EXPECT_FALSE(ZoneNameFromId("a=2f").has_value());  // uppercase only
  EXPECT_FALSE(ZoneNameFromId("").has_value());
}

TEST(PdnsJson, Json11Layout) {
  EXPECT_EQ(DumpJson(json({{"b", json::array({1, "x"})}, {"a", false}})),
            "{\"a\": false, \"b\": [1, \"x\"]}");
}

TEST_F(PdnsPatchTest, ZoneDocumentAsPowerDns) {
  json doc = ZoneDetailJson(config_, zone_.get(), {});
  EXPECT_EQ(doc["id"], "apps.test.");
  EXPECT_EQ(doc["kind"], "Master");
  EXPECT_EQ(doc["serial"], 100);
  EXPECT_EQ(doc["soa_edit_api"], "INCREASE");
  // As pdns_server lists them: names by wire form read backwards,
  // descending (DNSName::operator<), types by descending number.
  std::vector<std::string> order;
  for (const json& rr : doc["rrsets"]) {
    order.push_back(rr["name"].get<std::string>() + " " +
                    rr["type"].get<std::string>());
  }
  EXPECT_EQ(order, (std::vector<std::string>{
                       "www.apps.test. TXT", "www.apps.test. A",
                       "alias.apps.test. CNAME", "ns1.apps.test. A",
                       "apps.test. SOA", "apps.test. NS"}));
  EXPECT_EQ(doc["rrsets"][0].dump(),
            R"({"comments":[],"name":"www.apps.test.","records":[{"content":"\"hello\"","disabled":false}],"ttl":300,"type":"TXT"})");
  RRsetFilter filter;
  filter.name_wire = Wire("www.apps.test.");
  filter.type = rrtype::kA;
  EXPECT_EQ(ZoneDetailJson(config_, zone_.get(), filter)["rrsets"].size(), 1u);
  filter.rrsets = false;
  EXPECT_FALSE(ZoneDetailJson(config_, zone_.get(), filter).contains("rrsets"));
  control::ZoneConfig secondary = config_;
  secondary.primaries = {"192.0.2.1:53", "[2001:db8::1]:5300"};
  json s = ZoneSummaryJson(secondary, zone_.get());
  EXPECT_EQ(s["kind"], "Slave");
  EXPECT_EQ(s["masters"], json({"192.0.2.1", "[2001:db8::1]:5300"}));
}

}  // namespace
}  // namespace popdns::update
