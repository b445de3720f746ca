// The records of a zone version as a list, and changes between versions:
// what AXFR out sends, what IXFR in and zone reloads apply, what the
// journal stores. Until the incremental builder lands, a change is applied
// to the record list and the zone is rebuilt from it.
// Control side only; any thread (no shared state).
#ifndef POPDNS_CONTROL_BUILD_ZONE_RECORDS_H_
#define POPDNS_CONTROL_BUILD_ZONE_RECORDS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "control/xfr/changeset.h"
#include "control/zonefile/zone_record.h"
#include "dataplane/zone/zone.h"

namespace popdns::control {

// Every record of `z`, SOA first, owners and the names inside RDATA
// lowercased (as the zone stores them), class IN.
std::vector<ZoneRecord> RecordsOf(const zone::Zone& z);

// `records` (a whole zone, SOA included) with `cs` applied: cs.soa_from
// must be the zone's SOA (serials compared), every removed record must
// exist (names compared case-insensitively), added records that already
// exist are kept once, and the SOA becomes cs.soa_to.
// Errors: FailedPrecondition "IXFR: ..." saying which record or serial
// did not match (a broken IXFR: the caller falls back to AXFR).
absl::StatusOr<std::vector<ZoneRecord>> ApplyChangeset(
    std::vector<ZoneRecord> records, const xfr::Changeset& cs);

// As ApplyChangeset for each of `changes` in order, in one pass: time in
// proportion to the zone plus the changes, not to the zone times them.
absl::StatusOr<std::vector<ZoneRecord>> ApplyChangesets(
    std::vector<ZoneRecord> records, absl::Span<const xfr::Changeset> changes);

// The changeset that turns `from` into `to` (both whole zones with their
// SOA), as BIND's ixfr-from-differences computes it on a reload.
xfr::Changeset Diff(const std::vector<ZoneRecord>& from,
                    const std::vector<ZoneRecord>& to);

// The SOA record of a built zone (its apex's SOA RRset, one record).
ZoneRecord SoaRecordOf(const zone::Zone& z);

// The SOA record of a record list; nullptr when there is none.
const ZoneRecord* FindSoa(const std::vector<ZoneRecord>& records);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_ZONE_RECORDS_H_
