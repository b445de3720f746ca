// control/xfr/dns_message: parsing with decompression (RFC 1035 4.1.4,
// RFC 3597 4) and building with compression.
#include "control/xfr/dns_message.h"

#include <gtest/gtest.h>

#include "control/zonefile/name_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {
namespace {

std::string Wire(const char* text) {
  return *control::NameFromText(text, "");
}

ZoneRecord Rr(const char* owner, uint16_t type, std::string rdata,
              uint32_t ttl = 300) {
  ZoneRecord r;
  r.owner = Wire(owner);
  r.type = type;
  r.ttl = ttl;
  r.rdata = std::move(rdata);
  return r;
}

std::string Soa() {
  std::string rd = Wire("ns1.example.test.") + Wire("admin.example.test.");
  for (uint32_t v : {2026120201u, 3600u, 600u, 86400u, 300u}) {
    rd.push_back(static_cast<char>(v >> 24));
    rd.push_back(static_cast<char>(v >> 16));
    rd.push_back(static_cast<char>(v >> 8));
    rd.push_back(static_cast<char>(v));
  }
  return rd;
}

TEST(DnsMessageTest, RoundTripCompressesOwnersAndRfc1035RdataNames) {
  MessageBuilder b(0x1234, 0x8400);
  b.AddQuestion(Wire("example.test."), dns::rrtype::kAxfr);
  const std::vector<ZoneRecord> records = {
      Rr("example.test.", dns::rrtype::kSoa, Soa()),
      Rr("example.test.", dns::rrtype::kNs, Wire("ns1.example.test.")),
      Rr("www.example.test.", dns::rrtype::kCname, Wire("web.example.test.")),
      Rr("example.test.", dns::rrtype::kMx,
         std::string("\x00\x0a", 2) + Wire("mail.example.test.")),
      // RFC 3597 4 / RFC 2782: SRV targets are never compressed.
      Rr("_sip._udp.example.test.", dns::rrtype::kSrv,
         std::string("\x00\x01\x00\x02\x13\xc4", 6) + Wire("sip.example.test.")),
      Rr("a.example.test.", dns::rrtype::kA, std::string("\xc6\x12\x00\x01", 4)),
  };
  size_t uncompressed = dns::kHeaderSize;
  for (const ZoneRecord& r : records) {
    ASSERT_TRUE(b.Add(Section::kAnswer, r));
    uncompressed += r.owner.size() + 10 + r.rdata.size();
  }
  std::vector<uint8_t> wire = b.Finish();
  EXPECT_LT(wire.size(), uncompressed);
  auto m = ParseMessage(wire.data(), wire.size());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id, 0x1234);
  EXPECT_TRUE(m->qr());
  EXPECT_TRUE(m->aa());
  EXPECT_EQ(m->qtype, dns::rrtype::kAxfr);
  ASSERT_EQ(m->answer.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(m->answer[i].owner, records[i].owner) << i;
    EXPECT_EQ(m->answer[i].type, records[i].type) << i;
    EXPECT_EQ(m->answer[i].ttl, records[i].ttl) << i;
    EXPECT_EQ(m->answer[i].rdata, records[i].rdata) << i;
  }
  // The SRV target went out whole.
  const std::string sip = Wire("sip.example.test.");
  EXPECT_NE(std::search(wire.begin(), wire.end(), sip.begin(), sip.end()),
            wire.end());
}

TEST(DnsMessageTest, AddRefusesPastTheLimitAndLeavesTheMessageAsItWas) {
  MessageBuilder b(1, 0);
  ASSERT_TRUE(b.Add(Section::kAnswer,
                    Rr("a.example.test.", dns::rrtype::kTxt, "\x03" "abc")));
  const std::vector<uint8_t> before = b.Finish();
  EXPECT_FALSE(b.Add(Section::kAnswer,
                     Rr("b.other.test.", dns::rrtype::kTxt,
                        std::string(200, 'x')),
                     before.size() + 50));
  EXPECT_EQ(b.Finish(), before);
  // Names recorded by the refused record are forgotten: the next record
  // must not point at bytes that are gone.
  ASSERT_TRUE(b.Add(Section::kAnswer,
                    Rr("b.other.test.", dns::rrtype::kA, "\x01\x02\x03\x04")));
  std::vector<uint8_t> wire = b.Finish();
  auto m = ParseMessage(wire.data(), wire.size());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->answer.back().owner, Wire("b.other.test."));
}

TEST(DnsMessageTest, RejectsForwardPointersLoopsAndTruncation) {
  // RFC 1035 4.1.4: a pointer to a prior occurrence only.
  const uint8_t forward[] = {0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0,
                             0xC0, 14, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(ParseMessage(forward, sizeof(forward)).ok());
  const uint8_t self[] = {0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0,
                          0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(ParseMessage(self, sizeof(self)).ok());
  MessageBuilder b(1, 0);
  b.AddQuestion(Wire("example.test."), dns::rrtype::kSoa);
  ASSERT_TRUE(b.Add(Section::kAnswer,
                    Rr("example.test.", dns::rrtype::kSoa, Soa())));
  std::vector<uint8_t> wire = b.Finish();
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(ParseMessage(wire.data(), n).ok()) << n;
  }
  wire.push_back(0);
  EXPECT_FALSE(ParseMessage(wire.data(), wire.size()).ok());  // trailing
}

}  // namespace
}  // namespace popdns::xfr
