#include "control/build/answer_compiler.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/string_view.h"
#include "control/zonefile/name_text.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/variant.h"

namespace popdns::control::internal {
namespace {

namespace rrtype = dns::rrtype;
using zone::Zone;

// The first RR's RDATA of `rs`.
std::string_view FirstRdata(const Zone& z, const zone::RRset& rs) {
  const uint8_t* p = z.Bytes(rs.rdata_offset);
  return {reinterpret_cast<const char*>(p + 2), dns::Load16(p)};
}

enum class SoaIn { kNone, kLast, kElsewhere };

// Where an SOA RR sits in the authority section of the answer written at
// msg[start, end) with `an`, `ns`, `ar` RRs: last of all (a negative
// answer: *ttl_at gets its TTL's offset from start), elsewhere (or the
// bytes do not parse), or nowhere.
SoaIn FindSoa(const uint8_t* msg, size_t start, size_t end, size_t an,
              size_t ns, size_t ar, uint16_t* ttl_at) {
  const size_t total = an + ns + ar;
  size_t pos = start;
  SoaIn result = SoaIn::kNone;
  for (size_t k = 0; k < total; ++k) {
    while (pos < end) {  // the owner: labels, then 0 or a pointer
      const uint8_t l = msg[pos];
      if (l == 0) {
        ++pos;
        break;
      }
      if (l >= 0xC0) {
        pos += 2;
        break;
      }
      pos += 1u + l;
    }
    if (pos + 10 > end) return SoaIn::kElsewhere;
    const uint16_t type = dns::Load16(msg + pos);
    const size_t rdlen = dns::Load16(msg + pos + 8);
    if (type == rrtype::kSoa && k >= an && k < an + ns) {
      if (k + 1 != total || pos + 10 + rdlen != end || rdlen < 22) {
        return SoaIn::kElsewhere;
      }
      *ttl_at = static_cast<uint16_t>(pos + 4 - start);
      result = SoaIn::kLast;
    }
    pos += 10 + rdlen;
  }
  return pos == end ? result : SoaIn::kElsewhere;
}

}  // namespace

std::string Lower(std::string_view wire) {
  std::string out(wire);
  for (char& c : out) c = static_cast<char>(dns::LowerAscii(c));
  return out;
}

size_t WireNameSize(std::string_view data, size_t off) {
  size_t i = off;
  while (i < data.size()) {
    const uint8_t l = static_cast<uint8_t>(data[i]);
    if (l == 0) return i + 1 - off <= dns::kMaxNameSize ? i + 1 - off : 0;
    if (l > dns::kMaxLabelSize) return 0;
    i += 1u + l;
  }
  return 0;
}

bool NormalizeRdataNames(uint16_t type, std::string* rdata) {
  auto lower_at = [&](size_t off) -> size_t {
    const size_t n = WireNameSize(*rdata, off);
    for (size_t i = off; i < off + n; ++i) {
      (*rdata)[i] = static_cast<char>(dns::LowerAscii((*rdata)[i]));
    }
    return n;
  };
  switch (type) {
    case rrtype::kNs:
    case rrtype::kCname:
    case rrtype::kDname:
    case rrtype::kPtr:
      return lower_at(0) == rdata->size();
    case rrtype::kMx:
      return rdata->size() > 2 && 2 + lower_at(2) == rdata->size();
    case rrtype::kSrv:
      return rdata->size() > 6 && 6 + lower_at(6) == rdata->size();
    case rrtype::kSvcb:
    case rrtype::kHttps:  // RFC 9460 2.2: priority, TargetName, params
      return rdata->size() > 2 && lower_at(2) != 0;
    case rrtype::kSoa: {
      const size_t m = lower_at(0);
      if (m == 0) return false;
      const size_t r = lower_at(m);
      return r != 0 && m + r + 20 == rdata->size();
    }
    default:
      return true;
  }
}

uint16_t CoveredType(uint16_t type, std::string_view rdata) {
  return type == rrtype::kRrsig && rdata.size() >= 2
             ? dns::Load16(reinterpret_cast<const uint8_t*>(rdata.data()))
             : 0;
}

void LineageState::SetDeps(std::string_view name, AnswerDeps deps) {
  // A name's first change since the full build: nothing here is old (its
  // built entries stop holding now).
  auto it = depends_on.try_emplace(name).first;
  for (uint64_t h : deps.names) {
    if (!std::binary_search(it->second.begin(), it->second.end(), h)) {
      dependents[h].push_back(it->first);
    }
  }
  it->second = std::move(deps.names);
  if (deps.apex) {
    apex_dependents.insert(it->first);
  } else {
    apex_dependents.erase(name);
  }
}

// Collects AnswerDeps while a node's answers are compiled (Zone::Find
// calls Record for every lookup of the general path).
class AnswerCompiler::DepLog : public zone::LookupLog {
 public:
  DepLog(const Zone& z, std::string_view self)
      : z_(z),
        self_(self),
        self_hash_(zone::NameIndex::Hash(self)),
        apex_hash_(zone::NameIndex::Hash(z.apex)) {}

