#include "control/build/incremental_builder.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/build/answer_compiler.h"
#include "control/build/denial_chains.h"
#include "control/build/zone_builder.h"
#include "control/build/zone_records.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "control/zonefile/zone_validate.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/nsec3_hash.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
namespace {

namespace rrtype = dns::rrtype;
using internal::AnswerCompiler;
using internal::AnswerDeps;
using internal::LineageState;
using zone::Node;
using zone::NodeFlag;
using zone::Zone;

constexpr uint16_t kClassIn = 1;

// For lookups of std::string keys by std::string_view (abseil's own
// string hash takes absl::string_view, which is not std's here).
struct NameKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view name) const {
    return zone::NameIndex::Hash(name);
  }
};
struct NameKeyEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a == b;
  }
};

// A record of one owner as the incremental build holds it.
struct Rec {
  uint16_t type = 0;
  uint16_t covered = 0;  // RRSIG: the type it covers
  uint32_t ttl = 0;
  std::string rdata;  // as stored: the names the engine reads lowercased
  // Identity as ApplyChangeset compares records (type, RDATA with every
  // name lowercased; the owner is the same for all).
  std::string key;
  // For warnings about records a change added.
  SourceFile file;
  int line = 0;
};

std::string RecordKey(uint16_t type, std::string_view rdata) {
  std::string key;
  key.push_back(static_cast<char>(type >> 8));
  key.push_back(static_cast<char>(type));
  AppendComparableRdata(type, rdata, &key);
  return key;
}

// One RRset after the change: indexes into the owner's records.
struct Group {
  uint16_t type = 0;
  uint16_t covered = 0;
  uint32_t ttl = 0;
  std::vector<uint32_t> recs;
};

// A name the change concerns, and what happens to it.
struct Owner {
  std::string name;  // lowercased wire
  const Node* base = nullptr;  // its node in the base version, if any
  uint32_t base_index = zone::kNone;
  bool materialized = false;  // recs holds its records
  std::vector<Rec> recs;
  std::vector<Group> groups;  // when records_changed
  bool records_changed = false;
  bool exists = false;        // after the change
  bool rewrite = false;       // gets a new node entry
  bool data_changed = false;  // what lookups of it see changes
  bool expanded = false;      // its dependents and descendants queued
  uint16_t flags = 0;         // after the change
  std::string cut_owner, dname_owner;  // after the change; "" none
  uint32_t new_index = zone::kNone;
  std::string_view name_view;  // in the names array, once written
  std::vector<std::string> added_children, removed_children;
  AnswerDeps deps;
};

std::string_view Parent(std::string_view name) {
  return name.substr(1u + static_cast<uint8_t>(name[0]));
}

bool IsWildcard(std::string_view name) {
  return name.size() >= 2 && name[0] == 1 && name[1] == '*';
}

class Incremental {
 public:
  Incremental(const Zone& base, LineageState& st,
              std::vector<std::string>* warnings, IncrementalStats* stats)
      : base_(base), st_(st), warnings_(warnings), stats_(*stats) {}

  absl::Status Apply(const std::vector<xfr::Changeset>& changes);
  absl::Status Plan();
  // A full build instead: why (set by Plan or Build).
  const std::string& fallback() const { return fallback_; }
  // nullptr with fallback() set, or an error.
  absl::StatusOr<std::shared_ptr<Zone>> Build();
  void Commit(const Zone& z);

 private:
  Owner& Get(std::string_view name);
  void Materialize(Owner& o);
  bool HasRecords(const Owner& o) const {
    return o.materialized ? !o.recs.empty()
                          : o.base != nullptr && o.base->rrset_count != 0;
  }
  bool Exists(std::string_view name);
  std::vector<std::string> Children(Owner& o);
  size_t ChildCount(Owner& o);
  void Create(Owner& o);
  void RemoveIfUnused(Owner& o);
  void GroupRecords(Owner& o);
  bool SameAsBase(const Owner& o) const;
  absl::Status Validate(Owner& o);
  uint16_t FlagsOf(Owner& o);
  bool CutOrDnameTarget(const Owner& o) const {
    if (o.base && (o.base->cut == o.base_index ||
                   o.base->dname == o.base_index)) {
      return true;
    }
    return o.exists && (o.flags & (zone::kDelegation | zone::kHasDname));
  }
  bool ApexSoaOnly(const Owner& apex);
  std::vector<std::string_view> Dependents(std::string_view name);
  void Rewrite(Owner& o, bool data_changed);
  uint32_t IndexOf(const std::string& name);
  bool WriteRRsets(Owner& o, Node* n);

  const Zone& base_;
  LineageState& st_;
  std::vector<std::string>* warnings_;
  IncrementalStats& stats_;
  std::string fallback_;
  // Pointer-stable: owners refer to each other through the queue.
  absl::node_hash_map<std::string, Owner, NameKeyHash, NameKeyEq> owners_;
  std::vector<Owner*> touched_;  // owners the changesets named
  std::deque<Owner*> queue_;     // data changed, not yet expanded
  size_t rewrites_ = 0;
  size_t limit_ = 0;
  std::vector<Owner*> writes_;   // after Build: the new node entries
  internal::SoaAnswerIndex new_soa_index_;
  size_t created_ = 0, removed_ = 0;
  long rrsig_delta_ = 0;
  size_t garbage_ = 0;
};

Owner& Incremental::Get(std::string_view name) {
  auto [it, added] = owners_.try_emplace(std::string(name));
  Owner& o = it->second;
  if (added) {
    o.name = it->first;
    o.base = base_.Find(o.name);
    if (o.base) {
      o.base_index = static_cast<uint32_t>(o.base - base_.nodes.data());
      o.flags = o.base->flags;  // until Plan says otherwise
    }
    o.exists = o.base != nullptr;
  }
  return o;
}

