// The read side of one zone version: an immutable table of nodes (owner
// names) with their RRsets, flags computed at load time, and precompiled
// answers. Built by control/build (zone_builder: a full build;
// incremental_builder: a new version from the previous one, appending
// what changed to arrays the versions share, see ZoneHeaps), then only
// read, by any thread, for as long as the snapshot that holds it is alive
// (RCU).
#ifndef POPDNS_DATAPLANE_ZONE_ZONE_H_
#define POPDNS_DATAPLANE_ZONE_ZONE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/address.h"
#include "dataplane/zone/grow_only_array.h"
#include "dataplane/zone/huge_page_allocator.h"
#include "dataplane/zone/name_index.h"
#include "dataplane/zone/sorted_chunks.h"
#include "dataplane/zone/variant.h"

namespace popdns::zone {

inline constexpr uint32_t kNone = 0xFFFFFFFF;

// Hash for names as std::string_view keys of abseil containers.
struct NameHash {
  size_t operator()(std::string_view name) const {
    return NameIndex::Hash(name);
  }
};

// One RRset. RDATA is stored in Zone::arena as {u16 length, bytes} per RR,
// with embedded names uncompressed and lowercased.
struct RRset {
  uint16_t type = 0;
  uint16_t count = 0;
  uint32_t ttl = 0;
  uint32_t rdata_offset = 0;
};

enum NodeFlag : uint16_t {
  kApex = 1 << 0,
  kDelegation = 1 << 1,      // NS below the apex: a zone cut (RFC 1034 4.2.2)
  kWildcardChild = 1 << 2,   // "*.<this>" exists (RFC 4592 2.2.1)
  kEmptyNonTerminal = 1 << 3,
  kHasCname = 1 << 4,
  kHasDname = 1 << 5,
  kHasVariants = 1 << 6,  // Zone::variants_of has its answers (variant.h)
  // Holds an NSEC3 and its signatures only: queries answer as if the name
  // did not exist (RFC 5155 7.2.8), as Knot, which keeps NSEC3 records
  // apart from the zone's names, does.
  kNsec3Only = 1 << 7,
};

// Whether a node's records are an NSEC3 RRset and its RRSIGs (kNsec3Only),
// from the types of its `count` RRsets (or records) that type_at(i) gives.
// (A callable, not a range view: clang 14 cannot compile libstdc++ 12's.)
template <typename TypeAt>
bool OnlyNsec3(size_t count, TypeAt type_at) {
  bool nsec3 = false;
  for (size_t i = 0; i < count; ++i) {
    const uint16_t t = type_at(i);
    if (t == dns::rrtype::kNsec3) {
      nsec3 = true;
    } else if (t != dns::rrtype::kRrsig) {
      return false;
    }
  }
  return nsec3;
}

// A precompiled answer tail: everything after the question, written as if
// the question name were `template owner` (the node itself, the wildcard
// "*.parent", the zone apex for negative answers or the cut for referrals).
// Compression pointers listed in `relocs` move by the difference between
// the real question name's length and the template owner's (see answer.cc).
struct Blob {
  // Ordered for size (28 bytes, so that a TypedBlob is 32: two per cache
  // line for the lookups of an exact hit).
  uint32_t offset = 0;       // for Zone::Bytes(): arena or SOA answers
  uint32_t reloc_begin = 0;  // in Zone::relocs
  uint32_t cut_begin = 0;    // in Zone::cuts
  uint16_t size = 0;
  uint16_t an = 0, ns = 0, ar = 0;
  uint16_t reloc_count = 0;
  uint16_t cut_count = 0;
  uint8_t rcode = 0;
  uint8_t outcome = 0;  // dns::Outcome, for counters
  bool relocatable = true;
  // Non-zero for an answer that ends with the zone's SOA (a negative
  // answer, also at the end of a CNAME chain): the SOA RR's TTL sits this
  // many bytes before the blob's end, its serial and timers are the last
  // 20 bytes. Every change of a zone changes its SOA serial; the writer
  // of the answer stamps the version's values there (Zone::StampSoa), so
  // that no answer but the apex's own is rebuilt for a new serial.
  uint8_t soa_ttl_back = 0;
};

// Where a blob may be cut when it does not fit: after each RRset.
struct BlobCut {
  uint16_t end;  // bytes of the blob up to here
  uint16_t an, ns, ar;
  uint8_t section;  // of the RRset that ends here: 1 answer, 2 auth, 3 add
};

// The precompiled answer of a node for one query type, stored inline:
// an exact hit reads this entry and then the answer bytes, with no further
// indirection.
struct TypedBlob {
  uint16_t qtype;
  Blob blob;
};
static_assert(sizeof(TypedBlob) == 32);

// What an exact hit needs of a Blob besides its bytes, written just before
// the bytes of a node's likely answer (Node::likely_qtype): a query of
// that type reads it with the answer's first line instead of fetching the
// node's TypedBlobs, one cache miss less on a large zone. A copy of the
// owner's name precedes it (Zone::LikelyName), so that the name check of
// every exact hit on the node reads that line and page too, and not
// ZoneHeaps::names: on a 1M-name zone, where each page an exact hit
// touches costs a TLB miss, this measured 13-37% more queries per second
// in 7 of 8 alternating replay pairs, for the cost of a second copy of
// those names (about 20 MB for 1M).
struct HitHeader {
  uint16_t size, an, ns, ar;
  uint8_t rcode, outcome, soa_ttl_back, unused;
};
static_assert(sizeof(HitHeader) == 12);

struct Node {
  // An exact hit reads only the fields up to typed_blob_begin (the first
  // 32 bytes, kNodeHotBytes): in an array of 48-byte nodes they span two
  // cache lines for one node in four (the whole node: one in two).
  std::string_view name;  // lowercased wire format, in Zone::names
  uint16_t flags = 0;
  uint8_t labels = 0;  // label count of name
  // The type of likely_answer when a HitHeader precedes its bytes (a
  // type below 256 whose answer is the node's own), else 0.
  uint8_t likely_qtype = 0;
  // Bytes() offset of the precompiled answer most likely asked for (the A
  // blob, else the first typed blob), so that a burst can prefetch it
  // with the node's name, not after its typed blobs. kNone: no blob.
  uint32_t likely_answer = kNone;
  uint16_t typed_blob_count = 0;
  uint16_t rrset_count = 0;
  uint32_t typed_blob_begin = 0;
  uint32_t rrset_begin = 0;
  // Highest zone cut at or above this node (below the apex), and highest
  // DNAME owner at or above it: they decide referrals and DNAME
  // substitution for this node and every name below it (RFC 1034 4.3.2
  // step 3; RFC 6672 3.2).
  uint32_t cut = kNone;
  uint32_t dname = kNone;
  uint32_t referral_blob = kNone;  // for cut nodes
};
static_assert(sizeof(Node) == 48);
inline constexpr size_t kNodeHotBytes = offsetof(Node, rrset_begin);
static_assert(kNodeHotBytes == 32);

// Builder only: told about every name lookup (Zone::Find) made while an
// answer is precompiled, hits and misses, so that the builder knows which
// answers to recompile when a name changes. Null on published zones.
class LookupLog {
 public:
  virtual void Record(std::string_view name, uint64_t hash,
                      const Node* found) = 0;

