#include "control/build/zone_builder.h"

#include <algorithm>
#include <array>
#include <malloc.h>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "control/build/answer_compiler.h"
#include "control/build/denial_chains.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/nsec3_hash.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
namespace {

// The index of the node named `name`, which exists (the builder made it).
uint32_t NodeIndexOf(const zone::Zone& z, std::string_view name) {
  return static_cast<uint32_t>(z.Find(name) - z.nodes.data());
}

namespace rrtype = dns::rrtype;
using zone::Zone;

using internal::AnswerCompiler;
using internal::LineageState;
using internal::Lower;
using internal::NormalizeRdataNames;
using internal::WireNameSize;

class Builder {
 public:
  Builder(std::string apex, std::vector<ZoneRecord> records,
          const BuildOptions& options)
      : records_(std::move(records)), options_(options) {
    zone_->apex = std::move(apex);
    zone_->heaps = std::make_shared<zone::ZoneHeaps>();
  }

  absl::Status Run();
  std::shared_ptr<const Zone> Release() { return std::move(zone_); }

 private:
  absl::Status Collect();
  void AddAncestors();
  absl::Status Layout();
  void ComputeFlags();
  // Signed zones: whether signatures exist, and the NSEC chain in
  // canonical order for denial proofs.
  void IndexDnssec();
  absl::Status CompileBlobs();
  // Room for later versions in the arrays that may still move.
  void ReserveHeadroom();
  // BuildOptions::updatable: the child names of every node.
  void IndexChildren();