void Incremental::Materialize(Owner& o) {
  if (o.materialized) return;
  o.materialized = true;
  if (!o.base) return;
  for (uint32_t i = 0; i < o.base->rrset_count; ++i) {
    const zone::RRset& rs = base_.rrsets[o.base->rrset_begin + i];
    const uint8_t* p = base_.Bytes(rs.rdata_offset);
    for (uint16_t k = 0; k < rs.count; ++k) {
      const size_t len = dns::Load16(p);
      Rec r;
      r.type = rs.type;
      r.ttl = rs.ttl;
      r.rdata.assign(reinterpret_cast<const char*>(p + 2), len);
      r.covered = internal::CoveredType(r.type, r.rdata);
      r.key = RecordKey(r.type, r.rdata);
      o.recs.push_back(std::move(r));
      p += 2 + len;
    }
  }
}

bool Incremental::Exists(std::string_view name) {
  auto it = owners_.find(name);
  if (it != owners_.end()) return it->second.exists;
  return base_.Find(name) != nullptr;
}

std::string Describe(const ZoneRecord& r) {
  return absl::StrCat(NameToText(r.owner), " type ", r.type);
}

absl::Status RecordError(const ZoneRecord& r, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(r.file.path(), ":", r.line, ": ", std::string(what)));
}

absl::Status Incremental::Apply(const std::vector<xfr::Changeset>& changes) {
  Owner& apex = Get(base_.apex);
  Materialize(apex);
  touched_.push_back(&apex);
  uint32_t serial = base_.serial;
  auto touch = [&](Owner& o) {
    Materialize(o);
    if (std::find(touched_.begin(), touched_.end(), &o) == touched_.end()) {
      touched_.push_back(&o);
    }
  };
  for (const xfr::Changeset& cs : changes) {
    if (cs.from() != serial) {
      return absl::FailedPreconditionError(
          absl::StrCat("IXFR: changeset from serial ", cs.from(),
                       " but the zone is at ", serial));
    }
    for (const ZoneRecord& r : cs.removed) {
      if (r.type == rrtype::kSoa) continue;
      const std::string owner = internal::Lower(r.owner);
      auto missing = [&] {
        // RFC 1995 leaves this open; Knot rejects it (as ApplyChangeset).
        return absl::FailedPreconditionError(
            "IXFR: deletes a record that does not exist: " + Describe(r));
      };
      if (internal::WireNameSize(owner, 0) != owner.size() ||
          !dns::IsSubdomain(owner, base_.apex)) {
        return missing();
      }
      Owner& o = Get(owner);
      touch(o);
      const std::string key = RecordKey(r.type, r.rdata);
      auto it = std::find_if(o.recs.begin(), o.recs.end(),
                             [&](const Rec& x) { return x.key == key; });
      if (it == o.recs.end()) return missing();
      o.recs.erase(it);
    }
    {
      const ZoneRecord& soa = cs.soa_to;
      if (internal::Lower(soa.owner) != base_.apex) {
        return RecordError(soa, absl::StrCat("SOA not at the zone apex ",
                                             NameToText(base_.apex)));
      }
      if (soa.rclass != kClassIn) {
        return RecordError(soa, "class not supported (only IN)");
      }
      Rec rec;
      rec.type = rrtype::kSoa;
      rec.ttl = soa.ttl;
      rec.rdata = soa.rdata;
      if (!internal::NormalizeRdataNames(rrtype::kSoa, &rec.rdata)) {
        return RecordError(soa, "malformed RDATA for type 6");
      }
      rec.key = RecordKey(rec.type, rec.rdata);
      for (Rec& r : apex.recs) {
        if (r.type == rrtype::kSoa) r = rec;
      }
    }
    for (const ZoneRecord& r : cs.added) {
      if (r.type == rrtype::kSoa) continue;
      if (r.rclass != kClassIn) {
        return RecordError(r, absl::StrCat("class ", r.rclass,
                                           " not supported (only IN)"));
      }
      const std::string owner = internal::Lower(r.owner);
      if (internal::WireNameSize(owner, 0) != owner.size() ||
          !dns::IsSubdomain(owner, base_.apex)) {
        return RecordError(r, absl::StrCat(NameToText(r.owner),
                                           " is outside the zone ",
                                           NameToText(base_.apex)));
      }
      Owner& o = Get(owner);
      touch(o);
      std::string key = RecordKey(r.type, r.rdata);
      if (std::any_of(o.recs.begin(), o.recs.end(),
                      [&](const Rec& x) { return x.key == key; })) {
        continue;  // kept once, as ApplyChangeset does
      }
      Rec rec;
      rec.type = r.type;
      rec.ttl = r.ttl;
      rec.rdata = r.rdata;
      if (!internal::NormalizeRdataNames(r.type, &rec.rdata)) {
        return RecordError(r, absl::StrCat("malformed RDATA for type ", r.type));
      }
      rec.covered = internal::CoveredType(rec.type, rec.rdata);
      rec.key = std::move(key);
      rec.file = r.file;
      rec.line = r.line;
      o.recs.push_back(std::move(rec));
    }
    serial = cs.to();
  }
  return absl::OkStatus();
}

