// Tests for control/zone_file.h, control/rdata_text.h, control/name_text.h:
// every syntax feature, every RDATA text format, every error message (exact
// "file:line:col: what" text).
#include "control/zonefile/zone_file.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"

namespace popdns::control {
namespace {

// "example.com." in wire format, as hex.
constexpr char kExampleHex[] = "076578616d706c6503636f6d00";

std::string Wire(std::string_view name) {
  absl::StatusOr<std::string> wire = NameFromText(name, "");
  EXPECT_TRUE(wire.ok()) << wire.status();
  return wire.value_or("");
}

std::string Hex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

ZoneFileOptions Options() {
  ZoneFileOptions options;
  options.origin_wire = Wire("example.com.");
  return options;
}

std::vector<ZoneRecord> Parse(std::string_view text,
                              ZoneFileOptions options = Options()) {
  auto records = ParseZoneText(text, "t.zone", options);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.value_or(std::vector<ZoneRecord>{});
}

// RDATA of the only record in `text`, as hex.
std::string RdataHex(std::string_view text) {
  std::vector<ZoneRecord> records = Parse(text);
  if (records.size() != 1) {
    ADD_FAILURE() << "expected one record from: " << text;
    return "";
  }
  return Hex(records[0].rdata);
}

std::string ErrorOf(std::string_view text,
                    ZoneFileOptions options = Options()) {
  auto records = ParseZoneText(text, "t.zone", options);
  if (records.ok()) return "no error";
  EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(records.status().message());
}

// ---- name_text.h ----

TEST(NameText, FromTextRelativeAbsoluteAtAndRoot) {
  std::string origin = Wire("example.com.");
  EXPECT_EQ(Hex(*NameFromText("www", origin)),
            "03777777" + std::string(kExampleHex));
  EXPECT_EQ(Hex(*NameFromText("www.example.com.", "")),
            "03777777" + std::string(kExampleHex));
  EXPECT_EQ(*NameFromText("@", origin), origin);
  EXPECT_EQ(*NameFromText(".", origin), std::string(1, '\0'));
  EXPECT_EQ(*NameFromText("WwW.Example.COM.", ""),
            std::string("\3WwW\7Example\3COM\0", 17));
}

TEST(NameText, Escapes) {
  EXPECT_EQ(*NameFromText("a\\.b.", ""), std::string("\3a.b\0", 5));
  EXPECT_EQ(*NameFromText("a\\032b.", ""), std::string("\3a b\0", 5));
  EXPECT_EQ(*NameFromText("\\\\.", ""), std::string("\1\\\0", 3));
  EXPECT_EQ(NameFromText("a\\256.", "").status().message(),
            "bad \\DDD escape in name 'a\\256.'");
  EXPECT_EQ(NameFromText("a\\", "").status().message(),
            "dangling '\\' in name 'a\\'");
}

TEST(NameText, Limits) {
  std::string label63(63, 'a');
  EXPECT_TRUE(NameFromText(label63 + ".", "").ok());
  EXPECT_EQ(NameFromText(label63 + "a.", "").status().message(),
            "label longer than 63 octets in name '" + label63 + "a.'");
  // 4 labels of 63 octets (+1 length octet each) plus the root: 257 octets.
  std::string name =
      label63 + "." + label63 + "." + label63 + "." + label63 + ".";
  EXPECT_EQ(NameFromText(name, "").status().message(),
            "name longer than 255 octets: '" + name + "'");
  // 3 x 64 + 62 + 1 + 1 = 255 octets exactly.
  std::string max = label63 + "." + label63 + "." + label63 + "." +
                    std::string(61, 'b') + ".";
  EXPECT_EQ(NameFromText(max, "")->size(), 255u);
  EXPECT_EQ(NameFromText("a..b.", "").status().message(),
            "empty label in name 'a..b.'");
  EXPECT_EQ(NameFromText("a", "").status().message(),
            "relative name 'a' with no origin set");
  EXPECT_EQ(NameFromText("@", "").status().message(),
            "'@' used with no origin set");
}

TEST(NameText, ToText) {
  EXPECT_EQ(NameToText(Wire("www.example.com.")), "www.example.com.");
  EXPECT_EQ(NameToText(std::string(1, '\0')), ".");
  EXPECT_EQ(NameToText(std::string("\4a.b \0", 6)), "a\\.b\\032.");
  EXPECT_EQ(NameToText(std::string("\3a;\x80\0", 5)), "a\\;\\128.");
}

TEST(NameText, AtOrBelowAndLower) {
  std::string apex = Wire("example.com.");
  EXPECT_TRUE(NameIsAtOrBelow(Wire("EXAMPLE.com."), apex));
  EXPECT_TRUE(NameIsAtOrBelow(Wire("a.b.Example.com."), apex));
  EXPECT_FALSE(NameIsAtOrBelow(Wire("xexample.com."), apex));
  EXPECT_FALSE(NameIsAtOrBelow(Wire("com."), apex));
  EXPECT_FALSE(NameIsAtOrBelow(Wire("example.net."), apex));
  EXPECT_EQ(NameToLower(Wire("WwW.ExAmPlE.")), Wire("www.example."));
}

TEST(NameText, Types) {
  EXPECT_EQ(TypeFromText("A"), 1);
  EXPECT_EQ(TypeFromText("mx"), 15);
  EXPECT_EQ(TypeFromText("Https"), 65);
  EXPECT_EQ(TypeFromText("TYPE123"), 123);
  EXPECT_EQ(TypeFromText("type1"), 1);
  EXPECT_EQ(TypeFromText("TYPE65536"), std::nullopt);
  EXPECT_EQ(TypeFromText("TYPE"), std::nullopt);
  EXPECT_EQ(TypeFromText("FOO"), std::nullopt);
  EXPECT_EQ(TypeToText(46), "RRSIG");
  EXPECT_EQ(TypeToText(65280), "TYPE65280");
  EXPECT_EQ(ClassFromText("in"), 1);
  EXPECT_EQ(ClassFromText("CH"), 3);
  EXPECT_EQ(ClassFromText("CLASS254"), 254);
  EXPECT_EQ(ClassFromText("IX"), std::nullopt);
}

TEST(RdataText, TtlUnits) {
  uint32_t ttl = 0;
  EXPECT_TRUE(ParseTtlText("3600", &ttl));
  EXPECT_EQ(ttl, 3600u);
  EXPECT_TRUE(ParseTtlText("1h30m", &ttl));
  EXPECT_EQ(ttl, 5400u);
  EXPECT_TRUE(ParseTtlText("1W2d", &ttl));
  EXPECT_EQ(ttl, 9u * 86400);
  EXPECT_TRUE(ParseTtlText("1H30M15S", &ttl));
  EXPECT_EQ(ttl, 5415u);
  EXPECT_TRUE(ParseTtlText("1h30", &ttl));
  EXPECT_EQ(ttl, 3630u);
  EXPECT_TRUE(ParseTtlText("4294967295", &ttl));
  EXPECT_FALSE(ParseTtlText("4294967296", &ttl));
  EXPECT_FALSE(ParseTtlText("", &ttl));
  EXPECT_FALSE(ParseTtlText("h", &ttl));
  EXPECT_FALSE(ParseTtlText("1x", &ttl));
  EXPECT_FALSE(ParseTtlText("1hh", &ttl));
}

// ---- Entry syntax ----

TEST(ZoneFile, OwnerTtlClassForms) {
  std::vector<ZoneRecord> r = Parse(
      "a 100 IN A 192.0.2.1\n"
      "b IN 200 A 192.0.2.2\n"
      "c A 192.0.2.3\n"
      "  300 TXT x\n"  // omitted owner: previous (c)
      "\tCH TXT y\n"
      "@ 1h30m A 192.0.2.4\n"
      "d.example.net. A 192.0.2.5\n");
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].owner, Wire("a.example.com."));
  EXPECT_EQ(r[0].ttl, 100u);
  EXPECT_EQ(r[1].ttl, 200u);
  EXPECT_EQ(r[2].ttl, 3600u);  // default_ttl, no $TTL
  EXPECT_EQ(r[3].owner, Wire("c.example.com."));
  EXPECT_EQ(r[3].ttl, 300u);
  EXPECT_EQ(r[3].type, 16);
  EXPECT_EQ(r[4].rclass, 3);
  EXPECT_EQ(r[4].ttl, 3600u);  // not the previous record's TTL (Knot rule)
  EXPECT_EQ(r[5].owner, Wire("example.com."));
  EXPECT_EQ(r[5].ttl, 5400u);
  EXPECT_EQ(r[6].owner, Wire("d.example.net."));
  EXPECT_EQ(r[6].line, 7);
  EXPECT_EQ(r[6].file, "t.zone");
  EXPECT_EQ(r[0].rclass, 1);
}

