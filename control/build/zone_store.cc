#include "control/build/zone_store.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/build/incremental_builder.h"
#include "control/build/zone_builder.h"
#include "control/build/zone_records.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_file.h"
#include "control/zonefile/zone_validate.h"
#include "dataplane/dns/name.h"

namespace popdns::control {
namespace {

// IXFR history kept in memory for transfers out (the journal keeps the
// same on disk).
constexpr size_t kMaxHistory = 1000;
// Share of a lineage's arrays that no version reads any more at which a
// full rebuild compacts them (incremental_builder.h).
constexpr double kCompactAt = 0.5;
// Share of an array's room used at which compaction starts, early enough
// that the rebuild (seconds for a million names) finishes before the
// room runs out.
constexpr double kHeadroomAt = 0.6;
// Changed records after the journal's full copy at which it takes a new
// one, for small zones (large ones: as many as the zone has names).
constexpr size_t kJournalCompactRecords = 10000;

std::string Timestamp(std::time_t t) {
  if (t == 0) return "-";
  char when[32];
  std::tm tm;
  gmtime_r(&t, &tm);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return when;
}

// Whether records being stored on another thread are the version that
// serves. Given once.
class StoreVerdict {
 public:
  StoreVerdict() : future_(promise_.get_future()) {}
  void Give(bool store) {
    if (given_) return;
    given_ = true;
    promise_.set_value(store);
  }
  bool Wait() { return future_.get(); }  // the writer's thread, once