  std::shared_ptr<Zone> zone_ = std::make_shared<Zone>();
  // Until Layout: the records (owners lowercased and RDATA names normalized
  // in place), the node of each, and the node names as views into the
  // owners (an ancestor is a suffix of some owner) or into the apex.
  std::vector<ZoneRecord> records_;
  std::vector<uint32_t> node_of_;
  std::vector<std::string_view> node_names_;
  // The nodes by name: an entry is a node_names_ index (4 bytes, where a
  // view and an index took 24 and the table was the peak of a load).
  struct NodeNameHash {
    using is_transparent = void;
    const std::vector<std::string_view>* names;
    size_t operator()(uint32_t i) const { return (*this)((*names)[i]); }
    size_t operator()(std::string_view name) const {
      return zone::NameHash()(name);
    }
  };
  struct SameNodeName {
    using is_transparent = void;
    const std::vector<std::string_view>* names;
    std::string_view NameOf(uint32_t i) const { return (*names)[i]; }
    std::string_view NameOf(std::string_view name) const { return name; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return NameOf(a) == NameOf(b);
    }
  };
  using NodeIndex = absl::flat_hash_set<uint32_t, NodeNameHash, SameNodeName>;
  NodeIndex node_index_{0, NodeNameHash{&node_names_},
                        SameNodeName{&node_names_}};
  // The node named `name`, added (with its name) if new; true if added.
  std::pair<uint32_t, bool> NodeOf(std::string_view name) {
    bool added = false;
    const uint32_t id = *node_index_.lazy_emplace(name, [&](const auto& ctor) {
      added = true;
      const auto next = static_cast<uint32_t>(node_names_.size());
      node_names_.push_back(name);
      ctor(next);
    });
    return {id, added};
  }
  const BuildOptions options_;
  std::shared_ptr<LineageState> state_;  // updatable only
};

absl::Status Builder::Collect() {
  node_of_.resize(records_.size());
  // Owners repeat (A and AAAA, RRSIGs) and ancestors add a few: sized
  // once for as many nodes as records (5 bytes a slot), so no rehash.
  node_index_.reserve(records_.size());
  node_names_.reserve(records_.size());
  // The table's group for the owner of a record a few ahead, fetched
  // before it is needed: in a large zone each new owner is a miss at a
  // random place of a table larger than the caches. (That owner is not
  // lowercased yet; owners mostly are already, and a wrong guess only
  // fetches a line for nothing.)
  constexpr size_t kAhead = 8;
  for (size_t i = 0; i < records_.size(); ++i) {
    if (i + kAhead < records_.size() &&
        records_[i + kAhead].owner != records_[i + kAhead - 1].owner) {
      node_index_.prefetch(std::string_view(records_[i + kAhead].owner));
    }
    ZoneRecord& rec = records_[i];
    for (char& c : rec.owner) c = static_cast<char>(dns::LowerAscii(c));
    if (!dns::IsSubdomain(rec.owner, zone_->apex)) {
      return absl::InvalidArgumentError(
          absl::StrCat(rec.file.path(), ":", rec.line, ": owner outside the zone"));
    }
    if (!NormalizeRdataNames(rec.type, &rec.rdata)) {
      return absl::InvalidArgumentError(absl::StrCat(
          rec.file.path(), ":", rec.line, ": malformed RDATA for type ", rec.type));
    }
    const std::string_view owner = rec.owner;
    // A name's records are usually next to each other (zone files and
    // transfers group them): no table lookup for the second and later.
    if (i > 0 && owner == records_[i - 1].owner) {
      node_of_[i] = node_of_[i - 1];
      continue;
    }
    node_of_[i] = NodeOf(owner).first;
  }
  return absl::OkStatus();
}

void Builder::AddAncestors() {
  const std::string_view apex = zone_->apex;
  NodeOf(apex);
  const size_t n = node_names_.size();
  for (size_t i = 0; i < n; ++i) {
    std::string_view name = node_names_[i];
    while (name.size() > apex.size()) {
      name.remove_prefix(1u + static_cast<uint8_t>(name[0]));
      if (!NodeOf(name).second) break;  // its ancestors are already there
    }
  }
}

absl::Status Builder::Layout() {
  Zone& z = *zone_;
  zone::ZoneHeaps& h = *z.heaps;
  // Records grouped by node, then by type: each group is one RRset.
  std::vector<uint32_t> order(records_.size());
  // Signatures are grouped by the type they cover (RFC 4035 2.2): each
  // group keeps its own TTL and is found by that type.
  auto covered = [&](uint32_t i) -> uint16_t {
    const ZoneRecord& r = records_[i];
    return internal::CoveredType(r.type, r.rdata);
  };
  // Order within a node.
  auto before = [&](uint32_t a, uint32_t b) {
    if (records_[a].type != records_[b].type) {
      return records_[a].type < records_[b].type;
    }
    if (covered(a) != covered(b)) return covered(a) < covered(b);
    return a < b;
  };
  // By node first, counted rather than sorted (stable: record order
  // within a node), then each node's few records by type: a third of the
  // time of one std::sort over all of them.
  {
    // next[n]: where node n's next record goes; once all are placed, the
    // end of node n's records.
    std::vector<uint32_t> next(node_names_.size() + 1, 0);
    for (uint32_t n : node_of_) ++next[n + 1];
    for (size_t n = 1; n < next.size(); ++n) next[n] += next[n - 1];
    for (uint32_t i = 0; i < node_of_.size(); ++i) {
      order[next[node_of_[i]]++] = i;
    }
    uint32_t begin = 0;
    for (size_t n = 0; n + 1 < next.size(); ++n) {
      if (next[n] - begin > 1) {
        std::sort(order.begin() + begin, order.begin() + next[n], before);
      }
      begin = next[n];
    }
  }
  size_t name_bytes = 0, rdata_bytes = 0;
  for (std::string_view n : node_names_) name_bytes += n.size();
  for (const ZoneRecord& r : records_) rdata_bytes += 2 + r.rdata.size();
  // Node::name points into `names`: it never moves, so it gets its
  // headroom now. The others may still grow (and move) until the build
  // ends; reserved address space is not memory until written, so the
  // estimates for what the answers take are generous.
  h.names.Reserve(std::max(name_bytes * options_.headroom_factor,
                           name_bytes + options_.min_free_bytes));
  h.nodes.Reserve(node_names_.size());
  h.rrsets.Reserve(records_.size());
  h.arena.Reserve(rdata_bytes * 4 + (64 << 10));
  h.typed_blobs.Reserve(records_.size() + node_names_.size());
  h.relocs.Reserve(records_.size() * 4 + 1024);
  h.cuts.Reserve(records_.size() * 2 + 1024);
  zone::Node* nodes = h.nodes.Append(node_names_.size(), true);
  for (size_t i = 0; i < node_names_.size(); ++i) {
    zone::Node& node = nodes[i];
    char* name = h.names.Append(node_names_[i].data(), node_names_[i].size(),
                                /*may_move=*/false);
    node = zone::Node{};
    node.name = std::string_view(name, node_names_[i].size());
    node.labels = static_cast<uint8_t>(dns::CountLabels(node.name));
  }
  // Names are copied: free the name tables before the RDATA arena grows,
  // and each record's strings once laid out, to keep the peak low
  // (malloc_trim every 128k records: freed strings are not memory the
  // arena, mapped apart, could reuse).
  std::vector<std::string_view>().swap(node_names_);
  size_t k = 0;
  while (k < order.size()) {
    const uint32_t node_id = node_of_[order[k]];
    zone::Node& node = nodes[node_id];
    node.rrset_begin = static_cast<uint32_t>(h.rrsets.size());
    while (k < order.size() && node_of_[order[k]] == node_id) {
      ZoneRecord& first = records_[order[k]];
      const uint16_t first_covered = covered(order[k]);
      zone::RRset rs;
      rs.type = first.type;
      rs.ttl = first.ttl;  // validation made the TTLs of an RRset equal
      rs.rdata_offset = static_cast<uint32_t>(h.arena.size());
      size_t count = 0;
      for (; k < order.size() && node_of_[order[k]] == node_id &&
             records_[order[k]].type == first.type &&
             covered(order[k]) == first_covered;
           ++k, ++count) {
        ZoneRecord& rec = records_[order[k]];
        const std::string& r = rec.rdata;
        char* p = h.arena.Append(2 + r.size(), true);
        p[0] = static_cast<char>(r.size() >> 8);
        p[1] = static_cast<char>(r.size());
        std::memcpy(p + 2, r.data(), r.size());
        if (&rec != &first) {
          std::string().swap(rec.rdata);
          std::string().swap(rec.owner);
        }
      }
      // The first record's too, once the RRset's last one is compared
      // with it: most RRsets have one record, so these are most strings.
      std::string().swap(first.rdata);
      std::string().swap(first.owner);
      if ((k >> 17) != ((k - count) >> 17)) malloc_trim(0);
      if (count > 0xFFFF) {
        return absl::InvalidArgumentError(absl::StrCat(
            first.file.path(), ":", first.line, ": more than 65535 records in one "
            "RRset"));
      }
      rs.count = static_cast<uint16_t>(count);
      h.rrsets.Append(&rs, 1, true);
      ++node.rrset_count;
    }
  }
  if (h.arena.size() >= zone::kNone) {
    return absl::InvalidArgumentError("zone too large (RDATA over 4 GiB)");
  }
  // The text records are no longer needed: free them before the blobs.
  std::vector<uint32_t>().swap(order);
  std::vector<ZoneRecord>().swap(records_);
  std::vector<uint32_t>().swap(node_of_);
  z.index.Build(
      zone::NameIndex::ShardBitsFor(h.nodes.size()),
      static_cast<uint32_t>(h.nodes.size()),
      [&](uint32_t i) { return zone::NameIndex::Hash(nodes[i].name); },
      // Twice the headroom: a change of many names copies most shards.
      &h.slots, 2 * options_.headroom_factor, options_.min_free_bytes);
  z.live_nodes = static_cast<uint32_t>(h.nodes.size());
  z.SetViews();
  z.apex_node = NodeIndexOf(z, z.apex);
  z.apex_labels = static_cast<uint8_t>(dns::CountLabels(z.apex));
  return absl::OkStatus();
}

void Builder::ComputeFlags() {
  Zone& z = *zone_;
  zone::Node* nodes = z.heaps->nodes.mutable_data();
  const uint32_t count = static_cast<uint32_t>(z.nodes.size());
  // Parents before children, so cut/DNAME inherit downwards: by label
  // count, counted (a name has at most 127 labels) rather than sorted,
  // which also keeps the nodes of one count in array order for the pass
  // below (std::sort scrambled them: a cache miss per node).
  std::array<uint32_t, 130> first{};
  for (uint32_t i = 0; i < count; ++i) ++first[nodes[i].labels + 1u];
  for (size_t l = 1; l < first.size(); ++l) first[l] += first[l - 1];
  std::vector<uint32_t> order(count);
  for (uint32_t i = 0; i < count; ++i) order[first[nodes[i].labels]++] = i;
  // Each node looks its parent up: a miss at a random place of a large
  // zone's index, so the parent's slot is fetched a few nodes ahead.
  constexpr uint32_t kAhead = 8;
  std::array<uint64_t, kAhead> parent_hash{};
  auto parent_of = [&](const zone::Node& n) {
    return n.name.substr(1u + static_cast<uint8_t>(n.name[0]));
  };
  auto fetch_parent = [&](uint32_t k) {
    const uint32_t i = order[k];
    if (i == z.apex_node) return;
    const uint64_t h = zone::NameIndex::Hash(parent_of(nodes[i]));
    parent_hash[k % kAhead] = h;
    __builtin_prefetch(z.index.FirstSlot(h));
  };
  for (uint32_t k = 0; k < std::min(kAhead, count); ++k) fetch_parent(k);
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t i = order[k];
    const uint64_t hash = parent_hash[k % kAhead];
    if (k + kAhead < count) fetch_parent(k + kAhead);
    zone::Node& n = nodes[i];
    const bool apex = i == z.apex_node;
    if (apex) n.flags |= zone::kApex;
    if (n.rrset_count == 0) n.flags |= zone::kEmptyNonTerminal;
    if (z.FindRRset(n, rrtype::kCname)) n.flags |= zone::kHasCname;
    if (zone::OnlyNsec3(n.rrset_count, [&](size_t r) {
          return z.rrsets[n.rrset_begin + r].type;
        })) {
      n.flags |= zone::kNsec3Only;
    }
    if (z.FindRRset(n, rrtype::kDname)) n.flags |= zone::kHasDname;
    if (!apex && z.FindRRset(n, rrtype::kNs)) n.flags |= zone::kDelegation;
    if (!apex) {
      zone::Node& parent = nodes[z.Find(parent_of(n), hash) - z.nodes.data()];
      n.cut = parent.cut;
      n.dname = parent.dname;
      if (n.name.size() >= 2 && n.name[0] == 1 && n.name[1] == '*') {
        parent.flags |= zone::kWildcardChild;
      }
    }
    if (n.cut == zone::kNone && (n.flags & zone::kDelegation)) n.cut = i;
    if (n.dname == zone::kNone && (n.flags & zone::kHasDname)) n.dname = i;
  }
}

