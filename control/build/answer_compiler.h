// Internal to control/build: what the full build (zone_builder.cc) and the
// incremental build (incremental_builder.cc) share. Precompiling a node's
// answers (its typed blobs and referral blob) by running the engine's
// general path against the zone being built, storing the bytes in the
// lineage's arrays, and noting which names each node's answers looked
// up; and the state an incremental build keeps between versions.
// Control thread only.
#ifndef POPDNS_CONTROL_BUILD_ANSWER_COMPILER_H_
#define POPDNS_CONTROL_BUILD_ANSWER_COMPILER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "dataplane/dns/message_writer.h"
#include "dataplane/zone/zone.h"

namespace popdns::control::internal {

std::string Lower(std::string_view wire);

// Size of the valid wire name at data[off], or 0 if it is not one.
size_t WireNameSize(std::string_view data, size_t off);

// Lowercases the names the engine reads or compresses inside RDATA, and
// checks that they are well formed.
bool NormalizeRdataNames(uint16_t type, std::string* rdata);

// The type an RRSIG covers (its RDATA's first two bytes); 0 for others.
uint16_t CoveredType(uint16_t type, std::string_view rdata);

// What a node's precompiled answers read besides the node itself.
struct AnswerDeps {
  // NameIndex::Hash of every other name they looked up, found or not
  // (sorted, unique). Names outside the zone are never looked up.
  std::vector<uint64_t> names;
  // They read the apex's data other than its SOA: looked the apex up
  // (additional data of a target at the apex), followed a CNAME to it,
  // or fell through to it as closest encloser (a name that does not
  // exist, whose wildcard would be "*.<apex>").
  bool apex = false;
};

// Answers that end with the SOA by their bytes less the SOA's TTL, serial
// and timers (which the answer's writer stamps, Zone::StampSoa) -> offset
// in the arena. The negative answers of names of the same length are byte
// for byte the same in an unsigned zone (their SOA owner is a pointer into
// the question), so a lineage keeps one copy of each.
using SoaAnswerIndex = absl::flat_hash_map<std::string, uint32_t>;

// What an incremental build of a lineage needs from the versions before
// it, kept in ZoneHeaps::builder_state for the lineage's newest version.
// Names are views into ZoneHeaps::names, which outlive this.
struct LineageState {
  using NameSet = absl::flat_hash_set<std::string_view, zone::NameHash>;
  template <typename V>
  using NameMap = absl::flat_hash_map<std::string_view, V, zone::NameHash>;

  // The child nodes of every node below the apex that has any: whether a
  // name without records stays (an empty non-terminal) or goes, and which
  // nodes a new or removed zone cut or DNAME reaches.
  NameMap<std::vector<std::string_view>> children;
  // What the nodes' answers looked up, as the full build found them:
  // (name hash, node index) sorted. An entry holds while its node's name
  // has no entry in depends_on. One flat array because the full build
  // is on the path of every AXFR: a map of vectors cost it 170 ms of
  // allocations on a 1M-name zone.
  struct BuiltDependent {
    uint64_t hash;
    uint32_t node;
    bool operator<(const BuiltDependent& o) const {
      return hash != o.hash ? hash < o.hash : node < o.node;
    }
  };
  std::vector<BuiltDependent> built_dependents;
  // Since the full build: name hash -> nodes whose answers looked that
  // name up. May hold stale entries (a node that no longer depends on it,
  // or no longer exists): checked against depends_on when used.
  absl::flat_hash_map<uint64_t, std::vector<std::string_view>> dependents;
  // The deps of every node compiled or removed since the full build
  // (empty for none, or removed), sorted; its built_dependents entries no
  // longer hold.
  NameMap<std::vector<uint64_t>> depends_on;
  NameSet apex_dependents;                    // AnswerDeps::apex
  // Every answer ending with the SOA in the lineage's arena, garbage too
  // (compaction drops them), for sharing.
  SoaAnswerIndex soa_answer_index;
  size_t rrsig_nodes = 0;         // nodes with signatures (Zone::is_signed)

  // Records `deps` as node `name`'s (replacing what it had), after the
  // full build. `name` views bytes that outlive this (ZoneHeaps::names).
  void SetDeps(std::string_view name, AnswerDeps deps);
  void DropDeps(std::string_view name) { SetDeps(name, AnswerDeps{}); }
};

// Precompiles answers into a zone being built (its views, index and
// nodes in place). In a full build (`may_grow`) the lineage's arrays grow
// as needed and the views are refreshed; in an incremental one they must
// not move, and a full array is ResourceExhausted (the caller falls back
// to a full build).
class AnswerCompiler {
 public:
  AnswerCompiler(zone::Zone* z, bool may_grow);

  // z->negative_blob: the SOA in authority (RFC 2308), for the apex.
  // Errors: InvalidArgument "SOA record too large"; ResourceExhausted.
  absl::Status CompileNegative();
  // Node i's typed blobs and referral blob, and its fields that name
  // them. With `deps`, what they looked up goes there.
  // Errors: InvalidArgument "delegation too large"; ResourceExhausted.
  absl::Status CompileNode(uint32_t i, AnswerDeps* deps);
  // Node i's VARIANT records (zone/variant.h), if any, compiled into
  // z->variants, one answer per selector and type; the node flagged
  // kHasVariants. Variants of a wildcard are not served (not compiled).
  // Errors: InvalidArgument "<name>: malformed VARIANT RDATA" and for a
  // signed zone (its variants could not be signed); ResourceExhausted.
  absl::Status CompileVariants(uint32_t i);

  // Answers ending with the SOA already in the arena that new ones may
  // share (the lineage's index; read only: a build that fails adds
  // nothing to it).
  void ShareSoaAnswers(const SoaAnswerIndex* existing) {
    shared_soa_ = existing;
  }
  // The answers ending with the SOA this compiler added to the arena.
  SoaAnswerIndex& added_soa_index() { return added_soa_; }

 private:
  class DepLog;
  enum class Result { kOk, kNoBlob, kFull };
  // `hit_header`: write the owner's name (`qname`) and a zone::HitHeader
  // before the bytes, when they are not shared (an answer ending with the
  // SOA); `*headed` says whether it did.
  template <typename WriteFn>
  Result Compile(std::string_view qname, bool wildcard, WriteFn write,
                 zone::Blob* out, bool hit_header = false,
                 bool* headed = nullptr);
  Result AppendBlob(const zone::Blob& b, uint32_t* index);

  zone::Zone* z_;
  zone::ZoneHeaps* heaps_;
  const bool may_grow_;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(dns::kMaxMessageSize);
  dns::BlobRecorder recorder_;
  std::vector<zone::TypedBlob> typed_;
  const SoaAnswerIndex* shared_soa_ = nullptr;
  SoaAnswerIndex added_soa_;
  std::string soa_key_;  // Compile's lookup key, reused
};

}  // namespace popdns::control::internal

#endif  // POPDNS_CONTROL_BUILD_ANSWER_COMPILER_H_