 protected:
  ~LookupLog() = default;
};

// NSEC3 (RFC 5155) of a pre-signed zone: the hash of one node's name,
// computed when the node is built, so that a query hashes only a name
// that does not exist. `known` is 0 for the NSEC3 owners' own nodes (and
// entries of builds that were abandoned).
struct Nsec3NodeHash {
  static constexpr size_t kHashSize = 20;  // SHA-1, the only algorithm
  std::array<uint8_t, kHashSize> hash;
  uint32_t known;
};

// The arrays of one lineage (grow_only_array.h): every version built from
// one full build appends to and reads from the same ones.
struct ZoneHeaps {
  GrowOnlyArray<char> names;  // Node::name bytes; never moves
  GrowOnlyArray<char> arena;  // RDATA and answer bytes
  GrowOnlyArray<Node> nodes;
  GrowOnlyArray<RRset> rrsets;
  GrowOnlyArray<Blob> blobs;
  GrowOnlyArray<BlobCut> cuts;
  GrowOnlyArray<uint16_t> relocs;
  GrowOnlyArray<TypedBlob> typed_blobs;
  GrowOnlyArray<uint64_t> slots;  // NameIndex shards; never moves
  GrowOnlyArray<Nsec3NodeHash> nsec3_hashes;  // by node; NSEC3 zones only

  // Bytes appended that the newest version no longer reads (replaced
  // nodes, RRsets, answers, index shards), counted by the incremental
  // builder: a full build (compaction) makes new heaps.
  size_t garbage_bytes = 0;
  // The newest version built on these heaps: only it can be the base of
  // an incremental build (control/build keeps its state for it).
  uint64_t head = 0;
  // Control side only (control/build/incremental_builder.cc): what later
  // incremental builds need, opaque here. Declared last so that it is
  // destroyed before the arrays its string_views point into.
  std::shared_ptr<void> builder_state;

