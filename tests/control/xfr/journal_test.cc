// Tests of the zone journal (control/xfr/journal.h): round trips of the
// full copy and of changeset chains across reopen, Since() as IXFR-out
// history, serial wrap-around (RFC 1982), StoreFull's history rules,
// trimming, durability of acknowledged writes under kill -9, corrupt files
// (garbage pages, bad encodings written straight through LMDB) and a full
// map.
#include "control/xfr/journal.h"

#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "control/zonefile/name_text.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"

namespace popdns::xfr::internal {
// Defined in journal.cc for tests: the LMDB map size of environments opened
// afterwards (0: the default).
void SetJournalMapSizeForTesting(size_t bytes);
}  // namespace popdns::xfr::internal

namespace popdns::xfr {
namespace {

namespace fs = std::filesystem;
using control::ZoneRecord;

constexpr char kZone[] = "example.test";

std::string Name(std::string_view text) {
  absl::StatusOr<std::string> n = control::NameFromText(text, "");
  EXPECT_TRUE(n.ok()) << text;
  return n.ok() ? *n : std::string(1, '\0');
}

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

ZoneRecord Rec(std::string_view owner, uint16_t type, uint32_t ttl, std::string rdata,
               uint16_t rclass = 1) {
  ZoneRecord r;
  r.owner = Name(owner);
  r.type = type;
  r.rclass = rclass;
  r.ttl = ttl;
  r.rdata = std::move(rdata);
  return r;
}

ZoneRecord Soa(uint32_t serial) {
  std::string rd = Name("ns1.example.test.") + Name("hostmaster.example.test.") +
                   Be32(serial) + Be32(3600) + Be32(600) + Be32(86400) + Be32(300);
  return Rec("example.test.", 6, 3600, rd);
}

// A changeset from -> to that removes the A record of `from` and adds those
// of `to` (a deterministic content, so the test knows what it wrote).
Changeset Cs(uint32_t from, uint32_t to) {
  Changeset cs;
  cs.soa_from = Soa(from);
  cs.soa_to = Soa(to);
  cs.removed.push_back(Rec("r" + std::to_string(from) + ".example.test.", 1, 300,
                           Be32(from)));
  cs.added.push_back(Rec("r" + std::to_string(to) + ".example.test.", 1, 300, Be32(to)));
  cs.added.push_back(Rec("t" + std::to_string(to) + ".example.test.", 16, 60,
                         std::string("\x03" "a\0\xff", 4)));
  return cs;
}

std::vector<ZoneRecord> SmallZone(uint32_t serial, size_t extra = 3) {
  std::vector<ZoneRecord> z = {Soa(serial),
                               Rec("example.test.", 2, 3600, Name("ns1.example.test.")),
                               Rec("ns1.example.test.", 1, 3600, Be32(0xC0000201))};
  for (size_t i = 0; i < extra; ++i)
    z.push_back(Rec(absl::StrCat("h", i, ".example.test."), 1, 300,
                    Be32(static_cast<uint32_t>(i))));
  return z;
}

// A name of exactly 255 octets: three labels of 63, one of 61, the root.
std::string MaxName() {
  std::string n;
  for (int i = 0; i < 3; ++i) {
    n.push_back(63);
    n.append(63, static_cast<char>('a' + i));
  }
  n.push_back(61);
  n.append(61, 'z');
  n.push_back(0);
  return n;
}

void ExpectSame(const ZoneRecord& a, const ZoneRecord& b, const std::string& where) {
  EXPECT_EQ(a.owner, b.owner) << where;
  EXPECT_EQ(a.type, b.type) << where;
  EXPECT_EQ(a.rclass, b.rclass) << where;
  EXPECT_EQ(a.ttl, b.ttl) << where;
  EXPECT_EQ(a.rdata, b.rdata) << where;
}

void ExpectSame(const std::vector<ZoneRecord>& a, const std::vector<ZoneRecord>& b,
                const std::string& where) {
  ASSERT_EQ(a.size(), b.size()) << where;
  for (size_t i = 0; i < a.size(); ++i) ExpectSame(a[i], b[i], where + " #" + std::to_string(i));
}

void ExpectSame(const Changeset& a, const Changeset& b, const std::string& where) {
  ExpectSame(a.soa_from, b.soa_from, where + " soa_from");
  ExpectSame(a.soa_to, b.soa_to, where + " soa_to");
  ExpectSame(a.removed, b.removed, where + " removed");
  ExpectSame(a.added, b.added, where + " added");
}

// The changesets Cs(s[0], s[1]), Cs(s[1], s[2]), ...
std::vector<Changeset> Chain(const std::vector<uint32_t>& serials) {
  std::vector<Changeset> out;
  for (size_t i = 1; i < serials.size(); ++i) out.push_back(Cs(serials[i - 1], serials[i]));
  return out;
}

void ExpectChain(const std::vector<Changeset>& got, const std::vector<uint32_t>& serials,
                 const std::string& where) {
  ASSERT_EQ(got.size() + 1, serials.size()) << where;
  const std::vector<Changeset> want = Chain(serials);
  for (size_t i = 0; i < got.size(); ++i) ExpectSame(got[i], want[i], where + " cs" + std::to_string(i));
}

// CRC-32C, bit by bit (independent of journal.cc's table).
uint32_t Crc32c(std::string_view s) {
  uint32_t c = ~0u;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/popdns-journal-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << strerror(errno);
    root_ = templ;
    dir_ = root_ + "/zones";  // Open creates it
  }
  void TearDown() override {
    internal::SetJournalMapSizeForTesting(0);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<Journal> OpenOk(size_t max_changesets = 1000) {
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(dir_, kZone, max_changesets);
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? std::move(*j) : nullptr;
  }
  std::string JournalDir() const { return dir_ + "/" + kZone + ".journal"; }
  std::string DataFile() const { return JournalDir() + "/data.mdb"; }

  // Writes key -> value straight through LMDB (no Journal may be open).
  void RawPut(const std::string& key, const std::string& value) {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_mapsize(env, size_t{1} << 30), 0);
    ASSERT_EQ(mdb_env_open(env, JournalDir().c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    if (value.empty()) {
      ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
    } else {
      MDB_val v{value.size(), const_cast<char*>(value.data())};
      ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  std::string RawGet(const std::string& key) {
    MDB_env* env = nullptr;
    std::string out;
    EXPECT_EQ(mdb_env_create(&env), 0);
    EXPECT_EQ(mdb_env_open(env, JournalDir().c_str(), MDB_RDONLY, 0600), 0);
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
    EXPECT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
    if (mdb_get(txn, dbi, &k, &v) == 0) out.assign(static_cast<char*>(v.mv_data), v.mv_size);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return out;
  }

  std::string root_;
  std::string dir_;
};

std::string ChunkKey(uint32_t i) { return "f" + Be32(i); }
std::string ChangesetKey(uint64_t seq) {
  return "c" + Be32(static_cast<uint32_t>(seq >> 32)) + Be32(static_cast<uint32_t>(seq));
}
std::string WithCrc(std::string body) { return body + Be32(Crc32c(body)); }

TEST(JournalCrcTest, Crc32cCheckValue) {
  // The check value of CRC-32C (RFC 3720 B.4 uses the same polynomial).
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST_F(JournalTest, EmptyJournal) {
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_FALSE(j->has_data());
  EXPECT_EQ(j->last_serial(), 0u);
  EXPECT_EQ(j->path(), JournalDir());
  EXPECT_EQ(j->Load().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(j->Since(0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(j->Append(Cs(1, 2)).code(), absl::StatusCode::kFailedPrecondition);
  // Private modes: the directory 0700, the files 0600 (or less).
  struct stat st;
  ASSERT_EQ(stat(JournalDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  ASSERT_EQ(stat(DataFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0177, 0u);
}

TEST_F(JournalTest, ZoneNamesThatCannotBeDirectories) {
  EXPECT_EQ(Journal::Open(dir_, "a/b.test").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Journal::Open(dir_, "../x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Journal::Open(dir_, std::string_view("a\0b", 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Journal::Remove(dir_, "a/b").code(), absl::StatusCode::kInvalidArgument);
  // The root zone gets "<dir>/.journal".
  absl::StatusOr<std::unique_ptr<Journal>> root = Journal::Open(dir_, "");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ((*root)->path(), dir_ + "/.journal");
}

TEST_F(JournalTest, OneJournalPerZoneInAProcess) {
  // LMDB's locks are per process: a second handle on one environment
  // would lose them when either closes. Refused, also through another path.
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(Journal::Open(dir_, kZone).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Journal::Open(dir_ + "/.//", kZone).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Journal::Remove(dir_, kZone).code(), absl::StatusCode::kFailedPrecondition);
  auto other = Journal::Open(dir_, "other.test");
  EXPECT_TRUE(other.ok()) << other.status();
  j.reset();
  j = OpenOk();
  EXPECT_NE(j, nullptr);
}

TEST_F(JournalTest, FullCopyRoundTrip) {
  std::vector<ZoneRecord> zone = SmallZone(2024010101);
  zone.push_back(Rec("example.test.", 15, 3600, std::string("\0\x0a", 2) + Name("mx.example.test.")));
  zone.push_back(Rec("v6.example.test.", 28, 300, std::string(16, '\xfe')));
  zone.push_back(Rec("bin.example.test.", 16, 0xFFFFFFFF, std::string("\0\0\xff\x01\x7f", 5)));
  zone.push_back(Rec("unknown.example.test.", 65280, 1, ""));  // TYPE65280, empty RDATA
  zone.push_back(Rec("chaos.example.test.", 16, 0, std::string("\x02hi", 3), 3));
  zone.push_back(Rec("big.example.test.", 65281, 5, std::string(65535, '\x5a')));
  ZoneRecord max;
  max.owner = MaxName();
  ASSERT_EQ(max.owner.size(), 255u);
  max.type = 1;
  max.ttl = 7;
  max.rdata = Be32(1);
  zone.push_back(max);
  ZoneRecord upper = Rec("MiXeD.Example.TEST.", 1, 1, Be32(2));  // case is kept
  zone.push_back(upper);
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(2024010101, zone).ok());
    EXPECT_TRUE(j->has_data());
    EXPECT_EQ(j->last_serial(), 2024010101u);
    EXPECT_EQ(j->changesets_after_full(), 0u);
  }
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->last_serial(), 2024010101u);
  absl::StatusOr<Journal::Stored> got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 2024010101u);
  EXPECT_TRUE(got->after.empty());
  ExpectSame(got->full, zone, "full");
  for (const ZoneRecord& r : got->full) {
    EXPECT_EQ(r.file.path(), j->path());
    EXPECT_EQ(r.line, 0);
  }
  EXPECT_TRUE(j->Since(2024010101)->empty());
  EXPECT_EQ(j->Since(2024010100).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JournalTest, UnstorableRecordsAreRefusedAndChangeNothing) {
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->StoreFull(5, SmallZone(5)).ok());
  std::vector<ZoneRecord> bad = SmallZone(6);
  bad[2].owner = std::string("\x40", 1) + std::string(64, 'a') + std::string(1, '\0');
  bad[2].file = control::SourceFile("zone.db");
  bad[2].line = 12;
  absl::Status s = j->StoreFull(6, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("zone.db:12"), std::string::npos) << s;
  bad = SmallZone(6);
  bad[1].rdata.assign(65536, 'x');
  EXPECT_EQ(j->StoreFull(6, bad).code(), absl::StatusCode::kInvalidArgument);
  Changeset cs = Cs(5, 6);
  cs.added[0].owner = "no-root";
  EXPECT_EQ(j->Append(cs).code(), absl::StatusCode::kInvalidArgument);
  cs = Cs(5, 6);
  cs.soa_to.type = 1;
  EXPECT_EQ(j->Append(cs).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(j->Append(Cs(5, 5)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(j->last_serial(), 5u);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(got->full, SmallZone(5), "unchanged");
  EXPECT_TRUE(got->after.empty());
}

TEST_F(JournalTest, ChainRoundTripAndSince) {
  const std::vector<uint32_t> serials = {100, 101, 102, 103, 104, 105};
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(100, SmallZone(100)).ok());
    for (const Changeset& cs : Chain(serials)) {
      ASSERT_TRUE(j->Append(cs).ok());
      EXPECT_EQ(j->last_serial(), cs.to());
    }
    EXPECT_EQ(j->changesets_after_full(), 5u);
    EXPECT_EQ(j->records_after_full(), 15u);
  }
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->last_serial(), 105u);
  EXPECT_EQ(j->changesets_after_full(), 5u);
  EXPECT_EQ(j->records_after_full(), 15u);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 100u);
  ExpectSame(got->full, SmallZone(100), "full");
  ExpectChain(got->after, serials, "after");
  for (size_t i = 0; i < serials.size(); ++i) {
    absl::StatusOr<std::vector<Changeset>> since = j->Since(serials[i]);
    ASSERT_TRUE(since.ok()) << serials[i] << ": " << since.status();
    ExpectChain(*since, std::vector<uint32_t>(serials.begin() + i, serials.end()),
                "since " + std::to_string(serials[i]));
  }
  EXPECT_EQ(j->Since(99).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(j->Since(106).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(j->Since(0).status().code(), absl::StatusCode::kNotFound);
  // Appending after a reopen continues the chain.
  ASSERT_TRUE(j->Append(Cs(105, 106)).ok());
  EXPECT_EQ(j->Append(Cs(105, 107)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(j->Append(Cs(200, 201)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(j->last_serial(), 106u);
  j.reset();
  j = OpenOk();
  got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectChain(got->after, {100, 101, 102, 103, 104, 105, 106}, "after reopen");
}

TEST_F(JournalTest, SerialWrapAround) {
  // RFC 1982: 0xFFFFFFF0 < 0xFFFFFFFA < 3 < 5. The key is a sequence
  // number, so chain order survives the wrap.
  const std::vector<uint32_t> serials = {0xFFFFFFF0u, 0xFFFFFFFAu, 0xFFFFFFFFu, 0, 3, 5};
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(serials[0], SmallZone(serials[0])).ok());
    for (const Changeset& cs : Chain(serials)) ASSERT_TRUE(j->Append(cs).ok());
  }
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->last_serial(), 5u);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 0xFFFFFFF0u);
  ExpectChain(got->after, serials, "after");
  auto since = j->Since(0xFFFFFFFAu);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {0xFFFFFFFAu, 0xFFFFFFFFu, 0, 3, 5}, "since FFFFFFFA");
  since = j->Since(0);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {0, 3, 5}, "since 0");
  // Compaction across the wrap keeps the whole chain as history.
  ASSERT_TRUE(j->StoreFull(5, SmallZone(5)).ok());
  since = j->Since(0xFFFFFFF0u);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, serials, "history across the wrap");
}

TEST_F(JournalTest, StoreFullKeepsHistoryThatChainsToIt) {
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->StoreFull(1, SmallZone(1)).ok());
  for (const Changeset& cs : Chain({1, 2, 3, 4})) ASSERT_TRUE(j->Append(cs).ok());
  // Compaction: the full copy of version 4; the changesets become history.
  ASSERT_TRUE(j->StoreFull(4, SmallZone(4, 10)).ok());
  EXPECT_EQ(j->last_serial(), 4u);
  EXPECT_EQ(j->changesets_after_full(), 0u);
  EXPECT_EQ(j->records_after_full(), 0u);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 4u);
  ExpectSame(got->full, SmallZone(4, 10), "full 4");
  EXPECT_TRUE(got->after.empty());
  auto since = j->Since(1);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {1, 2, 3, 4}, "history");

  ASSERT_TRUE(j->Append(Cs(4, 5)).ok());
  EXPECT_EQ(j->changesets_after_full(), 1u);
  j.reset();
  j = OpenOk();
  got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 4u);
  ExpectChain(got->after, {4, 5}, "after");
  since = j->Since(2);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {2, 3, 4, 5}, "since 2");

  // A full copy of version 2 (a rollback of the chain): 2 -> 3 -> 4 -> 5
  // belong to a history it replaces.
  ASSERT_TRUE(j->StoreFull(2, SmallZone(2)).ok());
  EXPECT_EQ(j->last_serial(), 2u);
  since = j->Since(1);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {1, 2}, "kept up to 2");
  EXPECT_EQ(j->Since(3).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(j->Append(Cs(2, 7)).ok());
  j.reset();
  j = OpenOk();
  since = j->Since(1);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {1, 2, 7}, "a new branch");
  got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 2u);
  ExpectChain(got->after, {2, 7}, "after 2");
}

TEST_F(JournalTest, StoreFullDropsUnrelatedHistory) {
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->StoreFull(10, SmallZone(10)).ok());
  for (const Changeset& cs : Chain({10, 11, 12})) ASSERT_TRUE(j->Append(cs).ok());
  // An AXFR of version 500: nothing in the history ends there.
  ASSERT_TRUE(j->StoreFull(500, SmallZone(500, 7)).ok());
  EXPECT_EQ(j->last_serial(), 500u);
  EXPECT_EQ(j->changesets_after_full(), 0u);
  EXPECT_EQ(j->Since(10).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(j->Since(11).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(j->Since(500)->empty());
  ASSERT_TRUE(j->Append(Cs(500, 501)).ok());
  j.reset();
  j = OpenOk();
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 500u);
  ExpectSame(got->full, SmallZone(500, 7), "full");
  ExpectChain(got->after, {500, 501}, "after");
  EXPECT_EQ(j->Since(12).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JournalTest, MaxChangesetsTrimsHistoryOnly) {
  auto j = OpenOk(3);
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->StoreFull(1, SmallZone(1)).ok());
  // Changesets after the full copy are data: never trimmed.
  for (const Changeset& cs : Chain({1, 2, 3, 4, 5, 6})) ASSERT_TRUE(j->Append(cs).ok());
  EXPECT_EQ(j->changesets_after_full(), 5u);
  ASSERT_TRUE(j->Since(1).ok());
  // Folded into the full copy they are history, kept up to 3.
  ASSERT_TRUE(j->StoreFull(6, SmallZone(6)).ok());
  EXPECT_EQ(j->Since(2).status().code(), absl::StatusCode::kNotFound);
  auto since = j->Since(3);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {3, 4, 5, 6}, "3 kept");
  // 3 of history + 1 after: the oldest goes.
  ASSERT_TRUE(j->Append(Cs(6, 7)).ok());
  EXPECT_EQ(j->Since(3).status().code(), absl::StatusCode::kNotFound);
  since = j->Since(4);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {4, 5, 6, 7}, "after append");
  j.reset();
  j = OpenOk(3);
  since = j->Since(4);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {4, 5, 6, 7}, "reopened");
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 6u);
  ExpectChain(got->after, {6, 7}, "after");
  // No history at all.
  j.reset();
  j = OpenOk(0);
  ASSERT_TRUE(j->StoreFull(7, SmallZone(7)).ok());
  EXPECT_EQ(j->Since(6).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(j->Since(7)->empty());
}