TEST(ZoneFile, DefaultTtlOptionAndTtlDirective) {
  ZoneFileOptions options = Options();
  options.default_ttl = 42;
  std::vector<ZoneRecord> r = Parse(
      "a A 192.0.2.1\n"
      "$TTL 1d\n"
      "b A 192.0.2.2\n"
      "c 5 A 192.0.2.3\n"
      "d A 192.0.2.4\n",
      options);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].ttl, 42u);
  EXPECT_EQ(r[1].ttl, 86400u);
  EXPECT_EQ(r[2].ttl, 5u);
  EXPECT_EQ(r[3].ttl, 86400u);
}

TEST(ZoneFile, OriginDirective) {
  std::vector<ZoneRecord> r = Parse(
      "$ORIGIN sub\n"  // relative to the current origin
      "a A 192.0.2.1\n"
      "$origin other.example.\n"  // directives are case-insensitive
      "b CNAME a\n"
      "@ A 192.0.2.2\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].owner, Wire("a.sub.example.com."));
  EXPECT_EQ(r[1].owner, Wire("b.other.example."));
  EXPECT_EQ(r[1].rdata, Wire("a.other.example."));
  EXPECT_EQ(r[2].owner, Wire("other.example."));
}

TEST(ZoneFile, ParenthesesCommentsAndBlankLines) {
  std::vector<ZoneRecord> r = Parse(
      "; leading comment\n"
      "\n"
      "@ IN SOA ns1 host ( ; comment inside\n"
      "   1   ; serial\n"
      "   2h 30m\r\n"
      "   ( 1w ) 60 )  ; nested parentheses\n"
      "   \t \n"
      "x TXT \"a;b\" ( \"c\" ) d\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(Hex(r[0].rdata), "036e7331" + std::string(kExampleHex) +
                                 "04686f7374" + kExampleHex +
                                 "00000001"
                                 "00001c20"
                                 "00000708"
                                 "00093a80"
                                 "0000003c");
  EXPECT_EQ(r[0].line, 3);
  EXPECT_EQ(Hex(r[1].rdata),
            "03613b62"
            "0163"
            "0164");
  EXPECT_EQ(r[1].line, 8);
}

TEST(ZoneFile, QuotedStringsAndEscapes) {
  EXPECT_EQ(RdataHex("a TXT \"\\\"q\\\\ \\065\\066x\" \"\" un\\032quoted\n"),
            "07"
            "22715c20414278"
            "00"
            "09756e2071756f746564");
  EXPECT_EQ(RdataHex("a TXT \"with ( paren ) and ; semi\"\n"),
            "19" + Hex("with ( paren ) and ; semi"));
  EXPECT_EQ(RdataHex("a\\.b\\032c A 192.0.2.1\n"), "c0000201");
  EXPECT_EQ(Parse("a\\.b\\032c A 192.0.2.1\n")[0].owner,
            std::string("\5a.b c", 6) + Wire("example.com."));
  EXPECT_EQ(RdataHex("a TXT \"" + std::string(255, 'x') + "\"\n").size(),
            2u * 256);
}

TEST(ZoneFile, GenericTypesAndRdata) {
  std::vector<ZoneRecord> r = Parse(
      "a TYPE65280 \\# 4 0A000001\n"
      "a TYPE65281 \\# 0\n"
      "a A \\# 4 C0 00 02 08\n"
      "a type16 \\# ( 3\n 02 6869 )\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].type, 65280);
  EXPECT_EQ(Hex(r[0].rdata), "0a000001");
  EXPECT_EQ(r[1].rdata, "");
  EXPECT_EQ(r[2].type, 1);
  EXPECT_EQ(Hex(r[2].rdata), "c0000208");
  EXPECT_EQ(r[3].type, 16);
  EXPECT_EQ(Hex(r[3].rdata), "026869");
  EXPECT_EQ(RdataHex("a MX \\# 3 000a00"), "000a00");
  EXPECT_EQ(RdataHex("a SVCB \\# 9 0001 00 0003 0002 0035"),
            "000100000300020035");
  EXPECT_EQ(RdataHex("a NSEC3 \\# 7 01000000 00 01 ff"),
            "01000000000"
            "1ff");
  EXPECT_EQ(RdataToGenericText(std::string("\xc0\x00", 2)), "\\# 2 c000");
  EXPECT_EQ(RdataToGenericText(""), "\\# 0");
}

// ---- RDATA formats ----

TEST(RdataText, AddressesAndNames) {
  EXPECT_EQ(RdataHex("a A 192.0.2.1"), "c0000201");
  EXPECT_EQ(RdataHex("a AAAA 2001:db8::1"), "20010db8000000000000000000000001");
  EXPECT_EQ(RdataHex("a AAAA ::ffff:192.0.2.1"),
            "00000000000000000000ffffc0000201");
  EXPECT_EQ(RdataHex("a NS ns1.example.com."),
            "036e7331" + std::string(kExampleHex));
  EXPECT_EQ(RdataHex("a CNAME @"), kExampleHex);
  EXPECT_EQ(RdataHex("a DNAME Example.NET."), "074578616d706c65034e455400");
  EXPECT_EQ(RdataHex("a PTR host"), "04686f7374" + std::string(kExampleHex));
}

TEST(RdataText, MxSrvNaptrHinfoCaaUri) {
  EXPECT_EQ(RdataHex("a MX 10 mail"),
            "000a046d61696c" + std::string(kExampleHex));
  EXPECT_EQ(RdataHex("a MX 0 ."), "000000");
  EXPECT_EQ(RdataHex("_s._tcp SRV 1 2 443 t."), "0001000201bb017400");
  EXPECT_EQ(RdataHex("a NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp."),
            "0064000a0153075349502b443255"
            "00"
            "045f736970045f75647000");
  EXPECT_EQ(RdataHex("a HINFO \"PC\" Linux"),
            "0250430"
            "54c696e7578");
  EXPECT_EQ(RdataHex("a CAA 0 issue \"ca.example\""),
            "0005697373756563612e6578616d706c65");
  EXPECT_EQ(RdataHex("a CAA 128 tbs \"\""), "8003746273");
  EXPECT_EQ(RdataHex("a URI 10 1 \"https://x/\""),
            "000a0001" + Hex("https://x/"));
  EXPECT_EQ(RdataHex("a RP mbox.example. txt.example."),
            "046d626f78076578616d706c6500037478740"
            "76578616d706c6500");
}

TEST(RdataText, SoaWithTtlUnits) {
  EXPECT_EQ(RdataHex("@ SOA ns. host. 4294967295 1h 15M 1W 1d"),
            "026e7300"
            "04686f737400"
            "ffffffff"
            "00000e10"
            "00000384"
            "00093a80"
            "00015180");
}

TEST(RdataText, DnssecTypes) {
  EXPECT_EQ(
      RdataHex("a DS 60485 5 1 2BB183AF5F22588179A53B0A 98631FAD1A292118"),
      "ec4505012bb183af5f22588179a53b0a98631fad1a292118");
  EXPECT_EQ(RdataHex("a CDS 0 0 0 00"), "0000000000");
  EXPECT_EQ(RdataHex("a DNSKEY 257 3 ECDSAP256SHA256 AQID BAUG"),
            "0101030d010203040506");
  EXPECT_EQ(RdataHex("a CDNSKEY 0 3 0 AA=="), "0000030000");
  std::string rrsig_tail =
      "03"
      "00000e10"
      "67748580"
      "0000000a"
      "3039" +
      std::string(kExampleHex) + "010203040506";
  EXPECT_EQ(RdataHex("a RRSIG A 13 3 3600 20250101000000 10 12345 "
                     "example.com. AQID BAUG"),
            "0001"
            "0d" +
                rrsig_tail);
  EXPECT_EQ(RdataHex("a RRSIG TYPE1 RSASHA256 3 1h 1735689600 10 12345 @ "
                     "( AQIDBAUG )"),
            "0001"
            "08" +
                rrsig_tail);
  EXPECT_EQ(RdataHex("a NSEC b.example.com. A MX RRSIG NSEC TYPE1234"),
            "0162" + std::string(kExampleHex) +
                "0006400100000003"
                "041b" +
                std::string(52, '0') + "20");
  EXPECT_EQ(RdataHex("a NSEC @"), kExampleHex);
  EXPECT_EQ(
      RdataHex(
          "a NSEC3 1 1 12 aabbccdd 0123456789ABCDEFGHIJKLMNOPQRSTUV A RRSIG"),
      "0101000c04aabbccdd14"
      "00443214c74254b635cf84653a56d7c675be77df"
      "0006400000000002");
  EXPECT_EQ(RdataHex("a NSEC3 1 0 0 - cpnmuoj1e8"),
            "0100000000"
            "06666f6f626172");
  EXPECT_EQ(RdataHex("a NSEC3PARAM 1 0 10 -"), "0100000a00");
  EXPECT_EQ(RdataHex("a NSEC3PARAM 1 0 10 D399EAAB"), "0100000a04d399eaab");
}

TEST(RdataText, RrsigTimesWrapAfter2106) {
  // RFC 4034 3.2: serial arithmetic, so dates map modulo 2^32.
  EXPECT_EQ(RdataHex("a RRSIG A 8 2 60 20991231235959 21060207062816 1 . AA=="),
            "00010802"
            "0000003c"
            "f48656ff"
            "00000000"
            "0001"
            "00"
            "00");
}

TEST(RdataText, TlsaSshfpOpenpgpkeyZonemd) {
  EXPECT_EQ(
      RdataHex("_443._tcp TLSA 3 1 1 ( 0123456789abcdef\n FEDCBA9876543210 )"),
      "0301010123456789abcdeffedcba9876543210");
  EXPECT_EQ(RdataHex("a SSHFP 4 2 AABB"), "0402aabb");
  EXPECT_EQ(RdataHex("a OPENPGPKEY AQID"), "010203");
  EXPECT_EQ(RdataHex("a ZONEMD 2018031500 1 1 ABCD"), "7848b78c0101abcd");
}

TEST(RdataText, Loc) {
  // RFC 1876: defaults size 1m (0x12), precision 10km (0x16) / 10m (0x13).
  EXPECT_EQ(RdataHex("a LOC 51 30 N 0 7 W 11m"),
            "00121613"
            "8b0cfac0"
            "7ff99760"
            "00989acc");
  EXPECT_EQ(RdataHex("a LOC 51 30 0.000 n 0 7 0 w 11.00 1m 10000m 10m"),
            "00121613"
            "8b0cfac0"
            "7ff99760"
            "00989acc");
  EXPECT_EQ(RdataHex("a LOC 90 S 180 E -100000m 0m 90000000m 0.01m"),
            "00009910"
            "6cb02700"
            "a69fb200"
            "00000000");
}

TEST(RdataText, TxtForms) {
  EXPECT_EQ(RdataHex("a TXT one \"two words\" three"),
            "036f6e650974776f20776f7264730574687265"
            "65");
  EXPECT_EQ(RdataHex("a SPF \"v=spf1 -all\""), "0b763d73706631202d616c6c");
  EXPECT_EQ(RdataHex("a TXT \"\""), "00");
}

TEST(RdataText, SvcbAndHttps) {
  // RFC 9460 appendix D test vectors.
  EXPECT_EQ(RdataHex("a SVCB 0 foo.example.com."),
            "0000"
            "03666f6f" +
                std::string(kExampleHex));
  EXPECT_EQ(RdataHex("a SVCB 1 ."), "000100");
  EXPECT_EQ(RdataHex("a SVCB 16 foo.example.com. port=53"),
            "0010"
            "03666f6f" +
                std::string(kExampleHex) + "000300020035");
  EXPECT_EQ(RdataHex("a SVCB 1 foo.example.com. key667=hello"),
            "0001"
            "03666f6f" +
                std::string(kExampleHex) + "029b000568656c6c6f");
  EXPECT_EQ(RdataHex("a SVCB 1 foo.example.com. key667=\"hello\\210qoo\""),
            "0001"
            "03666f6f" +
                std::string(kExampleHex) +
                "029b000968656c6c6fd271"
                "6f6f");
  EXPECT_EQ(RdataHex("a SVCB 1 foo.example.com. ( "
                     "ipv6hint=\"2001:db8::1,2001:db8::53:1\" )"),
            "0001"
            "03666f6f" +
                std::string(kExampleHex) +
                "00060020"
                "20010db8000000000000000000000001"
                "20010db8000000000000000000530001");
  // Keys are sorted on the wire whatever the text order; mandatory too.
  EXPECT_EQ(
      RdataHex(
          "a SVCB 16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn "
          "ipv4hint=192.0.2.1"),
      "0010"
      "03666f6f076578616d706c65036f726700"
      "0000000400010004"
      "00010009"
      "02683205"
      "68332d3139"
      "00040004c0000201");
  // Escaped commas inside one alpn id (appendix A.1 double escaping).
  EXPECT_EQ(
      RdataHex("a SVCB 16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\""),
      "0010"
      "03666f6f076578616d706c65036f726700"
      "0001000c"
      "08665c6f6f2c626172"
      "026832");
  EXPECT_EQ(RdataHex("a HTTPS 1 . alpn= \"h2\" no-default-alpn ech=AQID "
                     "key65000 key7=\"/q{?dns}\" ohttp"),
            "000100"
            "0001000302683200020000"
            "00050003010203"
            "00070008" +
                Hex("/q{?dns}") +
                "00080000"
                "fde80000");
}

TEST(ZoneFile, Include) {
  std::string dir = std::string(POPDNS_ZONE_TESTDATA);
  auto records = ParseZoneText(
      "$TTL 7\n"
      "before A 192.0.2.1\n"
      "$INCLUDE features-include.inc\n"
      "$INCLUDE \"features-include.inc\" inc2\n"
      "  TXT after\n"
      "after A 192.0.2.1\n",
      dir + "/main.zone", Options());
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 7u);
  EXPECT_EQ((*records)[1].owner, Wire("inc-a.example.com."));
  EXPECT_EQ((*records)[1].ttl, 600u);
  EXPECT_EQ((*records)[1].file, dir + "/features-include.inc");
  EXPECT_EQ((*records)[1].line, 3);
  EXPECT_EQ((*records)[3].owner, Wire("inc-a.inc2.example.com."));
  // Origin, $TTL and previous owner come back after the include (RFC 1035 5.1).
  EXPECT_EQ((*records)[5].owner, Wire("before.example.com."));
  EXPECT_EQ((*records)[5].ttl, 7u);
  EXPECT_EQ((*records)[6].owner, Wire("after.example.com."));
  EXPECT_EQ((*records)[6].file, dir + "/main.zone");
}

TEST(ZoneFile, NestedIncludeRelativeToIncludingFile) {
  std::string dir = std::string(POPDNS_ZONE_TESTDATA);
  auto records = ParseZoneText("$INCLUDE include/level1.inc\n",
                               dir + "/main.zone", Options());
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].owner, Wire("level1.example.com."));
  EXPECT_EQ((*records)[1].owner, Wire("level2.deeper.example.com."));
  EXPECT_EQ((*records)[1].file, dir + "/include/level2/level2.inc");
  EXPECT_EQ((*records)[2].owner, Wire("inc-a.deeper.example.com."));
  EXPECT_EQ((*records)[2].file,
            dir + "/include/level2/../../features-include.inc");
  ZoneFileOptions options = Options();
  options.max_include_depth = 2;
  EXPECT_EQ(
      ParseZoneText("$INCLUDE include/level1.inc\n", dir + "/main.zone",
                    options)
          .status()
          .message(),
      dir +
          "/include/level2/level2.inc:3:10: $INCLUDE nested deeper than 2 "
          "levels");
}

