// Compiles the records of one zone into an immutable zone::Zone: nodes with
// empty non-terminals filled in, load-time flags (cut, DNAME, wildcard
// child), and precompiled answers for every exact and wildcard hit,
// negative answer and referral. The zone's arrays are the first version of
// a lineage (zone.h ZoneHeaps) with room for later versions that
// BuildIncremental (incremental_builder.h) appends.
// Control thread only; the result is then only read.
#ifndef POPDNS_CONTROL_BUILD_ZONE_BUILDER_H_
#define POPDNS_CONTROL_BUILD_ZONE_BUILDER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/zonefile/zone_record.h"
#include "dataplane/zone/zone.h"

namespace popdns::control {

// `apex` is a wire-format name (any case). `records` must have passed
// NormalizeAndValidateZone (no duplicates, one TTL per RRset); they are
// consumed (freed as soon as they are laid out, to keep the peak memory of
// a large load low). BuildZone itself only rejects what it cannot compile
// (no SOA at the apex, a record outside the zone, bad RDATA for a type
// whose names it must read, an RRset of more than 65535 records).
absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildZone(
    std::string_view apex, std::vector<ZoneRecord> records);

struct BuildOptions {
  // Also keep what BuildIncremental needs to apply changes to this zone in
  // proportion to their size (which names each precompiled answer looked
  // up, the child names of every node): some 10% more build time and a few
  // tens of bytes per name. Without it, the first BuildIncremental from
  // this zone is a full build.
  bool updatable = false;
  // Room left in the zone's arrays for later versions: `headroom_factor`
  // times what the build wrote, and at least `min_free_bytes` free in
  // each (address space only until written). When an incremental build
  // finds an array full, it does a full build into new arrays instead.
  size_t headroom_factor = 4;
  size_t min_free_bytes = 64 << 10;
};
absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildZone(
    std::string_view apex, std::vector<ZoneRecord> records,
    const BuildOptions& options);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_ZONE_BUILDER_H_