// RRsets as the full build lays them out: by type, then covered type
// (RRSIG), records in their order; the TTL of an RRset is its first
// record's (validation's RFC 2181 5.2 rule).
void Incremental::GroupRecords(Owner& o) {
  std::vector<uint32_t> order(o.recs.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (o.recs[a].type != o.recs[b].type) {
      return o.recs[a].type < o.recs[b].type;
    }
    return o.recs[a].covered < o.recs[b].covered;
  });
  o.groups.clear();
  for (uint32_t i : order) {
    const Rec& r = o.recs[i];
    if (o.groups.empty() || o.groups.back().type != r.type ||
        o.groups.back().covered != r.covered) {
      o.groups.push_back({r.type, r.covered, r.ttl, {}});
    }
    Group& g = o.groups.back();
    if (r.ttl != g.ttl && warnings_ != nullptr) {
      warnings_->push_back(absl::StrCat(
          r.file.path(), ":", r.line, ": TTL mismatch in ", NameToText(o.name),
          " ", TypeToText(r.type), " RRset: ", r.ttl, " changed to ", g.ttl,
          " (RFC 2181 5.2)"));
    }
    g.recs.push_back(i);
  }
}

// Whether o's RRsets after the change are the base node's, byte for byte.
bool Incremental::SameAsBase(const Owner& o) const {
  const uint32_t n = o.base ? o.base->rrset_count : 0;
  if (o.groups.size() != n) return false;
  for (uint32_t i = 0; i < n; ++i) {
    const Group& g = o.groups[i];
    const zone::RRset& rs = base_.rrsets[o.base->rrset_begin + i];
    if (rs.type != g.type || rs.ttl != g.ttl || rs.count != g.recs.size()) {
      return false;
    }
    const uint8_t* p = base_.Bytes(rs.rdata_offset);
    for (uint32_t k : g.recs) {
      const std::string& rd = o.recs[k].rdata;
      if (dns::Load16(p) != rd.size() ||
          std::memcmp(p + 2, rd.data(), rd.size()) != 0) {
        return false;
      }
      p += 2 + rd.size();
    }
  }
  return true;
}