TEST_F(JournalTest, AcknowledgedAppendsSurviveKill9) {
  // A child appends in a loop and reports each acknowledged serial on a
  // pipe; the parent kills it with SIGKILL after some acks. Whatever was
  // acknowledged must be there, and the state must be one that was
  // written (the acked chain, plus at most the one write in flight).
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    const int kill_after = 5 + 23 * round;
    {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      auto j = OpenOk();
      ASSERT_NE(j, nullptr);
      ASSERT_TRUE(j->StoreFull(1, SmallZone(1)).ok());
    }  // closed before fork: an LMDB environment must not cross a fork
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(dir_, kZone);
      if (!j.ok()) _exit(2);
      for (uint32_t s = 1;; ++s) {
        if (!(*j)->Append(Cs(s, s + 1)).ok()) _exit(3);
        const uint32_t ack = s + 1;
        if (write(fds[1], &ack, sizeof ack) != sizeof ack) _exit(4);
      }
    }
    close(fds[1]);
    uint32_t last_ack = 1;
    int acks = 0;
    uint32_t ack = 0;
    while (acks < kill_after) {
      const ssize_t n = read(fds[0], &ack, sizeof ack);
      if (n < 0 && errno == EINTR) continue;
      ASSERT_EQ(n, static_cast<ssize_t>(sizeof ack)) << "the child stopped early";
      last_ack = ack;
      ++acks;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    // Acks written before the kill are still in the pipe (4-byte writes
    // are atomic).
    while (read(fds[0], &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack)) last_ack = ack;
    close(fds[0]);

    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    const uint32_t last = j->last_serial();
    EXPECT_GE(last, last_ack);
    EXPECT_LE(last, last_ack + 1);  // at most the write in flight
    auto got = j->Load();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->full_serial, 1u);
    ExpectSame(got->full, SmallZone(1), "full");
    std::vector<uint32_t> serials;
    for (uint32_t s = 1; s <= last; ++s) serials.push_back(s);
    ExpectChain(got->after, serials, "after kill -9");
    // And it still takes writes.
    ASSERT_TRUE(j->Append(Cs(last, last + 1)).ok());
  }
}