TEST(ZoneFile, ParseZoneFileReadsFile) {
  ZoneFileOptions options;
  options.origin_wire = Wire("signed.example.");
  auto records = ParseZoneFile(
      std::string(POPDNS_ZONE_TESTDATA) + "/signed.example.zone", options);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_GT(records->size(), 30u);
  auto directory = ParseZoneFile(POPDNS_ZONE_TESTDATA, options);
  EXPECT_EQ(directory.status().message(),
            "cannot read '" POPDNS_ZONE_TESTDATA "': Is a directory");
  auto missing = ParseZoneFile("/nonexistent/x.zone", options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot open '/nonexistent/x.zone': No such file or directory");
}

TEST(ZoneFile, Generate) {
  std::vector<ZoneRecord> r = Parse(
      "$GENERATE 1-3 host-$ A 10.0.0.$\n"
      "$GENERATE 0-20/10 g${10,3,d} 60 IN CNAME t${0,2,x}\n"
      "$GENERATE 10-11 $.rev PTR h${-9,2,X}.example.\n"
      "$GENERATE 255-256 n${0,0,n} TXT \"v${+1,4}\" x$$\\$\n"
      "$GENERATE 1-1 ${0,7,N}.w AAAA 2001:db8::$\n"
      "$GENERATE 8-8 o${0,0,o} TXT a${0,4,x}\n");
  ASSERT_EQ(r.size(), 12u);
  EXPECT_EQ(r[0].owner, Wire("host-1.example.com."));
  EXPECT_EQ(Hex(r[2].rdata), "0a000003");
  EXPECT_EQ(r[3].owner, Wire("g010.example.com."));
  EXPECT_EQ(r[3].ttl, 60u);
  EXPECT_EQ(r[3].rdata, Wire("t00.example.com."));
  EXPECT_EQ(r[5].owner, Wire("g030.example.com."));
  EXPECT_EQ(r[5].rdata, Wire("t14.example.com."));
  EXPECT_EQ(r[6].owner, Wire("10.rev.example.com."));
  EXPECT_EQ(r[7].rdata, Wire("h02.example."));
  EXPECT_EQ(r[8].owner, Wire("nf.f.example.com."));  // nibbles, reversed
  EXPECT_EQ(r[8].rdata, std::string("\x05v0256\x03x$$", 10));
  EXPECT_EQ(r[9].owner, Wire("n0.0.1.example.com."));
  EXPECT_EQ(r[10].owner, Wire("1.0.0.0.w.example.com."));
  EXPECT_EQ(r[11].owner, Wire("o10.example.com."));
  EXPECT_EQ(r[11].rdata, std::string("\x05"
                                     "a0008",
                                     6));
  EXPECT_EQ(r[11].line, 6);
}

TEST(ZoneFile, LargeZoneParsesQuickly) {
  std::string text = "$TTL 300\n";
  for (int i = 0; i < 100000; ++i) {
    absl::StrAppend(&text, "h", i, " IN A 10.0.", i % 250,
                    ".1\n  MX 10 mail\n");
  }
  auto records = ParseZoneText(text, "big.zone", Options());
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 200000u);
}

