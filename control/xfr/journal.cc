// The zone journal on LMDB. See journal.h for the contract.
//
// Files. One LMDB environment per zone in `<dir>/<zone>.journal/`
// (data.mdb, lock.mdb). The directories are made with mode 0700 and the
// files 0600: zone data may be private. The root zone ("") lives in
// `<dir>/.journal/`. A zone containing '/' or NUL is refused, so the path
// never leaves `dir`.
//
// Keys. Only the unnamed main database is used; key byte order is the
// iteration order:
//   "c" + u64 seq   a changeset. seq grows by one per Append, so key order
//                   is chain order whatever the serials do (they wrap,
//                   RFC 1982). Keys "c" are exactly [first_seq, next_seq).
//   "f" + u32 i     chunk i of the full copy: records split at record
//                   boundaries into values of about 1 MiB, so that a large
//                   zone never needs one 40 MB buffer (LMDB stores each as
//                   overflow pages). Keys "f" are exactly [0, chunks).
//   "m"             the metadata record. No "m" = an empty journal (and
//                   then no other key may exist).
// Values (integers big-endian; every value ends with a CRC-32C of the bytes
// before it, so that a flipped bit in a TTL or RDATA is DataLoss rather
// than a silently different zone):
//   meta       u32 magic "PJRN", u32 format version (1), u32 flags (0),
//              u32 full serial, u32 chunks, u64 full record count,
//              u64 first_seq, u64 full_seq, u64 next_seq, u32 crc
//   chunk      u32 full serial, u32 i, u32 record count, records, u32 crc
//   changeset  u64 seq, u32 from, u32 to, u32 #removed, u32 #added,
//              SOA from, SOA to, removed, added, u32 crc
//   record     u8 owner length, owner (wire, case kept), u16 type,
//              u16 class, u32 ttl, u16 rdata length, rdata
// ZoneRecord.file/line are not stored; Load and Since set file to the
// journal's path and line to 0.
//
// History. Changesets [first_seq, full_seq) end at the full copy (the last
// one's to() is the full serial): IXFR-out history only. Changesets
// [full_seq, next_seq) start at the full copy and Load returns them to be
// applied to it. StoreFull(serial) keeps the chain up to the last changeset
// whose to() is `serial` (the new full copy is a version of that history,
// e.g. a compaction) and drops what follows; when no changeset ends at
// `serial` (an AXFR of an unrelated version) all history goes. Then, as
// after every Append, the oldest changesets before the full copy are
// dropped while more than max_changesets are stored; changesets after the
// full copy are never dropped (they are data, not history: the zone store
// compacts when they grow). Since(s) starts at the last changeset whose
// from() is s (a chain that reuses a serial is served the shortest way).
//
// Durability. Every public write is one LMDB write transaction with
// LMDB's default durability (no MDB_NOSYNC/MDB_NOMETASYNC): the commit
// fsyncs data and meta page before it returns, so an acknowledged write
// survives kill -9 and power loss, and an interrupted one leaves the
// previous state (LMDB's copy-on-write B-tree flips one meta page). When
// Open creates the files it also fsyncs the directory and its parent, so
// the new directory entries survive power loss too. The in-memory state
// (last serial, the index of changesets) is replaced only after a commit
// succeeds, so a failed write leaves the object as it was.
//
// Map size. 16 GiB on 64-bit hosts (1 GiB on 32-bit): sparse, LMDB only
// uses what it writes. When a write does not fit (MDB_MAP_FULL), or the
// disk is full, it returns ResourceExhausted with the path; the transaction
// is aborted and the previous state stays.
//
// Threads. One at a time. The environment is opened with MDB_NOTLS
// so that read transactions belong to their MDB_txn object and not to the
// thread: a Journal opened at start-up on one thread may be used later on
// another (never two at once). No transaction outlives a call.
//
// Corruption. LMDB trusts its file: a garbage page number or node offset
// can make it read outside its map (SIGBUS/SIGSEGV) or trip an assert. So
// before LMDB maps an existing data.mdb, LmdbFileCheck reads it with
// pread and walks both B-trees as LMDB 0.9 lays them out (mdb.c, format
// version 1): meta pages, page numbers within the file and not shared,
// page types and depths, node offsets and sizes within their page and not
// overlapping, sorted keys, overflow page runs, freelist page numbers. A
// file that fails is DataLoss with the path and what is wrong; the caller
// Remove()s it and fetches a fresh AXFR. (64-bit hosts with LMDB 0.9;
// elsewhere the check is compiled out and only the CRCs remain.) One
// process may not open a journal twice: LMDB's locks are per process. Above LMDB, every value carries a
// CRC, and the decoders trust no length they read (short buffer, bad name,
// wrong counts, wrong format version: DataLoss with the path and what).
#include "control/xfr/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <malloc.h>
#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#define POPDNS_RETURN_IF_ERROR(expr)   \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (false)

namespace popdns::xfr {
namespace internal {

constexpr size_t kDefaultMapSize =
    sizeof(size_t) >= 8 ? (size_t{16} << 30) : (size_t{1} << 30);
size_t g_map_size = kDefaultMapSize;

// Tests only (declared in journal_test.cc): a small map to fill; 0 restores
// the default. Applies to environments opened afterwards.
void SetJournalMapSizeForTesting(size_t bytes) {
  g_map_size = bytes != 0 ? bytes : kDefaultMapSize;
}

}  // namespace internal

namespace {

constexpr uint32_t kMagic = 0x504A524E;  // "PJRN"
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kMetaSize = 56;
constexpr size_t kChunkTarget = size_t{1} << 20;
// u8 owner length + root name + type, class, ttl, rdata length.
constexpr size_t kMinRecordSize = 1 + 1 + 2 + 2 + 4 + 2;
constexpr uint16_t kTypeSoa = 6;

// ---------------------------------------------------------------------------
// CRC-32C (Castagnoli), the reflected table-driven form.

#if !defined(__SSE4_2__)
struct CrcTable {
  uint32_t t[256];
  constexpr CrcTable() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};
constexpr CrcTable kCrc;
#endif

// SSE 4.2's CRC32 instruction computes this polynomial, 8 octets at a
// time: a full copy is as large as the zone's text.
uint32_t Crc32c(const uint8_t* p, size_t n) {
  uint32_t c = ~uint32_t{0};
#if defined(__SSE4_2__)
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c64 = _mm_crc32_u64(c64, word);
  }
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n, ++p) c = _mm_crc32_u8(c, *p);
#else
  for (size_t i = 0; i < n; ++i) c = kCrc.t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
#endif
  return ~c;
}

// ---------------------------------------------------------------------------
// Encoding.

void Put8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void Put16(std::string* out, uint16_t v) {
  Put8(out, static_cast<uint8_t>(v >> 8));
  Put8(out, static_cast<uint8_t>(v));
}
void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
void Put64(std::string* out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v >> 32));
  Put32(out, static_cast<uint32_t>(v));
}
void Patch32(std::string* out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*out)[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
void PutCrc(std::string* out) {
  Put32(out, Crc32c(reinterpret_cast<const uint8_t*>(out->data()), out->size()));
}

// Uncompressed wire-format name: labels of 1..63 octets ending with the
// root label, 255 octets at most (RFC 1035 2.3.4, 3.1).
bool ValidWireName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  size_t i = 0;
  while (i < name.size()) {
    const uint8_t len = static_cast<uint8_t>(name[i]);
    if (len == 0) return i + 1 == name.size();
    if (len > 63) return false;  // also rejects compression pointers
    i += 1 + len;
  }
  return false;  // ran past the end without a root label
}