TEST_F(JournalTest, BadEncodingsWrittenThroughLmdb) {
  auto make = [&] {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(1, SmallZone(1)).ok());
    for (const Changeset& cs : Chain({1, 2, 3, 4})) ASSERT_TRUE(j->Append(cs).ok());
  };
  auto expect_open_fails = [&](const std::string& what) {
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(dir_, kZone);
    ASSERT_FALSE(j.ok()) << what;
    EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss) << j.status();
    EXPECT_NE(j.status().message().find(JournalDir()), std::string::npos) << j.status();
    EXPECT_NE(j.status().message().find(what), std::string::npos) << j.status();
  };
  auto expect_load_fails = [&](const std::string& what) {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    absl::StatusOr<Journal::Stored> got = j->Load();
    ASSERT_FALSE(got.ok()) << what;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    EXPECT_NE(got.status().message().find(JournalDir()), std::string::npos) << got.status();
    EXPECT_NE(got.status().message().find(what), std::string::npos) << got.status();
  };

  // A newer format version (valid CRC).
  make();
  std::string meta = RawGet("m");
  ASSERT_EQ(meta.size(), 56u);
  std::string body = meta.substr(0, 52);
  body.replace(4, 4, Be32(2));
  RawPut("m", WithCrc(body));
  expect_open_fails("format version 2");

  // Garbage in place of the metadata and of a changeset.
  make();
  RawPut("m", std::string(56, '\x11'));
  expect_open_fails("metadata");
  make();
  RawPut(ChangesetKey(1), "garbage");
  expect_open_fails("changeset 1: checksum mismatch");

  // A changeset missing from the middle of the chain, a stray key.
  make();
  RawPut(ChangesetKey(1), "");
  expect_open_fails("changeset 2");
  make();
  RawPut("x", "y");
  expect_open_fails("unknown key");
  make();
  RawPut(ChunkKey(7), "z");
  expect_open_fails("full copy chunk 7");

  // A chunk whose record owner is not a wire name (label of 64), with a
  // valid CRC: only the decoder can tell.
  make();
  std::string chunk = Be32(1) + Be32(0) + Be32(1);
  chunk += std::string(1, 66) + std::string(1, 64) + std::string(64, 'a') + std::string(1, '\0');
  chunk += std::string("\0\x01\0\x01\0\0\0\x05\0\x00", 10);
  RawPut(ChunkKey(0), WithCrc(chunk));
  expect_load_fails("owner is not a wire-format name");

  // Lengths that run past the value: RDATA length, record count.
  make();
  chunk = Be32(1) + Be32(0) + Be32(1) + std::string(1, 1) + std::string(1, '\0') +
          std::string("\0\x01\0\x01\0\0\0\x05\xff\xff", 10) + "abc";
  RawPut(ChunkKey(0), WithCrc(chunk));
  expect_load_fails("runs past the end");
  make();
  chunk = Be32(1) + Be32(0) + Be32(0x7FFFFFFF) + std::string(1, 1) + std::string(1, '\0') +
          std::string("\0\x01\0\x01\0\0\0\x05\0\0", 10);
  RawPut(ChunkKey(0), WithCrc(chunk));
  expect_load_fails("cannot fit");
  make();
  chunk = Be32(9) + Be32(0) + Be32(0);
  RawPut(ChunkKey(0), WithCrc(chunk));
  expect_load_fails("belongs to serial 9");

  // Fuzz a changeset: random bytes, then a valid CRC, so that the decoder
  // (not the checksum) must cope. Never a crash; an error or a changeset.
  make();
  const std::string good = RawGet(ChangesetKey(2));
  ASSERT_GT(good.size(), 30u);
  std::mt19937 rng(12345);
  int errors = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string v = good.substr(0, good.size() - 4);
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) v[rng() % v.size()] = static_cast<char>(rng());
    if (rng() % 8 == 0) v.resize(rng() % v.size());
    RawPut(ChangesetKey(2), WithCrc(v));
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(dir_, kZone);
    if (!j.ok()) {
      EXPECT_EQ(j.status().code(), absl::StatusCode::kDataLoss) << j.status();
      ++errors;
      continue;
    }
    absl::StatusOr<std::vector<Changeset>> since = (*j)->Since(1);
    absl::StatusOr<Journal::Stored> got = (*j)->Load();
    if (!since.ok()) {
      EXPECT_EQ(since.status().code(), absl::StatusCode::kDataLoss) << since.status();
    }
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    }
    errors += !got.ok();
  }
  EXPECT_GT(errors, 100);
  RawPut(ChangesetKey(2), good);
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_TRUE(j->Load().ok());
}

