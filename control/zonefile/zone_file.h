// Zone file reader: RFC 1035 section 5 master files as BIND, Knot and NSD
// accept them, including $ORIGIN, $TTL, $INCLUDE, $GENERATE (BIND syntax),
// RFC 3597 unknown types, and the text formats in control/rdata_text.h.
// Called by the control thread when a zone is (re)loaded; the records then
// go through control/zone_validate.h before a snapshot is built.
// Not thread-safe per call, no shared state: concurrent calls are fine.
#ifndef POPDNS_CONTROL_ZONEFILE_ZONE_FILE_H_
#define POPDNS_CONTROL_ZONEFILE_ZONE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/zonefile/error_list.h"
#include "control/zonefile/zone_record.h"

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
//   InvalidArgument "file:line:col: what" (line and col 1-based, col counts
//   bytes, of the offending token; for a missing field, just after the last
//   token) for any syntax or RDATA error, an $INCLUDE that cannot be opened
//   or nests deeper than max_include_depth. "file" is the path as given,
//   or the resolved path of an included file. Without `errors`, the first
//   error stops parsing. With `errors` (check mode), every error is added
//   to it and parsing goes on with the next entry (after an error in the
//   lexer, with the next line), and the first error found is returned.
// Choices where servers differ: $INCLUDE paths are relative to the including
// file (Knot; BIND uses the working directory); $TTL and $ORIGIN set inside
// an included file do not leak back (RFC 1035 5.1, Knot; BIND leaks $TTL);
// a relative $INCLUDE origin is allowed (BIND; Knot and NSD refuse it).
absl::StatusOr<std::vector<ZoneRecord>> ParseZoneFile(
    const std::string& path, const ZoneFileOptions& options,
    ErrorList* errors = nullptr);

// As ParseZoneFile on in-memory text; `file_name` is used in messages and
// ZoneRecord::file, and its directory anchors relative $INCLUDE paths.
absl::StatusOr<std::vector<ZoneRecord>> ParseZoneText(
    std::string_view text, std::string_view file_name,
    const ZoneFileOptions& options, ErrorList* errors = nullptr);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_ZONE_FILE_H_