absl::Status Builder::CompileBlobs() {
  Zone& z = *zone_;
  AnswerCompiler compiler(&z, /*may_grow=*/true);
  if (absl::Status s = compiler.CompileNegative(); !s.ok()) return s;
  internal::AnswerDeps deps;
  // Compiling a node's answers starts with looking its name up: the index
  // slot is a cache miss at a random place of a large zone's table, so it
  // is fetched a few nodes ahead.
  constexpr uint32_t kSlotAhead = 8;
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    if (i + kSlotAhead < z.nodes.size()) {
      __builtin_prefetch(z.index.FirstSlot(
          zone::NameIndex::Hash(z.nodes[i + kSlotAhead].name)));
    }
    // The apex's answers are compiled again by every incremental build
    // (its SOA changes each time): nothing to remember for them.
    const bool track = state_ != nullptr && i != z.apex_node;
    if (absl::Status s = compiler.CompileNode(i, track ? &deps : nullptr);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = compiler.CompileVariants(i); !s.ok()) return s;
    if (track) {
      for (uint64_t h : deps.names) state_->built_dependents.push_back({h, i});
      if (deps.apex) state_->apex_dependents.insert(z.nodes[i].name);
    }
  }
  if (state_) {
    std::sort(state_->built_dependents.begin(), state_->built_dependents.end());
    state_->soa_answer_index = std::move(compiler.added_soa_index());
  }
  return absl::OkStatus();
}

