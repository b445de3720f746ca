// The control side's view of the served zones: where each comes from, the
// last version that loaded, and the last error. Loads (and reloads) zones
// and publishes a new ZoneSet snapshot; a zone that fails to load keeps its
// previous version serving. Only the reloaded zone is rebuilt: the others
// are shared with the previous snapshot.
// Control thread only.
#ifndef POPDNS_CONTROL_BUILD_ZONE_STORE_H_
#define POPDNS_CONTROL_BUILD_ZONE_STORE_H_

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "dataplane/zone/zone.h"

namespace popdns::control {

// Parses, validates and compiles one zone file.
// Errors: NotFound / InvalidArgument "file:line:col: what".
absl::StatusOr<std::shared_ptr<const zone::Zone>> LoadZone(
    const ZoneConfig& config, std::vector<std::string>* warnings);

class ZoneStore {
 public:
  ZoneStore(dpdk::SnapshotManager* snapshots, zone::Identity identity);

  // Sets the zone list (from the config) without loading.
  absl::Status Configure(const std::vector<ZoneConfig>& zones);

  // Reloads every zone (empty name) or one zone, then publishes. Returns
  // the errors joined ("" when all loaded).
  std::string Reload(const std::string& zone_name = "");

  // Human-readable table: zone, serial, loaded at, status.
  std::string StatusText() const;
  size_t zone_count() const { return entries_.size(); }

 private:
  struct Entry {
    ZoneConfig config;
    std::string apex;  // wire
    std::shared_ptr<const zone::Zone> zone;
    std::time_t loaded_at = 0;
    std::string error;
    std::vector<std::string> warnings;
  };
  void Publish();

  dpdk::SnapshotManager* snapshots_;
  zone::Identity identity_;
  std::vector<Entry> entries_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_ZONE_STORE_H_