  size_t bytes() const {
    return names.bytes() + arena.bytes() + nodes.bytes() + rrsets.bytes() +
           blobs.bytes() + cuts.bytes() + relocs.bytes() +
           typed_blobs.bytes() + slots.bytes() + nsec3_hashes.bytes();
  }
};

struct Zone {
  std::string apex;  // lowercased wire format
  uint32_t apex_node = 0;
  uint8_t apex_labels = 0;  // label count of apex, not counting the root
  uint32_t serial = 0;
  uint32_t negative_blob = kNone;  // SOA in authority, built for the apex
  uint32_t soa_rrset = kNone;
  uint32_t negative_ttl = 0;  // RFC 2308 5: min(SOA TTL, SOA MINIMUM)
  // What Blob::soa_ttl_back answers carry of this version: negative_ttl,
  // then the SOA's serial and timers (SetSoaStamp).
  uint8_t soa_stamp[24] = {};
  // SOA MNAME and RNAME (lowercased wire): a question below either
  // compresses them better than the precompiled negative answer does.
  std::string soa_mname, soa_rname;
  // DNSSEC: the zone carries signatures (a pre-signed zone), and its NSEC
  // owners in canonical order (RFC 4034 6.1) as CanonicalKey() strings,
  // for denial-of-existence proofs. Empty for unsigned and NSEC3 zones.
  // Versions share its chunks (sorted_chunks.h).
  bool is_signed = false;
  SortedChunks<std::string> nsec_chain;
  // NSEC3 (RFC 5155) of a pre-signed zone: the parameters of its chain
  // (from the NSEC3PARAM at the apex), the NSEC3 owners' hashes in order
  // with their nodes, and the hash of every other node's name (a view of
  // ZoneHeaps::nsec3_hashes). Empty for other zones.
  struct Nsec3Chain {
    static constexpr size_t kHashSize = Nsec3NodeHash::kHashSize;
    using Digest = std::array<uint8_t, kHashSize>;
    uint16_t iterations = 0;
    std::string salt;
    SortedChunks<Digest> owners;
    ArrayView<Nsec3NodeHash> node_hashes;
    // The hash of node `node`'s name, or nullptr (an NSEC3 owner's node).
    const Digest* HashOf(uint32_t node) const {
      if (node >= node_hashes.size() || !node_hashes[node].known) {
        return nullptr;
      }
      return &node_hashes[node].hash;
    }
  } nsec3;
  // App-aware answers (variant.h), compiled: the answers of the nodes
  // flagged kHasVariants, variants_of[node] = {first, count} in
  // `variants`. Full builds only: a change to a zone with variants is
  // built in full (incremental_builder.h).
  //
  // Health (ZoneSet::LiveMasks): the addresses of an A or AAAA variant of
  // at most kMaxVariantEndpoints records are its endpoints,
  // variant_endpoints[endpoint_begin + j] the one of its record j; the
  // answer without some of them is compiled too, for every live subset:
  // variant_subsets[subset_begin + mask - 1] holds record j when bit j of
  // `mask` is set (masks 1 .. 2^count - 2; all live is `blob`).
  struct Variant {
    uint64_t selector = 0;  // NameIndex::Hash of the network's or PoP's name
    uint16_t qtype = 0;
    VariantKind kind = VariantKind::kNetwork;
    uint8_t endpoint_count = 0;  // 0: not health-checked
    uint32_t endpoint_begin = 0;
    uint32_t subset_begin = 0;
    Blob blob;
  };
  static constexpr int kMaxVariantEndpoints = 4;
  std::vector<Variant> variants;
  absl::flat_hash_map<uint32_t, std::pair<uint32_t, uint32_t>> variants_of;
  std::vector<Address> variant_endpoints;
  std::vector<Blob> variant_subsets;

  // What lookups touch at random lives in huge pages where the kernel
  // allows (see huge_page_allocator.h). The views are this version's part
  // of the lineage's arrays (`heaps`); `nodes` also holds the entries that
  // later versions replaced (see IsLive).
  ArrayView<Node> nodes;
  ArrayView<TypedBlob> typed_blobs;
  ArrayView<RRset> rrsets;
  ArrayView<Blob> blobs;
  ArrayView<BlobCut> cuts;
  ArrayView<uint16_t> relocs;
  ArrayView<char> arena;  // RDATA and blob bytes
  ArrayView<char> names;  // backing store of Node::name
  NameIndex index;        // name -> node

  std::shared_ptr<ZoneHeaps> heaps;
  uint64_t version = 0;     // 1 for a full build, +1 per incremental one
  uint32_t live_nodes = 0;  // nodes in the index
  LookupLog* lookup_log = nullptr;  // builder only (see LookupLog)