// ---- Errors: exact messages, with line and column ----

struct ErrorCase {
  std::string text;
  std::string message;
};

class ZoneFileErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ZoneFileErrorTest, ExactMessage) {
  EXPECT_EQ(ErrorOf(GetParam().text), GetParam().message) << GetParam().text;
}

const std::string kLabel64(64, 'x');

INSTANTIATE_TEST_SUITE_P(
    Messages, ZoneFileErrorTest,
    ::testing::Values(
        ErrorCase{"a A 1.2.3\n", "t.zone:1:5: invalid IPv4 address '1.2.3'"},
        ErrorCase{"ok A 1.2.3.4\na  AAAA  1::2::3\n",
                  "t.zone:2:10: invalid IPv6 address '1::2::3'"},
        ErrorCase{kLabel64 + " A 1.2.3.4\n",
                  "t.zone:1:1: invalid owner name: label longer than 63 "
                  "octets in name '" +
                      kLabel64 + "'"},
        ErrorCase{"a CNAME " + std::string(250, 'x') + "\n",
                  "t.zone:1:9: invalid CNAME target: label longer than 63 "
                  "octets in name '" +
                      std::string(250, 'x') + "'"},
        ErrorCase{"a..b A 1.2.3.4\n",
                  "t.zone:1:1: invalid owner name: empty label in name 'a..b'"},
        ErrorCase{"a FOO 1\n", "t.zone:1:3: unknown RR type 'FOO'"},
        ErrorCase{"a IN IN A 1.2.3.4\n", "t.zone:1:6: unknown RR type 'IN'"},
        ErrorCase{"a 1x A 1.2.3.4\n", "t.zone:1:3: invalid TTL '1x'"},
        ErrorCase{"a 300 IN\n", "t.zone:1:9: missing RR type"},
        ErrorCase{"$TTL abc\n", "t.zone:1:6: invalid TTL 'abc'"},
        ErrorCase{"$TTL\n", "t.zone:1:5: missing TTL value"},
        ErrorCase{"$TTL 1 2\n", "t.zone:1:8: unexpected '2' after $TTL"},
        ErrorCase{"$ORIGIN\n", "t.zone:1:8: missing origin name"},
        ErrorCase{"$ORIGIN a..b.\n",
                  "t.zone:1:9: invalid $ORIGIN: empty label in name 'a..b.'"},
        ErrorCase{"$FOO x\n", "t.zone:1:1: unknown directive '$FOO'"},
        ErrorCase{"a MX 10\n", "t.zone:1:8: missing MX exchange"},
        ErrorCase{"a MX\n", "t.zone:1:5: missing MX preference"},
        ErrorCase{"a MX 70000 b\n",
                  "t.zone:1:6: invalid MX preference '70000'"},
        ErrorCase{"a SRV 1 2 x t\n", "t.zone:1:11: invalid SRV port 'x'"},
        ErrorCase{"a SOA ns host 1 2 3 4\n",
                  "t.zone:1:22: missing SOA minimum"},
        ErrorCase{"a SOA ns host 1 2 3 4 5x\n",
                  "t.zone:1:23: invalid SOA minimum '5x'"},
        ErrorCase{"a A 1.2.3.4 extra\n",
                  "t.zone:1:13: unexpected 'extra' after RDATA"},
        ErrorCase{"a TXT ( \"x\"\n\n",
                  "t.zone:1:7: unbalanced parentheses: "
                  "'(' never closed"},
        ErrorCase{"a TXT x )\n",
                  "t.zone:1:9: unbalanced parentheses: unexpected ')'"},
        ErrorCase{"a TXT \"abc\nb A 1.2.3.4\n",
                  "t.zone:1:7: unterminated quoted string"},
        ErrorCase{"a TXT \"abc", "t.zone:1:7: unterminated quoted string"},
        ErrorCase{" A 1.2.3.4\n",
                  "t.zone:1:2: missing owner name (no previous record)"},
        ErrorCase{"a TXT \"" + std::string(256, 'x') + "\"\n",
                  "t.zone:1:7: TXT string longer than 255 octets"},
        ErrorCase{"a TXT \"\\300\"\n",
                  "t.zone:1:7: bad \\DDD escape in TXT string '\\300'"},
        ErrorCase{
            "a TYPE99 \\# 3 0102\n",
            "t.zone:1:15: generic RDATA length mismatch: declared 3, got 2"},
        ErrorCase{"a TYPE99 \\# 2 01 0\n",
                  "t.zone:1:15: invalid hex in generic RDATA"},
        ErrorCase{"a TYPE99 \\# x\n",
                  "t.zone:1:13: invalid generic RDATA length 'x'"},
        ErrorCase{"a TYPE99 \\#\n",
                  "t.zone:1:12: missing generic RDATA length"},
        ErrorCase{"a APL 1 2\n",
                  "t.zone:1:7: no text format known for type APL; use \\# "
                  "generic RDATA"},
        ErrorCase{"a LOC 91 N 0 E 0m\n",
                  "t.zone:1:7: invalid LOC latitude '91'"},
        ErrorCase{"a LOC 90 1 N 0 E 0m\n", "t.zone:1:7: invalid LOC latitude"},
        ErrorCase{"a LOC 1 60 N 0 E 0m\n",
                  "t.zone:1:9: invalid LOC latitude '60'"},
        ErrorCase{"a LOC 1 2 3 4 N 0 E 0m\n",
                  "t.zone:1:13: invalid LOC latitude '4'"},
        ErrorCase{"a LOC 1 N 0 X 0m\n",
                  "t.zone:1:13: invalid LOC longitude 'X'"},
        ErrorCase{"a LOC 1 N 0 E\n", "t.zone:1:14: missing LOC altitude"},
        ErrorCase{"a LOC 1 N 0 E 0m 1.234m\n",
                  "t.zone:1:18: invalid LOC size '1.234m'"},
        ErrorCase{"a TYPE98 1\n",
                  "t.zone:1:10: no text format known for type TYPE98; use \\# "
                  "generic RDATA"},
        ErrorCase{"a DNSKEY 257 3 13 !!!!\n",
                  "t.zone:1:19: invalid DNSKEY public key (base64)"},
        ErrorCase{"a DNSKEY 257 3 13\n",
                  "t.zone:1:18: missing DNSKEY public key"},
        ErrorCase{"a DNSKEY 257 3 FOO AA==\n",
                  "t.zone:1:16: invalid DNSKEY algorithm 'FOO'"},
        ErrorCase{"a DS 1 2 3 abc\n", "t.zone:1:12: invalid DS digest (hex)"},
        ErrorCase{"a RRSIG A 8 2 60 20251301000000 1 2 . AA==\n",
                  "t.zone:1:18: invalid RRSIG expiration '20251301000000'"},
        ErrorCase{"a RRSIG FOO 8 2 60 1 1 2 . AA==\n",
                  "t.zone:1:9: invalid RRSIG type covered 'FOO'"},
        ErrorCase{"a NSEC3 1 0 0 - zz A\n",
                  "t.zone:1:17: invalid NSEC3 next hashed owner 'zz'"},
        ErrorCase{"a NSEC3 1 0 0 abc 00 A\n",
                  "t.zone:1:15: invalid NSEC3 salt 'abc'"},
        ErrorCase{"a NSEC b FOO\n", "t.zone:1:10: invalid NSEC type 'FOO'"},
        ErrorCase{"a CAA 0 is-sue \"x\"\n",
                  "t.zone:1:9: invalid CAA tag 'is-sue'"},
        ErrorCase{"a SVCB 1 . foo=bar\n",
                  "t.zone:1:12: unknown SvcParam key 'foo'"},
        ErrorCase{"a SVCB 1 . port=1 port=2\n",
                  "t.zone:1:19: duplicate SvcParam key 'port'"},
        ErrorCase{"a SVCB 1 . port=x\n",
                  "t.zone:1:12: invalid SvcParam value 'port=x'"},
        ErrorCase{"a SVCB 1 . alpn\n", "t.zone:1:12: SvcParam needs a value"},
        ErrorCase{"a SVCB 1 . no-default-alpn=x\n",
                  "t.zone:1:12: SvcParam takes no value"},
        ErrorCase{"a HTTPS 1 . ipv4hint=1.2.3.4,x\n",
                  "t.zone:1:13: invalid SvcParam value 'ipv4hint=1.2.3.4,x'"},
        ErrorCase{"a HTTPS 1 . alpn=\"h2\n",
                  "t.zone:1:18: unterminated quoted string"},
        ErrorCase{"a A \\# 3 010203\n",
                  "t.zone:1:5: generic RDATA is not valid A RDATA"},
        ErrorCase{"a NS \\# 2 0161\n",
                  "t.zone:1:6: generic RDATA is not valid NS RDATA"},
        ErrorCase{"a MX \\# 4 0001c000\n",  // compression pointer
                  "t.zone:1:6: generic RDATA is not valid MX RDATA"},
        ErrorCase{"a TXT \\# 2 0561\n",
                  "t.zone:1:7: generic RDATA is not valid TXT RDATA"},
        ErrorCase{"a SVCB 1 . mandatory=port alpn=h2\n",
                  "t.zone:1:12: SvcParam mandatory lists a key that is not "
                  "present"},
        ErrorCase{"a SVCB 1 . mandatory=mandatory\n",
                  "t.zone:1:12: SvcParam mandatory lists itself"},
        ErrorCase{"a SVCB 1 . port=1 no-default-alpn\n",
                  "t.zone:1:12: SvcParam no-default-alpn without alpn"},
        ErrorCase{"$GENERATE 0-4294967295 h$ A 10.0.0.1\n",
                  "t.zone:1:11: $GENERATE range '0-4294967295' makes more "
                  "than 1000000 records"},
        ErrorCase{"  $TTL x\n", "t.zone:1:8: invalid TTL 'x'"},
        ErrorCase{"$INCLUDE\n", "t.zone:1:9: missing $INCLUDE file"},
        ErrorCase{"$INCLUDE /nonexistent/x.inc\n",
                  "t.zone:1:10: cannot open '/nonexistent/x.inc': No such "
                  "file or directory"},
        ErrorCase{"$GENERATE 5-1 h$ A 10.0.0.$\n",
                  "t.zone:1:11: invalid $GENERATE range '5-1'"},
        ErrorCase{"$GENERATE 1-2/0 h$ A 10.0.0.$\n",
                  "t.zone:1:11: invalid $GENERATE range '1-2/0'"},
        ErrorCase{"$GENERATE 1-2 h${1,2,q} A 10.0.0.1\n",
                  "t.zone:1:15: invalid $GENERATE modifier '${1,2,q}'"},
        ErrorCase{"$GENERATE 1-2 h$ A 10.0.0.${1\n",
                  "t.zone:1:20: invalid $GENERATE modifier '${1'"},
        ErrorCase{
            "$GENERATE 1-2 h$ A\n",
            "t.zone:1:19: $GENERATE needs: range lhs [ttl] [class] type rhs"},
        ErrorCase{"$GENERATE 250-260 h$ A 10.0.0.$\n",
                  "t.zone:1:24: invalid IPv4 address '10.0.0.256'"},
        ErrorCase{"ok A 1.2.3.4\nb MX ( 10\n  a..b )\n",
                  "t.zone:3:3: invalid MX exchange: empty label in name "
                  "'a..b'"}));