 private:
  std::promise<bool> promise_;
  std::future<bool> future_;
  bool given_ = false;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildFromRecords(
    std::string_view apex_wire, std::vector<ZoneRecord> records,
    std::vector<std::string>* warnings, bool updatable) {
  auto valid =
      NormalizeAndValidateZone(std::move(records), apex_wire, warnings);
  if (!valid.ok()) return valid.status();
  // Validation's tables are freed but stay resident in malloc's free lists,
  // which the build's large (mmap'd) arrays cannot reuse: give them back so
  // that the peak of a large load is the records plus the compiled zone.
  malloc_trim(0);
  BuildOptions options;
  options.updatable = updatable;
  return BuildZone(apex_wire, std::move(*valid), options);
}

absl::StatusOr<std::shared_ptr<const zone::Zone>> LoadZone(
    const ZoneConfig& config, std::vector<std::string>* warnings) {
  auto apex = NameFromText(config.name, "");
  if (!apex.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("zone ", config.name, ": ", apex.status().message()));
  }
  ZoneFileOptions options;
  options.origin_wire = *apex;
  auto records = ParseZoneFile(config.file, options);
  if (!records.ok()) return records.status();
  // Zones that change by transfer or keep IXFR history are built so that
  // a change can be applied in proportion to its size.
  auto built = BuildFromRecords(*apex, std::move(*records), warnings,
                                config.secondary() || !config.storage.empty());
  if (!built.ok()) {
    const std::string what(built.status().message());
    // Validation errors already name file:line; builder errors do not.
    if (what.rfind(config.file, 0) == 0) return built.status();
    return absl::InvalidArgumentError(absl::StrCat(config.file, ": ", what));
  }
  return built;
}

ZoneStore::ZoneStore(dpdk::SnapshotManager* snapshots, zone::Identity identity)
    : snapshots_(snapshots), identity_(std::move(identity)) {}

ZoneStore::~ZoneStore() {
  {
    std::lock_guard<std::mutex> lock(compaction_mu_);
    stopping_ = true;
  }
  if (compactor_.joinable()) compactor_.join();
}

absl::Status ZoneStore::Configure(const std::vector<ZoneConfig>& zones) {
  std::lock_guard<std::mutex> writer(writer_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::unique_ptr<Entry>> next;
  for (const ZoneConfig& zc : zones) {
    auto apex = NameFromText(zc.name, "");
    if (!apex.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("zone ", zc.name, ": ", apex.status().message()));
    }
    const std::string lower = NameToLower(*apex);
    for (const auto& other : next) {
      if (other->apex == lower) {
        return absl::InvalidArgumentError("zone " + zc.name +
                                          " configured twice");
      }
    }
    std::unique_ptr<Entry> e;
    for (auto& old : entries_) {
      if (old && old->apex == lower && old->config.file == zc.file &&
          old->config.storage == zc.storage) {
        e = std::move(old);
      }
    }
    if (!e) e = std::make_unique<Entry>();
    e->config = zc;
    e->apex = lower;
    next.push_back(std::move(e));
  }
  entries_ = std::move(next);
  return absl::OkStatus();
}

ZoneStore::Entry* ZoneStore::Find(const std::string& apex) const {
  for (const auto& e : entries_) {
    if (e->apex == apex) return e.get();
  }
  return nullptr;
}

absl::Status ZoneStore::OpenJournal(Entry& e) {
  if (e.config.storage.empty() || e.journal) return absl::OkStatus();
  auto j = xfr::Journal::Open(e.config.storage, xfr::StorageStem(e.config.name),
                              kMaxHistory);
  if (!j.ok()) return j.status();
  e.journal = std::move(*j);
  return absl::OkStatus();
}

void ZoneStore::Install(Entry& e, std::shared_ptr<const zone::Zone> z,
                        const std::string& source) {
  e.zone = std::move(z);
  e.error.clear();
  e.loaded_at = std::time(nullptr);
  e.source = source;
  std::fprintf(stderr, "popdns: zone %s serial %u loaded (%s)\n",
               e.config.name.c_str(), e.zone->serial, source.c_str());
}

void ZoneStore::AddHistory(Entry& e, xfr::Changeset cs) {
  if (!e.history.empty() && e.history.back()->to() != cs.from()) {
    e.history.clear();  // not a chain: IXFR out would be wrong
  }
  e.history.push_back(std::make_shared<const xfr::Changeset>(std::move(cs)));
  while (e.history.size() > kMaxHistory) e.history.pop_front();
}

absl::Status ZoneStore::LoadFromJournal(Entry& e) {
  if (absl::Status s = OpenJournal(e); !s.ok()) return s;
  if (!e.journal) return absl::NotFoundError("no storage");
  auto stored = e.journal->Load();
  if (!stored.ok()) return stored.status();
  auto applied = ApplyChangesets(std::move(stored->full), stored->after);
  if (!applied.ok()) {
    return absl::DataLossError(absl::StrCat(e.journal->path(), ": ",
                                            applied.status().message()));
  }
  std::vector<ZoneRecord> records = std::move(*applied);
  std::vector<std::string> warnings;
  auto z = BuildFromRecords(e.apex, std::move(records), &warnings,
                            /*updatable=*/true);
  if (!z.ok()) {
    return absl::DataLossError(
        absl::StrCat(e.journal->path(), ": ", z.status().message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  e.history.clear();
  for (xfr::Changeset& cs : stored->after) AddHistory(e, std::move(cs));
  e.warnings = std::move(warnings);
  Install(e, std::move(*z), "on-disk copy");
  return absl::OkStatus();
}

absl::Status ZoneStore::LoadFromFile(Entry& e) {
  std::vector<std::string> warnings;
  auto z = LoadZone(e.config, &warnings);
  for (const std::string& w : warnings) {
    std::fprintf(stderr, "popdns: warning: %s\n", w.c_str());
  }
  if (!z.ok()) return z.status();
  std::shared_ptr<const zone::Zone> old = e.zone;
  std::shared_ptr<const zone::Zone> next = *z;
  if (e.journal && old && !xfr::SerialLess(old->serial, next->serial)) {
    // With an on-disk copy, the journal is the truth (it holds the changes
    // UPDATE and the API made since the file was read): the file takes
    // over only with a newer serial, as Knot's journal-content does.
    if (old->serial != next->serial) {
      std::fprintf(stderr,
                   "popdns: warning: zone %s: file %s has serial %u, not "
                   "newer than the serving %u: not loaded (the journal in "
                   "%s is the zone's truth)\n",
                   e.config.name.c_str(), e.config.file.c_str(), next->serial,
                   old->serial, e.config.storage.c_str());
    }
    return absl::OkStatus();
  }
  std::optional<xfr::Changeset> appended;
  bool history_reset = false;
  if (e.journal) {
    std::vector<ZoneRecord> records = RecordsOf(*next);
    absl::Status s;
    if (old) {
      // ixfr-from-differences: secondaries get the change by IXFR.
      xfr::Changeset cs = Diff(RecordsOf(*old), records);
      s = e.journal->Append(cs);
      if (s.ok()) appended = std::move(cs);
    }
    if (!old || !s.ok()) {
      s = e.journal->StoreFull(next->serial, records);
      history_reset = true;
    }
    if (!s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (history_reset) e.history.clear();
  if (appended) AddHistory(e, std::move(*appended));
  e.warnings = std::move(warnings);
  Install(e, std::move(next), "file " + e.config.file);
  return absl::OkStatus();
}

void ZoneStore::Fail(Entry& e, const absl::Status& s, std::string* errors) {
  std::lock_guard<std::mutex> lock(mu_);
  e.error = std::string(s.message());
  ++e.load_errors;
  // The reply to `reload` may list several zones: each line names its own.
  absl::StrAppend(errors, "zone ", e.config.name, ": ", e.error, "\n");
  std::fprintf(stderr, "popdns: zone %s not loaded: %s\n",
               e.config.name.c_str(), e.error.c_str());
}

std::string ZoneStore::LoadAll() {
  std::lock_guard<std::mutex> writer(writer_mu_);
  std::string errors;
  for (auto& ep : entries_) {
    Entry& e = *ep;
    if (!e.config.storage.empty()) {
      absl::Status s = LoadFromJournal(e);
      if (s.ok()) continue;
      if (!absl::IsNotFound(s)) {
        // A corrupt copy must not keep the zone down: drop it, and let
        // the zone file or a fresh transfer take its place.
        std::fprintf(stderr,
                     "popdns: zone %s: on-disk copy unusable (%s); removing "
                     "it%s\n",
                     e.config.name.c_str(), std::string(s.message()).c_str(),
                     e.config.secondary() ? " and transferring afresh" : "");
        e.journal.reset();
        {
          std::lock_guard<std::mutex> lock(mu_);
          e.history.clear();
        }
        if (absl::Status r = xfr::Journal::Remove(
                e.config.storage, xfr::StorageStem(e.config.name));
            !r.ok()) {
          std::fprintf(stderr, "popdns: zone %s: %s\n", e.config.name.c_str(),
                       std::string(r.message()).c_str());
        }
        if (absl::Status o = OpenJournal(e); !o.ok()) {
          Fail(e, o, &errors);
          continue;
        }
      }
    }
    if (e.config.file.empty()) continue;  // a secondary waits for AXFR
    if (absl::Status s = LoadFromFile(e); !s.ok()) Fail(e, s, &errors);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Publish();
  }
  malloc_trim(0);
  return errors;
}

std::string ZoneStore::Reload(const std::string& zone_name,
                              std::vector<std::string>* changed) {
  std::lock_guard<std::mutex> writer(writer_mu_);
  std::string errors;
  std::string wanted;
  if (!zone_name.empty()) {
    std::string name = zone_name;
    if (name.back() != '.') name.push_back('.');
    auto apex = NameFromText(name, "");
    if (!apex.ok()) return "bad zone name " + zone_name + "\n";
    wanted = NameToLower(*apex);
  }
  bool found = wanted.empty();
  for (auto& ep : entries_) {
    Entry& e = *ep;
    if (!wanted.empty() && e.apex != wanted) continue;
    found = true;
    if (e.config.file.empty()) continue;
    if (e.config.secondary() && e.zone) continue;  // the primary is the truth
    const uint32_t before = e.zone ? e.zone->serial : 0;
    const bool had = e.zone != nullptr;
    if (absl::Status s = OpenJournal(e); !s.ok()) {
      std::fprintf(stderr, "popdns: zone %s: %s\n", e.config.name.c_str(),
                   std::string(s.message()).c_str());
    }
    if (absl::Status s = LoadFromFile(e); !s.ok()) {
      Fail(e, s, &errors);  // the previous version (if any) keeps serving
      continue;
    }
    if (changed && (!had || e.zone->serial != before)) {
      changed->push_back(e.apex);
    }
  }
  if (!found) return "no such zone " + zone_name + "\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    Publish();
  }
  // A load frees far more than it keeps (text records, build tables);
  // give it back to the system instead of keeping it in malloc's arenas.
  malloc_trim(0);
  return errors;
}

absl::Status ZoneStore::CommitTransfer(const std::string& apex,
                                       xfr::TransferStream::Kind kind,
                                       std::vector<ZoneRecord> full,
                                       std::vector<xfr::Changeset> changes,
                                       const std::string& origin,
                                       std::optional<xfr::FullCopyEncoder> full_copy) {
  std::lock_guard<std::mutex> writer(writer_mu_);
  Entry* e = Find(apex);
  if (!e) return absl::NotFoundError("no such zone");
  if (kind == xfr::TransferStream::Kind::kUpToDate) return absl::OkStatus();
  const SourceFile source(origin);
  for (ZoneRecord& r : full) r.file = source;
  for (xfr::Changeset& cs : changes) {
    for (ZoneRecord& r : cs.removed) r.file = source;
    for (ZoneRecord& r : cs.added) r.file = source;
  }
  if (absl::Status s = OpenJournal(*e); !s.ok()) return s;
  if (kind != xfr::TransferStream::Kind::kFull) {
    return ApplyChanges(*e, std::move(changes), origin);
  }
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  const Clock::time_point t0 = Clock::now();
  // The version is on disk before it serves; if the build then failed, a
  // restart would find this copy unusable and transfer afresh. Records
  // encoded as they arrived go into the journal's transaction on a thread
  // of their own while this one validates them; it commits once
  // validation says they are what serves (the common case: nothing
  // dropped, no TTL changed), during the build's first steps, and is
  // joined before the version is published. Otherwise the journal encodes
  // the validated records before the build consumes them.
  absl::Status journal_status;
  Clock::duration journal_time{};
  StoreVerdict verdict;
  std::jthread journal_writer;
  // On any return the writer is told first, then joined (destruction runs
  // backwards), so it neither waits forever nor outlives what it uses.
  absl::Cleanup stop_writer = [&verdict] { verdict.Give(false); };
  bool stored_beside = false;
  const uint32_t copy_serial = full_copy ? full_copy->serial() : 0;
  const size_t copy_records = full_copy ? full_copy->records() : 0;
  if (e->journal && full_copy) {
    journal_writer = std::jthread(
        [&journal_status, &journal_time, &verdict, journal = e->journal.get(),
         copy = *std::move(full_copy)]() mutable {
          const Clock::time_point start = Clock::now();
          Clock::duration waited{};
          journal_status = journal->StoreFull(std::move(copy), [&] {
            const Clock::time_point wait = Clock::now();
            const bool store = verdict.Wait();
            waited = Clock::now() - wait;
            return store;
          });
          journal_time = Clock::now() - start - waited;
          // LMDB's pages for the copy, freed at the commit (the encoded
          // chunks went back as LMDB took each one).
          malloc_trim(0);
        });
  }
  full_copy.reset();
  std::vector<std::string> warnings;
  bool modified = false;
  auto valid = NormalizeAndValidateZone(std::move(full), apex, &warnings,
                                        nullptr, &modified);
  // Its errors name the transfer already: it is the records' file.
  if (!valid.ok()) return valid.status();
  const Clock::time_point t1 = Clock::now();
  if (e->journal) {
    const ZoneRecord* soa = FindSoa(*valid);
    const uint32_t serial = soa ? xfr::Changeset::SerialOf(*soa) : 0;
    if (journal_writer.joinable() && !modified && copy_serial == serial &&
        copy_records == valid->size()) {
      verdict.Give(true);
      stored_beside = true;
    } else {
      verdict.Give(false);
      if (journal_writer.joinable()) journal_writer.join();
      if (absl::Status s = e->journal->StoreFull(serial, *valid); !s.ok()) {
        return s;
      }
      journal_time = Clock::now() - t1;
    }
  }
  // Validation's tables are freed but stay in malloc's free lists, which
  // the build's arrays (mapped apart) cannot reuse: back to the system
  // before the build peaks.
  malloc_trim(0);
  const Clock::time_point t2 = Clock::now();
  BuildOptions options;
  options.updatable = true;
  auto z = BuildZone(apex, std::move(*valid), options);
  if (!z.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": ", z.status().message()));
  }
  if (journal_writer.joinable()) {
    journal_writer.join();
    if (!journal_status.ok()) return journal_status;
  }
  const Clock::time_point t3 = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    e->history.clear();
    e->warnings = std::move(warnings);
    Install(*e, *z, origin);
    e->refresh.expired = false;
    Publish();
  }
  malloc_trim(0);
  std::fprintf(stderr,
               "popdns: zone %s: %s applied: validate %.0f ms, journal %.0f "
               "ms%s, build %.0f ms, publish %.0f ms\n",
               e->config.name.c_str(), origin.c_str(), ms(t1 - t0),
               ms(journal_time),
               stored_beside ? " (beside validation)" : "",
               ms(t3 - t2), ms(Clock::now() - t3));
  return absl::OkStatus();
}

absl::Status ZoneStore::ApplyChanges(Entry& e,
                                     std::vector<xfr::Changeset> changes,
                                     const std::string& origin) {
  if (!e.zone) {
    return absl::FailedPreconditionError("IXFR: no version to apply it to");
  }
  // In proportion to the change: the new version shares the old one's
  // arrays and rebuilds only the names the change touches and those
  // whose answers read them.
  std::vector<std::string> warnings;
  IncrementalStats stats;
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  const Clock::time_point t0 = Clock::now();
  auto z = BuildIncremental(e.zone, changes, &warnings, &stats);
  if (!z.ok()) {
    if (absl::IsFailedPrecondition(z.status())) return z.status();
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": ", z.status().message()));
  }
  const Clock::time_point t1 = Clock::now();
  // On disk before it serves: a restart finds this version or the one
  // before it, never a part of one.
  if (e.journal) {
    for (const xfr::Changeset& cs : changes) {
      if (absl::Status s = e.journal->Append(cs); !s.ok()) return s;
    }
  }
  const Clock::time_point t2 = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (xfr::Changeset& cs : changes) AddHistory(e, std::move(cs));
    e.warnings = std::move(warnings);
    Install(e, *z, origin);
    e.refresh.expired = false;
    Publish();
  }
  std::fprintf(stderr,
               "popdns: zone %s: %s; build %.2f ms, journal %.2f ms, "
               "publish %.2f ms\n",
               e.config.name.c_str(), stats.ToString().c_str(), ms(t1 - t0),
               ms(t2 - t1), ms(Clock::now() - t2));
  // The journal's changes after its full copy are replayed at start-up
  // and grow with every change: once they hold as many records as the
  // zone has names, the current version becomes the full copy (O(zone),
  // so amortized O(1) a changed record; IXFR history is kept).
  if (e.journal && e.journal->records_after_full() >
                       std::max<size_t>(kJournalCompactRecords,
                                        (*z)->live_nodes)) {
    const Clock::time_point c0 = Clock::now();
    absl::Status s = e.journal->StoreFull((*z)->serial, RecordsOf(**z));
    std::fprintf(stderr,
                 "popdns: zone %s: journal compacted to a full copy at serial "
                 "%u in %.0f ms%s%s\n",
                 e.config.name.c_str(), (*z)->serial, ms(Clock::now() - c0),
                 s.ok() ? "" : ": ", std::string(s.message()).c_str());
  }
  // Replaced answers stay in the shared arrays until a full build: once
  // they are most of them, or the arrays are running out of room (a full
  // build would then stall the writers), compact, in the background.
  if (GarbageRatio(**z) > kCompactAt || HeadroomUsed(**z) > kHeadroomAt) {
    StartCompaction(e);
  }
  return absl::OkStatus();
}

