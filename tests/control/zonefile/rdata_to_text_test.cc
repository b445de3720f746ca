// RdataToText (control/zonefile/rdata_to_text.h): every type with a
// printer goes text -> wire (the zone file parser) -> text and comes back
// as written. The texts are what PowerDNS 4.7.3's API printed for the same
// records (its "content"), so a PowerDNS client sees the same strings.
#include "control/zonefile/rdata_to_text.h"

#include <string>

#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "control/zonefile/zone_file.h"
#include "gtest/gtest.h"

namespace popdns::control {
namespace {

// The wire RDATA of one record "<type> <text>", or the parse error.
std::string Wire(const std::string& type, const std::string& text) {
  ZoneFileOptions options;
  options.origin_wire = std::string("\0", 1);
  auto records = ParseZoneText(
      "$ORIGIN .\nx.example. 300 IN " + type + " " + text + "\n", "test",
      options);
  if (!records.ok()) return "error: " + std::string(records.status().message());
  if (records->size() != 1) return "error: not one record";
  return (*records)[0].rdata;
}

struct Case {
  const char* type;
  const char* text;
};

class RoundTrip : public testing::TestWithParam<Case> {};

TEST_P(RoundTrip, TextWireText) {
  const Case& c = GetParam();
  const std::string wire = Wire(c.type, c.text);
  ASSERT_EQ(wire.rfind("error: ", 0), std::string::npos) << wire;
  const auto type = TypeFromText(c.type);
  ASSERT_TRUE(type.has_value());
  EXPECT_EQ(RdataToText(*type, wire), c.text);
}

INSTANTIATE_TEST_SUITE_P(
    PowerDnsContent, RoundTrip,
    testing::Values(
        Case{"A", "192.0.2.1"}, Case{"AAAA", "2001:db8::1"},
        Case{"AAAA", "::ffff:192.0.2.1"}, Case{"NS", "ns.example.com."},
        Case{"CNAME", "lb.example.com."}, Case{"PTR", "ptr.example.com."},
        Case{"DNAME", "target.example.com."},
        Case{"SOA",
             "ns1.example.net. hostmaster.example.net. 1 3600 600 86400 300"},
        Case{"MX", "10 mail.example.com."}, Case{"MX", "0 ."},
        Case{"TXT", "\"hello world\""}, Case{"TXT", "\"\""},
        Case{"TXT", "\"x\" \"y\""}, Case{"TXT", "\"a\\\"b\""},
        Case{"TXT", "\"a\\\\b\" \"tab\\009x\" \"utf\\195\\169\" \"semi;colon\""},
        Case{"SPF", "\"v=spf1 -all\""},
        Case{"CAA", "0 issue \"letsencrypt.org\""},
        Case{"CAA", "128 iodef \"mailto:a@b.c\""},
        Case{"CAA", "0 issuewild \";\""},
        Case{"SRV", "0 5 5060 sip.example.com."},
        Case{"DS", "12345 13 2 3ab8e0b5e5c2e0b6f1f5c0a3f7e3a9c1d2b4e6f8a0c2e4f6a8"
                   "b0c2d4e6f8a0c2"},
        Case{"CDS", "0 0 0 00"},
        Case{"SSHFP", "1 2 abcdef0123456789abcdef0123456789abcdef0123456789ab"
                      "cdef0123456789"},
        Case{"TLSA", "3 1 1 abcdef0123456789abcdef0123456789abcdef0123456789a"
                     "bcdef0123456789"},
        Case{"SMIMEA", "3 1 1 abcd"},
        Case{"NAPTR",
             "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" ."},
        Case{"HINFO", "\"PC\" \"Linux\""},
        Case{"DNSKEY", "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJ"
                       "xpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="},
        Case{"CDNSKEY", "0 3 0 AA=="},
        Case{"RRSIG", "A 13 3 300 20240101000000 20231201000000 12345 "
                      "apps.example.net. mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjn"
                      "opKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="},
        Case{"NSEC", "next.apps.example.net. A MX RRSIG NSEC TYPE65400"},
        Case{"NSEC3", "1 1 10 abcd 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"},
        Case{"NSEC3PARAM", "1 0 10 abcd"}, Case{"NSEC3PARAM", "1 0 0 -"},
        Case{"OPENPGPKEY", "AQID"},
        Case{"DHCID", "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="},
        Case{"CSYNC", "66 3 A NS AAAA"},
        Case{"ZONEMD", "2018031500 1 1 febe3d4ce2ec2ffa4ba99d46cd69d6d29711e5"
                       "5217057bee7eb1a7b641a47ba7fed2dd5b97ae499fafa4f22c6bd6"
                       "47de"},
        Case{"LOC", "51 30 12.748 N 0 7 39.611 W 0.00m 1.00m 10000.00m 10.00m"},
        Case{"LOC", "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10.00m 10.00m"},
        Case{"URI", "10 1 \"https://example.com/\""},
        Case{"RP", "admin.example.com. txt.example.com."},
        Case{"AFSDB", "1 afs.example.com."}, Case{"KX", "10 kx.example.com."},
        Case{"SVCB", "0 svc.example.com."},
        Case{"HTTPS", "1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.1 "
                      "ech=\"AAA=\" ipv6hint=2001:db8::1"},
        Case{"HTTPS", "1 . mandatory=alpn,port alpn=h3 no-default-alpn "
                      "port=443"},
        Case{"TYPE65400", "\\# 2 abcd"}, Case{"TYPE65402", "\\# 0"}));

TEST(RdataToText, NamesAreAbsoluteAndEscaped) {
  EXPECT_EQ(RdataToText(2, std::string("\0", 1)), ".");
  EXPECT_EQ(RdataToText(5, std::string("\3a.b\3com\0", 9)), "a\\.b.com.");
}

TEST(RdataToText, MalformedRdataIsGeneric) {
  EXPECT_EQ(RdataToText(1, std::string("\xc0\x00\x02", 3)), "\\# 3 c00002");
  EXPECT_EQ(RdataToText(15, std::string("\0\x0a\3com", 6)),
            "\\# 6 000a03636f6d");  // name without its root label
  EXPECT_EQ(RdataToText(16, ""), "\\# 0");
  EXPECT_EQ(RdataToText(28, std::string(17, '\0')).rfind("\\# 17 ", 0), 0u);
}

TEST(QuoteCharString, EscapesAsPowerDns) {
  EXPECT_EQ(QuoteCharString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(QuoteCharString(std::string("\0\x7f\xff ", 4)),
            "\"\\000\\127\\255 \"");
}

}  // namespace
}  // namespace popdns::control

namespace popdns::control {
namespace {

// App-aware answers (dataplane/zone/variant.h): VARIANT's text form,
// its wire form, and what is refused with a reason.
TEST(VariantText, RoundTripAndWire) {
  for (const char* text : {"net:eu A 198.51.100.10", "pop:fra1 AAAA 2001:db8::5",
                           "net:us-east TXT \"hello\" \"world\"",
                           "cc:DE A 198.51.100.11", "asn:64500 A 198.51.100.12",
                           "asn:4294967295 AAAA 2001:db8::6"}) {
    const std::string wire = Wire("VARIANT", text);
    ASSERT_EQ(wire.rfind("error: ", 0), std::string::npos) << wire;
    EXPECT_EQ(RdataToText(65350, wire), text);
  }
  EXPECT_EQ(Wire("VARIANT", "net:eu A 198.51.100.10"),
            std::string("\x06net:eu\x00\x01\xc6\x33\x64\x0a", 13));
  // Other primaries write it as generic RDATA: the same bytes.
  EXPECT_EQ(Wire("TYPE65350", "\\# 13 066e65743a6575 0001 c633640a"),
            Wire("VARIANT", "net:eu A 198.51.100.10"));
}

TEST(VariantText, RefusedWithAReason) {
  EXPECT_NE(Wire("VARIANT", "eu A 192.0.2.1").find(
                "expected net:NAME, asn:NUMBER, cc:CODE (two letters) or "
                "pop:NAME"),
            std::string::npos);
  for (const char* bad : {"cc:DEU", "cc:D1", "asn:064500", "asn:4294967296",
                          "asn:AS1", "asn:"}) {
    EXPECT_NE(Wire("VARIANT", std::string(bad) + " A 192.0.2.1")
                  .find("expected net:NAME"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(Wire("VARIANT", "net: A 192.0.2.1").find("expected net:NAME"),
            std::string::npos);
  EXPECT_NE(Wire("VARIANT", "net:eu MX 10 mail.example.").find(
                "only A, AAAA and TXT answers vary"),
            std::string::npos);
  EXPECT_EQ(Wire("VARIANT", "net:eu A 300.1.1.1").rfind("error: ", 0), 0u);
  EXPECT_NE(Wire("VARIANT", "net:eu A").find("VARIANT needs"), std::string::npos);
  EXPECT_NE(Wire("TYPE65350", "\\# 3 01 0203").find("not valid VARIANT"),
            std::string::npos);
}

}  // namespace
}  // namespace popdns::control
