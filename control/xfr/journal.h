// The on-disk copy of one zone: its last full version and the changesets
// after it, in an LMDB environment (as Knot keeps its journal), so that a
// restarted PoP serves its last complete version at once and a primary
// serves IXFR from history. Every write is one LMDB transaction, durable
// (fsync'd) when the call returns: a kill -9 leaves the previous or the new
// state, never a mix. One thread at a time (one Journal per zone; LMDB
// allows one writer): the zone store's writers' lock, which a transfer's
// StoreFull on a thread of its own runs under too.
#ifndef POPDNS_CONTROL_XFR_JOURNAL_H_
#define POPDNS_CONTROL_XFR_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/xfr/changeset.h"

namespace popdns::xfr {

// "example.test" for "example.test.": the zone's name in on-disk file
// names (the journal's directory, the replicator's timestamp file).
inline std::string StorageStem(std::string name) {
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return name;
}

// A full copy encoded ahead of Journal::StoreFull: a secondary encodes an
// AXFR's records as its messages arrive, so that storing the version once
// it is validated is one write, not an encoding pass in the time between
// the transfer's last message and serving it.
class FullCopyEncoder {
 public:
  explicit FullCopyEncoder(uint32_t serial);
  // Appends `r`. InvalidArgument saying what makes it unstorable.
  absl::Status Add(const ZoneRecord& r);
  uint32_t serial() const { return serial_; }
  size_t records() const { return records_; }

 private:
  friend class Journal;
  void StartChunk();
  void FinishChunk();  // the chunk being filled, if it has records, to done_

  uint32_t serial_;
  uint32_t chunk_ = 0;  // index of the chunk being filled
  uint32_t in_chunk_ = 0;
  size_t records_ = 0;
  std::string buf_;
  std::vector<std::string> done_;  // complete chunks not yet stored
};

class Journal {
 public:
  // Opens (creating the directory and the environment if needed)
  // `<dir>/<zone>.journal/`, zone as presentation text without the
  // trailing dot ("example.test"). `max_changesets`: history kept for
  // IXFR out; older changesets are dropped once they are folded into the
  // full copy. Errors: Internal/PermissionDenied with the path and errno
  // text; InvalidArgument for a zone containing '/' or NUL; DataLoss when
  // the files are corrupt (the caller then Remove()s them and fetches a
  // fresh AXFR); FailedPrecondition when this process has it open already.
  static absl::StatusOr<std::unique_ptr<Journal>> Open(
      const std::string& dir, std::string_view zone, size_t max_changesets = 1000);
  ~Journal();

  // Deletes `<dir>/<zone>.journal/` and everything in it (a corrupt copy).
  // OK when it does not exist. Errors: FailedPrecondition while a Journal
  // has it open; Internal with the path and errno text.
  static absl::Status Remove(const std::string& dir, std::string_view zone);

  struct Stored {
    uint32_t full_serial = 0;
    std::vector<ZoneRecord> full;     // the full copy (SOA included)
    std::vector<Changeset> after;     // to apply to it, in order
  };
  // What is stored. NotFound when nothing is; DataLoss (with the path and
  // what is wrong) when the stored data does not decode or the changesets
  // after the full copy do not chain (from() of each = to() of the one
  // before, the first from() = full_serial).
  absl::StatusOr<Stored> Load();

  // Replaces the full copy with `records` at `serial` (AXFR, a zone file
  // read at start-up, compaction). Changesets that end at or before
  // `serial` stay as IXFR history (up to max_changesets); the others are
  // dropped. Durable when it returns.
  absl::Status StoreFull(uint32_t serial, const std::vector<ZoneRecord>& records);
  // The same for records encoded beforehand (their serial is `encoded`'s).
  // `confirm` (may be empty) is called once they are in the transaction,
  // before it commits: false aborts it (Cancelled, nothing changes). So a
  // caller can store while it still checks the records, on another thread
  // (the transaction is this call's thread's, as LMDB requires).
  absl::Status StoreFull(FullCopyEncoder encoded,
                         const std::function<bool()>& confirm = {});

  // Appends `cs`, whose from() must be the last stored serial
  // (FailedPrecondition otherwise). Durable when it returns.
  absl::Status Append(const Changeset& cs);

  // The changesets from `serial` to the last stored version, in order (the
  // body of an IXFR response). NotFound when history does not reach back
  // to `serial`; an empty vector when `serial` is the last one.
  absl::StatusOr<std::vector<Changeset>> Since(uint32_t serial);

  // The last stored serial (the full copy's, or the last changeset's to());
  // 0 with has_data() false when empty.
  uint32_t last_serial() const { return last_serial_; }
  bool has_data() const { return has_data_; }
  // Changesets stored after the full copy, and their total record count:
  // the zone store compacts (StoreFull of the current version) when these
  // grow large.
  size_t changesets_after_full() const { return after_full_; }
  size_t records_after_full() const { return records_after_full_; }
  const std::string& path() const { return path_; }

 private:
  Journal() = default;
  // StoreFull's transaction: `records` (may be null) are added to
  // `encoder` first; each chunk is stored as soon as it is complete.
  absl::Status WriteFull(FullCopyEncoder& encoder,
                         const std::vector<ZoneRecord>* records,
                         const std::function<bool()>& confirm);
  struct Env;
  std::unique_ptr<Env> env_;
  std::string path_;
  size_t max_changesets_ = 1000;
  uint32_t last_serial_ = 0;
  bool has_data_ = false;
  size_t after_full_ = 0;
  size_t records_after_full_ = 0;
};

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_JOURNAL_H_