  void Record(std::string_view name, uint64_t hash,
              const zone::Node* found) override {
    if (found && (found->flags & zone::kHasCname)) CheckCname(*found);
    if (hash == self_hash_ && name == self_) return;
    if (hash == apex_hash_ && name == z_.apex) {
      deps_.apex = true;
      return;
    }
    deps_.names.push_back(hash);
    // ClosestEncloser tries the child of the apex last: missing it, it
    // takes the apex without a lookup.
    if (!found && name.size() > z_.apex.size() &&
        1u + static_cast<uint8_t>(name[0]) + z_.apex.size() == name.size()) {
      deps_.apex = true;
    }
  }

  // A CNAME to the apex is followed without a lookup either.
  void CheckCname(const zone::Node& n) {
    const zone::RRset* cname = z_.FindRRset(n, rrtype::kCname);
    if (cname && FirstRdata(z_, *cname) == z_.apex) deps_.apex = true;
  }

  AnswerDeps Take() {
    std::sort(deps_.names.begin(), deps_.names.end());
    deps_.names.erase(std::unique(deps_.names.begin(), deps_.names.end()),
                      deps_.names.end());
    return std::move(deps_);
  }

 private:
  const Zone& z_;
  const std::string_view self_;
  const uint64_t self_hash_;
  const uint64_t apex_hash_;
  AnswerDeps deps_;
};

AnswerCompiler::AnswerCompiler(Zone* z, bool may_grow)
    : z_(z), heaps_(z->heaps.get()), may_grow_(may_grow) {}

template <typename WriteFn>
AnswerCompiler::Result AnswerCompiler::Compile(std::string_view qname,
                                               bool wildcard, WriteFn write,
                                               zone::Blob* out,
                                               bool hit_header,
                                               bool* headed) {
  if (headed) *headed = false;
  dns::LowerName q;
  dns::LowerNameFromWire(qname, &q);
  uint8_t* msg = scratch_.data();
  std::memcpy(msg + dns::kHeaderSize, q.bytes, q.size);
  const size_t start = dns::kHeaderSize + q.size + 4;
  dns::MessageWriter w(msg, start, dns::kMaxMessageSize);
  w.AddQuestion(q, wildcard);
  recorder_.reloc_count = 0;
  recorder_.cut_count = 0;
  recorder_.overflow = false;
  w.set_recorder(&recorder_);
  dns::GeneralResult g;
  if (!write(q, w, &g) || g.truncated) return Result::kNoBlob;
  zone::Blob b;
  b.size = static_cast<uint16_t>(w.pos() - start);
  b.an = w.an(), b.ns = w.ns(), b.ar = w.ar();
  b.rcode = g.rcode;
  b.outcome = static_cast<uint8_t>(g.outcome);
  b.relocatable = !recorder_.overflow;
  uint16_t ttl_at = 0;
  const SoaIn soa =
      FindSoa(msg, start, w.pos(), b.an, b.ns, b.ar, &ttl_at);
  // An SOA anywhere but last (not written by the engine today) could not
  // be re-stamped: such an answer takes the general path.
  if (soa == SoaIn::kElsewhere) return Result::kNoBlob;
  const char* bytes = reinterpret_cast<const char*>(msg + start);
  std::optional<uint32_t> shared;
  if (soa == SoaIn::kLast) {
    // Stamped by the answer's writer: where must fit Blob::soa_ttl_back
    // (it does unless MNAME and RNAME take some 200 bytes).
    if (b.size - ttl_at > 0xFF) return Result::kNoBlob;
    b.soa_ttl_back = static_cast<uint8_t>(b.size - ttl_at);
    // The key: the answer with its SOA's stamped fields zeroed, in a
    // reused buffer and looked up as a view of it (most such answers are
    // shared; a string made for each was a malloc and a free per answer).
    // absl's view: the heterogeneous lookup of this abseil takes no
    // std::string_view.
    soa_key_.assign(bytes, b.size);
    std::memset(soa_key_.data() + ttl_at, 0, 4);
    std::memset(soa_key_.data() + soa_key_.size() - 20, 0, 20);
    const absl::string_view key = soa_key_;
    if (shared_soa_) {
      auto it = shared_soa_->find(key);
      if (it != shared_soa_->end()) shared = it->second;
    }
    if (!shared) {
      auto it = added_soa_.find(key);
      if (it != added_soa_.end()) shared = it->second;
    }
  }
  if (shared) {
    b.offset = *shared;
  } else {
    const bool head = hit_header && soa != SoaIn::kLast;
    if (head) {
      // The owner's name first: an exact hit compares the question with
      // this copy, on the header's cache line and page, instead of
      // fetching Node::name from ZoneHeaps::names (Zone::LikelyName).
      if (!heaps_->arena.Append(qname.data(), qname.size(), may_grow_)) {
        return Result::kFull;
      }
      const zone::HitHeader h{b.size, b.an, b.ns, b.ar, b.rcode,
                              b.outcome, b.soa_ttl_back, 0};
      if (!heaps_->arena.Append(reinterpret_cast<const char*>(&h),
                                sizeof(h), may_grow_)) {
        return Result::kFull;
      }
    }
    const size_t offset = heaps_->arena.size();
    if (offset + b.size >= zone::kNone ||
        !heaps_->arena.Append(bytes, b.size, may_grow_)) {
      return Result::kFull;
    }
    b.offset = static_cast<uint32_t>(offset);
    if (headed) *headed = head;
    if (soa == SoaIn::kLast) {
      added_soa_.emplace(soa_key_, static_cast<uint32_t>(offset));
    }
  }
  b.reloc_begin = static_cast<uint32_t>(heaps_->relocs.size());
  b.reloc_count = static_cast<uint16_t>(recorder_.reloc_count);
  b.cut_begin = static_cast<uint32_t>(heaps_->cuts.size());
  b.cut_count = static_cast<uint16_t>(recorder_.cut_count);
  if (!heaps_->relocs.Append(recorder_.relocs, recorder_.reloc_count,
                             may_grow_) ||
      !heaps_->cuts.Append(recorder_.cuts, recorder_.cut_count, may_grow_)) {
    return Result::kFull;
  }
  // The arrays may have moved (a full build): the general path reads
  // RDATA through the views.
  z_->SetViews();
  *out = b;
  return Result::kOk;
}

AnswerCompiler::Result AnswerCompiler::AppendBlob(const zone::Blob& b,
                                                  uint32_t* index) {
  *index = static_cast<uint32_t>(heaps_->blobs.size());
  if (!heaps_->blobs.Append(&b, 1, may_grow_)) return Result::kFull;
  z_->SetViews();
  return Result::kOk;
}

absl::Status AnswerCompiler::CompileNegative() {
  Zone& z = *z_;
  zone::Blob b;
  const Result r = Compile(
      z.apex, false,
      [&](const dns::LowerName&, dns::MessageWriter& w, dns::GeneralResult*) {
        return dns::PutNegativeAuthority(z, w);
      },
      &b);
  if (r == Result::kNoBlob) {
    return absl::InvalidArgumentError("SOA record too large");
  }
  if (r == Result::kFull || AppendBlob(b, &z.negative_blob) == Result::kFull) {
    return absl::ResourceExhaustedError("zone heap full");
  }
  return absl::OkStatus();
}

absl::Status AnswerCompiler::CompileNode(uint32_t i, AnswerDeps* deps) {
  Zone& z = *z_;
  zone::Node& n = heaps_->nodes.mutable_data()[i];
  n.referral_blob = zone::kNone;
  n.typed_blob_count = 0;
  n.typed_blob_begin = static_cast<uint32_t>(heaps_->typed_blobs.size());
  n.likely_answer = zone::kNone;
  n.likely_qtype = 0;
  DepLog log(z, n.name);
  if (deps) z.lookup_log = &log;
  struct Unlog {
    Zone& z;
    ~Unlog() { z.lookup_log = nullptr; }
  } unlog{z};
  const absl::Status full = absl::ResourceExhaustedError("zone heap full");
  if (n.cut == i) {
    zone::Blob b;
    const Result r = Compile(
        n.name, false,
        [&](const dns::LowerName&, dns::MessageWriter& w,
            dns::GeneralResult*) { return dns::PutReferral(z, n, w); },
        &b);
    if (r == Result::kNoBlob) {
      return absl::InvalidArgumentError("delegation too large");
    }
    if (r == Result::kFull || AppendBlob(b, &n.referral_blob) == Result::kFull) {
      return full;
    }
  }
  // Only names whose exact lookup answers from their own data.
  if (n.cut == zone::kNone && (n.dname == zone::kNone || n.dname == i)) {
    const bool wildcard =
        n.name.size() >= 2 && n.name[0] == 1 && n.name[1] == '*';
    typed_.clear();
    bool is_full = false;
    // The type asked for most (A, else the node's first): its answer gets
    // a HitHeader (Node::likely_qtype).
    uint16_t likely = 0;
    if ((n.flags & zone::kHasCname) || z.FindRRset(n, rrtype::kA)) {
      likely = rrtype::kA;
    } else if (n.rrset_count != 0) {
      likely = z.rrsets[n.rrset_begin].type;
    }
    uint16_t headed_qtype = 0;
    auto add = [&](uint16_t qtype) {
      if (is_full) return;
      for (const zone::TypedBlob& t : typed_) {
        if (t.qtype == qtype) return;
      }
      zone::Blob b;
      bool headed = false;
      const Result r = Compile(
          n.name, wildcard,
          [&](const dns::LowerName& q, dns::MessageWriter& w,
              dns::GeneralResult* g) {
            dns::GeneralRequest req;
            req.zone = &z;
            req.qname = &q;
            req.qtype = qtype;
            *g = dns::AnswerGeneral(req, w);
            return true;
          },
          &b, qtype == likely && qtype < 0x100, &headed);
      if (r == Result::kOk) typed_.push_back({qtype, b});
      if (r == Result::kOk && headed) headed_qtype = qtype;
      if (r == Result::kFull) is_full = true;
    };
    for (uint32_t r = 0; r < n.rrset_count; ++r) {
      add(z.rrsets[n.rrset_begin + r].type);
    }
    if (n.flags & zone::kHasCname) {
      add(rrtype::kA);
      add(rrtype::kAaaa);
    }
    if (is_full) return full;
    n.typed_blob_begin = static_cast<uint32_t>(heaps_->typed_blobs.size());
    n.typed_blob_count = static_cast<uint16_t>(typed_.size());
    for (const zone::TypedBlob& t : typed_) {
      if (n.likely_answer == zone::kNone || t.qtype == rrtype::kA) {
        n.likely_answer = t.blob.offset;
        n.likely_qtype = t.qtype == headed_qtype
                             ? static_cast<uint8_t>(t.qtype) : 0;
      }
    }
    if (!heaps_->typed_blobs.Append(typed_.data(), typed_.size(),
                                    may_grow_)) {
      return full;
    }
    z.SetViews();
  }
  if (deps) {
    if (n.flags & zone::kHasCname) log.CheckCname(n);
    *deps = log.Take();
  }
  return absl::OkStatus();
}

absl::Status AnswerCompiler::CompileVariants(uint32_t i) {
  Zone& z = *z_;
  zone::Node& n = heaps_->nodes.mutable_data()[i];
  const zone::RRset* rs = z.FindRRset(n, rrtype::kVariant);
  if (rs == nullptr) return absl::OkStatus();
  if (n.name.size() >= 2 && n.name[0] == 1 && n.name[1] == '*') {
    return absl::OkStatus();
  }
  const std::string where = NameToText(n.name);
  if (z.is_signed) {
    return absl::InvalidArgumentError(
        where + ": VARIANT in a signed zone (its answers could not be signed)");
  }
  // The RRs grouped by selector and type, in zone order.
  // A copy of the RDATA to parse: compiling writes into the arena that
  // holds them, which may move.
  const uint8_t* first_rdata = z.Bytes(rs->rdata_offset);
  const uint8_t* p = first_rdata;
  for (uint16_t k = 0; k < rs->count; ++k) p += 2 + dns::Load16(p);
  const std::string owned(reinterpret_cast<const char*>(first_rdata),
                          static_cast<size_t>(p - first_rdata));
  const uint32_t ttl = rs->ttl;
  std::vector<zone::VariantRdata> rrs;
  for (size_t at = 0; at < owned.size();) {
    const size_t len =
        dns::Load16(reinterpret_cast<const uint8_t*>(owned.data() + at));
    zone::VariantRdata v;
    if (!zone::ParseVariantRdata(std::string_view(owned).substr(at + 2, len),
                                 &v)) {
      return absl::InvalidArgumentError(where + ": malformed VARIANT RDATA");
    }
    rrs.push_back(v);
    at += 2 + len;
  }
  auto same_answer = [](const zone::VariantRdata& a,
                        const zone::VariantRdata& b) {
    return a.kind == b.kind && a.type == b.type &&
           zone::VariantSelectorHash(a.kind, a.name) ==
               zone::VariantSelectorHash(b.kind, b.name);
  };
  // The answer made of the records `group[j]` for the bits j of `mask`.
  auto compile = [&](const std::vector<size_t>& group, uint32_t mask,
                     zone::Blob* b) -> absl::Status {
    const Result r = Compile(
        n.name, false,
        [&](const dns::LowerName&, dns::MessageWriter& w,
            dns::GeneralResult* g) {
          for (size_t j = 0; j < group.size(); ++j) {
            if (!(mask & (1u << j))) continue;
            const zone::VariantRdata& v = rrs[group[j]];
            if (!w.PutSingle(dns::Section::kAnswer, n.name, v.type, ttl,
                             v.rdata)) {
              return false;
            }
          }
          g->outcome = dns::Outcome::kAnswer;
          return true;
        },
        b);
    if (r == Result::kFull) {
      return absl::ResourceExhaustedError("zone heap full");
    }
    if (r == Result::kNoBlob) {
      return absl::InvalidArgumentError(where + ": VARIANT answer too large");
    }
    return absl::OkStatus();
  };
  const uint32_t first = static_cast<uint32_t>(z.variants.size());
  std::vector<bool> done(rrs.size(), false);
  for (size_t a = 0; a < rrs.size(); ++a) {
    if (done[a]) continue;
    std::vector<size_t> group;
    for (size_t k = a; k < rrs.size(); ++k) {
      if (!same_answer(rrs[a], rrs[k])) continue;
      done[k] = true;
      group.push_back(k);
    }
    zone::Zone::Variant v;
    v.selector = zone::VariantSelectorHash(rrs[a].kind, rrs[a].name);
    v.qtype = rrs[a].type;
    v.kind = rrs[a].kind;
    const uint32_t all = (1u << std::min<size_t>(group.size(), 31)) - 1;
    if (absl::Status s = compile(group, all, &v.blob); !s.ok()) return s;
    // Addresses are endpoints that health checks may take out: the
    // answer without them is ready before anything goes down.
    if ((v.qtype == rrtype::kA || v.qtype == rrtype::kAaaa) &&
        group.size() <= zone::Zone::kMaxVariantEndpoints) {
      v.endpoint_count = static_cast<uint8_t>(group.size());
      v.endpoint_begin = static_cast<uint32_t>(z.variant_endpoints.size());
      v.subset_begin = static_cast<uint32_t>(z.variant_subsets.size());
      for (size_t k : group) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(rrs[k].rdata.data());
        z.variant_endpoints.push_back(v.qtype == rrtype::kA
                                          ? zone::FromIpv4Bytes(bytes)
                                          : zone::FromIpv6(bytes));
      }
      for (uint32_t mask = 1; mask < all; ++mask) {
        zone::Blob b;
        if (absl::Status s = compile(group, mask, &b); !s.ok()) return s;
        z.variant_subsets.push_back(b);
      }
    }
    z.variants.push_back(v);
  }
  z.variants_of[i] = {first, static_cast<uint32_t>(z.variants.size()) - first};
  n.flags |= zone::kHasVariants;
  return absl::OkStatus();
}

}  // namespace popdns::control::internal
