// The control side's view of the served zones: where each comes from (a
// zone file, a primary, the on-disk copy), the version that serves, its
// replication state and last error. Every change of a zone — a reload, an
// AXFR, an IXFR — goes through here: it is validated, built, written to
// the zone's journal (when it has `storage`) and only then published as a
// new ZoneSet snapshot. A change that fails leaves the previous version
// serving. Only the changed zone is rebuilt: the others are shared with
// the previous snapshot.
// Thread-safe: the control thread (reloads, status), the replication
// thread (transfers in) and socket threads (transfers out, NOTIFY) call
// it; one mutex serializes changes and publication.
#ifndef POPDNS_CONTROL_BUILD_ZONE_STORE_H_
#define POPDNS_CONTROL_BUILD_ZONE_STORE_H_

#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config.h"
#include "control/xfr/changeset.h"
#include "control/xfr/journal.h"
#include "control/xfr/transfer_stream.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "dataplane/zone/zone.h"

namespace popdns::control {

// Parses, validates and compiles one zone file.
// Errors: NotFound / InvalidArgument "file:line:col: what".
absl::StatusOr<std::shared_ptr<const zone::Zone>> LoadZone(
    const ZoneConfig& config, std::vector<std::string>* warnings);

// Validates and compiles a zone from records (a transfer, the journal).
// `origin` names where they came from in errors. Errors: InvalidArgument.
// `updatable`: keep what BuildIncremental needs (zone_builder.h).
absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildFromRecords(
    std::string_view apex_wire, std::vector<ZoneRecord> records,
    std::vector<std::string>* warnings, bool updatable = false);

// Replication state of a secondary zone, for `popdnsctl status`.
struct RefreshStatus {
  std::time_t last_refresh = 0;  // last time a primary answered
  std::string result;            // "ok: ...", or the last error
  bool last_ok = false;          // the last refresh reached a primary
  std::time_t next_refresh = 0;
  std::time_t expires_at = 0;    // 0: never (a primary zone)
  bool expired = false;
};

// What a transfer out needs, taken under the lock and used without it.
struct ZoneView {
  ZoneConfig config;
  std::shared_ptr<const zone::Zone> zone;  // null: not loaded
  // IXFR history, oldest first; each changeset's to() is the next one's
  // from(), the last one's to() is the zone's serial.
  std::deque<std::shared_ptr<const xfr::Changeset>> history;
  bool expired = false;
  std::time_t expires_at = 0;  // secondaries: when the copy expires
};

// One zone's state as StatusText() shows it, for /metrics and health.
struct ZoneState {
  std::string name;  // as configured ("example.com")
  bool secondary = false;
  bool loaded = false;     // a version serves
  uint32_t serial = 0;     // of that version
  std::time_t loaded_at = 0;  // when it was installed
  std::string source;      // "file", "journal", "AXFR from ...", ...
  std::string error;       // the last load's error ("" if it loaded)
  uint64_t load_errors = 0;  // loads and reloads that failed
  RefreshStatus refresh;   // secondaries
};

class ZoneStore {
 public:
  ZoneStore(dpdk::SnapshotManager* snapshots, zone::Identity identity);
  ~ZoneStore();

  // Sets the zone list (from the config) without loading.
  absl::Status Configure(const std::vector<ZoneConfig>& zones);

  // Start-up: every zone from its on-disk copy when it has one (a
  // secondary serves its last complete version before it reaches its
  // primary), else from its zone file. A corrupt on-disk copy is
  // reported and removed (the secondary transfers afresh). Publishes.
  // Returns the errors joined ("" when all loaded).
  std::string LoadAll();

  // Re-reads the zone file of every zone (empty name) or of one, then
  // publishes. For a zone with `storage`, the difference to the previous
  // version goes into the journal as IXFR history. Secondaries without a
  // file are left alone (the replication thread refreshes them). Returns
  // the errors, one line per zone ("zone NAME: file:line:col: what\n");
  // `changed` gets the apexes whose serial changed.
  std::string Reload(const std::string& zone_name = "",
                     std::vector<std::string>* changed = nullptr);

  // Applies a transfer for `apex` (wire, lowercased): a whole zone, or
  // changesets from the serving version. Durable before it is published.
  // `full_copy`: `full` as the transfer encoded it for the journal while
  // it arrived, stored as is when validation changes nothing.
  // Errors: FailedPrecondition for an IXFR that does not apply (caller
  // falls back to AXFR), InvalidArgument for data that does not validate,
  // NotFound for an unknown zone, and journal errors.
  absl::Status CommitTransfer(const std::string& apex,
                              xfr::TransferStream::Kind kind,
                              std::vector<ZoneRecord> full,
                              std::vector<xfr::Changeset> changes,
                              const std::string& origin,
                              std::optional<xfr::FullCopyEncoder> full_copy =
                                  std::nullopt);