void ZoneStore::StartCompaction(Entry& e) {
  std::lock_guard<std::mutex> lock(compaction_mu_);
  if (compacting_ || stopping_) return;  // one at a time; due again later
  compacting_ = true;
  if (compactor_.joinable()) compactor_.join();  // the previous one, done
  compactor_ = std::thread(&ZoneStore::Compact, this, &e, e.zone);
}

void ZoneStore::Compact(Entry* e, std::shared_ptr<const zone::Zone> base) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  // The long part, without the writers' lock: changes go on meanwhile on
  // the old lineage (its arrays only grow; `base` reads its own part).
  auto rebuilt = RebuildZone(*base);
  base.reset();
  auto finish = [&](const std::string& what) {
    std::fprintf(stderr, "popdns: zone %s: compaction %s (%.0f ms)\n",
                 e->config.name.c_str(), what.c_str(),
                 std::chrono::duration<double, std::milli>(Clock::now() - t0)
                     .count());
    std::lock_guard<std::mutex> lock(compaction_mu_);
    compacting_ = false;
  };
  if (!rebuilt.ok()) {
    return finish("failed: " + std::string(rebuilt.status().message()));
  }
  {
    std::lock_guard<std::mutex> writer(writer_mu_);
    {
      std::lock_guard<std::mutex> lock(compaction_mu_);
      if (stopping_) return finish("abandoned: stopping");
    }
    // Catch up with what was committed during the rebuild: the history
    // since the rebuilt version, applied to the new lineage.
    const uint32_t from = (*rebuilt)->serial;
    std::vector<xfr::Changeset> since;
    bool found = e->zone && e->zone->serial == from;
    if (e->zone && !found) {
      for (const auto& cs : e->history) {
        found |= cs->from() == from;
        if (found) since.push_back(*cs);
      }
    }
    if (!found) {
      return finish("abandoned: the zone changed by more than its history "
                    "holds");
    }
    std::shared_ptr<const zone::Zone> next = *rebuilt;
    if (!since.empty()) {
      auto caught_up = BuildIncremental(next, since);
      if (!caught_up.ok()) {
        return finish("abandoned: " +
                      std::string(caught_up.status().message()));
      }
      next = *caught_up;
    }
    std::lock_guard<std::mutex> lock(mu_);
    Install(*e, std::move(next), e->source + ", compacted");
    Publish();
  }
  malloc_trim(0);
  finish("done");
}

