// Reading transfer streams (RFC 5936 2.2, RFC 1995 4) and applying and
// computing changesets (control/xfr/transfer_stream, control/build/
// zone_records).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "control/build/zone_builder.h"
#include "control/build/zone_records.h"
#include "control/xfr/transfer_stream.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_validate.h"
#include "dataplane/dns/wire.h"
#include "absl/strings/str_cat.h"

namespace popdns::xfr {
namespace {

std::string Wire(const std::string& text) {
  static const std::string origin = *control::NameFromText("example.test.", "");
  return *control::NameFromText(text, origin);
}

ZoneRecord Soa(uint32_t serial) {
  ZoneRecord r;
  r.owner = Wire("example.test.");
  r.type = dns::rrtype::kSoa;
  r.ttl = 3600;
  r.rdata = Wire("ns1") + Wire("admin");
  for (uint32_t v : {serial, 3600u, 600u, 86400u, 300u}) {
    for (int s = 24; s >= 0; s -= 8) r.rdata.push_back(static_cast<char>(v >> s));
  }
  return r;
}

ZoneRecord A(const std::string& name, uint8_t last, uint32_t ttl = 300) {
  ZoneRecord r;
  r.owner = Wire(name);
  r.type = dns::rrtype::kA;
  r.ttl = ttl;
  r.rdata = std::string("\xc6\x12\x00", 3) + static_cast<char>(last);
  return r;
}

ZoneRecord Ns(const std::string& target) {
  ZoneRecord r;
  r.owner = Wire("example.test.");
  r.type = dns::rrtype::kNs;
  r.ttl = 3600;
  r.rdata = Wire(target);
  return r;
}

std::set<std::string> Keys(const std::vector<ZoneRecord>& rs) {
  std::set<std::string> out;
  for (const ZoneRecord& r : rs) {
    out.insert(control::NameToLower(r.owner) + "/" + std::to_string(r.type) +
               "/" + std::to_string(r.ttl) + "/" + r.rdata);
  }
  return out;
}

TEST(TransferStreamTest, AxfrAcrossMessages) {
  TransferStream s(std::nullopt);
  auto d = s.Add({Soa(5), Ns("ns1"), A("ns1", 1)});
  ASSERT_TRUE(d.ok() && !*d);
  d = s.Add({A("www", 2), Soa(5)});
  ASSERT_TRUE(d.ok() && *d);
  EXPECT_EQ(s.kind(), TransferStream::Kind::kFull);
  EXPECT_EQ(s.serial(), 5u);
  EXPECT_EQ(s.full().size(), 4u);  // the final SOA is not repeated
  EXPECT_FALSE(s.Add({A("late", 3)}).ok());
}

TEST(TransferStreamTest, IxfrUpToDateIsOneSoa) {
  // RFC 1995 4: a single SOA not newer than ours means nothing to do.
  TransferStream s(7u);
  auto d = s.Add({Soa(7)});
  ASSERT_TRUE(d.ok() && *d);
  EXPECT_EQ(s.kind(), TransferStream::Kind::kUpToDate);
}

TEST(TransferStreamTest, IxfrTwoDifferenceSequences) {
  TransferStream s(1u);
  auto d = s.Add({Soa(3), Soa(1), A("www", 1), Soa(2), A("www", 2)});
  ASSERT_TRUE(d.ok() && !*d);
  d = s.Add({Soa(2), A("www", 2), Soa(3), A("www", 3), A("new", 9), Soa(3)});
  ASSERT_TRUE(d.ok() && *d) << d.status();
  ASSERT_EQ(s.kind(), TransferStream::Kind::kIncremental);
  ASSERT_EQ(s.changes().size(), 2u);
  EXPECT_EQ(s.changes()[0].from(), 1u);
  EXPECT_EQ(s.changes()[0].to(), 2u);
  EXPECT_EQ(s.changes()[1].added.size(), 2u);
}

TEST(TransferStreamTest, IxfrAnsweredAxfrStyle) {
  // RFC 1995 4: the server may send the whole zone instead.
  TransferStream s(1u);
  auto d = s.Add({Soa(4), Ns("ns1"), A("ns1", 1), Soa(4)});
  ASSERT_TRUE(d.ok() && *d);
  EXPECT_EQ(s.kind(), TransferStream::Kind::kFull);
}

TEST(TransferStreamTest, BrokenIxfrIsRejected) {
  // Serials out of sequence: 1->2 then 5->3.
  TransferStream a(1u);
  EXPECT_FALSE(a.Add({Soa(3), Soa(1), Soa(2), Soa(5), Soa(3), Soa(3)}).ok());
  // A stream that does not start at our serial.
  TransferStream b(1u);
  EXPECT_FALSE(b.Add({Soa(3), Soa(2), Soa(3), Soa(3)}).ok());
  // Going backwards (RFC 1982).
  TransferStream c(5u);
  auto d = c.Add({Soa(6), Soa(5), Soa(4), Soa(6)});
  EXPECT_FALSE(d.ok());
  // Not starting with an SOA.
  TransferStream e(std::nullopt);
  EXPECT_FALSE(e.Add({A("www", 1)}).ok());
}

TEST(SerialTest, Rfc1982Arithmetic) {
  EXPECT_TRUE(SerialLess(1, 2));
  EXPECT_FALSE(SerialLess(2, 1));
  EXPECT_FALSE(SerialLess(5, 5));
  EXPECT_TRUE(SerialLess(0xFFFFFFF0u, 5));  // wraps
  EXPECT_FALSE(SerialLess(5, 0xFFFFFFF0u));
}

std::vector<ZoneRecord> BaseZone() {
  return {Soa(1), Ns("ns1"), A("ns1", 1), A("www", 2), A("mail", 3)};
}

TEST(ApplyChangesetTest, RemovesAddsAndMovesTheSoa) {
  Changeset cs;
  cs.soa_from = Soa(1);
  cs.soa_to = Soa(2);
  ZoneRecord upper = A("WWW", 2);  // names compare case-insensitively
  cs.removed = {upper};
  cs.added = {A("www", 20), A("new", 9)};
  auto out = control::ApplyChangeset(BaseZone(), cs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Changeset::SerialOf(*control::FindSoa(*out)), 2u);
  EXPECT_EQ(Keys(*out), Keys({Soa(2), Ns("ns1"), A("ns1", 1), A("mail", 3),
                              A("www", 20), A("new", 9)}));
}

TEST(ApplyChangesetTest, DeletingWhatIsNotThereOrAWrongSerialFails) {
  Changeset cs;
  cs.soa_from = Soa(1);
  cs.soa_to = Soa(2);
  cs.removed = {A("nope", 1)};
  auto out = control::ApplyChangeset(BaseZone(), cs);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(out.status()));
  cs.removed.clear();
  cs.soa_from = Soa(9);
  EXPECT_FALSE(control::ApplyChangeset(BaseZone(), cs).ok());
}

// Random edits: Diff(old, new) applied to old gives new, and a zone built
// from it is the same zone (RecordsOf round trip).
TEST(ApplyChangesetTest, DiffThenApplyRoundTripsRandomEdits) {
  std::mt19937 rng(42);
  std::vector<ZoneRecord> zone = BaseZone();
  std::vector<Changeset> all;
  for (int round = 0; round < 50; ++round) {
    std::vector<ZoneRecord> next;
    for (const ZoneRecord& r : zone) {
      if (r.type == dns::rrtype::kA && r.owner != Wire("ns1") && rng() % 4 == 0) {
        continue;  // delete
      }
      next.push_back(r.type == dns::rrtype::kSoa ? Soa(round + 2) : r);
    }
    for (int k = rng() % 5; k > 0; --k) {
      next.push_back(A(absl::StrCat("h", rng() % 40), rng() % 8, 300));
    }
    auto valid = control::NormalizeAndValidateZone(next, Wire("example.test."),
                                                   nullptr);
    ASSERT_TRUE(valid.ok()) << valid.status();
    next = *valid;
    Changeset cs = control::Diff(zone, next);
    all.push_back(cs);
    EXPECT_EQ(cs.from(), static_cast<uint32_t>(round + 1));
    auto applied = control::ApplyChangeset(zone, cs);
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(Keys(*applied), Keys(next)) << "round " << round;
    auto built = control::BuildZone(Wire("example.test."), *applied);
    ASSERT_TRUE(built.ok()) << built.status();
    std::vector<ZoneRecord> back = control::RecordsOf(**built);
    EXPECT_EQ(back.front().type, dns::rrtype::kSoa);
    EXPECT_EQ(Keys(back), Keys(next)) << "round " << round;
    zone = next;
  }
  // The whole history in one pass (a journal loading) ends where the
  // changes one by one did.
  auto at_once = control::ApplyChangesets(BaseZone(), all);
  ASSERT_TRUE(at_once.ok()) << at_once.status();
  EXPECT_EQ(Keys(*at_once), Keys(zone));
  // A chain with a gap is refused.
  all.erase(all.begin() + 10);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      control::ApplyChangesets(BaseZone(), all).status()));
}

}  // namespace
}  // namespace popdns::xfr