// Length of the wire name at the start of `in`, 0 if there is none.
size_t WireNameLength(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && i < 255) {
    const uint8_t len = static_cast<uint8_t>(in[i]);
    if (len == 0) return i + 1;
    if (len > 63) return 0;
    i += 1 + len;
  }
  return 0;
}

// SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM.
bool ValidSoa(const ZoneRecord& r) {
  if (r.type != kTypeSoa) return false;
  std::string_view rd = r.rdata;
  const size_t m = WireNameLength(rd);
  if (m == 0) return false;
  rd.remove_prefix(m);
  const size_t n = WireNameLength(rd);
  if (n == 0) return false;
  return rd.size() - n == 20;
}

// Appends `r`; nullptr or what makes it unstorable.
const char* EncodeRecord(const ZoneRecord& r, std::string* out) {
  if (!ValidWireName(r.owner)) return "owner is not a wire-format name";
  if (r.rdata.size() > 0xFFFF) return "RDATA longer than 65535 octets";
  // One resize and copies: a full copy encodes a million records.
  const size_t at = out->size();
  out->resize(at + 1 + r.owner.size() + 10 + r.rdata.size());
  char* p = out->data() + at;
  *p++ = static_cast<char>(r.owner.size());
  p = std::copy(r.owner.begin(), r.owner.end(), p);
  const uint16_t rdlen = static_cast<uint16_t>(r.rdata.size());
  const uint8_t fixed[10] = {
      static_cast<uint8_t>(r.type >> 8),   static_cast<uint8_t>(r.type),
      static_cast<uint8_t>(r.rclass >> 8), static_cast<uint8_t>(r.rclass),
      static_cast<uint8_t>(r.ttl >> 24),   static_cast<uint8_t>(r.ttl >> 16),
      static_cast<uint8_t>(r.ttl >> 8),    static_cast<uint8_t>(r.ttl),
      static_cast<uint8_t>(rdlen >> 8),    static_cast<uint8_t>(rdlen)};
  std::memcpy(p, fixed, sizeof(fixed));
  p += sizeof(fixed);
  std::copy(r.rdata.begin(), r.rdata.end(), p);
  return nullptr;
}

std::string RecordPlace(const ZoneRecord& r, size_t index) {
  if (!r.file.path().empty()) return absl::StrCat(r.file.path(), ":", r.line);
  return absl::StrCat("record ", index);
}

// ---------------------------------------------------------------------------
// Decoding: a bounds-checked cursor with a sticky error (as Knot's
// wire_ctx): reads past the end return zeros and clear ok(); callers check
// once.

class Reader {
 public:
  Reader(const void* data, size_t size)
      : p_(static_cast<const uint8_t*>(data)), left_(size) {}
  bool ok() const { return ok_; }
  size_t left() const { return left_; }
  uint8_t U8() { return Need(1) ? Take(1)[0] : 0; }
  uint16_t U16() {
    if (!Need(2)) return 0;
    const uint8_t* b = Take(2);
    return static_cast<uint16_t>((b[0] << 8) | b[1]);
  }
  uint32_t U32() {
    const uint32_t hi = U16();
    return (hi << 16) | U16();
  }
  uint64_t U64() {
    const uint64_t hi = U32();
    return (hi << 32) | U32();
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    return {reinterpret_cast<const char*>(Take(n)), n};
  }

 private:
  bool Need(size_t n) {
    if (ok_ && n <= left_) return true;
    ok_ = false;
    return false;
  }
  const uint8_t* Take(size_t n) {
    const uint8_t* b = p_;
    p_ += n;
    left_ -= n;
    return b;
  }
  const uint8_t* p_;
  size_t left_;
  bool ok_ = true;
};

// Whether value `v` ends with the CRC-32C of what comes before it; *body:
// the size of that.
bool CheckCrc(const MDB_val& v, size_t* body) {
  if (v.mv_size < 4) return false;
  const uint8_t* p = static_cast<const uint8_t*>(v.mv_data);
  *body = v.mv_size - 4;
  const uint32_t want = (uint32_t{p[*body]} << 24) | (uint32_t{p[*body + 1]} << 16) |
                        (uint32_t{p[*body + 2]} << 8) | uint32_t{p[*body + 3]};
  return Crc32c(p, *body) == want;
}

// Reads one record; false with `what` set when it is malformed.
bool DecodeRecord(Reader& in, const control::SourceFile& file, ZoneRecord* r,
                  std::string* what) {
  const uint8_t owner_len = in.U8();
  std::string_view owner = in.Bytes(owner_len);
  const uint16_t type = in.U16();
  const uint16_t rclass = in.U16();
  const uint32_t ttl = in.U32();
  const uint16_t rdata_len = in.U16();
  std::string_view rdata = in.Bytes(rdata_len);
  if (!in.ok()) {
    *what = "record runs past the end of the value";
    return false;
  }
  if (!ValidWireName(owner)) {
    *what = "owner is not a wire-format name";
    return false;
  }
  r->owner.assign(owner);
  r->type = type;
  r->rclass = rclass;
  r->ttl = ttl;
  r->rdata.assign(rdata);
  r->file = file;
  r->line = 0;
  return true;
}

// ---------------------------------------------------------------------------
// Keys.

using ChangesetKey = std::array<char, 9>;
using ChunkKey = std::array<char, 5>;
constexpr char kMetaKey[1] = {'m'};

ChangesetKey MakeChangesetKey(uint64_t seq) {
  ChangesetKey k{};
  k[0] = 'c';
  for (int i = 0; i < 8; ++i) k[1 + i] = static_cast<char>(seq >> (56 - 8 * i));
  return k;
}
ChunkKey MakeChunkKey(uint32_t index) {
  ChunkKey k{};
  k[0] = 'f';
  for (int i = 0; i < 4; ++i) k[1 + i] = static_cast<char>(index >> (24 - 8 * i));
  return k;
}
template <size_t N>
MDB_val Val(const std::array<char, N>& k) {
  return MDB_val{N, const_cast<char*>(k.data())};
}
MDB_val Val(const char (&k)[1]) { return MDB_val{1, const_cast<char*>(k)}; }
MDB_val Val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

uint64_t LoadBe(const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | b[i];
  return v;
}

// ---------------------------------------------------------------------------
// The state the metadata record and the changeset headers describe.

struct Entry {
  uint64_t seq = 0;
  uint32_t from = 0;
  uint32_t to = 0;
  uint64_t records = 0;  // removed + added
};

struct State {
  bool has_full = false;
  uint32_t full_serial = 0;
  uint32_t full_chunks = 0;
  uint64_t full_records = 0;
  uint64_t first_seq = 0;
  uint64_t full_seq = 0;
  uint64_t next_seq = 0;
  std::vector<Entry> entries;  // seq first_seq .. next_seq - 1

  uint32_t last() const { return entries.empty() ? full_serial : entries.back().to; }
  // Index of the first entry after the full copy.
  size_t after_index() const { return static_cast<size_t>(full_seq - first_seq); }
};

std::string EncodeMeta(const State& s) {
  std::string out;
  out.reserve(kMetaSize);
  Put32(&out, kMagic);
  Put32(&out, kFormatVersion);
  Put32(&out, 0);
  Put32(&out, s.full_serial);
  Put32(&out, s.full_chunks);
  Put64(&out, s.full_records);
  Put64(&out, s.first_seq);
  Put64(&out, s.full_seq);
  Put64(&out, s.next_seq);
  PutCrc(&out);
  return out;
}

