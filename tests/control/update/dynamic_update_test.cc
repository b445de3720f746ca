// RFC 2136 UPDATE evaluation (control/update/dynamic_update.h): the zone
// section (3.1), prerequisites (3.2), the per-key policy (3.3), the
// prescan (3.4.1) and the update's semantics (3.4.2), each case citing
// the section it checks. What the resulting change does to answers is
// the incremental builder's (its property tests); here: which rcode, and
// which records the change removes and adds.
#include "control/update/dynamic_update.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_file.h"
#include "dataplane/dns/wire.h"
#include "gtest/gtest.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::update {
namespace {

using control::NameFromText;
using control::ZoneRecord;
using dns::Rcode;
namespace rrtype = dns::rrtype;
namespace rrclass = dns::rrclass;

constexpr char kZone[] = R"($ORIGIN apps.test.
$TTL 300
@      IN SOA ns1.apps.test. hostmaster.apps.test. 100 3600 600 86400 300
@      IN NS  ns1.apps.test.
@      IN NS  ns2.apps.test.
ns1    IN A   192.0.2.53
ns2    IN A   192.0.2.54
www    IN A   192.0.2.1
www    IN A   192.0.2.2
www    IN TXT "hello"
alias  IN CNAME www
mail   IN MX  10 www
other.test. IN A 192.0.2.99
)";

std::string Wire(const std::string& name) {
  return *NameFromText(name, "");
}

class DynamicUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text = kZone;
    // The last line is outside the zone: only for NOTZONE owners below.
    text = text.substr(0, text.find("other.test."));
    auto z = testutil::MakeZone({"apps.test.", text}, /*updatable=*/true);
    ASSERT_TRUE(z.ok()) << z.status();
    zone_ = *z;
    config_.name = "apps.test.";
    config_.update.push_back({"navigator", "tenant.apps.test.",
                              {rrtype::kA, rrtype::kTxt, rrtype::kCname}, ""});
    config_.update.push_back({"admin", "apps.test.", {}, ""});
    msg_.qdcount = 1;
    msg_.qname = Wire("apps.test.");
    msg_.qtype = rrtype::kSoa;
    msg_.qclass = rrclass::kIn;
  }

  // One RR for the prerequisite or update section.
  static ZoneRecord Rr(const std::string& owner, uint16_t rclass,
                       uint32_t ttl, const std::string& type,
                       const std::string& rdata = "") {
    ZoneRecord r;
    r.owner = Wire(owner);
    r.rclass = rclass;
    r.ttl = ttl;
    // The zone file parser knows data types only; ANY is a QTYPE.
    r.type = type == "ANY" ? rrtype::kAny : *control::TypeFromText(type);
    if (!rdata.empty()) {
      control::ZoneFileOptions options;
      options.origin_wire = Wire("apps.test.");
      auto parsed = control::ParseZoneText(
          absl::StrCat(owner, " 1 IN ", type, " ", rdata, "\n"), "rr",
          options);
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      if (parsed.ok()) r.rdata = (*parsed)[0].rdata;
    }
    return r;
  }
  ZoneRecord Add(const std::string& owner, const std::string& type,
                 const std::string& rdata, uint32_t ttl = 60) {
    return Rr(owner, rrclass::kIn, ttl, type, rdata);
  }

  UpdateResult Run(const std::string& key = "navigator.", uint32_t now = 0) {
    return EvaluateUpdate(*zone_, config_, msg_,
                          key.empty() ? "" : Wire(key), now);
  }

  static uint8_t Code(Rcode r) { return static_cast<uint8_t>(r); }

  std::shared_ptr<const zone::Zone> zone_;
  control::ZoneConfig config_;
  xfr::Message msg_;
};

// ---- 3.1: the zone section ----

TEST_F(DynamicUpdateTest, ZoneSectionMustHoldOneSoa) {
  msg_.qdcount = 0;
  EXPECT_EQ(Run().rcode, Code(Rcode::kFormErr));  // 3.1.1
  msg_.qdcount = 1;
  msg_.qtype = rrtype::kA;
  EXPECT_EQ(Run().rcode, Code(Rcode::kFormErr));  // 3.1.1: ZTYPE must be SOA
}

TEST_F(DynamicUpdateTest, ZoneNotServedIsNotAuth) {
  msg_.qname = Wire("tenant.apps.test.");  // 3.1.2: not a zone apex here
  EXPECT_EQ(Run().rcode, Code(Rcode::kNotAuth));
}

// ---- 3.3: permission ----