TEST(ZoneFileError, RelativeNameWithoutOrigin) {
  EXPECT_EQ(
      ErrorOf("a A 1.2.3.4\n", ZoneFileOptions{}),
      "t.zone:1:1: invalid owner name: relative name 'a' with no origin set");
}

TEST(ZoneFileError, ErrorsInIncludedFilesAndDepthLimit) {
  std::string dir = ::testing::TempDir();
  std::string self = dir + "/popdns_self_include.zone";
  std::ofstream(self) << "a A 192.0.2.1\n$INCLUDE popdns_self_include.zone\n";
  std::string bad = dir + "/popdns_bad_include.zone";
  std::ofstream(bad) << "; comment\nb A 300.0.0.1\n";
  auto records = ParseZoneFile(self, Options());
  EXPECT_EQ(records.status().message(),
            self + ":2:10: $INCLUDE nested deeper than 8 levels");
  ZoneFileOptions options = Options();
  options.max_include_depth = 0;
  EXPECT_EQ(ParseZoneText("$INCLUDE popdns_bad_include.zone\n", dir + "/m.zone",
                          options)
                .status()
                .message(),
            dir + "/m.zone:1:10: $INCLUDE nested deeper than 0 levels");
  EXPECT_EQ(ParseZoneText("$INCLUDE popdns_bad_include.zone\n", dir + "/m.zone",
                          Options())
                .status()
                .message(),
            bad + ":2:5: invalid IPv4 address '300.0.0.1'");
  std::remove(self.c_str());
  std::remove(bad.c_str());
}

