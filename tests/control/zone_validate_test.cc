// Tests for control/zone_validate.h: zone-level rules (RFC 1034 3.6.2,
// RFC 2181 5.2 and 10.1, RFC 4035 2.5) with exact error and warning text.
#include "control/zonefile/zone_validate.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_file.h"

namespace popdns::control {
namespace {

constexpr char kHead[] =
    "$TTL 300\n"
    "@ SOA ns1 host 1 2 3 4 5\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.1\n";  // lines 1-4

std::string Apex() { return *NameFromText("example.com.", ""); }

std::vector<ZoneRecord> ParseOrDie(std::string_view text) {
  ZoneFileOptions options;
  options.origin_wire = Apex();
  auto records = ParseZoneText(text, "v.zone", options);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.value_or(std::vector<ZoneRecord>{});
}

absl::StatusOr<std::vector<ZoneRecord>> Validate(
    std::string_view body, std::vector<std::string>* warnings = nullptr) {
  return NormalizeAndValidateZone(
      ParseOrDie(std::string(kHead) + std::string(body)), Apex(), warnings);
}

std::string ErrorOf(std::string_view body) {
  auto result = Validate(body);
  if (result.ok()) return "no error";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}

TEST(ZoneValidate, AcceptsMinimalZone) {
  auto result = Validate("");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size(), 3u);
}

TEST(ZoneValidate, DuplicatesCollapseCaseInsensitively) {
  std::vector<std::string> warnings;
  auto result = Validate(
      "www A 192.0.2.1\n"
      "WWW A 192.0.2.1\n"  // same RR, owner case differs
      "www A 192.0.2.2\n"
      "www TXT x\n"
      "www.example.com. A 192.0.2.1\n"
      "www MX 10 Mail.Example.NET.\n"
      "www MX 10 mail.example.net.\n"  // same RR: names compare caselessly
      "www MX 10 mail.example.org.\n",
      &warnings);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 8u);
  EXPECT_EQ((*result)[3].line, 5);  // the first one is kept
  EXPECT_EQ((*result)[4].line, 7);
  EXPECT_EQ((*result)[6].line, 10);
  EXPECT_EQ((*result)[6].rdata, std::string("\0\12\4Mail\7Example\3NET\0", 20));
  EXPECT_EQ((*result)[7].line, 12);
  EXPECT_TRUE(warnings.empty());
}

TEST(ZoneValidate, TtlMismatchUsesFirstTtlAndWarns) {
  // RFC 2181 5.2: all RRs of an RRset have the same TTL.
  std::vector<std::string> warnings;
  auto result = Validate(
      "www 60 A 192.0.2.1\n"
      "www 120 A 192.0.2.2\n"
      "WWW 60 A 192.0.2.3\n"
      "www 120 AAAA 2001:db8::1\n",
      &warnings);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 7u);
  EXPECT_EQ((*result)[4].ttl, 60u);
  EXPECT_EQ((*result)[5].ttl, 60u);
  EXPECT_EQ((*result)[6].ttl, 120u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "v.zone:6: TTL mismatch in www.example.com. A RRset: 120 changed "
            "to 60 (RFC 2181 5.2)");
  // A null warnings pointer is allowed.
  EXPECT_TRUE(Validate("a 1 A 192.0.2.1\na 2 A 192.0.2.2\n").ok());
}

// A secondary stores what it received when validation changed nothing.
TEST(ZoneValidate, ModifiedSaysWhetherTheResultDiffers) {
  auto modified_by = [](std::string_view body) {
    bool modified = true;
    auto result = NormalizeAndValidateZone(
        ParseOrDie(std::string(kHead) + std::string(body)), Apex(), nullptr,
        nullptr, &modified);
    EXPECT_TRUE(result.ok()) << result.status();
    return modified;
  };
  EXPECT_FALSE(modified_by("www A 192.0.2.1\nWWW A 192.0.2.2\nwww TXT x\n"));
  EXPECT_TRUE(modified_by("www A 192.0.2.1\nWWW A 192.0.2.1\n"));
  EXPECT_TRUE(modified_by("www 60 A 192.0.2.1\nwww 120 A 192.0.2.2\n"));
}

TEST(ZoneValidate, RrsigRrsetsArePerCoveredType) {
  // RFC 4034 3: an RRSIG has the TTL of the RRset it covers, so RRSIGs over
  // different types at one owner may differ; over one type they may not.
  std::vector<std::string> warnings;
  auto result = Validate(
      "www 60 A 192.0.2.1\n"
      "www 60 RRSIG A 13 3 60 20250101000000 20241201000000 1 @ AA==\n"
      "www 120 TXT x\n"
      "www 120 RRSIG TXT 13 3 120 20250101000000 20241201000000 1 @ AA==\n"
      "www 90 RRSIG TXT 13 3 120 20250101000000 20241201000000 2 @ AA==\n",
      &warnings);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ((*result)[4].ttl, 60u);
  EXPECT_EQ((*result)[6].ttl, 120u);
  EXPECT_EQ((*result)[7].ttl, 120u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "v.zone:9: TTL mismatch in www.example.com. RRSIG RRset: 90 "
            "changed to 120 (RFC 2181 5.2)");
}

TEST(ZoneValidate, CnameMayCoexistWithRrsigAndNsec) {
  // RFC 4035 2.5.
  EXPECT_EQ(
      ErrorOf("alias CNAME www\n"
              "alias RRSIG CNAME 13 3 300 20250101000000 20241201000000 1 "
              "example.com. AA==\n"
              "alias NSEC z.example.com. CNAME RRSIG NSEC\n"
              "alias CNAME www\n"),  // duplicate, collapses
      "no error");
}