// NormalizeAndValidateZone's rules for one owner, and the builder's.
absl::Status Incremental::Validate(Owner& o) {
  int cnames = 0, dnames = 0;
  uint16_t other = 0;
  for (const Rec& r : o.recs) {
    if (r.type == rrtype::kCname) ++cnames;
    if (r.type == rrtype::kDname) ++dnames;
    if (r.type != rrtype::kCname && r.type != rrtype::kRrsig &&
        r.type != rrtype::kNsec && other == 0) {
      other = r.type;
    }
  }
  const std::string text = NameToText(o.name);
  if (cnames > 1) {
    return absl::InvalidArgumentError("more than one CNAME at " + text);
  }
  if (dnames > 1) {
    return absl::InvalidArgumentError("more than one DNAME at " + text);
  }
  if (cnames > 0 && other != 0) {
    // RFC 1034 3.6.2, RFC 2181 10.1; RRSIG/NSEC allowed by RFC 4035 2.5.
    return absl::InvalidArgumentError(absl::StrCat(
        "CNAME and other data (", TypeToText(other), ") at ", text));
  }
  for (const Group& g : o.groups) {
    if (g.recs.size() > 0xFFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than 65535 records in one RRset at ", text));
    }
  }
  if (o.name == base_.apex) {
    if (!std::any_of(o.recs.begin(), o.recs.end(),
                     [](const Rec& r) { return r.type == rrtype::kNs; })) {
      return absl::InvalidArgumentError(
          "no NS records at the zone apex " + text);
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> Incremental::Children(Owner& o) {
  std::vector<std::string> out;
  auto it = st_.children.find(o.name);
  if (it != st_.children.end()) {
    for (std::string_view c : it->second) {
      if (std::find(o.removed_children.begin(), o.removed_children.end(), c) ==
          o.removed_children.end()) {
        out.emplace_back(c);
      }
    }
  }
  out.insert(out.end(), o.added_children.begin(), o.added_children.end());
  return out;
}

size_t Incremental::ChildCount(Owner& o) {
  auto it = st_.children.find(o.name);
  const size_t base = it == st_.children.end() ? 0 : it->second.size();
  return base + o.added_children.size() - o.removed_children.size();
}

// o gets records and did not exist: it and the missing names above it
// (empty non-terminals) appear.
void Incremental::Create(Owner& o) {
  o.exists = true;
  ++created_;
  std::string_view name = o.name;
  if (IsWildcard(name)) Get(Parent(name));  // its flags change
  const std::string_view parent = Parent(name);
  if (parent.size() == base_.apex.size()) return;  // apex: not tracked
  Owner& p = Get(parent);
  p.added_children.push_back(o.name);
  if (!p.exists) Create(p);
}

// o has no records left: without children it goes, and so may the empty
// non-terminals above it.
void Incremental::RemoveIfUnused(Owner& o) {
  if (!o.exists || HasRecords(o) || o.name == base_.apex ||
      ChildCount(o) != 0) {
    return;
  }
  o.exists = false;
  ++removed_;
  if (IsWildcard(o.name)) Get(Parent(o.name));  // its flags change
  const std::string_view parent = Parent(o.name);
  if (parent.size() == base_.apex.size()) return;
  Owner& p = Get(parent);
  p.removed_children.push_back(o.name);
  RemoveIfUnused(p);
}

uint16_t Incremental::FlagsOf(Owner& o) {
  uint16_t flags = 0;
  const bool apex = o.name == base_.apex;
  if (apex) flags |= zone::kApex;
  bool cname = false, dname = false, ns = false, nsec3_only = false;
  if (o.materialized) {
    for (const Rec& r : o.recs) {
      cname |= r.type == rrtype::kCname;
      dname |= r.type == rrtype::kDname;
      ns |= r.type == rrtype::kNs;
    }
    nsec3_only = zone::OnlyNsec3(o.recs.size(),
                                 [&](size_t r) { return o.recs[r].type; });
  } else if (o.base) {
    cname = base_.FindRRset(*o.base, rrtype::kCname) != nullptr;
    dname = base_.FindRRset(*o.base, rrtype::kDname) != nullptr;
    ns = base_.FindRRset(*o.base, rrtype::kNs) != nullptr;
    nsec3_only = o.base->flags & zone::kNsec3Only;
  }
  if (nsec3_only) flags |= zone::kNsec3Only;
  if (!HasRecords(o)) flags |= zone::kEmptyNonTerminal;
  if (cname) flags |= zone::kHasCname;
  if (dname) flags |= zone::kHasDname;
  if (ns && !apex) flags |= zone::kDelegation;
  std::string wild = "\1*";
  wild += o.name;
  if (wild.size() <= dns::kMaxNameSize && Exists(wild)) {
    flags |= zone::kWildcardChild;
  }
  return flags;
}

// Whether the apex changed in its SOA (and the SOA's signatures) only:
// nothing but negative answers, re-stamped, shows that.
bool Incremental::ApexSoaOnly(const Owner& apex) {
  if (!apex.base || apex.flags != apex.base->flags) return false;
  if (!apex.records_changed) return true;
  auto soa_part = [](uint16_t type, uint16_t covered) {
    return type == rrtype::kSoa ||
           (type == rrtype::kRrsig && covered == rrtype::kSoa);
  };
  // Compare the other RRsets one by one.
  std::vector<std::pair<uint16_t, uint16_t>> base_keys;
  size_t matched = 0;
  for (uint32_t i = 0; i < apex.base->rrset_count; ++i) {
    const zone::RRset& rs = base_.rrsets[apex.base->rrset_begin + i];
    const uint8_t* p = base_.Bytes(rs.rdata_offset);
    const uint16_t covered = internal::CoveredType(
        rs.type, {reinterpret_cast<const char*>(p + 2), dns::Load16(p)});
    if (soa_part(rs.type, covered)) continue;
    const Group* g = nullptr;
    for (const Group& x : apex.groups) {
      if (x.type == rs.type && x.covered == covered) g = &x;
    }
    if (!g || g->ttl != rs.ttl || g->recs.size() != rs.count) return false;
    for (uint32_t k : g->recs) {
      const std::string& rd = apex.recs[k].rdata;
      if (dns::Load16(p) != rd.size() ||
          std::memcmp(p + 2, rd.data(), rd.size()) != 0) {
        return false;
      }
      p += 2 + rd.size();
    }
    ++matched;
  }
  size_t others = 0;
  for (const Group& g : apex.groups) {
    if (!soa_part(g.type, g.covered)) ++others;
  }
  if (others != matched) return false;
  // A query for RRSIG is answered with the first signature RRset (by
  // covered type): it must not be the SOA's.
  for (const Group& g : apex.groups) {
    if (g.type == rrtype::kRrsig) return g.covered != rrtype::kSoa;
  }
  return true;
}

std::vector<std::string_view> Incremental::Dependents(std::string_view name) {
  std::vector<std::string_view> out;
  const uint64_t h = zone::NameIndex::Hash(name);
  auto built = std::lower_bound(
      st_.built_dependents.begin(), st_.built_dependents.end(),
      LineageState::BuiltDependent{h, 0});
  for (; built != st_.built_dependents.end() && built->hash == h; ++built) {
    const std::string_view d = base_.nodes[built->node].name;
    if (!st_.depends_on.contains(d)) out.push_back(d);
  }
  auto it = st_.dependents.find(h);
  if (it == st_.dependents.end()) return out;
  // Drop stale entries (harmless whether or not this build succeeds).
  std::vector<std::string_view>& list = it->second;
  size_t kept = 0;
  for (std::string_view d : list) {
    auto deps = st_.depends_on.find(d);
    if (deps == st_.depends_on.end() ||
        !std::binary_search(deps->second.begin(), deps->second.end(), h) ||
        std::find(list.begin(), list.begin() + kept, d) !=
            list.begin() + kept) {
      continue;
    }
    list[kept++] = d;
    out.push_back(d);
  }
  list.resize(kept);
  if (list.empty()) st_.dependents.erase(it);
  return out;
}

void Incremental::Rewrite(Owner& o, bool data_changed) {
  if (!o.exists) {
    if (data_changed && !o.data_changed) {
      o.data_changed = true;
      queue_.push_back(&o);
    }
    return;
  }
  if (!o.rewrite) {
    o.rewrite = true;
    ++rewrites_;
    // Its new entry moves: whatever names it as cut or DNAME moves too.
    if (!o.data_changed && CutOrDnameTarget(o)) data_changed = true;
  }
  if (data_changed && !o.data_changed) {
    o.data_changed = true;
    queue_.push_back(&o);
  }
}

absl::Status Incremental::Plan() {
  for (Owner* o : touched_) {
    GroupRecords(*o);
    o->records_changed = !SameAsBase(*o);
    if (!o->records_changed) continue;
    ++stats_.owners_changed;
    if (absl::Status s = Validate(*o); !s.ok()) return s;
  }
  for (Owner* o : touched_) {
    if (o->records_changed && HasRecords(*o) && !o->exists) Create(*o);
  }
  for (Owner* o : touched_) {
    if (o->records_changed) RemoveIfUnused(*o);
  }
  // NSEC3PARAM coming or going turns NSEC3 proofs on or off: the chain
  // is indexed afresh.
  const bool had_param = base_.FindRRset(base_.nodes[base_.apex_node],
                                         rrtype::kNsec3Param) != nullptr;
  for (Owner* o : touched_) {
    if (!o->records_changed || o->name.size() != base_.apex.size()) continue;
    const bool has_param =
        std::any_of(o->recs.begin(), o->recs.end(), [](const Rec& r) {
          return r.type == rrtype::kNsec3Param;
        });
    if (has_param != had_param) {
      fallback_ = "NSEC3PARAM comes or goes";
      return absl::OkStatus();
    }
  }
  // App-aware answers are compiled by full builds only (zone.h).
  if (!base_.variants.empty()) {
    fallback_ = "the zone has VARIANT records";
    return absl::OkStatus();
  }
  for (Owner* o : touched_) {
    if (std::any_of(o->recs.begin(), o->recs.end(), [](const Rec& r) {
          return r.type == rrtype::kVariant;
        })) {
      fallback_ = "a change adds VARIANT records";
      return absl::OkStatus();
    }
  }
  Owner& apex = Get(base_.apex);
  if (base_.FindRRset(*apex.base, rrtype::kDname) ||
      std::any_of(apex.recs.begin(), apex.recs.end(),
                  [](const Rec& r) { return r.type == rrtype::kDname; })) {
    fallback_ = "DNAME at the apex";
    return absl::OkStatus();
  }
  // The new SOA must have the same names (negative answers keep their
  // shape and are only re-stamped).
  for (const Rec& r : apex.recs) {
    if (r.type != rrtype::kSoa) continue;
    const size_t m = internal::WireNameSize(r.rdata, 0);
    if (r.rdata.compare(0, m, base_.soa_mname) != 0 ||
        r.rdata.compare(m, r.rdata.size() - 20 - m, base_.soa_rname) != 0) {
      fallback_ = "SOA MNAME or RNAME changed";
      return absl::OkStatus();
    }
  }
  limit_ = std::max<size_t>(1024, base_.live_nodes / 4);
  // Every owner in the plan so far: flags after the change.
  std::vector<Owner*> all;
  for (auto& [name, o] : owners_) all.push_back(&o);
  for (Owner* o : all) {
    if (o->exists) o->flags = FlagsOf(*o);
    const bool created = o->exists && !o->base;
    const bool removed = !o->exists && o->base;
    const bool flags_changed =
        o->exists && o->base && o->flags != o->base->flags;
    if (o == &apex) continue;
    if (created || removed || o->records_changed || flags_changed) {
      Rewrite(*o, true);
    }
    const bool had_sigs =
        o->base && base_.FindRRset(*o->base, rrtype::kRrsig) != nullptr;
    const bool has_sigs =
        o->exists &&
        (o->materialized
             ? std::any_of(o->recs.begin(), o->recs.end(),
                           [](const Rec& r) { return r.type == rrtype::kRrsig; })
             : had_sigs);
    rrsig_delta_ += static_cast<long>(has_sigs) - static_cast<long>(had_sigs);
  }
  // The apex: compiled again every time (its SOA changed; its own
  // answers' lookups are not tracked).
  apex.flags = FlagsOf(apex);
  const bool soa_only = ApexSoaOnly(apex);
  Rewrite(apex, !soa_only);
  if (!soa_only) {
    for (std::string_view d : st_.apex_dependents) {
      Rewrite(Get(d), false);
    }
  }
  {
    const bool had_sigs = base_.FindRRset(*apex.base, rrtype::kRrsig);
    const bool has_sigs =
        std::any_of(apex.recs.begin(), apex.recs.end(),
                    [](const Rec& r) { return r.type == rrtype::kRrsig; });
    rrsig_delta_ += static_cast<long>(has_sigs) - static_cast<long>(had_sigs);
  }
  // Closure: the answers that looked up a changed name, and every node
  // below a changed cut or DNAME owner.
  while (!queue_.empty()) {
    if (rewrites_ > limit_) {
      fallback_ = absl::StrCat("change reaches more than ", limit_, " of ",
                               base_.live_nodes, " names");
      return absl::OkStatus();
    }
    Owner& o = *queue_.front();
    queue_.pop_front();
    if (o.expanded) continue;
    o.expanded = true;
    if (&o != &apex || !soa_only) {
      for (std::string_view d : Dependents(o.name)) Rewrite(Get(d), false);
    }
    if (o.exists && CutOrDnameTarget(o)) {
      std::vector<std::string> stack = Children(o);
      while (!stack.empty()) {
        Owner& c = Get(stack.back());
        stack.pop_back();
        if (!c.exists) continue;
        Rewrite(c, true);
        if (rewrites_ > limit_) break;
        std::vector<std::string> more = Children(c);
        for (std::string& m : more) stack.push_back(std::move(m));
      }
    }
  }
  if (rewrites_ > limit_) {
    fallback_ = absl::StrCat("change reaches more than ", limit_, " of ",
                             base_.live_nodes, " names");
    return absl::OkStatus();
  }
  // The new entries, parents before children: cut and DNAME owners
  // inherit downwards (RFC 1034 4.3.2 step 3; RFC 6672 3.2).
  for (auto& [name, o] : owners_) {
    if (o.rewrite) writes_.push_back(&o);
  }
  std::sort(writes_.begin(), writes_.end(), [](const Owner* a, const Owner* b) {
    const size_t la = dns::CountLabels(a->name), lb = dns::CountLabels(b->name);
    if (la != lb) return la < lb;
    return a->name < b->name;
  });
  for (Owner* o : writes_) {
    if (o->name == base_.apex) {
      o->dname_owner = (o->flags & zone::kHasDname) ? o->name : "";
      continue;
    }
    const std::string_view parent = Parent(o->name);
    std::string cut, dname;
    auto it = owners_.find(parent);
    if (it != owners_.end() && it->second.rewrite) {
      cut = it->second.cut_owner;
      dname = it->second.dname_owner;
    } else {
      const Node* p = base_.Find(parent);
      if (p->cut != zone::kNone) cut = base_.nodes[p->cut].name;
      if (p->dname != zone::kNone) dname = base_.nodes[p->dname].name;
    }
    o->cut_owner =
        !cut.empty() ? cut : (o->flags & zone::kDelegation) ? o->name : "";
    o->dname_owner =
        !dname.empty() ? dname : (o->flags & zone::kHasDname) ? o->name : "";
  }
  return absl::OkStatus();
}

uint32_t Incremental::IndexOf(const std::string& name) {
  if (name.empty()) return zone::kNone;
  auto it = owners_.find(name);
  if (it != owners_.end() && it->second.rewrite) return it->second.new_index;
  return static_cast<uint32_t>(base_.Find(name) - base_.nodes.data());
}

// o's RRsets after the change into the RRset array; the RDATA of an RRset
// the change left alone is the base's. False: an array is full.
bool Incremental::WriteRRsets(Owner& o, Node* n) {
  zone::ZoneHeaps& h = *base_.heaps;
  std::vector<zone::RRset> out;
  for (const Group& g : o.groups) {
    zone::RRset rs;
    rs.type = g.type;
    rs.ttl = g.ttl;
    rs.count = static_cast<uint16_t>(g.recs.size());
    bool reused = false;
    for (uint32_t i = 0; o.base && i < o.base->rrset_count && !reused; ++i) {
      const zone::RRset& b = base_.rrsets[o.base->rrset_begin + i];
      const uint8_t* p = base_.Bytes(b.rdata_offset);
      if (b.type != g.type || b.count != g.recs.size() ||
          internal::CoveredType(
              b.type, {reinterpret_cast<const char*>(p + 2),
                       dns::Load16(p)}) != g.covered) {
        continue;
      }
      bool same = true;
      for (uint32_t k : g.recs) {
        const std::string& rd = o.recs[k].rdata;
        if (dns::Load16(p) != rd.size() ||
            std::memcmp(p + 2, rd.data(), rd.size()) != 0) {
          same = false;
          break;
        }
        p += 2 + rd.size();
      }
      if (same) {
        rs.rdata_offset = b.rdata_offset;
        reused = true;
      }
    }
    if (!reused) {
      size_t bytes = 0;
      for (uint32_t k : g.recs) bytes += 2 + o.recs[k].rdata.size();
      const size_t offset = h.arena.size();
      char* p = h.arena.Append(bytes, /*may_move=*/false);
      if (p == nullptr || offset + bytes >= zone::kNone) return false;
      for (uint32_t k : g.recs) {
        const std::string& rd = o.recs[k].rdata;
        p[0] = static_cast<char>(rd.size() >> 8);
        p[1] = static_cast<char>(rd.size());
        std::memcpy(p + 2, rd.data(), rd.size());
        p += 2 + rd.size();
      }
      rs.rdata_offset = static_cast<uint32_t>(offset);
    }
    out.push_back(rs);
  }
  n->rrset_begin = static_cast<uint32_t>(h.rrsets.size());
  n->rrset_count = static_cast<uint16_t>(out.size());
  return h.rrsets.Append(out.data(), out.size(), /*may_move=*/false) !=
         nullptr;
}

absl::StatusOr<std::shared_ptr<Zone>> Incremental::Build() {
  zone::ZoneHeaps& h = *base_.heaps;
  const size_t bytes_before = h.bytes();
  auto full = [&](const char* what) {
    fallback_ = absl::StrCat("zone heap full (", what, ")");
    return std::shared_ptr<Zone>();
  };
  auto z = std::make_shared<Zone>();
  z->apex = base_.apex;
  z->apex_labels = base_.apex_labels;
  z->soa_mname = base_.soa_mname;
  z->soa_rname = base_.soa_rname;
  z->negative_blob = base_.negative_blob;
  z->heaps = base_.heaps;
  z->version = base_.version + 1;
  z->is_signed =
      static_cast<long>(st_.rrsig_nodes) + rrsig_delta_ > 0;

  // Node entries, in the order of writes_ (parents first).
  const uint32_t first = static_cast<uint32_t>(h.nodes.size());
  if (h.nodes.Append(writes_.size(), false) == nullptr) return full("nodes");
  for (size_t k = 0; k < writes_.size(); ++k) {
    writes_[k]->new_index = first + static_cast<uint32_t>(k);
  }
  for (Owner* o : writes_) {
    Node n = o->base ? *o->base : Node{};
    if (o->base) {
      o->name_view = o->base->name;
    } else {
      char* p = h.names.Append(o->name.data(), o->name.size(), false);
      if (p == nullptr) return full("names");
      o->name_view = std::string_view(p, o->name.size());
      n.labels = static_cast<uint8_t>(dns::CountLabels(o->name));
    }
    n.name = o->name_view;
    if (o->records_changed) {
      if (!WriteRRsets(*o, &n)) return full("RRsets");
    }
    n.flags = o->flags;
    n.cut = IndexOf(o->cut_owner);
    n.dname = IndexOf(o->dname_owner);
    n.referral_blob = zone::kNone;
    n.typed_blob_count = 0;
    n.likely_answer = zone::kNone;
    n.likely_qtype = 0;
    h.nodes.mutable_data()[o->new_index] = n;
  }
  // The index: new entries in, removed names out.
  std::vector<zone::NameIndex::Change> changes;
  for (Owner* o : writes_) {
    changes.push_back({zone::NameIndex::Hash(o->name),
                       o->base ? o->base_index : zone::NameIndex::kMissing,
                       o->new_index});
  }
  for (auto& [name, o] : owners_) {
    if (!o.exists && o.base) {
      changes.push_back({zone::NameIndex::Hash(o.name), o.base_index,
                         zone::NameIndex::kMissing});
    }
  }
  size_t copied_slots = 0, garbage_slots = 0;
  if (!z->index.Update(base_.index, changes, &h.slots, &stats_.shards_copied,
                       &copied_slots, &garbage_slots)) {
    return full("index");
  }
  garbage_ += garbage_slots * sizeof(uint64_t);
  z->live_nodes = static_cast<uint32_t>(base_.live_nodes + created_ - removed_);

  Owner& apex = owners_.find(base_.apex)->second;
  z->apex_node = apex.new_index;
  z->SetViews();
  const Node& apex_node = z->nodes[z->apex_node];
  const zone::RRset* soa = z->FindRRset(apex_node, rrtype::kSoa);
  z->soa_rrset = static_cast<uint32_t>(soa - z->rrsets.data());
  // Answers ending with the SOA get this version's when written.
  z->SetSoaStamp();

  // DNSSEC: the NSEC chain and the NSEC3 owners' hashes, edited in
  // O(change): the base's chunks are shared (sorted_chunks.h). A name
  // that went, or got a new node entry, leaves them; a name written with
  // an NSEC (NSEC3) record enters them with its new node.
  DenialChainEntries edits;
  for (auto& [name, o] : owners_) {
    if (!o.base || (o.exists && !o.rewrite)) continue;
    edits.Add(base_, *o.base, DenialChainEntries::NsecChain::kRemove);
  }
  for (const Owner* o : writes_) {
    edits.Add(*z, z->nodes[o->new_index], o->new_index);
  }
  edits.Sort();
  z->nsec_chain = base_.nsec_chain.WithEdits(edits.nsec);

  // As a full build: NSEC3PARAM gives the parameters, or there is no
  // NSEC3 chain to prove with.
  const zone::RRset* param =
      z->FindRRset(z->nodes[z->apex_node], rrtype::kNsec3Param);
  if (param != nullptr) {
    dns::ReadNsec3Parameters(z->Bytes(param->rdata_offset), &z->nsec3);
  }
  if (z->nsec3.iterations != base_.nsec3.iterations ||
      z->nsec3.salt != base_.nsec3.salt) {
    fallback_ = "the NSEC3 parameters change";  // every hash changes
    return std::shared_ptr<Zone>();
  }
  if (param != nullptr) {
    z->nsec3.owners = base_.nsec3.owners.WithEdits(edits.nsec3);
  }
  if (base_.nsec3.owners.empty() != z->nsec3.owners.empty()) {
    // The names' hashes exist for whole lineages that have a chain.
    fallback_ = "an NSEC3 chain starts or ends";
    return std::shared_ptr<Zone>();
  }
  if (!z->nsec3.owners.empty()) {
    // The names' hashes: the base's stay by node; the new node entries
    // (and those of abandoned builds, unknown) append theirs.
    zone::GrowOnlyArray<zone::Nsec3NodeHash>& hashes = h.nsec3_hashes;
    const size_t from = hashes.size();
    if (hashes.Append(h.nodes.size() - from, /*may_move=*/false) == nullptr) {
      return full("NSEC3 hashes");
    }
    zone::Nsec3NodeHash* out = hashes.mutable_data();
    for (const Owner* o : writes_) {
      if (o->new_index < from ||
          z->FindRRset(z->nodes[o->new_index], rrtype::kNsec3)) {
        continue;
      }
      out[o->new_index].hash = dns::Nsec3Hash(z->nsec3, o->name);
      out[o->new_index].known = 1;
    }
  }

  // Answers of every new entry, against the new version.
  AnswerCompiler compiler(z.get(), /*may_grow=*/false);
  compiler.ShareSoaAnswers(&st_.soa_answer_index);
  for (Owner* o : writes_) {
    const bool track = o != &apex;
    const absl::Status s =
        compiler.CompileNode(o->new_index, track ? &o->deps : nullptr);
    if (absl::IsResourceExhausted(s)) return full("answers");
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(NameToText(o->name), ": ", s.message()));
    }
    ++stats_.answers_compiled;
  }
  new_soa_index_ = std::move(compiler.added_soa_index());
  z->SetViews();
  stats_.nodes_written = writes_.size();
  stats_.nodes_removed = removed_;
  stats_.bytes_appended = h.bytes() - bytes_before;
  return z;
}

void Incremental::Commit(const Zone& z) {
  zone::ZoneHeaps& h = *base_.heaps;
  // Garbage: what the replaced and removed entries took.
  auto count_garbage = [&](const Owner& o) {
    const Node& n = *o.base;
    garbage_ += sizeof(Node);
    if (o.records_changed || !o.exists) {
      garbage_ += n.rrset_count * sizeof(zone::RRset);
    }
    for (uint32_t i = 0; i < n.typed_blob_count; ++i) {
      const zone::Blob& b = base_.typed_blobs[n.typed_blob_begin + i].blob;
      // (An over-estimate for an answer ending with the SOA that others
      // share.)
      garbage_ += sizeof(zone::TypedBlob) + b.reloc_count * 2 +
                  b.cut_count * sizeof(zone::BlobCut) + b.size;
    }
    if (n.likely_qtype != 0) {
      garbage_ += sizeof(zone::HitHeader) + n.name.size();
    }
    if (n.referral_blob != zone::kNone) {
      garbage_ += sizeof(zone::Blob) + base_.blobs[n.referral_blob].size;
    }
  };
  for (auto& [name, o] : owners_) {
    if (o.base && (o.rewrite || !o.exists)) count_garbage(o);
  }
  h.garbage_bytes += garbage_;
  // Children.
  auto view_of = [&](std::string_view name) -> std::string_view {
    auto it = owners_.find(name);
    if (it != owners_.end() && it->second.rewrite) return it->second.name_view;
    return base_.Find(name)->name;
  };
  for (auto& [name, o] : owners_) {
    if (!o.exists && o.base) {
      st_.children.erase(o.name);
      st_.DropDeps(o.base->name);  // bytes that stay: o.name does not
      continue;
    }
    if (o.added_children.empty() && o.removed_children.empty()) continue;
    std::vector<std::string_view>* list = nullptr;
    auto it = st_.children.find(o.name);
    if (it != st_.children.end()) {
      list = &it->second;
    } else {
      list = &st_.children[view_of(o.name)];
    }
    for (const std::string& c : o.removed_children) {
      auto pos = std::find(list->begin(), list->end(), c);
      if (pos != list->end()) list->erase(pos);
    }
    for (const std::string& c : o.added_children) {
      list->push_back(owners_.find(c)->second.name_view);
    }
    if (list->empty()) st_.children.erase(o.name);
  }
  for (Owner* o : writes_) {
    if (o->name == base_.apex) continue;
    st_.SetDeps(o->name_view, std::move(o->deps));
  }
  st_.soa_answer_index.merge(new_soa_index_);
  st_.rrsig_nodes = static_cast<size_t>(
      static_cast<long>(st_.rrsig_nodes) + rrsig_delta_);
  h.head = z.version;
}

// The records of `base` with `changes` applied, built in full.
absl::StatusOr<std::shared_ptr<const Zone>> FullBuild(
    const Zone& base, const std::vector<xfr::Changeset>& changes,
    std::vector<std::string>* warnings) {
  auto records = ApplyChangesets(RecordsOf(base), changes);
  if (!records.ok()) return records.status();
  auto valid =
      NormalizeAndValidateZone(std::move(*records), base.apex, warnings);
  if (!valid.ok()) return valid.status();
  BuildOptions options;
  options.updatable = true;
  return BuildZone(base.apex, std::move(*valid), options);
}

}  // namespace