absl::Status ZoneStore::CommitEdit(const std::string& apex, const EditFn& edit,
                                   const std::string& origin,
                                   uint32_t* serial) {
  std::lock_guard<std::mutex> writer(writer_mu_);
  Entry* e = Find(apex);
  if (!e) return absl::NotFoundError("no such zone");
  if (e->config.secondary()) {
    return absl::FailedPreconditionError(
        "zone " + e->config.name + " is a secondary: change it at its primary");
  }
  if (!e->zone) {
    return absl::FailedPreconditionError("zone " + e->config.name +
                                         " is not loaded");
  }
  if (e->config.storage.empty()) {
    return absl::FailedPreconditionError(
        "zone " + e->config.name +
        " has no storage: a change would not survive a restart");
  }
  if (absl::Status s = OpenJournal(*e); !s.ok()) return s;
  if (!e->journal) {
    return absl::FailedPreconditionError("zone " + e->config.name +
                                         ": journal not open");
  }
  auto change = edit(*e->zone, e->config);
  if (!change.ok()) return change.status();
  if (*change) {
    std::vector<xfr::Changeset> changes;
    changes.push_back(std::move(**change));
    if (absl::Status s = ApplyChanges(*e, std::move(changes), origin);
        !s.ok()) {
      return s;
    }
  }
  if (serial) *serial = e->zone->serial;
  return absl::OkStatus();
}