  // Changes the serving version of `apex` (RFC 2136 UPDATE, the
  // provisioning API) under the writers' lock, so that what `edit` reads
  // is the version its change applies to. `edit` returns the change
  // (nullopt: nothing to change) or an error, which is returned as is with
  // nothing changed. The change is in the journal (fsync'd) before it is
  // published, and published (the dataplane answers it) when this
  // returns: the serial then serving, in `*serial`.
  // Errors: NotFound for an unknown zone; FailedPrecondition for a zone
  // that is a secondary, not loaded, expired or without `storage` (a
  // change must survive a restart); InvalidArgument when the new version
  // does not validate; journal errors; and `edit`'s own.
  using EditFn = std::function<absl::StatusOr<std::optional<xfr::Changeset>>(
      const zone::Zone& serving, const ZoneConfig& config)>;
  absl::Status CommitEdit(const std::string& apex, const EditFn& edit,
                          const std::string& origin, uint32_t* serial);

  // The serving version's SOA record, for IXFR requests and SOA checks.
  std::optional<ZoneRecord> CurrentSoa(const std::string& apex) const;
  std::optional<ZoneView> View(const std::string& apex) const;
  // The configuration of `apex`'s zone; nullopt for an unknown zone.
  std::optional<ZoneConfig> ConfigOf(const std::string& apex) const;
  // The apex (wire, lowercased) of the configured zone that is `qname` or
  // encloses it most closely; "" if none.
  std::string ZoneFor(const std::string& qname_lower) const;

  // The replication thread reports here; expiry makes the zone answer
  // SERVFAIL (RFC 1035 3.3.13) and is published at once.
  void SetRefreshStatus(const std::string& apex, const RefreshStatus& status);

  // The endpoints of app-aware answers that are down (EndpointHealth),
  // sorted: published at once with every zone as it is, no zone rebuilt
  // (their answers without those endpoints are compiled already).
  void SetDownEndpoints(std::vector<zone::Address> down);

  // Called with every new ZoneSet before the workers get it, from the
  // publishing thread under the store's lock (answers in the XDP program
  // update their map there, so that nothing older is answered from it
  // once a reload, transfer or update has returned). Setting it publishes
  // the current zones once, so that the hook starts from them.
  using PublishHook =
      std::function<void(std::shared_ptr<const zone::ZoneSet>)>;
  void SetPublishHook(PublishHook hook);

  // Human-readable table: zone, role, serial, loaded, last refresh and its
  // result, expiry, status.
  std::string StatusText() const;
  // The same, one entry per configured zone in config order.
  std::vector<ZoneState> States() const;
  size_t zone_count() const;
  std::vector<ZoneConfig> configs() const;

 private:
  struct Entry {
    ZoneConfig config;
    std::string apex;  // wire, lowercased
    std::shared_ptr<const zone::Zone> zone;
    std::unique_ptr<xfr::Journal> journal;
    std::deque<std::shared_ptr<const xfr::Changeset>> history;
    std::time_t loaded_at = 0;
    std::string source;  // "file", "journal", "AXFR from ...", ...
    std::string error;
    uint64_t load_errors = 0;
    std::vector<std::string> warnings;
    RefreshStatus refresh;
  };
  Entry* Find(const std::string& apex) const;
  absl::Status OpenJournal(Entry& e);
  // Loads e's on-disk copy; NotFound when there is none.
  absl::Status LoadFromJournal(Entry& e);
  absl::Status LoadFromFile(Entry& e);
  // Records and logs that e did not load (its previous version serves).
  void Fail(Entry& e, const absl::Status& s, std::string* errors);
  void Install(Entry& e, std::shared_ptr<const zone::Zone> z,
               const std::string& source);
  void AddHistory(Entry& e, xfr::Changeset cs);
  // IXFR in and edits: builds the changes onto e's version in proportion
  // to them, journals them, publishes; then compacts if due. Errors: as
  // BuildIncremental (FailedPrecondition: does not apply), InvalidArgument
  // prefixed with `origin`, journal errors.
  absl::Status ApplyChanges(Entry& e, std::vector<xfr::Changeset> changes,
                            const std::string& origin);
  void Publish();
  PublishHook publish_hook_;
  // Compaction of e's lineage (RebuildZone) on a thread of its own, off
  // the writers' lock; what was committed meanwhile is then applied to
  // the rebuilt version, which replaces the serving one. One at a time.
  void StartCompaction(Entry& e);
  void Compact(Entry* e, std::shared_ptr<const zone::Zone> base);

  dpdk::SnapshotManager* snapshots_;
  zone::Identity identity_;
  std::vector<zone::Address> down_endpoints_;
  // Writers (start-up, reloads, transfers in) take writer_mu_ for the
  // whole change, which may take seconds (parsing, building), and mu_ only
  // to install the result and publish: readers on socket threads (NOTIFY,
  // transfers out) take mu_ alone, so they wait microseconds, not a build.
  // An Entry's fields change only under both; a writer may read them
  // under writer_mu_ alone.
  std::mutex writer_mu_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // fixed after Configure
  std::mutex compaction_mu_;  // guards the three below
  bool compacting_ = false;
  bool stopping_ = false;
  std::thread compactor_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_ZONE_STORE_H_