// ---------------------------------------------------------------------------
// Structural check of an LMDB 0.9 data file before LMDB maps it (see the
// banner). Layout from mdb.c (LMDB_0.9.24, data format version 1), 64-bit:
//   page header (16): u64 pgno, u16 pad, u16 flags, u16 lower, u16 upper
//                     (overflow pages: u32 page count in place of both),
//                     then u16 node offsets (lower - 16) / 2 of them
//   node (8 + key + data): u16 lo, u16 hi, u16 flags, u16 key size, key,
//                     data. Branch: child = lo | hi << 16 | flags << 32.
//                     Leaf: data size = lo | hi << 16; F_BIGDATA: the data
//                     is the u64 number of the first overflow page.
//   meta (after a page header): u32 magic, u32 version, u64 address,
//                     u64 mapsize, MDB_db free, MDB_db main, u64 last page,
//                     u64 txnid. MDB_db (48): u32 pad (free: page size),
//                     u16 flags, u16 depth, 4 x u64 counts, u64 root.
// Integers are native-endian. Only built for 64-bit hosts (32-bit LMDB
// uses 32-bit page numbers).
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu && MDB_VERSION_MAJOR == 0 && MDB_VERSION_MINOR == 9
#define POPDNS_JOURNAL_CHECK_LMDB_FILE 1

class LmdbFileCheck {
 public:
  LmdbFileCheck(int fd, uint64_t file_size) : fd_(fd), file_size_(file_size) {}

  // Empty when the file is sound, else what is wrong.
  std::string Run() {
    Meta m[2];
    std::string what = ReadMeta(0, &m[0]);
    if (!what.empty()) return absl::StrCat("meta page 0: ", what);
    if (!PageSizeOk(m[0].psize))
      return absl::StrCat("meta page 0: page size ", m[0].psize);
    what = ReadMeta(m[0].psize, &m[1]);
    if (!what.empty()) return absl::StrCat("meta page 1: ", what);
    if (m[1].psize != m[0].psize)
      return absl::StrCat("meta pages disagree on the page size (", m[0].psize, ", ",
                          m[1].psize, ")");
    // LMDB's choice (mdb_env_read_header): the larger txnid, page 0 on a tie.
    const Meta& meta = m[1].txnid > m[0].txnid ? m[1] : m[0];
    psize_ = meta.psize;
    last_pg_ = meta.last_pg;
    txnid_ = meta.txnid;
    if (last_pg_ < 1 || last_pg_ > (uint64_t{1} << 48) / psize_)
      return absl::StrCat("last page number ", last_pg_, " out of range");
    npages_ = std::min<uint64_t>(last_pg_ + 1, file_size_ / psize_);
    seen_.assign(npages_, false);
    seen_[0] = seen_[1] = true;
    // Free DB: MDB_INTEGERKEY plus environment flags (MDB_FIXEDMAP,
    // MDB_NOSUBDIR) in its low 16 bits; main DB: no flags (no DUPSORT).
    if (!(meta.free.flags & MDB_INTEGERKEY) ||
        (meta.free.flags & ~(MDB_INTEGERKEY | MDB_FIXEDMAP | MDB_NOSUBDIR)))
      return absl::StrCat("free DB flags 0x", absl::Hex(meta.free.flags));
    if (meta.main.flags != 0)
      return absl::StrCat("main DB flags 0x", absl::Hex(meta.main.flags));
    what = WalkTree(meta.free, true);
    if (!what.empty()) return absl::StrCat("free DB: ", what);
    what = WalkTree(meta.main, false);
    if (!what.empty()) return absl::StrCat("main DB: ", what);
    // Free pages: at most last_pg, used by no tree, listed once.
    std::sort(free_pages_.begin(), free_pages_.end());
    for (size_t i = 0; i < free_pages_.size(); ++i) {
      const uint64_t pg = free_pages_[i];
      if (pg < 2 || pg > last_pg_) return absl::StrCat("free page ", pg, " out of range");
      if (i > 0 && free_pages_[i - 1] == pg)
        return absl::StrCat("page ", pg, " listed twice as free");
      if (pg < npages_ && seen_[pg])
        return absl::StrCat("page ", pg, " is both free and in use");
    }
    return {};
  }

 private:
  static constexpr size_t kPageHdr = 16;
  static constexpr size_t kNodeHdr = 8;
  static constexpr size_t kMetaBuf = kPageHdr + 136;
  static constexpr uint16_t kPBranch = 0x01, kPLeaf = 0x02, kPOverflow = 0x04,
                            kPMeta = 0x08, kPDirty = 0x10, kPKeep = 0x8000;
  static constexpr uint16_t kFBigData = 0x01;
  static constexpr uint32_t kMdbMagic = 0xBEEFC0DE;
  static constexpr uint32_t kMdbDataVersion = 1;
  static constexpr unsigned kMaxDepth = 32;  // CURSOR_STACK
  static constexpr size_t kMaxKey = 511;     // MDB_MAXKEYSIZE
  static constexpr uint64_t kInvalidPage = ~uint64_t{0};

  struct Db {
    uint16_t flags = 0;
    uint16_t depth = 0;
    uint64_t root = 0;
  };
  struct Meta {
    uint32_t psize = 0;
    uint64_t last_pg = 0;
    uint64_t txnid = 0;
    Db free, main;
  };