TEST_F(JournalTest, GarbageInDataFileIsAnErrorNeverACrash) {
  // A journal with several pages of B-tree, overflow pages and free pages.
  std::vector<ZoneRecord> zone = SmallZone(1, 4000);
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(1, zone).ok());
    for (const Changeset& cs : Chain({1, 2, 3, 4, 5, 6})) ASSERT_TRUE(j->Append(cs).ok());
    ASSERT_TRUE(j->StoreFull(6, zone).ok());
    for (uint32_t s = 6; s < 40; ++s) ASSERT_TRUE(j->Append(Cs(s, s + 1)).ok());
  }
  std::vector<uint32_t> serials;
  for (uint32_t s = 6; s <= 40; ++s) serials.push_back(s);
  std::string pristine;
  {
    std::ifstream in(DataFile(), std::ios::binary);
    pristine.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(pristine.size(), 16 * 4096u);
  uint32_t psize = 0;
  std::memcpy(&psize, pristine.data() + 16 + 24, 4);  // MDB_meta mm_psize
  ASSERT_TRUE(psize >= 512 && psize <= 65536) << psize;
  const size_t pages = pristine.size() / psize;

  auto write_file = [&](const std::string& bytes) {
    std::ofstream out(DataFile(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  // Returns true when it loaded (then the data must be as written: either
  // the last state or the one before, which an older meta page holds).
  auto check = [&](const std::string& what) -> bool {
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(dir_, kZone);
    if (!j.ok()) {
      EXPECT_TRUE(j.status().code() == absl::StatusCode::kDataLoss ||
                  j.status().code() == absl::StatusCode::kInternal)
          << what << ": " << j.status();
      EXPECT_NE(j.status().message().find(JournalDir()), std::string::npos) << j.status();
      return false;
    }
    absl::StatusOr<Journal::Stored> got = (*j)->Load();
    absl::StatusOr<std::vector<Changeset>> since = (*j)->Since(6);
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << what << ": " << got.status();
      return false;
    }
    if (!since.ok()) {
      EXPECT_TRUE(since.status().code() == absl::StatusCode::kDataLoss ||
                  since.status().code() == absl::StatusCode::kNotFound)
          << what << ": " << since.status();
    }
    EXPECT_EQ(got->full_serial, 6u) << what;
    ExpectSame(got->full, zone, what);
    const uint32_t last = (*j)->last_serial();
    EXPECT_TRUE(last == 40 || last == 39) << what << ": " << last;
    if (last != 40 && last != 39) return true;
    ExpectChain(got->after, std::vector<uint32_t>(serials.begin(), serials.end() - (40 - last)),
                what);
    return true;
  };

  std::mt19937 rng(777);
  const size_t offsets[] = {0, 8, 10, 12, 14, 16, 18, 24, 40, 64, 120, 136,
                            psize / 2, psize - 40, psize - 16};
  int errors = 0, loads = 0;
  for (size_t page = 0; page < pages; ++page) {
    for (size_t off : offsets) {
      std::string bytes = pristine;
      for (size_t k = 0; k < 16; ++k) bytes[page * psize + off + k] = static_cast<char>(rng());
      write_file(bytes);
      const std::string what = "page " + std::to_string(page) + " +" + std::to_string(off);
      if (check(what)) {
        ++loads;
      } else {
        ++errors;
      }
      if (HasFatalFailure()) return;
    }
  }
  // A whole page of garbage, everywhere.
  for (size_t page = 0; page < pages; ++page) {
    std::string bytes = pristine;
    for (size_t k = 0; k < psize; ++k) bytes[page * psize + k] = static_cast<char>(rng());
    write_file(bytes);
    if (check("garbage page " + std::to_string(page))) {
      ++loads;
    } else {
      ++errors;
    }
  }
  // Random garbage for the whole file; the file cut short.
  {
    std::string bytes(pristine.size(), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    write_file(bytes);
    EXPECT_FALSE(check("all garbage"));
    write_file(pristine.substr(0, pristine.size() / 2));
    EXPECT_FALSE(check("half the file"));
    write_file(pristine.substr(0, 100));
    EXPECT_FALSE(check("100 octets"));
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(loads, 0);  // garbage in free pages is harmless
  std::printf("garbage: %d errors, %d loads (free or unused space) over %zu pages\n", errors,
              loads, pages);

  // The caller's way out: remove and start again.
  ASSERT_TRUE(Journal::Remove(dir_, kZone).ok());
  EXPECT_FALSE(fs::exists(JournalDir()));
  EXPECT_TRUE(Journal::Remove(dir_, kZone).ok());
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  EXPECT_FALSE(j->has_data());
}

TEST_F(JournalTest, RandomWorkloadAlwaysReopens) {
  // The structural check of data.mdb must never refuse a file LMDB wrote:
  // a random mix of appends, compactions, unrelated full copies and
  // trimming (deep trees, a freelist with many records, overflow values),
  // reopened every few writes and compared with a model.
  std::mt19937 rng(4242);
  const size_t kMax = 300;
  auto j = OpenOk(kMax);
  ASSERT_NE(j, nullptr);
  uint32_t full = 1000;
  size_t full_extra = 500;
  std::vector<uint32_t> chain = {full};  // history + after, in order
  size_t full_pos = 0;                   // index of the full serial in chain
  ASSERT_TRUE(j->StoreFull(full, SmallZone(full, full_extra)).ok());
  for (int op = 0; op < 600; ++op) {
    const uint32_t r = rng() % 100;
    if (r < 80) {
      const uint32_t next = chain.back() + 1 + rng() % 3;
      Changeset cs = Cs(chain.back(), next);
      // Mostly small (inline in leaf pages), sometimes on overflow pages.
      const uint32_t n = rng() % 8 == 0 ? rng() % 60 : rng() % 4;
      for (uint32_t k = n; k > 0; --k)
        cs.added.push_back(Rec("x" + std::to_string(k) + ".example.test.", 16, 1,
                               std::string(rng() % 200, 'q')));
      ASSERT_TRUE(j->Append(cs).ok());
      chain.push_back(next);
    } else if (r < 95) {  // compaction at the last serial
      full = chain.back();
      full_extra = rng() % 20000;
      ASSERT_TRUE(j->StoreFull(full, SmallZone(full, full_extra)).ok());
      full_pos = chain.size() - 1;
    } else {  // an AXFR of something unrelated
      full = chain.back() + 100000;
      full_extra = rng() % 5000;
      ASSERT_TRUE(j->StoreFull(full, SmallZone(full, full_extra)).ok());
      chain = {full};
      full_pos = 0;
    }
    // The model's trimming: history before the full copy down to kMax
    // changesets in all.
    while (chain.size() - 1 > kMax && full_pos > 0) {
      chain.erase(chain.begin());
      --full_pos;
    }
    ASSERT_EQ(j->last_serial(), chain.back());
    if (op % 10 == 9) {
      j.reset();
      j = OpenOk(kMax);
      ASSERT_NE(j, nullptr) << "op " << op;
      auto got = j->Load();
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->full_serial, full);
      ASSERT_EQ(got->full.size(), SmallZone(full, full_extra).size());
      ASSERT_EQ(got->after.size(), chain.size() - 1 - full_pos);
      auto since = j->Since(chain.front());
      if (chain.size() == 1) {
        EXPECT_TRUE(since.ok() && since->empty());
      } else {
        ASSERT_TRUE(since.ok()) << since.status();
        ASSERT_EQ(since->size(), chain.size() - 1);
      }
    }
  }
  // What the check walked: branch pages and a freelist.
  j.reset();
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, JournalDir().c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  MDB_stat main_db, free_db;
  ASSERT_EQ(mdb_stat(txn, dbi, &main_db), 0);
  ASSERT_EQ(mdb_stat(txn, 0, &free_db), 0);  // dbi 0: LMDB's freelist
  mdb_txn_abort(txn);
  mdb_env_close(env);
  std::printf("main: depth %u, %zu branch, %zu leaf, %zu overflow pages; "
              "free: depth %u, %zu records\n",
              main_db.ms_depth, main_db.ms_branch_pages, main_db.ms_leaf_pages,
              main_db.ms_overflow_pages, free_db.ms_depth, free_db.ms_entries);
  EXPECT_GE(main_db.ms_depth, 2u);
  EXPECT_GT(main_db.ms_overflow_pages, 0u);
  EXPECT_GT(free_db.ms_entries, 0u);
}

TEST_F(JournalTest, FullMapIsResourceExhausted) {
  internal::SetJournalMapSizeForTesting(size_t{1} << 20);
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->StoreFull(1, SmallZone(1, 100)).ok());
  ASSERT_TRUE(j->Append(Cs(1, 2)).ok());
  absl::Status s = j->StoreFull(3, SmallZone(3, 60000));  // ~2 MB
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find(JournalDir()), std::string::npos) << s;
  Changeset big = Cs(2, 3);
  for (int i = 0; i < 400; ++i)
    big.added.push_back(Rec(absl::StrCat("b", i, ".example.test."), 16, 1,
                            std::string(4000, 'x')));
  s = j->Append(big);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  // Nothing changed, and it still works.
  EXPECT_EQ(j->last_serial(), 2u);
  ASSERT_TRUE(j->Append(Cs(2, 3)).ok());
  j.reset();
  j = OpenOk();
  ASSERT_NE(j, nullptr);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(got->full, SmallZone(1, 100), "full");
  ExpectChain(got->after, {1, 2, 3}, "after");
}

TEST_F(JournalTest, LargeFullCopy) {
  std::vector<ZoneRecord> zone = {Soa(7)};
  zone.reserve(200001);
  for (uint32_t i = 0; i < 200000; ++i) {
    const std::string owner = "host-" + std::to_string(i) + ".example.test.";
    if (i % 3 == 0)
      zone.push_back(Rec(owner, 16, 300, "\x0f" "some text " + std::to_string(i % 100000)));
    else
      zone.push_back(Rec(owner, 1, 300, Be32(i)));
  }
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(7, zone).ok());
    ASSERT_TRUE(j->Append(Cs(7, 8)).ok());
    // Replace it once more (chunks of the old copy go).
    ASSERT_TRUE(j->StoreFull(8, zone).ok());
  }
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->full_serial, 8u);
  ExpectSame(got->full, zone, "large");
  auto since = j->Since(7);
  ASSERT_TRUE(since.ok()) << since.status();
  ExpectChain(*since, {7, 8}, "history");
}