// Check mode (popdns --check): every error, parsing going on after each.
TEST(ZoneFileCheck, CollectsEveryErrorAndKeepsTheGoodRecords) {
  const char* text =
      "a A 192.0.2.1\n"
      "b A 300.0.0.1\n"         // bad RDATA
      "c BOGUS x\n"             // unknown type
      "d \"unterminated\n"     // lexer error: go on at the next line
      "e ) A 192.0.2.5\n"       // lexer error
      "$TTL x\n"                // bad directive
      "f A 192.0.2.6\n";
  ErrorList errors;
  auto records = ParseZoneText(text, "t.zone", Options(), &errors);
  // Callers still see the first error as the result.
  EXPECT_EQ(records.status().message(),
            "t.zone:2:5: invalid IPv4 address '300.0.0.1'");
  EXPECT_EQ(errors.count(), 5u);
  EXPECT_EQ(errors.not_kept(), 0u);
  EXPECT_EQ(errors.messages(),
            (std::vector<std::string>{
                "t.zone:2:5: invalid IPv4 address '300.0.0.1'",
                "t.zone:3:3: unknown RR type 'BOGUS'",
                "t.zone:4:3: unterminated quoted string",
                "t.zone:5:3: unbalanced parentheses: unexpected ')'",
                "t.zone:6:6: invalid TTL 'x'",
            }));
}