std::string IncrementalStats::ToString() const {
  if (full_build) {
    return absl::StrCat("full build (", full_build_reason, ")");
  }
  return absl::StrFormat(
      "incremental: %d owners changed, %d nodes written, %d removed, "
      "%d answers compiled, %d index shards copied, %.1f KiB appended, "
      "garbage %.1f%%",
      owners_changed, nodes_written, nodes_removed, answers_compiled,
      shards_copied, bytes_appended / 1024.0,
      garbage_ratio * 100);
}

absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildIncremental(
    const std::shared_ptr<const zone::Zone>& base,
    const std::vector<xfr::Changeset>& changes,
    std::vector<std::string>* warnings, IncrementalStats* stats) {
  IncrementalStats local;
  if (stats == nullptr) stats = &local;
  *stats = IncrementalStats{};
  if (changes.empty()) return base;
  auto full_build = [&](std::string reason)
      -> absl::StatusOr<std::shared_ptr<const zone::Zone>> {
    *stats = IncrementalStats{};
    stats->full_build = true;
    stats->full_build_reason = std::move(reason);
    return FullBuild(*base, changes, warnings);
  };
  zone::ZoneHeaps* heaps = base->heaps.get();
  if (heaps == nullptr || heaps->builder_state == nullptr) {
    return full_build("no incremental state: built without updatable");
  }
  if (heaps->head != base->version) {
    return full_build("not the newest version of its lineage");
  }
  auto* state = static_cast<LineageState*>(heaps->builder_state.get());
  std::vector<std::string> new_warnings;
  Incremental inc(*base, *state, &new_warnings, stats);
  if (absl::Status s = inc.Apply(changes); !s.ok()) return s;
  if (absl::Status s = inc.Plan(); !s.ok()) return s;
  if (!inc.fallback().empty()) return full_build(inc.fallback());
  auto z = inc.Build();
  if (!z.ok()) return z.status();
  if (*z == nullptr) return full_build(inc.fallback());
  inc.Commit(**z);
  if (warnings) {
    warnings->insert(warnings->end(), new_warnings.begin(),
                     new_warnings.end());
  }
  stats->garbage_ratio = GarbageRatio(**z);
  return std::shared_ptr<const zone::Zone>(std::move(*z));
}

double GarbageRatio(const zone::Zone& z) {
  if (!z.heaps) return 0;
  size_t garbage = z.heaps->garbage_bytes;
  size_t total = z.heaps->bytes();
  return total == 0 ? 0 : static_cast<double>(garbage) / total;
}

double HeadroomUsed(const zone::Zone& z) {
  if (!z.heaps) return 0;
  const zone::ZoneHeaps& h = *z.heaps;
  double used = 0;
  auto account = [&](const auto& a) {
    if (a.capacity() != 0) {
      used = std::max(used, static_cast<double>(a.size()) /
                                static_cast<double>(a.capacity()));
    }
  };
  account(h.names);
  account(h.arena);
  account(h.nodes);
  account(h.rrsets);
  account(h.blobs);
  account(h.cuts);
  account(h.relocs);
  account(h.typed_blobs);
  account(h.slots);
  return used;
}

absl::StatusOr<std::shared_ptr<const zone::Zone>> RebuildZone(
    const zone::Zone& z) {
  BuildOptions options;
  options.updatable = true;
  return BuildZone(z.apex, RecordsOf(z), options);
}

}  // namespace popdns::control