// What a secondary does with an AXFR: the records encoded as they arrive,
// stored once validated. The stored chunks are byte for byte those that
// StoreFull writes from the same records.
TEST_F(JournalTest, FullCopyEncodedAheadStoresTheSameChunks) {
  std::vector<ZoneRecord> zone = {Soa(9)};
  for (uint32_t i = 0; i < 100000; ++i) {
    zone.push_back(Rec("host-" + std::to_string(i) + ".example.test.", 16, 300,
                       "\x0f" "some text " + std::to_string(i)));
  }
  FullCopyEncoder encoder(9);
  for (const ZoneRecord& r : zone) ASSERT_TRUE(encoder.Add(r).ok());
  EXPECT_EQ(encoder.records(), zone.size());
  std::vector<std::string> from_records;
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->StoreFull(9, zone).ok());
  }
  for (uint32_t i = 0;; ++i) {
    std::string chunk = RawGet(ChunkKey(i));
    if (chunk.empty()) break;
    from_records.push_back(std::move(chunk));
  }
  ASSERT_GT(from_records.size(), 2u);  // several chunks
  {
    auto j = OpenOk();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->Append(Cs(9, 10)).ok());
    ASSERT_TRUE(j->StoreFull(std::move(encoder)).ok());
    EXPECT_EQ(j->last_serial(), 9u);
    EXPECT_EQ(j->changesets_after_full(), 0u);
  }
  for (uint32_t i = 0; i < from_records.size(); ++i) {
    EXPECT_EQ(RawGet(ChunkKey(i)), from_records[i]) << "chunk " << i;
  }
  EXPECT_TRUE(RawGet(ChunkKey(from_records.size())).empty());
  auto j = OpenOk();
  ASSERT_NE(j, nullptr);
  auto got = j->Load();
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(got->full, zone, "encoded ahead");
  // A record the journal cannot hold is refused when it is added.
  FullCopyEncoder bad(10);
  ZoneRecord r = Soa(10);
  r.owner = "no-root";
  EXPECT_EQ(bad.Add(r).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.records(), 0u);
}

}  // namespace
}  // namespace popdns::xfr