TEST_F(DynamicUpdateTest, ZoneWithoutPolicyIsNotAuthForUpdates) {
  // As knotd answers an UPDATE that no ACL allows.
  config_.update.clear();
  msg_.authority.push_back(Add("a.tenant.apps.test.", "A", "198.51.100.1"));
  EXPECT_EQ(Run().rcode, Code(Rcode::kNotAuth));
}

TEST_F(DynamicUpdateTest, UnsignedIsRefused) {
  msg_.authority.push_back(Add("a.tenant.apps.test.", "A", "198.51.100.1"));
  EXPECT_EQ(Run("").rcode, Code(Rcode::kRefused));
}

TEST_F(DynamicUpdateTest, KeyLimitedToItsSubtreeAndTypes) {
  msg_.authority.push_back(Add("www.apps.test.", "A", "198.51.100.1"));
  EXPECT_EQ(Run().rcode, Code(Rcode::kRefused));  // outside the subtree
  msg_.authority.clear();
  msg_.authority.push_back(Add("a.tenant.apps.test.", "MX", "10 mx.test."));
  EXPECT_EQ(Run().rcode, Code(Rcode::kRefused));  // type not granted
  msg_.authority.clear();
  msg_.authority.push_back(Add("a.TENANT.apps.test.", "A", "198.51.100.1"));
  const UpdateResult ok = Run("NAVIGATOR.");  // names compare without case
  EXPECT_EQ(ok.rcode, 0) << ok.reason;
  ASSERT_TRUE(ok.change.has_value());
  EXPECT_EQ(ok.change->added.size(), 1u);
}

TEST_F(DynamicUpdateTest, RuleWithoutTypesGrantsAllButSoaAndDnssec) {
  msg_.authority.push_back(Add("x.apps.test.", "MX", "10 mx.test."));
  EXPECT_EQ(Run("admin.").rcode, 0);
  msg_.authority.clear();
  msg_.authority.push_back(Add("x.apps.test.", "SOA",
                               "ns1 hostmaster 200 3600 600 86400 300"));
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kRefused));
}

TEST_F(DynamicUpdateTest, OneForbiddenRecordRefusesTheWholeUpdate) {
  // 3.3 + 3.4: all of it or nothing.
  msg_.authority.push_back(Add("a.tenant.apps.test.", "A", "198.51.100.1"));
  msg_.authority.push_back(Add("www.apps.test.", "A", "198.51.100.2"));
  const UpdateResult r = Run();
  EXPECT_EQ(r.rcode, Code(Rcode::kRefused));
  EXPECT_FALSE(r.change.has_value());
}

TEST_F(DynamicUpdateTest, DeletingANameNeedsEveryTypeItHolds) {
  config_.update.push_back({"navigator", "apps.test.", {rrtype::kA}, ""});
  // www holds A and TXT; the key has only A there.
  msg_.authority.push_back(Rr("www.apps.test.", rrclass::kAny, 0, "ANY"));
  EXPECT_EQ(Run().rcode, Code(Rcode::kRefused));
}

// ---- 3.2: prerequisites ----

TEST_F(DynamicUpdateTest, NameInUse) {
  msg_.answer.push_back(Rr("www.apps.test.", rrclass::kAny, 0, "ANY"));
  EXPECT_EQ(Run("admin.").rcode, 0);  // 3.2.1
  msg_.answer[0] = Rr("nope.apps.test.", rrclass::kAny, 0, "ANY");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kNxDomain));  // 3.2.1
}

TEST_F(DynamicUpdateTest, RRsetExistsValueIndependent) {
  msg_.answer.push_back(Rr("www.apps.test.", rrclass::kAny, 0, "TXT"));
  EXPECT_EQ(Run("admin.").rcode, 0);  // 3.2.1
  msg_.answer[0] = Rr("www.apps.test.", rrclass::kAny, 0, "AAAA");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kNxRrset));  // 3.2.1
}

TEST_F(DynamicUpdateTest, NameNotInUse) {
  msg_.answer.push_back(Rr("nope.apps.test.", rrclass::kNone, 0, "ANY"));
  EXPECT_EQ(Run("admin.").rcode, 0);  // 3.2.2
  msg_.answer[0] = Rr("www.apps.test.", rrclass::kNone, 0, "ANY");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kYxDomain));  // 3.2.2
}

TEST_F(DynamicUpdateTest, RRsetDoesNotExist) {
  msg_.answer.push_back(Rr("www.apps.test.", rrclass::kNone, 0, "AAAA"));
  EXPECT_EQ(Run("admin.").rcode, 0);  // 3.2.2
  msg_.answer[0] = Rr("www.apps.test.", rrclass::kNone, 0, "A");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kYxRrset));  // 3.2.2
}