TEST(ZoneValidate, AcceptsOutOfZoneRdataAndDelegations) {
  EXPECT_EQ(ErrorOf("sub NS ns.other.example.\n"
                    "x MX 10 mail.example.net.\n"),
            "no error");
}

struct ErrorCase {
  std::string body;
  std::string message;
};

class ZoneValidateErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ZoneValidateErrorTest, ExactMessage) {
  EXPECT_EQ(ErrorOf(GetParam().body), GetParam().message) << GetParam().body;
}

INSTANTIATE_TEST_SUITE_P(
    Messages, ZoneValidateErrorTest,
    ::testing::Values(
        ErrorCase{
            "www.example.net. A 192.0.2.1\n",
            "v.zone:5: www.example.net. is outside the zone example.com."},
        ErrorCase{"com. A 192.0.2.1\n",
                  "v.zone:5: com. is outside the zone example.com."},
        ErrorCase{"xexample.com. A 192.0.2.1\n",
                  "v.zone:5: xexample.com. is outside the zone example.com."},
        ErrorCase{"www CH TXT x\n",
                  "v.zone:5: class CH not supported (only IN)"},
        ErrorCase{"@ SOA ns2 host 2 2 3 4 5\n",
                  "v.zone:5: more than one SOA (first at line 2)"},
        ErrorCase{"sub SOA ns2 host 2 2 3 4 5\n",
                  "v.zone:5: SOA not at the zone apex example.com."},
        ErrorCase{"www A 192.0.2.1\nwww CNAME x\n",
                  "v.zone:6: CNAME and other data (A) at www.example.com."},
        ErrorCase{"www CNAME x\nWWW TXT y\n",
                  "v.zone:6: CNAME and other data (TXT) at WWW.example.com."},
        ErrorCase{"@ CNAME x\n",
                  "v.zone:5: CNAME and other data (SOA) at example.com."},
        ErrorCase{"www CNAME x\nwww CNAME y\n",
                  "v.zone:6: more than one CNAME at www.example.com."},
        ErrorCase{"d DNAME x\nd DNAME y\n",
                  "v.zone:6: more than one DNAME at d.example.com."},
        ErrorCase{"d DNAME x\nd CNAME y\n",
                  "v.zone:6: CNAME and other data (DNAME) at d.example.com."}));

TEST(ZoneValidate, ApexRecordsRequired) {
  ZoneFileOptions options;
  options.origin_wire = Apex();
  auto no_soa = ParseZoneText("@ NS ns1\n", "v.zone", options);
  EXPECT_EQ(
      NormalizeAndValidateZone(*no_soa, Apex(), nullptr).status().message(),
      "v.zone: no SOA record at the zone apex example.com.");
  auto no_ns = ParseZoneText("@ SOA ns1 host 1 2 3 4 5\nsub NS ns1\n", "v.zone",
                             options);
  EXPECT_EQ(
      NormalizeAndValidateZone(*no_ns, Apex(), nullptr).status().message(),
      "v.zone: no NS records at the zone apex example.com.");
  EXPECT_EQ(NormalizeAndValidateZone({}, Apex(), nullptr).status().message(),
            "zone: no SOA record at the zone apex example.com.");
}

TEST(ZoneValidate, TestdataZonesAreValid) {
  for (const auto& [file, origin] :
       std::vector<std::pair<std::string, std::string>>{
           {"company.example.zone", "example.com."},
           {"features.example.zone", "features.example."},
           {"signed.example.zone", "signed.example."}}) {
    ZoneFileOptions options;
    options.origin_wire = *NameFromText(origin, "");
    auto records =
        ParseZoneFile(std::string(POPDNS_ZONE_TESTDATA) + "/" + file, options);
    ASSERT_TRUE(records.ok()) << records.status();
    std::vector<std::string> warnings;
    auto valid =
        NormalizeAndValidateZone(*records, options.origin_wire, &warnings);
    EXPECT_TRUE(valid.ok()) << valid.status();
    EXPECT_TRUE(warnings.empty()) << file << ": " << warnings.front();
  }
}

// Check mode (popdns --check): every error, the CNAME rule once per owner.
TEST(ZoneValidateCheck, CollectsEveryError) {
  ErrorList errors;
  auto result = NormalizeAndValidateZone(
      ParseOrDie(std::string(kHead) +
                 "out.example.net. A 192.0.2.1\n"     // line 5
                 "c CNAME x\n"                         // line 6
                 "c A 192.0.2.2\n"                     // line 7
                 "c AAAA 2001:db8::1\n"                // line 8: same owner
                 "d CNAME x\n"                         // line 9
                 "d CNAME y\n"                         // line 10
                 "sub SOA ns1 host 1 2 3 4 5\n"),      // line 11
      Apex(), nullptr, &errors);
  EXPECT_EQ(result.status().message(),
            "v.zone:5: out.example.net. is outside the zone example.com.");
  EXPECT_EQ(errors.messages(),
            (std::vector<std::string>{
                "v.zone:5: out.example.net. is outside the zone example.com.",
                "v.zone:11: SOA not at the zone apex example.com.",
                "v.zone:7: CNAME and other data (A) at c.example.com.",
                "v.zone:10: more than one CNAME at d.example.com.",
            }));
}

TEST(ZoneValidateCheck, NoSoaAndNoNsBothReported) {
  ErrorList errors;
  auto result = NormalizeAndValidateZone(ParseOrDie("a A 192.0.2.1\n"),
                                         Apex(), nullptr, &errors);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(errors.messages(),
            (std::vector<std::string>{
                "v.zone: no SOA record at the zone apex example.com.",
                "v.zone: no NS records at the zone apex example.com.",
            }));
}

}  // namespace
}  // namespace popdns::control