void Builder::ReserveHeadroom() {
  zone::ZoneHeaps& h = *zone_->heaps;
  const size_t f = options_.headroom_factor;
  const size_t m = options_.min_free_bytes;
  h.arena.ReserveHeadroom(f, m);
  h.nodes.ReserveHeadroom(f, m);
  h.rrsets.ReserveHeadroom(f, m);
  h.blobs.ReserveHeadroom(f, m);
  h.cuts.ReserveHeadroom(f, m);
  h.relocs.ReserveHeadroom(f, m);
  h.typed_blobs.ReserveHeadroom(f, m);
  // One hash per node: the same room as the nodes.
  if (h.nsec3_hashes.size() != 0) h.nsec3_hashes.Reserve(h.nodes.capacity());
  zone_->SetViews();
}

void Builder::IndexChildren() {
  const Zone& z = *zone_;
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const zone::Node& n = z.nodes[i];
    if (i == z.apex_node) continue;
    const std::string_view parent =
        n.name.substr(1u + static_cast<uint8_t>(n.name[0]));
    // The apex's children are never needed: it never goes away, and a
    // DNAME at the apex makes every change a full build.
    if (parent.size() == z.apex.size()) continue;
    state_->children[parent].push_back(n.name);
  }
  for (const zone::Node& n : z.nodes) {
    if (z.FindRRset(n, rrtype::kRrsig)) ++state_->rrsig_nodes;
  }
}