TEST_F(DynamicUpdateTest, RRsetExistsValueDependent) {
  // 3.2.3: the whole RRset, in any order, TTL 0.
  msg_.answer.push_back(Rr("www.apps.test.", rrclass::kIn, 0, "A", "192.0.2.2"));
  msg_.answer.push_back(Rr("www.apps.test.", rrclass::kIn, 0, "A", "192.0.2.1"));
  EXPECT_EQ(Run("admin.").rcode, 0);
  msg_.answer.pop_back();  // a subset is not the RRset
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kNxRrset));
  // Names inside RDATA compare without case (RFC 4343).
  msg_.answer.clear();
  msg_.answer.push_back(
      Rr("alias.apps.test.", rrclass::kIn, 0, "CNAME", "WWW.apps.test."));
  EXPECT_EQ(Run("admin.").rcode, 0);
}

TEST_F(DynamicUpdateTest, MalformedPrerequisites) {
  msg_.answer.push_back(Rr("www.apps.test.", rrclass::kAny, 60, "A"));
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // 3.2: TTL 0
  msg_.answer[0] = Rr("www.apps.test.", rrclass::kAny, 0, "A");
  msg_.answer[0].rdata = std::string("\xc0\x00\x02\x01", 4);
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // 3.2.1: no RDATA
  msg_.answer[0] = Rr("www.apps.test.", 3, 0, "A");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // 3.2.4: class
  msg_.answer[0] = Rr("www.other.test.", rrclass::kAny, 0, "A");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kNotZone));  // 3.2.5
}

// ---- 3.4.1: prescan ----

TEST_F(DynamicUpdateTest, PrescanRejectsWhatIsNotAnUpdate) {
  msg_.authority.push_back(Add("www.other.test.", "A", "198.51.100.1"));
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kNotZone));  // 3.4.1.3
  msg_.authority[0] = Rr("www.apps.test.", rrclass::kIn, 60, "ANY");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // meta type
  msg_.authority[0] = Rr("www.apps.test.", rrclass::kAny, 60, "A");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // ANY with a TTL
  msg_.authority[0] = Rr("www.apps.test.", rrclass::kNone, 60, "A", "192.0.2.1");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // NONE with a TTL
  msg_.authority[0] = Rr("www.apps.test.", 3, 60, "A", "192.0.2.1");
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));  // class CH
  msg_.authority[0] = Add("www.apps.test.", "A", "192.0.2.1");
  msg_.authority[0].rdata = "abc";  // an A is 4 octets
  EXPECT_EQ(Run("admin.").rcode, Code(Rcode::kFormErr));
}

// ---- 3.4.2: the update ----

TEST_F(DynamicUpdateTest, AddMovesTheSerialOnce) {
  msg_.authority.push_back(Add("a.tenant.apps.test.", "A", "198.51.100.1"));
  msg_.authority.push_back(Add("a.tenant.apps.test.", "TXT", "\"x\""));
  const UpdateResult r = Run();
  ASSERT_EQ(r.rcode, 0) << r.reason;
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->from(), 100u);
  EXPECT_EQ(r.change->to(), 101u);
  EXPECT_EQ(r.change->added.size(), 2u);
  EXPECT_TRUE(r.change->removed.empty());
}

TEST_F(DynamicUpdateTest, UnixtimeSerialPolicy) {
  config_.serial_policy = control::SerialPolicy::kUnixtime;
  msg_.authority.push_back(Add("a.tenant.apps.test.", "A", "198.51.100.1"));
  EXPECT_EQ(Run("navigator.", 1800000000).change->to(), 1800000000u);
  // A clock behind the serial still moves it forward (RFC 1982).
  EXPECT_EQ(Run("navigator.", 50).change->to(), 101u);
}

TEST_F(DynamicUpdateTest, NothingChangedKeepsTheSerial) {
  msg_.authority.push_back(Add("www.apps.test.", "A", "192.0.2.1", 300));
  const UpdateResult r = Run("admin.");
  EXPECT_EQ(r.rcode, 0);
  EXPECT_FALSE(r.change.has_value());
}

TEST_F(DynamicUpdateTest, ExistingRecordKeepsItsTtl) {
  // As knotd: a record already there is ignored, its TTL too.
  msg_.authority.push_back(Add("www.apps.test.", "A", "192.0.2.1", 60));
  EXPECT_FALSE(Run("admin.").change.has_value());
}

TEST_F(DynamicUpdateTest, NewTtlAppliesToTheRRset) {
  msg_.authority.push_back(Add("www.apps.test.", "A", "192.0.2.3", 60));
  const UpdateResult r = Run("admin.");
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->removed.size(), 2u);  // .1 and .2 at TTL 300
  EXPECT_EQ(r.change->added.size(), 3u);    // .1 .2 .3 at TTL 60
  for (const ZoneRecord& a : r.change->added) EXPECT_EQ(a.ttl, 60u);
}

