// Zone-level checks and normalization of parsed records (RFC 1034/1035,
// RFC 2181, RFC 4035), run after control/zone_file.h and before a snapshot
// is built. Control thread only.
#ifndef POPDNS_CONTROL_ZONEFILE_ZONE_VALIDATE_H_
#define POPDNS_CONTROL_ZONEFILE_ZONE_VALIDATE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/zonefile/error_list.h"
#include "control/zonefile/zone_record.h"

namespace popdns::control {

// Checks `records` as the zone `apex_wire` and returns them normalized:
// exact duplicates (owner and names inside RDATA compared ASCII
// case-insensitively, type, RDATA) collapse to the first one; within an
// RRset all TTLs are set to the first record's TTL (RFC 2181 5.2), each
// change adding a warning "file:line: TTL mismatch ..." to `warnings` (may
// be null). RRSIGs form one RRset per covered type (RFC 4034 3). Record
// order is kept.
// Errors (InvalidArgument "file:line: what", first one found):
//   a class other than IN; owner not at or below the apex; not exactly one
//   SOA, or an SOA not at the apex; no NS at the apex; CNAME next to other
//   data (RRSIG/NSEC allowed, RFC 4035 2.5; RFC 2181 10.1); more than one
//   CNAME or DNAME RR at one owner.
// With `errors` (check mode), every error is added to it (one per owner
// for the CNAME/DNAME rules) and the first is returned. `modified` (may be
// null) tells whether the result differs from `records`: a duplicate
// dropped or a TTL changed (a secondary then re-encodes what it stores).
absl::StatusOr<std::vector<ZoneRecord>> NormalizeAndValidateZone(
    std::vector<ZoneRecord> records, std::string_view apex_wire,
    std::vector<std::string>* warnings, ErrorList* errors = nullptr,
    bool* modified = nullptr);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_ZONE_VALIDATE_H_