absl::Status Builder::Run() {
  if (options_.updatable) state_ = std::make_shared<LineageState>();
  if (absl::Status s = Collect(); !s.ok()) return s;
  AddAncestors();
  // Layout needs only node_of_ and node_names_: the table goes first.
  NodeIndex(0, NodeNameHash{&node_names_}, SameNodeName{&node_names_})
      .swap(node_index_);
  if (absl::Status s = Layout(); !s.ok()) return s;
  // The records Layout freed go back to the system before the answers'
  // arrays (mapped apart) grow: otherwise the load peaks with both.
  malloc_trim(0);
  Zone& z = *zone_;
  const zone::Node& apex = z.nodes[z.apex_node];
  const zone::RRset* soa = z.FindRRset(apex, rrtype::kSoa);
  if (!soa || soa->count != 1) {
    return absl::InvalidArgumentError("zone has no single SOA at its apex");
  }
  z.soa_rrset = static_cast<uint32_t>(soa - z.rrsets.data());
  z.SetSoaStamp();
  const uint8_t* rdata = z.Bytes(soa->rdata_offset) + 2;
  const size_t rdlen = dns::Load16(z.Bytes(soa->rdata_offset));
  const size_t mname = WireNameSize(
      std::string_view(reinterpret_cast<const char*>(rdata), rdlen), 0);
  z.soa_mname.assign(reinterpret_cast<const char*>(rdata), mname);
  z.soa_rname.assign(reinterpret_cast<const char*>(rdata) + mname,
                     rdlen - 20 - mname);
  ComputeFlags();
  IndexDnssec();
  if (absl::Status s = CompileBlobs(); !s.ok()) return s;
  // Headroom is address space, not memory: what is never written is
  // never resident.
  ReserveHeadroom();
  z.version = 1;
  z.heaps->head = z.version;
  if (state_) {
    IndexChildren();
    z.heaps->builder_state = std::move(state_);
  }
  return absl::OkStatus();
}

void Builder::IndexDnssec() {
  Zone& z = *zone_;
  DenialChainEntries chains;
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const zone::Node& n = z.nodes[i];
    if (z.FindRRset(n, rrtype::kRrsig)) z.is_signed = true;
    chains.Add(z, n, i);
  }
  chains.Sort();
  z.nsec_chain =
      DenialChainEntries::NsecChain::FromSorted(std::move(chains.nsec));
  // NSEC3PARAM says that NSEC3 proves denials and with which parameters
  // (RFC 5155 4); without it NSEC3 records are data, as for Knot.
  const zone::RRset* param = z.FindRRset(z.nodes[z.apex_node],
                                         rrtype::kNsec3Param);
  if (param == nullptr) return;
  dns::ReadNsec3Parameters(z.Bytes(param->rdata_offset), &z.nsec3);
  if (chains.nsec3.empty()) return;
  z.nsec3.owners =
      DenialChainEntries::Nsec3Owners::FromSorted(std::move(chains.nsec3));
  zone::Nsec3NodeHash* hashes =
      z.heaps->nsec3_hashes.Append(z.nodes.size(), /*may_move=*/true);
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const zone::Node& n = z.nodes[i];
    if (z.FindRRset(n, rrtype::kNsec3)) continue;
    hashes[i].hash = dns::Nsec3Hash(z.nsec3, n.name);
    hashes[i].known = 1;
  }
  z.SetViews();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildZone(
    std::string_view apex, std::vector<ZoneRecord> records,
    const BuildOptions& options) {
  if (WireNameSize(apex, 0) != apex.size()) {
    return absl::InvalidArgumentError("invalid zone name");
  }
  Builder builder(Lower(apex), std::move(records), options);
  if (absl::Status s = builder.Run(); !s.ok()) {
    // A heap cannot be full while it may grow: only an oversized zone.
    if (absl::IsResourceExhausted(s)) {
      return absl::InvalidArgumentError("zone too large");
    }
    return s;
  }
  return builder.Release();
}

absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildZone(
    std::string_view apex, std::vector<ZoneRecord> records) {
  return BuildZone(apex, std::move(records), BuildOptions{});
}

}  // namespace popdns::control