  template <typename T>
  static T Native(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // LMDB's default comparison (mdb_cmp_memn).
  static bool KeyLess(std::string_view a, std::string_view b) {
    const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    return c < 0 || (c == 0 && a.size() < b.size());
  }
  static bool PageSizeOk(uint32_t psize) {
    return psize >= 512 && psize <= 0x8000 && std::has_single_bit(psize);
  }

  bool ReadAt(uint64_t off, void* buf, size_t n) {
    uint8_t* b = static_cast<uint8_t*>(buf);
    while (n > 0) {
      const ssize_t r = pread(fd_, b, n, static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      b += r;
      off += static_cast<uint64_t>(r);
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  std::string ReadMeta(uint64_t off, Meta* m) {
    uint8_t b[kMetaBuf];
    if (off + kMetaBuf > file_size_ || !ReadAt(off, b, sizeof b)) return "short file";
    if (!(Native<uint16_t>(b + 10) & kPMeta)) return "not a meta page";
    const uint8_t* mm = b + kPageHdr;
    if (Native<uint32_t>(mm) != kMdbMagic) return "bad magic";
    if (Native<uint32_t>(mm + 4) != kMdbDataVersion)
      return absl::StrCat("LMDB data version ", Native<uint32_t>(mm + 4));
    auto db = [&](const uint8_t* d) {
      Db x;
      x.flags = Native<uint16_t>(d + 4);
      x.depth = Native<uint16_t>(d + 6);
      x.root = Native<uint64_t>(d + 40);
      return x;
    };
    m->free = db(mm + 24);
    m->main = db(mm + 72);
    m->psize = Native<uint32_t>(mm + 24);
    m->last_pg = Native<uint64_t>(mm + 120);
    m->txnid = Native<uint64_t>(mm + 128);
    return {};
  }

  // A page a tree uses: not a meta page, within the file and last_pg, and
  // used once (which also stops cycles).
  std::string Claim(uint64_t pgno) {
    if (pgno < 2 || pgno > last_pg_) return absl::StrCat("page number ", pgno, " out of range");
    if (pgno >= npages_) return absl::StrCat("page ", pgno, " is past the end of the file");
    if (seen_[pgno]) return absl::StrCat("page ", pgno, " is used twice");
    seen_[pgno] = true;
    return {};
  }

  std::string WalkTree(const Db& db, bool free_db) {
    if (db.root == kInvalidPage) {
      if (db.depth != 0) return absl::StrCat("empty tree of depth ", db.depth);
      return {};
    }
    if (db.depth < 1 || db.depth > kMaxDepth) return absl::StrCat("depth ", db.depth);
    have_last_key_ = false;
    return Walk(db.root, 1, db.depth, free_db);
  }

  std::string Walk(uint64_t pgno, unsigned level, unsigned depth, bool free_db) {
    std::string what = Claim(pgno);
    if (!what.empty()) return what;
    std::vector<uint8_t> page(psize_);
    if (!ReadAt(pgno * psize_, page.data(), psize_))
      return absl::StrCat("page ", pgno, ": read failed");
    const uint8_t* p = page.data();
    auto bad = [&](auto&&... parts) {
      return absl::StrCat("page ", pgno, ": ", parts...);
    };
    if (Native<uint64_t>(p) != pgno) return bad("header says page ", Native<uint64_t>(p));
    const uint16_t flags = Native<uint16_t>(p + 10) & ~(kPDirty | kPKeep);
    const bool leaf = level == depth;
    if (flags != (leaf ? kPLeaf : kPBranch))
      return bad("flags 0x", absl::Hex(flags), " where a ", leaf ? "leaf" : "branch",
                 " page belongs");
    const uint16_t lower = Native<uint16_t>(p + 12);
    const uint16_t upper = Native<uint16_t>(p + 14);
    if (lower < kPageHdr || (lower - kPageHdr) % 2 != 0 || lower > upper || upper > psize_)
      return bad("free space bounds ", lower, "..", upper);
    const size_t nkeys = (lower - kPageHdr) / 2;
    // LMDB asserts that main-DB branch pages have two keys or more.
    const size_t min_keys = leaf ? (level == 1 ? 0 : 1) : (free_db ? 1 : 2);
    if (nkeys < min_keys) return bad(nkeys, " keys");
    std::vector<std::pair<size_t, size_t>> extents;
    std::vector<uint64_t> children;
    extents.reserve(nkeys);
    for (size_t i = 0; i < nkeys; ++i) {
      const size_t off = Native<uint16_t>(p + kPageHdr + 2 * i);
      if (off < upper || off % 2 != 0 || off + kNodeHdr > psize_)
        return bad("node ", i, " at offset ", off);
      const uint8_t* n = p + off;
      uint16_t lo = Native<uint16_t>(n), hi = Native<uint16_t>(n + 2);
      if constexpr (std::endian::native == std::endian::big) std::swap(lo, hi);
      const uint16_t nflags = Native<uint16_t>(n + 4);
      const size_t ksize = Native<uint16_t>(n + 6);
      if (ksize > kMaxKey) return bad("node ", i, ": key size ", ksize);
      uint64_t size = kNodeHdr + ksize;
      if (!leaf) {
        children.push_back(lo | (uint64_t{hi} << 16) | (uint64_t{nflags} << 32));
      } else {
        const uint64_t dsize = lo | (uint64_t{hi} << 16);
        if (ksize == 0) return bad("node ", i, ": empty key");
        if (nflags & ~kFBigData) return bad("node ", i, ": flags 0x", absl::Hex(nflags));
        const bool big = nflags & kFBigData;
        size += big ? 8 : dsize;
        if (off + size > psize_) return bad("node ", i, " runs past the page");
        // Leaf keys in order: the free DB compares native integers, the
        // main DB bytes (shorter first on a common prefix).
        std::string_view key(reinterpret_cast<const char*>(n + kNodeHdr), ksize);
        if (free_db) {
          if (ksize != 8) return bad("node ", i, ": free DB key of ", ksize, " octets");
          const uint64_t id = Native<uint64_t>(n + kNodeHdr);
          if (id > txnid_) return bad("node ", i, ": freed by future txn ", id);
          if (have_last_key_ && id <= last_free_key_) return bad("keys out of order");
          last_free_key_ = id;
        } else {
          if (have_last_key_ && !KeyLess(last_key_, key)) return bad("keys out of order");
          last_key_.assign(key);
        }
        have_last_key_ = true;
        const uint8_t* data = n + kNodeHdr + ksize;
        std::vector<uint8_t> content;
        if (big) {
          what = Overflow(Native<uint64_t>(data), dsize, free_db ? &content : nullptr);
          if (!what.empty()) return bad("node ", i, ": ", what);
          data = content.data();
        }
        if (free_db) {
          what = Idl(data, dsize);
          if (!what.empty()) return bad("node ", i, ": ", what);
        }
      }
      if (off + size > psize_) return bad("node ", i, " runs past the page");
      extents.emplace_back(off, off + size + (size & 1));
    }
    std::sort(extents.begin(), extents.end());
    for (size_t i = 1; i < extents.size(); ++i)
      if (extents[i - 1].second > extents[i].first) return bad("nodes overlap");
    for (uint64_t child : children) {
      what = Walk(child, level + 1, depth, free_db);
      if (!what.empty()) return what;
    }
    return {};
  }

  // A value on overflow pages: a run of pages within the file, its first
  // page saying how many (LMDB frees that many when the value goes).
  std::string Overflow(uint64_t pgno, uint64_t dsize, std::vector<uint8_t>* content) {
    const uint64_t n = (kPageHdr - 1 + dsize) / psize_ + 1;  // OVPAGES
    if (pgno < 2 || pgno > last_pg_ || n > npages_ - std::min(pgno, npages_))
      return absl::StrCat("overflow pages ", pgno, "+", n, " out of range");
    for (uint64_t i = 0; i < n; ++i) {
      std::string what = Claim(pgno + i);
      if (!what.empty()) return what;
    }
    uint8_t h[kPageHdr];
    if (!ReadAt(pgno * psize_, h, sizeof h)) return "overflow read failed";
    if (Native<uint64_t>(h) != pgno ||
        (Native<uint16_t>(h + 10) & ~(kPDirty | kPKeep)) != kPOverflow ||
        Native<uint32_t>(h + 12) != n)
      return absl::StrCat("overflow page ", pgno, " header does not match");
    if (content) {
      content->resize(dsize);
      if (!ReadAt(pgno * psize_ + kPageHdr, content->data(), dsize))
        return "overflow read failed";
    }
    return {};
  }

  // A freelist record: u64 count, then that many page numbers in
  // descending order (room after them may be unused).
  std::string Idl(const uint8_t* data, uint64_t dsize) {
    if (dsize < 8 || dsize % 8 != 0) return absl::StrCat("freelist record of ", dsize, " octets");
    const uint64_t count = Native<uint64_t>(data);
    if (count > dsize / 8 - 1) return absl::StrCat("freelist count ", count);
    uint64_t prev = kInvalidPage;
    for (uint64_t i = 1; i <= count; ++i) {
      const uint64_t pg = Native<uint64_t>(data + 8 * i);
      if (pg >= prev) return "freelist not sorted";
      prev = pg;
      free_pages_.push_back(pg);
    }
    return {};
  }

  int fd_;
  uint64_t file_size_;
  uint32_t psize_ = 0;
  uint64_t last_pg_ = 0;
  uint64_t txnid_ = 0;
  uint64_t npages_ = 0;
  std::vector<bool> seen_;
  std::vector<uint64_t> free_pages_;
  bool have_last_key_ = false;
  std::string last_key_;
  uint64_t last_free_key_ = 0;
};

#endif

// ---------------------------------------------------------------------------
// Files.

absl::Status ErrnoStatus(int err, absl::string_view what, const std::string& path) {
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == EACCES || err == EPERM || err == EROFS) return absl::PermissionDeniedError(msg);
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<std::string> JournalPath(const std::string& dir, std::string_view zone) {
  if (zone.find('/') != std::string_view::npos || zone.find('\0') != std::string_view::npos)
    return absl::InvalidArgumentError(
        absl::StrCat("journal: zone \"", absl::CHexEscape(absl::string_view(zone.data(), zone.size())),
                     "\" contains '/' or NUL and cannot name a directory"));
  std::string path = dir;
  if (!path.empty() && path.back() != '/') path += '/';
  path.append(zone);
  path += ".journal";
  return path;
}

// mkdir -p with mode 0700 for what it creates; existing directories keep
// their mode. Sets *created when the last component was made.
absl::Status MakeDirs(const std::string& path, bool* created) {
  *created = false;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (mkdir(prefix.c_str(), 0700) == 0) {
      if (i == path.size()) *created = true;
      continue;
    }
    const int err = errno;
    struct stat st;
    if (err == EEXIST && stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return ErrnoStatus(err == EEXIST ? ENOTDIR : err, "journal: cannot create directory",
                       prefix);
  }
  return absl::OkStatus();
}

void SyncDir(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// ---------------------------------------------------------------------------
// LMDB calls.

class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  int Begin(MDB_env* env, unsigned flags) { return mdb_txn_begin(env, nullptr, flags, &txn_); }
  int Commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    return mdb_txn_commit(t);
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

// Journal directories open in this process, by device and inode. LMDB
// must not open one environment twice in a process (its locks are per
// process: closing one handle would drop the other's), so a second Open
// is refused.
using DirId = std::pair<uint64_t, uint64_t>;
std::mutex g_open_mutex;
std::set<DirId> g_open_dirs;

bool IsOpen(const DirId& id) {
  std::lock_guard<std::mutex> lock(g_open_mutex);
  return g_open_dirs.count(id) != 0;
}

}  // namespace

struct Journal::Env {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  State state;  // as committed
  std::optional<DirId> registered;
  ~Env() {
    if (env != nullptr) mdb_env_close(env);
    if (registered) {
      std::lock_guard<std::mutex> lock(g_open_mutex);
      g_open_dirs.erase(*registered);
    }
  }
  bool Register(const DirId& id) {
    std::lock_guard<std::mutex> lock(g_open_mutex);
    if (!g_open_dirs.insert(id).second) return false;
    registered = id;
    return true;
  }
  // Makes `s` (just committed) the state, and the header's accessors say so.
  void Publish(State&& s, Journal* j) {
    state = std::move(s);
    j->has_data_ = state.has_full;
    j->last_serial_ = state.has_full ? state.last() : 0;
    j->after_full_ = static_cast<size_t>(state.next_seq - state.full_seq);
    j->records_after_full_ = 0;
    for (size_t i = state.after_index(); i < state.entries.size(); ++i)
      j->records_after_full_ += static_cast<size_t>(state.entries[i].records);
  }
};

namespace {

absl::Status LmdbStatus(int rc, const std::string& path, absl::string_view what) {
  std::string msg = absl::StrCat("journal ", path, ": ", what, ": ", mdb_strerror(rc));
  switch (rc) {
    case MDB_MAP_FULL:
      return absl::ResourceExhaustedError(absl::StrCat(
          msg, " (the map of ", internal::g_map_size >> 20,
          " MiB is full; nothing was written)"));
    case MDB_TXN_FULL:
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(absl::StrCat(msg, " (nothing was written)"));
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status Corrupt(const std::string& path, absl::string_view where, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("journal ", path, ": ", where, ": ", what));
}

std::string Hex(const MDB_val& v) {
  std::string out;
  const uint8_t* p = static_cast<const uint8_t*>(v.mv_data);
  for (size_t i = 0; i < v.mv_size && i < 16; ++i) absl::StrAppendFormat(&out, "%02x", p[i]);
  if (v.mv_size > 16) out += "...";
  return out;
}

// The header of changeset value `v` under key seq `seq` (CRC checked).
absl::StatusOr<Entry> DecodeChangesetHeader(const MDB_val& v, uint64_t seq,
                                            const std::string& path) {
  const std::string where = absl::StrCat("changeset ", seq);
  size_t body = 0;
  if (!CheckCrc(v, &body)) return Corrupt(path, where, "checksum mismatch");
  Reader in(v.mv_data, body);
  Entry e;
  e.seq = in.U64();
  e.from = in.U32();
  e.to = in.U32();
  const uint64_t removed = in.U32();
  const uint64_t added = in.U32();
  if (!in.ok()) return Corrupt(path, where, "shorter than its header");
  if (e.seq != seq) return Corrupt(path, where, absl::StrCat("value says seq ", e.seq));
  // Every record takes kMinRecordSize octets at least: counts that cannot
  // fit are corrupt (and are never used to size an allocation).
  if ((removed + added + 2) > in.left() / kMinRecordSize)
    return Corrupt(path, where,
                   absl::StrCat(removed, "+", added, " records cannot fit in ", v.mv_size,
                                " octets"));
  e.records = removed + added;
  return e;
}

absl::StatusOr<Changeset> DecodeChangeset(const MDB_val& v, const Entry& entry,
                                          const control::SourceFile& file,
                                          const std::string& path) {
  absl::StatusOr<Entry> h = DecodeChangesetHeader(v, entry.seq, path);
  if (!h.ok()) return h.status();
  const std::string where = absl::StrCat("changeset ", entry.seq);
  if (h->from != entry.from || h->to != entry.to || h->records != entry.records)
    return Corrupt(path, where, "header changed since the journal was opened");
  Reader in(v.mv_data, v.mv_size - 4);  // the CRC was checked above
  in.Bytes(16);                          // seq, from, to
  const uint32_t removed = in.U32();
  const uint32_t added = in.U32();
  Changeset cs;
  std::string what;
  if (!DecodeRecord(in, file, &cs.soa_from, &what) || !DecodeRecord(in, file, &cs.soa_to, &what))
    return Corrupt(path, where, absl::StrCat("SOA: ", what));
  if (!ValidSoa(cs.soa_from) || !ValidSoa(cs.soa_to))
    return Corrupt(path, where, "its SOA records are not SOA records");
  if (cs.from() != h->from || cs.to() != h->to)
    return Corrupt(path, where,
                   absl::StrCat("header says ", h->from, " -> ", h->to, ", the SOAs ",
                                cs.from(), " -> ", cs.to()));
  cs.removed.resize(removed);
  cs.added.resize(added);
  for (size_t i = 0; i < removed + added; ++i) {
    ZoneRecord& r = i < removed ? cs.removed[i] : cs.added[i - removed];
    if (!DecodeRecord(in, file, &r, &what))
      return Corrupt(path, where, absl::StrCat("record ", i, ": ", what));
  }
  if (in.left() != 0)
    return Corrupt(path, where, absl::StrCat(in.left(), " octets after the last record"));
  return cs;
}

absl::Status DecodeChunk(const MDB_val& v, uint32_t index, uint32_t serial,
                         const control::SourceFile& file, const std::string& path,
                         std::vector<ZoneRecord>* out) {
  const std::string where = absl::StrCat("full copy chunk ", index);
  size_t body = 0;
  if (!CheckCrc(v, &body)) return Corrupt(path, where, "checksum mismatch");
  Reader in(v.mv_data, body);
  const uint32_t s = in.U32();
  const uint32_t i = in.U32();
  const uint32_t n = in.U32();
  if (!in.ok()) return Corrupt(path, where, "shorter than its header");
  if (s != serial || i != index)
    return Corrupt(path, where,
                   absl::StrCat("belongs to serial ", s, " chunk ", i, ", not serial ", serial));
  if (n > in.left() / kMinRecordSize)
    return Corrupt(path, where, absl::StrCat(n, " records cannot fit in ", v.mv_size, " octets"));
  std::string what;
  for (uint32_t k = 0; k < n; ++k) {
    out->emplace_back();
    if (!DecodeRecord(in, file, &out->back(), &what))
      return Corrupt(path, where, absl::StrCat("record ", k, ": ", what));
  }
  if (in.left() != 0)
    return Corrupt(path, where, absl::StrCat(in.left(), " octets after the last record"));
  return absl::OkStatus();
}

// Reads the metadata and the changeset headers, checking that the keys are
// exactly the ones the metadata describes and that the chain holds.
absl::StatusOr<State> ReadState(MDB_txn* txn, MDB_dbi dbi, const std::string& path) {
  State st;
  MDB_val k = Val(kMetaKey), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  MDB_cursor* raw = nullptr;
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return LmdbStatus(rc, path, "reading metadata");
  const bool have_meta = rc == MDB_SUCCESS;
  if (have_meta) {
    size_t body = 0;
    if (v.mv_size != kMetaSize) {
      // Check the version first when it is readable: a newer format is a
      // clearer message than a size mismatch.
      if (v.mv_size >= 8 && LoadBe(v.mv_data, 4) == kMagic &&
          LoadBe(static_cast<const char*>(v.mv_data) + 4, 4) != kFormatVersion)
        return Corrupt(path, "metadata",
                       absl::StrCat("format version ",
                                    LoadBe(static_cast<const char*>(v.mv_data) + 4, 4),
                                    ", this build reads version ", kFormatVersion));
      return Corrupt(path, "metadata", absl::StrCat(v.mv_size, " octets, not ", kMetaSize));
    }
    if (!CheckCrc(v, &body)) return Corrupt(path, "metadata", "checksum mismatch");
    Reader in(v.mv_data, body);
    const uint32_t magic = in.U32();
    const uint32_t version = in.U32();
    const uint32_t flags = in.U32();
    st.full_serial = in.U32();
    st.full_chunks = in.U32();
    st.full_records = in.U64();
    st.first_seq = in.U64();
    st.full_seq = in.U64();
    st.next_seq = in.U64();
    if (magic != kMagic) return Corrupt(path, "metadata", "bad magic");
    if (version != kFormatVersion)
      return Corrupt(path, "metadata",
                     absl::StrCat("format version ", version, ", this build reads version ",
                                  kFormatVersion));
    if (flags != 0) return Corrupt(path, "metadata", absl::StrCat("unknown flags ", flags));
    if (!(st.first_seq <= st.full_seq && st.full_seq <= st.next_seq))
      return Corrupt(path, "metadata",
                     absl::StrCat("sequence numbers out of order: first ", st.first_seq,
                                  ", full ", st.full_seq, ", next ", st.next_seq));
    st.has_full = true;
  }
  rc = mdb_cursor_open(txn, dbi, &raw);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path, "opening a cursor");
  std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)> cursor(raw, mdb_cursor_close);
  uint32_t chunks = 0;
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    const char* key = static_cast<const char*>(k.mv_data);
    if (!have_meta) return Corrupt(path, "metadata", absl::StrCat("missing, but key ", Hex(k), " exists"));
    if (k.mv_size == 9 && key[0] == 'c') {
      const uint64_t seq = LoadBe(key + 1, 8);
      const uint64_t want = st.first_seq + st.entries.size();
      if (seq != want || seq >= st.next_seq)
        return Corrupt(path, absl::StrCat("changeset ", seq),
                       absl::StrCat("unexpected (the next one should be ", want,
                                    ", the metadata says they end before ", st.next_seq, ")"));
      absl::StatusOr<Entry> e = DecodeChangesetHeader(v, seq, path);
      if (!e.ok()) return e.status();
      st.entries.push_back(*e);
    } else if (k.mv_size == 5 && key[0] == 'f') {
      const uint64_t index = LoadBe(key + 1, 4);
      if (index != chunks || chunks >= st.full_chunks)
        return Corrupt(path, absl::StrCat("full copy chunk ", index),
                       absl::StrCat("unexpected (the metadata says ", st.full_chunks,
                                    " chunks)"));
      ++chunks;
    } else if (!(k.mv_size == 1 && key[0] == 'm')) {
      return Corrupt(path, "keys", absl::StrCat("unknown key ", Hex(k)));
    }
  }
  if (rc != MDB_NOTFOUND) return LmdbStatus(rc, path, "reading keys");
  if (!have_meta) return st;
  if (st.entries.size() != st.next_seq - st.first_seq)
    return Corrupt(path, "changesets",
                   absl::StrCat(st.entries.size(), " stored, the metadata says ",
                                st.next_seq - st.first_seq));
  if (chunks != st.full_chunks)
    return Corrupt(path, "full copy",
                   absl::StrCat(chunks, " chunks stored, the metadata says ", st.full_chunks));
  for (size_t i = 1; i < st.entries.size(); ++i)
    if (st.entries[i].from != st.entries[i - 1].to)
      return Corrupt(path, absl::StrCat("changeset ", st.entries[i].seq),
                     absl::StrCat("starts at serial ", st.entries[i].from,
                                  ", the one before ends at ", st.entries[i - 1].to));
  const size_t after = st.after_index();
  if (after > 0 && st.entries[after - 1].to != st.full_serial)
    return Corrupt(path, "changesets",
                   absl::StrCat("history ends at serial ", st.entries[after - 1].to,
                                ", the full copy is serial ", st.full_serial));
  if (after < st.entries.size() && st.entries[after].from != st.full_serial)
    return Corrupt(path, "changesets",
                   absl::StrCat("the first after the full copy starts at serial ",
                                st.entries[after].from, ", the full copy is serial ",
                                st.full_serial));
  return st;
}

absl::Status Del(MDB_txn* txn, MDB_dbi dbi, MDB_val key, const std::string& path) {
  const int rc = mdb_del(txn, dbi, &key, nullptr);
  // A key already gone is what we wanted; ReadState made sure they exist.
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return LmdbStatus(rc, path, "deleting");
  return absl::OkStatus();
}

absl::Status Put(MDB_txn* txn, MDB_dbi dbi, MDB_val key, const std::string& value,
                 const std::string& path, absl::string_view what) {
  MDB_val v = Val(value);
  const int rc = mdb_put(txn, dbi, &key, &v, 0);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path, absl::StrCat("writing ", what));
  return absl::OkStatus();
}

// Drops the oldest changesets before the full copy while more than `max`
// are stored.
absl::Status Trim(MDB_txn* txn, MDB_dbi dbi, size_t max, const std::string& path, State* st) {
  size_t drop = 0;
  while (st->entries.size() - drop > max && st->entries[drop].seq < st->full_seq) {
    POPDNS_RETURN_IF_ERROR(Del(txn, dbi, Val(MakeChangesetKey(st->entries[drop].seq)), path));
    ++drop;
  }
  st->entries.erase(st->entries.begin(), st->entries.begin() + static_cast<ptrdiff_t>(drop));
  st->first_seq += drop;
  return absl::OkStatus();
}

}  // namespace

Journal::~Journal() = default;

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& dir,
                                                       std::string_view zone,
                                                       size_t max_changesets) {
  absl::StatusOr<std::string> path = JournalPath(dir, zone);
  if (!path.ok()) return path.status();
  bool created = false;
  if (!dir.empty()) POPDNS_RETURN_IF_ERROR(MakeDirs(dir, &created));
  POPDNS_RETURN_IF_ERROR(MakeDirs(*path, &created));
  if (created && !dir.empty()) SyncDir(dir);

  std::unique_ptr<Journal> j(new Journal());
  j->path_ = *path;
  j->max_changesets_ = max_changesets;
  j->env_ = std::make_unique<Env>();
  Env& e = *j->env_;
  struct stat st;
  if (stat(path->c_str(), &st) != 0) return ErrnoStatus(errno, "journal: cannot stat", *path);
  if (!e.Register(DirId{st.st_dev, st.st_ino}))
    return absl::FailedPreconditionError(absl::StrCat(
        "journal ", *path, ": already open in this process (one Journal per zone)"));

  const std::string data_file = *path + "/data.mdb";
  bool fresh = true;
  if (stat(data_file.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      return absl::DataLossError(absl::StrCat("journal ", *path, ": data.mdb is not a file"));
    fresh = st.st_size == 0;
#ifdef POPDNS_JOURNAL_CHECK_LMDB_FILE
    if (!fresh) {
      const int fd = open(data_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(errno, "journal: cannot open", data_file);
      std::string what = LmdbFileCheck(fd, static_cast<uint64_t>(st.st_size)).Run();
      close(fd);
      if (!what.empty())
        return absl::DataLossError(
            absl::StrCat("journal ", *path, ": data.mdb is corrupt: ", what));
    }
#endif
  } else if (errno != ENOENT) {
    return ErrnoStatus(errno, "journal: cannot stat", data_file);
  }

  int rc = mdb_env_create(&e.env);
  if (rc != MDB_SUCCESS) {
    e.env = nullptr;
    return LmdbStatus(rc, *path, "creating the environment");
  }
  rc = mdb_env_set_mapsize(e.env, internal::g_map_size);
  if (rc == MDB_SUCCESS) rc = mdb_env_open(e.env, path->c_str(), MDB_NOTLS, 0600);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, *path, "opening");
  if (fresh) SyncDir(*path);

  Txn txn;
  rc = txn.Begin(e.env, MDB_RDONLY);
  if (rc == MDB_SUCCESS) rc = mdb_dbi_open(txn.get(), nullptr, 0, &e.dbi);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, *path, "opening the database");
  absl::StatusOr<State> state = ReadState(txn.get(), e.dbi, *path);
  if (!state.ok()) return state.status();
  rc = txn.Commit();
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, *path, "ending a read");
  e.Publish(std::move(*state), j.get());
  return j;
}

