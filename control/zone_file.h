// Zone file reader: RFC 1035 section 5 master files as BIND, Knot and NSD
// accept them, including $ORIGIN, $TTL, $INCLUDE, $GENERATE (BIND syntax),
// RFC 3597 unknown types, and the text formats in control/rdata_text.h.
// Called by the control thread when a zone is (re)loaded; the records then
// go through control/zone_validate.h before a snapshot is built.
// Not thread-safe per call, no shared state: concurrent calls are fine.
#ifndef POPDNS_CONTROL_ZONE_FILE_H_
#define POPDNS_CONTROL_ZONE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/zone_record.h"

namespace popdns::control {

struct ZoneFileOptions {
  std::string origin_wire;  // absolute apex, wire format
  // TTL for records without one while no $TTL is in effect. Like Knot
  // (checked with knotd 3.2), not like BIND: BIND reuses the previous
  // record's explicit TTL or the SOA MINIMUM; we never do.
  uint32_t default_ttl = 3600;
  int max_include_depth = 8;  // $INCLUDE nesting below the top file
};

// Reads and parses the zone file at `path`. Records come out in file order
// ($INCLUDEd records in place). Owner and RDATA names keep their case.
// Errors:
//   NotFound: `path` cannot be opened.
//   InvalidArgument "file:line:col: what" (col 1-based, of the offending
//   token) for any syntax or RDATA error, an $INCLUDE that cannot be opened
//   or nests deeper than max_include_depth. The first error stops parsing.
absl::StatusOr<std::vector<ZoneRecord>> ParseZoneFile(
    const std::string& path, const ZoneFileOptions& options);

// As ParseZoneFile on in-memory text; `file_name` is used in messages and
// ZoneRecord::file, and its directory anchors relative $INCLUDE paths.
absl::StatusOr<std::vector<ZoneRecord>> ParseZoneText(
    std::string_view text, std::string_view file_name,
    const ZoneFileOptions& options);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONE_FILE_H_