std::optional<ZoneRecord> ZoneStore::CurrentSoa(const std::string& apex) const {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(apex);
  if (!e || !e->zone || e->zone->soa_rrset == zone::kNone) return std::nullopt;
  return SoaRecordOf(*e->zone);
}

std::optional<ZoneView> ZoneStore::View(const std::string& apex) const {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(apex);
  if (!e) return std::nullopt;
  return ZoneView{e->config, e->zone, e->history, e->refresh.expired,
                  e->refresh.expires_at};
}

std::string ZoneStore::ZoneFor(const std::string& qname_lower) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string best;
  for (const auto& e : entries_) {
    if (dns::IsSubdomain(qname_lower, e->apex) && e->apex.size() > best.size()) {
      best = e->apex;
    }
  }
  return best;
}

void ZoneStore::SetRefreshStatus(const std::string& apex,
                                 const RefreshStatus& status) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(apex);
  if (!e) return;
  const bool was_expired = e->refresh.expired;
  e->refresh = status;
  if (status.expired != was_expired) Publish();
}

void ZoneStore::SetDownEndpoints(std::vector<zone::Address> down) {
  std::lock_guard<std::mutex> lock(mu_);
  down_endpoints_ = std::move(down);
  Publish();
}

void ZoneStore::Publish() {
  auto set = std::make_shared<zone::ZoneSet>();
  set->set_down_endpoints(down_endpoints_);
  for (const auto& e : entries_) {
    // An expired zone is not answered from (RFC 1035 3.3.13): SERVFAIL.
    if (!e->zone) continue;
    if (e->refresh.expired) {
      set->AddExpired(e->zone);
    } else {
      set->Add(e->zone);
    }
  }
  set->set_identity(identity_);
  if (publish_hook_) publish_hook_(set);
  snapshots_->Publish(std::move(set));
}