absl::Status Journal::Remove(const std::string& dir, std::string_view zone) {
  absl::StatusOr<std::string> path = JournalPath(dir, zone);
  if (!path.ok()) return path.status();
  struct stat st;
  if (stat(path->c_str(), &st) == 0 && IsOpen(DirId{st.st_dev, st.st_ino}))
    return absl::FailedPreconditionError(
        absl::StrCat("journal ", *path, ": cannot remove, it is open"));
  std::error_code ec;
  std::filesystem::remove_all(*path, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("journal: cannot remove ", *path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<Journal::Stored> Journal::Load() {
  const State& s = env_->state;
  if (!s.has_full) return absl::NotFoundError(absl::StrCat("journal ", path_, ": empty"));
  Txn txn;
  int rc = txn.Begin(env_->env, MDB_RDONLY);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "starting a read");
  const control::SourceFile file(path_);
  Stored out;
  out.full_serial = s.full_serial;
  out.full.reserve(std::min<uint64_t>(s.full_records, uint64_t{1} << 24));
  for (uint32_t i = 0; i < s.full_chunks; ++i) {
    const ChunkKey key = MakeChunkKey(i);
    MDB_val k = Val(key), v;
    rc = mdb_get(txn.get(), env_->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return Corrupt(path_, absl::StrCat("full copy chunk ", i), "missing");
    if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "reading the full copy");
    POPDNS_RETURN_IF_ERROR(DecodeChunk(v, i, s.full_serial, file, path_, &out.full));
  }
  if (out.full.size() != s.full_records)
    return Corrupt(path_, "full copy",
                   absl::StrCat(out.full.size(), " records, the metadata says ",
                                s.full_records));
  for (size_t i = s.after_index(); i < s.entries.size(); ++i) {
    const Entry& e = s.entries[i];
    const ChangesetKey key = MakeChangesetKey(e.seq);
    MDB_val k = Val(key), v;
    rc = mdb_get(txn.get(), env_->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return Corrupt(path_, absl::StrCat("changeset ", e.seq), "missing");
    if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "reading a changeset");
    absl::StatusOr<Changeset> cs = DecodeChangeset(v, e, file, path_);
    if (!cs.ok()) return cs.status();
    out.after.push_back(std::move(*cs));
  }
  return out;
}

FullCopyEncoder::FullCopyEncoder(uint32_t serial) : serial_(serial) {
  buf_.reserve(kChunkTarget + 70000);
  StartChunk();
}

void FullCopyEncoder::StartChunk() {
  buf_.clear();
  Put32(&buf_, serial_);
  Put32(&buf_, chunk_);
  Put32(&buf_, 0);  // record count, patched by FinishChunk
  in_chunk_ = 0;
}

void FullCopyEncoder::FinishChunk() {
  if (in_chunk_ == 0) return;
  Patch32(&buf_, 8, in_chunk_);
  PutCrc(&buf_);
  // A copy, not a move: it is the chunk's size, where the buffer keeps
  // room for a record more (a move measured 6 MiB more at an AXFR's peak).
  done_.push_back(buf_);
  ++chunk_;
  StartChunk();
}

absl::Status FullCopyEncoder::Add(const ZoneRecord& r) {
  if (const char* what = EncodeRecord(r, &buf_)) {
    return absl::InvalidArgumentError(what);
  }
  ++records_;
  ++in_chunk_;
  if (buf_.size() >= kChunkTarget) FinishChunk();
  return absl::OkStatus();
}

absl::Status Journal::StoreFull(uint32_t serial, const std::vector<ZoneRecord>& records) {
  FullCopyEncoder encoder(serial);
  return WriteFull(encoder, &records, {});
}

absl::Status Journal::StoreFull(FullCopyEncoder encoded,
                                const std::function<bool()>& confirm) {
  return WriteFull(encoded, nullptr, confirm);
}

absl::Status Journal::WriteFull(FullCopyEncoder& encoder,
                                const std::vector<ZoneRecord>* records,
                                const std::function<bool()>& confirm) {
  const uint32_t serial = encoder.serial();
  const State& cur = env_->state;
  State next = cur;
  // Where the new full copy sits in the chain: after the last changeset
  // that ends at `serial`, or nowhere (all history goes).
  size_t keep = 0;
  for (size_t i = cur.entries.size(); i > 0; --i) {
    if (cur.entries[i - 1].to == serial) {
      keep = i;
      break;
    }
  }
  Txn txn;
  int rc = txn.Begin(env_->env, 0);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "starting a write");
  const MDB_dbi dbi = env_->dbi;
  for (size_t i = keep; i < cur.entries.size(); ++i)
    POPDNS_RETURN_IF_ERROR(Del(txn.get(), dbi, Val(MakeChangesetKey(cur.entries[i].seq)), path_));
  next.entries.resize(keep);
  if (keep == 0) {
    next.first_seq = next.full_seq = next.next_seq = cur.next_seq;
  } else {
    next.full_seq = next.next_seq = cur.entries[keep - 1].seq + 1;
  }
  for (uint32_t i = 0; i < cur.full_chunks; ++i)
    POPDNS_RETURN_IF_ERROR(Del(txn.get(), dbi, Val(MakeChunkKey(i)), path_));

  // The new full copy in chunks of about kChunkTarget octets, each freed
  // once LMDB has it (an encoded copy is as large as the zone's text).
  uint32_t stored = 0;
  auto store_done = [&]() -> absl::Status {
    for (std::string& chunk : encoder.done_) {
      POPDNS_RETURN_IF_ERROR(
          Put(txn.get(), dbi, Val(MakeChunkKey(stored)), chunk, path_, "the full copy"));
      ++stored;
      std::string().swap(chunk);
      // LMDB now holds a copy: give this one back to the system at once
      // (free() keeps it in malloc's arena), or a large zone's copy would
      // count twice.
      if (records == nullptr) malloc_trim(0);
    }
    encoder.done_.clear();
    return absl::OkStatus();
  };
  if (records != nullptr) {
    for (size_t i = 0; i < records->size(); ++i) {
      if (absl::Status s = encoder.Add((*records)[i]); !s.ok())
        return absl::InvalidArgumentError(absl::StrCat(
            "journal ", path_, ": full copy: ", RecordPlace((*records)[i], i), ": ",
            s.message()));
      if (!encoder.done_.empty()) POPDNS_RETURN_IF_ERROR(store_done());
    }
  }
  encoder.FinishChunk();
  POPDNS_RETURN_IF_ERROR(store_done());
  next.has_full = true;
  next.full_serial = serial;
  next.full_chunks = stored;
  next.full_records = encoder.records();

  POPDNS_RETURN_IF_ERROR(Trim(txn.get(), dbi, max_changesets_, path_, &next));
  POPDNS_RETURN_IF_ERROR(Put(txn.get(), dbi, Val(kMetaKey), EncodeMeta(next), path_, "metadata"));
  if (confirm && !confirm())
    return absl::CancelledError(absl::StrCat("journal ", path_, ": full copy not confirmed"));
  rc = txn.Commit();
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "committing the full copy");
  env_->Publish(std::move(next), this);
  return absl::OkStatus();
}

