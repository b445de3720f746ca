// A new version of a zone from the previous one and a change (IXFR
// changesets, soon RFC 2136 updates), in time and memory proportional to
// the change, answering byte for byte what a full build (BuildZone) of the
// same records answers.
//
// How (see also zone.h ZoneHeaps, name_index.h, answer_compiler.h):
//  - Versions of a zone share grow-only arrays (a lineage). A new version
//    appends a node entry for every name that changes, with its RRsets and
//    precompiled answers, and copies the index shards those names hash to;
//    everything else is read in place. Published versions never see a
//    byte change.
//  - Which names change: the owners whose records change; names created or
//    removed with them (empty non-terminals come and go with their last
//    child); parents whose flags change (wildcard child, empty
//    non-terminal); every node below a zone cut or DNAME owner that
//    changes (their `cut`/`dname` fields name its entry). Their answers
//    are compiled again, and so are the answers of every node whose
//    answers looked one of them up while being compiled (CNAME chains,
//    additional addresses of NS/MX/SRV targets, glue, wildcards, closest
//    enclosers of names that do not exist): the builders record each
//    node's lookups (zone::LookupLog) and keep the reverse map next to
//    the lineage. Lookups of the apex are kept apart: every IXFR changes
//    the apex's SOA, which no answer but the apex's own reads, except
//    negative answers.
//  - Negative answers end with the SOA. Their blobs say where its TTL,
//    serial and timers are (Blob::soa_ttl_back), and whoever writes the
//    answer stamps the version's values there (Zone::StampSoa, 24 bytes):
//    a new serial rebuilds none of them, and copies nothing per version.
//  - DNSSEC: the NSEC and NSEC3 chains are persistent sorted chunks
//    (sorted_chunks.h): a version copies only the chunks its changed
//    owners fall in, O(change + chunk), and shares the rest. NSEC3 hashes
//    of nodes are appended with the nodes. New NSEC3 parameters, or a
//    chain that starts or ends, make a full build. Signatures are records
//    like any other.
//  - Replaced entries stay in the arrays as garbage until a full build
//    (RebuildZone) makes new ones: GarbageRatio says when. A full build is
//    also what happens, reported in IncrementalStats, when an array has no
//    room left, when the base has no lineage state (built without
//    BuildOptions::updatable, or not the newest version of its lineage),
//    when the SOA's MNAME or RNAME changes (negative answers change
//    shape), for a DNAME at the apex, and when a change touches more than
//    a quarter of the zone's names.
//
// Control thread only, one build per lineage at a time (the caller
// serializes: ZoneStore's mutex). Published versions are only read.
#ifndef POPDNS_CONTROL_BUILD_INCREMENTAL_BUILDER_H_
#define POPDNS_CONTROL_BUILD_INCREMENTAL_BUILDER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/xfr/changeset.h"
#include "dataplane/zone/zone.h"

namespace popdns::control {

// What a BuildIncremental did, for a log line (ToString) and counters.
struct IncrementalStats {
  bool full_build = false;       // went through a full build instead
  std::string full_build_reason;
  size_t owners_changed = 0;     // owner names whose records changed
  size_t nodes_written = 0;      // node entries appended
  size_t nodes_removed = 0;
  size_t answers_compiled = 0;   // nodes whose answers were compiled
  size_t shards_copied = 0;      // name index shards copied
  size_t bytes_appended = 0;     // to the lineage's arrays
  double garbage_ratio = 0;      // of the lineage, after this build
  std::string ToString() const;
};

// The zone `base` with `changes` applied in order, sharing base's arrays.
// Only base's lineage's newest version has what this needs; any other
// base gets a full build (as does the cases listed above). `base` keeps
// answering exactly as before. Validation is that of BuildFromRecords
// (NormalizeAndValidateZone: CNAME and other data, one SOA at the apex,
// NS at the apex, TTLs within an RRset made equal with a warning into
// `warnings`) for the names the changes touch.
// Errors: FailedPrecondition "IXFR: ..." for a changeset that does not
// apply (serial, removal of a record that does not exist), as
// ApplyChangeset; InvalidArgument for records that do not validate or
// compile. `base` is unchanged and still the lineage's newest version.
absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildIncremental(
    const std::shared_ptr<const zone::Zone>& base,
    const std::vector<xfr::Changeset>& changes,
    std::vector<std::string>* warnings = nullptr,
    IncrementalStats* stats = nullptr);

// Share of the bytes of z's lineage that its newest version no longer
// reads. Past about 0.5 the caller should compact: RebuildZone, off the
// hot path, then publish its result like any new version.
double GarbageRatio(const zone::Zone& z);

// The largest share of its capacity that any of z's lineage's arrays has
// used. An array with no room left forces a full build on the writer's
// path (IncrementalStats::full_build_reason "zone heap full"): past about
// 0.75 the caller should compact, as for garbage.
double HeadroomUsed(const zone::Zone& z);

// A full build (updatable) of z's records into new arrays: same answers,
// no garbage. Errors: as BuildZone.
absl::StatusOr<std::shared_ptr<const zone::Zone>> RebuildZone(
    const zone::Zone& z);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_INCREMENTAL_BUILDER_H_