void ZoneStore::SetPublishHook(PublishHook hook) {
  std::lock_guard<std::mutex> lock(mu_);
  publish_hook_ = std::move(hook);
  Publish();
}

std::optional<ZoneConfig> ZoneStore::ConfigOf(const std::string& apex) const {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(apex);
  if (!e) return std::nullopt;
  return e->config;
}

size_t ZoneStore::zone_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

std::vector<ZoneConfig> ZoneStore::configs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ZoneConfig> out;
  for (const auto& e : entries_) out.push_back(e->config);
  return out;
}

std::vector<ZoneState> ZoneStore::States() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ZoneState> out;
  out.reserve(entries_.size());
  for (const auto& ep : entries_) {
    const Entry& e = *ep;
    ZoneState z;
    z.name = e.config.name;
    z.secondary = e.config.secondary();
    z.loaded = e.zone != nullptr;
    z.serial = e.zone ? e.zone->serial : 0;
    z.loaded_at = e.loaded_at;
    z.source = e.source;
    z.error = e.error;
    z.load_errors = e.load_errors;
    z.refresh = e.refresh;
    out.push_back(std::move(z));
  }
  return out;
}

std::string ZoneStore::StatusText() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = absl::StrFormat(
      "%-28s %-9s %-10s %-20s %-20s %-20s %s\n", "zone", "role", "serial",
      "loaded", "refreshed", "expires", "status");
  for (const auto& ep : entries_) {
    const Entry& e = *ep;
    const bool secondary = e.config.secondary();
    std::string status;
    if (e.refresh.expired) {
      status = "expired: answering SERVFAIL";
    } else if (!e.error.empty()) {
      status = (e.zone ? "stale: " : "error: ") + e.error;
    } else {
      status = e.zone ? "ok" : (secondary ? "waiting for a transfer" : "not loaded");
    }
    if (secondary && !e.refresh.result.empty()) {
      absl::StrAppend(&status, "; last refresh: ", e.refresh.result);
    }
    absl::StrAppendFormat(
        &out, "%-28s %-9s %-10s %-20s %-20s %-20s %s\n", e.config.name,
        secondary ? "secondary" : "primary",
        e.zone ? std::to_string(e.zone->serial) : "-", Timestamp(e.loaded_at),
        secondary ? Timestamp(e.refresh.last_refresh) : "-",
        secondary ? Timestamp(e.refresh.expires_at) : "-", status);
  }
  return out;
}

}  // namespace popdns::control