  // Control thread, while building: the views of the lineage's arrays
  // as they are now.
  void SetViews() {
    nodes = heaps->nodes.View();
    typed_blobs = heaps->typed_blobs.View();
    rrsets = heaps->rrsets.View();
    blobs = heaps->blobs.View();
    cuts = heaps->cuts.View();
    relocs = heaps->relocs.View();
    arena = heaps->arena.View();
    names = heaps->names.View();
    nsec3.node_hashes = heaps->nsec3_hashes.View();
  }
  // Control thread: negative_ttl and soa_stamp from the SOA RRset
  // (soa_rrset), whose RDATA ends with serial and timers (RFC 1035 3.3.13).
  void SetSoaStamp() {
    const RRset& soa = rrsets[soa_rrset];
    const uint8_t* rdata = Bytes(soa.rdata_offset);
    const uint8_t* timers = rdata + 2 + dns::Load16(rdata) - 20;
    serial = dns::Load32(timers);
    negative_ttl = std::min(soa.ttl, dns::Load32(timers + 16));
    dns::Store32(soa_stamp, negative_ttl);
    std::memcpy(soa_stamp + 4, timers, 20);
  }

  const Node* Find(std::string_view lower_name) const {
    return Find(lower_name, NameIndex::Hash(lower_name));
  }
  // As Find(name), with the name's NameIndex::Hash already computed.
  const Node* Find(std::string_view lower_name, uint64_t hash) const {
    const uint32_t i = index.Find(hash, [&](uint32_t node) {
      const Node& n = nodes[node];
      // An exact hit reads these next: start fetching them while the name
      // is compared (a lone query otherwise waits for each miss in turn).
      __builtin_prefetch(typed_blobs.data() + n.typed_blob_begin);
      if (n.likely_answer != kNone) __builtin_prefetch(Bytes(n.likely_answer));
      return SameName(n.name, lower_name);
    });
    const Node* found = i == NameIndex::kMissing ? nullptr : &nodes[i];
    if (lookup_log != nullptr) [[unlikely]] {
      lookup_log->Record(lower_name, hash, found);
    }
    return found;
  }
  // Whether nodes[i] is this version's node for its name (and not an
  // entry a later or earlier version replaced). Control side.
  bool IsLive(uint32_t i) const {
    if (live_nodes == nodes.size()) return true;
    return index.Find(NameIndex::Hash(nodes[i].name),
                      [i](uint32_t n) { return n == i; }) == i;
  }
  const RRset* FindRRset(const Node& node, uint16_t type) const {
    for (uint32_t i = 0; i < node.rrset_count; ++i) {
      const RRset& rs = rrsets[node.rrset_begin + i];
      if (rs.type == type) return &rs;
    }
    return nullptr;
  }
  const Blob* FindBlob(const Node& node, uint16_t qtype) const {
    for (uint32_t i = 0; i < node.typed_blob_count; ++i) {
      const TypedBlob& tb = typed_blobs[node.typed_blob_begin + i];
      if (tb.qtype == qtype) return &tb.blob;
    }
    return nullptr;
  }
  // The likely answer (node.likely_qtype != 0) as the Blob an exact hit
  // reads: offset, size, counts, rcode, outcome and SOA stamp (no
  // relocations or cuts: an exact hit is neither moved nor cut).
  void LikelyBlob(const Node& node, Blob* out) const {
    HitHeader h;
    std::memcpy(&h, Bytes(node.likely_answer) - sizeof(HitHeader),
                sizeof(h));
    out->offset = node.likely_answer;
    out->size = h.size;
    out->an = h.an, out->ns = h.ns, out->ar = h.ar;
    out->rcode = h.rcode;
    out->outcome = h.outcome;
    out->soa_ttl_back = h.soa_ttl_back;
  }
  // The copy of node.name that precedes the likely answer's HitHeader
  // (node.likely_qtype != 0).
  std::string_view LikelyName(const Node& node) const {
    const size_t size = node.name.size();
    return {reinterpret_cast<const char*>(Bytes(node.likely_answer)) -
                sizeof(HitHeader) - size,
            size};
  }
  // The copy of node.name an exact hit compares the question with: the
  // one beside the likely answer when there is one.
  std::string_view HitName(const Node& node) const {
    return node.likely_qtype != 0 ? LikelyName(node) : node.name;
  }
  const uint8_t* Bytes(uint32_t offset) const {
    return reinterpret_cast<const uint8_t*>(arena.data()) + offset;
  }
  // After b's bytes were written whole, ending at `end`: this version's
  // SOA TTL, serial and timers into them (see Blob::soa_ttl_back).
  void StampSoa(const Blob& b, uint8_t* end) const {
    if (b.soa_ttl_back != 0) [[unlikely]] {
      std::memcpy(end - b.soa_ttl_back, soa_stamp, 4);
      std::memcpy(end - 20, soa_stamp + 4, 20);
    }
  }

};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_ZONE_H_