TEST(ZoneFileCheck, CountsPastTheLimit) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "x A 1.2.3\n";
  ErrorList errors(4);
  EXPECT_FALSE(ParseZoneText(text, "t.zone", Options(), &errors).ok());
  EXPECT_EQ(errors.count(), 30u);
  EXPECT_EQ(errors.messages().size(), 4u);
  EXPECT_EQ(errors.not_kept(), 26u);
  EXPECT_EQ(errors.messages()[3], "t.zone:4:5: invalid IPv4 address '1.2.3'");
}

TEST(ZoneFileCheck, ErrorsInsideIncludesAndMissingFiles) {
  std::string dir = ::testing::TempDir();
  std::string inc = dir + "/popdns_check_include.zone";
  std::ofstream(inc) << "b A 300.0.0.1\nc A 192.0.2.3\nd A x\n";
  ErrorList errors;
  auto records = ParseZoneText(
      "$INCLUDE popdns_check_include.zone\n$INCLUDE nonexistent.zone\n"
      "e A 1\n",
      dir + "/m.zone", Options(), &errors);
  EXPECT_FALSE(records.ok());
  ASSERT_EQ(errors.count(), 4u);
  EXPECT_EQ(errors.messages()[0],
            inc + ":1:5: invalid IPv4 address '300.0.0.1'");
  EXPECT_EQ(errors.messages()[1], inc + ":3:5: invalid IPv4 address 'x'");
  EXPECT_EQ(errors.messages()[2].rfind(dir + "/m.zone:2:10: cannot open", 0),
            0u)
      << errors.messages()[2];
  EXPECT_EQ(errors.messages()[3],
            dir + "/m.zone:3:5: invalid IPv4 address '1'");
  std::remove(inc.c_str());

  ErrorList missing;
  EXPECT_EQ(ParseZoneFile("/nonexistent/x.zone", Options(), &missing)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.count(), 1u);
}

TEST(ZoneFileCheck, WithoutAListTheFirstErrorStops) {
  // The load path: no list, same result as before check mode existed.
  auto records = ParseZoneText("b A 300.0.0.1\nc BOGUS x\n", "t.zone",
                               Options());
  EXPECT_EQ(records.status().message(),
            "t.zone:1:5: invalid IPv4 address '300.0.0.1'");
}

}  // namespace
}  // namespace popdns::control