absl::Status Journal::Append(const Changeset& cs) {
  const State& cur = env_->state;
  if (!cur.has_full)
    return absl::FailedPreconditionError(
        absl::StrCat("journal ", path_, ": empty, a changeset needs a full copy to apply to"));
  if (!ValidSoa(cs.soa_from) || !ValidSoa(cs.soa_to))
    return absl::InvalidArgumentError(
        absl::StrCat("journal ", path_, ": changeset: soa_from/soa_to must be SOA records"));
  if (cs.from() != cur.last())
    return absl::FailedPreconditionError(
        absl::StrCat("journal ", path_, ": changeset from serial ", cs.from(),
                     ", but the last stored serial is ", cur.last()));
  if (cs.to() == cs.from())
    return absl::InvalidArgumentError(absl::StrCat(
        "journal ", path_, ": changeset from serial ", cs.from(), " to the same serial"));
  if (cs.removed.size() > 0xFFFFFFFFu || cs.added.size() > 0xFFFFFFFFu)
    return absl::InvalidArgumentError(absl::StrCat("journal ", path_, ": changeset too large"));

  const uint64_t seq = cur.next_seq;
  std::string buf;
  Put64(&buf, seq);
  Put32(&buf, cs.from());
  Put32(&buf, cs.to());
  Put32(&buf, static_cast<uint32_t>(cs.removed.size()));
  Put32(&buf, static_cast<uint32_t>(cs.added.size()));
  EncodeRecord(cs.soa_from, &buf);  // ValidSoa made sure they encode
  EncodeRecord(cs.soa_to, &buf);
  for (size_t i = 0; i < cs.removed.size() + cs.added.size(); ++i) {
    const bool removed = i < cs.removed.size();
    const ZoneRecord& r = removed ? cs.removed[i] : cs.added[i - cs.removed.size()];
    if (const char* what = EncodeRecord(r, &buf))
      return absl::InvalidArgumentError(absl::StrCat(
          "journal ", path_, ": changeset ", cs.from(), " -> ", cs.to(), ": ",
          removed ? "removed " : "added ", RecordPlace(r, i), ": ", what));
  }
  PutCrc(&buf);

  State next = cur;
  Txn txn;
  int rc = txn.Begin(env_->env, 0);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "starting a write");
  POPDNS_RETURN_IF_ERROR(
      Put(txn.get(), env_->dbi, Val(MakeChangesetKey(seq)), buf, path_, "a changeset"));
  next.entries.push_back(
      Entry{seq, cs.from(), cs.to(), uint64_t{cs.removed.size()} + cs.added.size()});
  next.next_seq = seq + 1;
  POPDNS_RETURN_IF_ERROR(Trim(txn.get(), env_->dbi, max_changesets_, path_, &next));
  POPDNS_RETURN_IF_ERROR(
      Put(txn.get(), env_->dbi, Val(kMetaKey), EncodeMeta(next), path_, "metadata"));
  rc = txn.Commit();
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "committing a changeset");
  env_->Publish(std::move(next), this);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Changeset>> Journal::Since(uint32_t serial) {
  const State& s = env_->state;
  if (!s.has_full) return absl::NotFoundError(absl::StrCat("journal ", path_, ": empty"));
  std::vector<Changeset> out;
  if (serial == s.last()) return out;
  size_t start = s.entries.size();
  for (size_t i = s.entries.size(); i > 0; --i) {
    if (s.entries[i - 1].from == serial) {
      start = i - 1;
      break;
    }
  }
  if (start == s.entries.size())
    return absl::NotFoundError(absl::StrCat(
        "journal ", path_, ": no history from serial ", serial, " (it covers serials ",
        s.entries.empty() ? s.full_serial : s.entries.front().from, " to ", s.last(), ")"));
  Txn txn;
  int rc = txn.Begin(env_->env, MDB_RDONLY);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "starting a read");
  const control::SourceFile file(path_);
  for (size_t i = start; i < s.entries.size(); ++i) {
    const ChangesetKey key = MakeChangesetKey(s.entries[i].seq);
    MDB_val k = Val(key), v;
    rc = mdb_get(txn.get(), env_->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
      return Corrupt(path_, absl::StrCat("changeset ", s.entries[i].seq), "missing");
    if (rc != MDB_SUCCESS) return LmdbStatus(rc, path_, "reading a changeset");
    absl::StatusOr<Changeset> cs = DecodeChangeset(v, s.entries[i], file, path_);
    if (!cs.ok()) return cs.status();
    out.push_back(std::move(*cs));
  }
  return out;
}

}  // namespace popdns::xfr
