// ZoneStore::CommitTransfer of a whole zone, with the copy the transfer
// encoded for the journal as it arrived: stored as received when
// validation changes nothing, the validated records otherwise, nothing
// when the zone is refused (the previous copy stays). Checked by reopening
// the journal as a restarted PoP does.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "control/build/zone_store.h"
#include "control/xfr/journal.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_file.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "gtest/gtest.h"

namespace popdns::control {
namespace {

constexpr char kZone[] = "example.test.";

std::vector<ZoneRecord> Parse(const std::string& text) {
  ZoneFileOptions options;
  options.origin_wire = *NameFromText(kZone, "");
  auto records = ParseZoneText(text, "axfr", options);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.value_or(std::vector<ZoneRecord>{});
}

std::string ZoneText(int serial, const std::string& body) {
  return "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 host " +
         std::to_string(serial) + " 3600 600 86400 300\n@ NS ns1\n" +
         "ns1 A 192.0.2.53\n" + body;
}

xfr::FullCopyEncoder Encode(const std::vector<ZoneRecord>& records,
                            uint32_t serial) {
  xfr::FullCopyEncoder encoder(serial);
  for (const ZoneRecord& r : records) EXPECT_TRUE(encoder.Add(r).ok());
  return encoder;
}

class TransferCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = ::testing::TempDir() + "/transfer_commit_test";
    std::filesystem::remove_all(storage_);
    config_.name = kZone;
    config_.primaries = {"192.0.2.1:53"};
    config_.storage = storage_;
  }
  void TearDown() override { std::filesystem::remove_all(storage_); }

  // Commits `records` (and their encoded copy) into a fresh store.
  absl::Status Commit(std::vector<ZoneRecord> records,
                      std::optional<xfr::FullCopyEncoder> copy) {
    dpdk::SnapshotManager snapshots(4);
    ZoneStore store(&snapshots, {"id", "v"});
    EXPECT_TRUE(store.Configure({config_}).ok());
    const std::string apex = *NameFromText(kZone, "");
    return store.CommitTransfer(apex, xfr::TransferStream::Kind::kFull,
                                std::move(records), {}, "AXFR from test",
                                std::move(copy));
  }

  // What a restarted PoP finds on disk.
  xfr::Journal::Stored Stored() {
    auto j = xfr::Journal::Open(storage_, "example.test");
    EXPECT_TRUE(j.ok()) << j.status();
    auto stored = (*j)->Load();
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? *std::move(stored) : xfr::Journal::Stored{};
  }

  std::string storage_;
  ZoneConfig config_;
};

TEST_F(TransferCommitTest, UnchangedRecordsAreStoredAsReceived) {
  const std::vector<ZoneRecord> records =
      Parse(ZoneText(7, "www A 192.0.2.1\nwww A 192.0.2.2\nWWW TXT hi\n"));
  ASSERT_TRUE(Commit(records, Encode(records, 7)).ok());
  const xfr::Journal::Stored stored = Stored();
  EXPECT_EQ(stored.full_serial, 7u);
  ASSERT_EQ(stored.full.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(stored.full[i].owner, records[i].owner) << i;  // case kept
    EXPECT_EQ(stored.full[i].rdata, records[i].rdata) << i;
    EXPECT_EQ(stored.full[i].ttl, records[i].ttl) << i;
  }
}

// RFC 2181 5.2 (one TTL per RRset) and a duplicate RR: what serves is not
// what arrived, and the journal must hold what serves.
TEST_F(TransferCommitTest, ValidationChangesStoreTheValidatedRecords) {
  const std::vector<ZoneRecord> records = Parse(ZoneText(
      8, "www 60 A 192.0.2.1\nwww 120 A 192.0.2.2\nwww 60 A 192.0.2.1\n"));
  ASSERT_EQ(records.size(), 6u);
  ASSERT_TRUE(Commit(records, Encode(records, 8)).ok());
  const xfr::Journal::Stored stored = Stored();
  EXPECT_EQ(stored.full_serial, 8u);
  ASSERT_EQ(stored.full.size(), 5u);  // the duplicate dropped
  EXPECT_EQ(stored.full[3].ttl, 60u);
  EXPECT_EQ(stored.full[4].ttl, 60u);  // was 120
}

TEST_F(TransferCommitTest, RefusedZoneLeavesThePreviousCopy) {
  const std::vector<ZoneRecord> good = Parse(ZoneText(9, "www A 192.0.2.1\n"));
  ASSERT_TRUE(Commit(good, Encode(good, 9)).ok());
  // RFC 1034 3.6.2: CNAME and other data at one name.
  const std::vector<ZoneRecord> bad =
      Parse(ZoneText(10, "www A 192.0.2.1\nwww CNAME ns1\n"));
  const absl::Status s = Commit(bad, Encode(bad, 10));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("CNAME and other data"), std::string::npos) << s;
  const xfr::Journal::Stored stored = Stored();
  EXPECT_EQ(stored.full_serial, 9u);
  EXPECT_EQ(stored.full.size(), good.size());
}

// A copy that does not match the records (another serial) is not stored.
TEST_F(TransferCommitTest, MismatchedCopyIsNotStored) {
  const std::vector<ZoneRecord> records = Parse(ZoneText(11, "a A 192.0.2.9\n"));
  const std::vector<ZoneRecord> other = Parse(ZoneText(12, "b A 192.0.2.9\n"));
  ASSERT_TRUE(Commit(records, Encode(other, 12)).ok());
  const xfr::Journal::Stored stored = Stored();
  EXPECT_EQ(stored.full_serial, 11u);
  ASSERT_EQ(stored.full.size(), records.size());
  EXPECT_EQ(stored.full.back().owner, records.back().owner);
}

}  // namespace
}  // namespace popdns::control