TEST_F(DynamicUpdateTest, CnameConflictsAreIgnored) {
  // 3.4.2.2: other data at a CNAME, a CNAME at other data: ignored.
  msg_.authority.push_back(Add("alias.apps.test.", "A", "198.51.100.1"));
  msg_.authority.push_back(Add("www.apps.test.", "CNAME", "alias.apps.test."));
  const UpdateResult r = Run("admin.");
  EXPECT_EQ(r.rcode, 0);
  EXPECT_FALSE(r.change.has_value());
  // A CNAME replaces the name's CNAME.
  msg_.authority.clear();
  msg_.authority.push_back(Add("alias.apps.test.", "CNAME", "mail.apps.test."));
  const UpdateResult c = Run("admin.");
  ASSERT_TRUE(c.change.has_value());
  EXPECT_EQ(c.change->removed.size(), 1u);
  EXPECT_EQ(c.change->added.size(), 1u);
}

TEST_F(DynamicUpdateTest, DeleteRRsetAndName) {
  msg_.authority.push_back(Rr("www.apps.test.", rrclass::kAny, 0, "A"));
  UpdateResult r = Run("admin.");
  ASSERT_TRUE(r.change.has_value());  // 3.4.2.3
  EXPECT_EQ(r.change->removed.size(), 2u);
  msg_.authority[0] = Rr("www.apps.test.", rrclass::kAny, 0, "ANY");
  r = Run("admin.");
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->removed.size(), 3u);  // both A and the TXT
}

TEST_F(DynamicUpdateTest, ApexKeepsSoaAndNs) {
  // 3.4.2.3: SOA and NS at the apex are not deleted by RRset or name
  // deletions; 3.4.2.4: nor the apex's last NS.
  msg_.authority.push_back(Rr("apps.test.", rrclass::kAny, 0, "ANY"));
  msg_.authority.push_back(Rr("apps.test.", rrclass::kAny, 0, "NS"));
  msg_.authority.push_back(Rr("apps.test.", rrclass::kAny, 0, "SOA"));
  EXPECT_FALSE(Run("admin.").change.has_value());
  msg_.authority.clear();
  msg_.authority.push_back(
      Rr("apps.test.", rrclass::kNone, 0, "NS", "ns1.apps.test."));
  msg_.authority.push_back(
      Rr("apps.test.", rrclass::kNone, 0, "NS", "ns2.apps.test."));
  const UpdateResult r = Run("admin.");
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->removed.size(), 1u);  // one NS stays
}

TEST_F(DynamicUpdateTest, DeleteOneRecord) {
  msg_.authority.push_back(
      Rr("www.apps.test.", rrclass::kNone, 0, "A", "192.0.2.2"));
  const UpdateResult r = Run("admin.");
  ASSERT_TRUE(r.change.has_value());  // 3.4.2.4
  ASSERT_EQ(r.change->removed.size(), 1u);
  EXPECT_EQ(r.change->removed[0].rdata, std::string("\xc0\x00\x02\x02", 4));
}

TEST_F(DynamicUpdateTest, UpdatesApplyInOrder) {
  // 3.4.2: each on the result of the ones before: add then delete = none.
  msg_.authority.push_back(Add("a.tenant.apps.test.", "A", "198.51.100.1"));
  msg_.authority.push_back(Rr("a.tenant.apps.test.", rrclass::kAny, 0, "A"));
  EXPECT_FALSE(Run().change.has_value());
}

TEST_F(DynamicUpdateTest, SoaIsReplacedOnlyByANewerOne) {
  msg_.authority.push_back(
      Add("apps.test.", "SOA", "ns1 hostmaster 90 3600 600 86400 300"));
  config_.update.push_back({"navigator", "apps.test.", {rrtype::kSoa}, ""});
  EXPECT_FALSE(Run().change.has_value());  // 3.4.2.2: older serial ignored
  msg_.authority[0] =
      Add("apps.test.", "SOA", "ns1 hostmaster 500 3600 600 86400 300");
  const UpdateResult r = Run();
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->to(), 500u);
}

TEST_F(DynamicUpdateTest, RRsetLargerThanAMessageIsRefused) {
  for (int i = 0; i < 300; ++i) {
    msg_.authority.push_back(Add("big.tenant.apps.test.", "TXT",
                                 absl::StrCat("\"", std::string(240, 'x'), i,
                                              "\"")));
  }
  const UpdateResult r = Run();
  EXPECT_EQ(r.rcode, Code(Rcode::kRefused));
  EXPECT_NE(r.reason.find("64 KB"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace popdns::update
