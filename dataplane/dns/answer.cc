#include "dataplane/dns/answer.h"
#include "dataplane/dns/nsec3_hash.h"

#include "dataplane/dns/answer_parsed.h"

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <cstring>

namespace popdns::dns {
namespace {

using zone::Blob;
using zone::Node;
using zone::RRset;
using zone::Zone;

// At most this many CNAMEs (written or synthesized from a DNAME) per
// answer; the last one's target is still answered if it is not one more
// CNAME. Same as Knot. Loops also stop at the first repeated node.
constexpr int kMaxCnames = 5;
constexpr uint8_t kRcodeYxDomain = 6;

struct Redirect {
  const Node* cut = nullptr;
  const Node* dname = nullptr;
};

uint32_t NodeIndex(const Zone& z, const Node* n) {
  return static_cast<uint32_t>(n - z.nodes.data());
}

// The deepest existing node at or above `name` (whose apex suffix starts at
// label `apex_label`). The apex always exists, so this never fails.
// `known` may give the hashes of the name and its parent, and the node the
// burst found for the name (AnswerBurst).
const Node* ClosestEncloser(const Zone& z, const LowerName& name,
                            size_t apex_label, bool* exact,
                            const Lookup& known = Lookup{}) {
  if (known.node != nullptr && &z == known.zone &&
      !(known.node->flags & zone::kNsec3Only) &&
      zone::SameName(z.HitName(*known.node), name.view())) {
    *exact = true;  // the burst's node is the name's own: no second lookup
    return known.node;
  }
  for (size_t i = 0; i < apex_label; ++i) {
    const std::string_view suffix = name.Suffix(i);
    const uint64_t hash = i == 0   ? known.hash
                          : i == 1 ? known.parent_hash
                                   : 0;
    if (const Node* n = hash != 0 ? z.Find(suffix, hash) : z.Find(suffix)) {
      if (n->flags & zone::kNsec3Only) [[unlikely]] continue;  // RFC 5155 7.2.8
      *exact = i == 0;
      return n;
    }
  }
  *exact = apex_label == 0;
  return &z.nodes[z.apex_node];
}

// RFC 1034 4.3.2 step 3 and RFC 6672 3.2: the highest cut or DNAME on the
// way down decides.
Redirect FindRedirect(const Zone& z, const Node* e, bool exact,
                      uint16_t qtype) {
  Redirect r;
  if (e->cut != zone::kNone) r.cut = &z.nodes[e->cut];
  if (e->dname != zone::kNone) r.dname = &z.nodes[e->dname];
  // DNAME redirects names strictly below its owner that do not exist;
  // an existing name below it is answered from its own data, as Knot does
  // (RFC 6672 2.3 makes such data occluded; serving it is harmless).
  if (exact) r.dname = nullptr;
  // RFC 4035 3.1.4.1: DS at the cut is the parent's data.
  if (r.cut == e && exact && qtype == rrtype::kDs) r.cut = nullptr;
  if (r.cut && r.dname) {
    if (r.cut->labels < r.dname->labels) {
      r.dname = nullptr;
    } else {
      r.cut = nullptr;
    }
  }
  return r;
}

// Target name inside the RDATA of types that need additional addresses
// (RFC 1035 3.3.9/3.3.11, RFC 2782).
bool AdditionalTarget(uint16_t type, const uint8_t* rdata, size_t rdlen,
                      std::string_view* target) {
  size_t off;
  switch (type) {
    case rrtype::kNs: off = 0; break;
    case rrtype::kMx: off = 2; break;
    case rrtype::kSrv: off = 6; break;
    case rrtype::kSvcb:
    case rrtype::kHttps: off = 2; break;  // RFC 9460 4.1: TargetName
    default: return false;
  }
  if (rdlen <= off) return false;
  // The zone builder checked the name; SVCB params may follow it.
  size_t n = off;
  while (n < rdlen && rdata[n] != 0) n += 1u + rdata[n];
  if (n >= rdlen) return false;
  *target = {reinterpret_cast<const char*>(rdata + off), n + 1 - off};
  return true;
}

// The RRSIG RRset covering `type` at `node` (the builder groups signatures
// by covered type, each group with its own TTL).
const RRset* FindSignatures(const Zone& z, const Node& node, uint16_t type) {
  for (uint32_t i = 0; i < node.rrset_count; ++i) {
    const RRset& rs = z.rrsets[node.rrset_begin + i];
    if (rs.type == rrtype::kRrsig && rs.count > 0 &&
        Load16(z.Bytes(rs.rdata_offset) + 2) == type) {
      return &rs;
    }
  }
  return nullptr;
}

// Writes an RRset and, when DNSSEC records are wanted, the signatures
// covering it from the same node (RFC 4035 3.1.1). False if it does not fit.
bool PutSigned(const Zone& z, MessageWriter& w, Section section,
               std::string_view owner, const Node& node, const RRset& rs,
               bool dnssec) {
  if (!w.PutRRset(section, owner, z, rs)) return false;
  if (!dnssec) return true;
  const RRset* sigs = FindSignatures(z, node, rs.type);
  return sigs == nullptr || w.PutRRset(section, owner, z, *sigs);
}

// The NSEC node whose owner is `name` or is the closest before it in
// canonical order (RFC 4034 6.1), i.e. the NSEC that covers `name`.
const Node* NsecCovering(const Zone& z, std::string_view name) {
  uint8_t key[kMaxNameSize + 1];
  const size_t len = CanonicalKey(name, key);
  const std::string_view k(reinterpret_cast<const char*>(key), len);
  // Before the first owner (the apex) cannot happen for names in the zone;
  // the last NSEC covers everything after it (the chain wraps).
  return &z.nodes[z.nsec_chain.Covering(k, /*strict=*/false).node];
}

// Denial of existence with NSEC (RFC 4035 3.1.3): the NSEC RRsets (and
// signatures) covering each of `names`, once each (NSEC3 zones:
// Nsec3Proof).
bool PutDenial(const Zone& z, MessageWriter& w,
               std::initializer_list<std::string_view> names) {
  if (z.nsec_chain.empty()) return true;
  const Node* done[4];
  size_t ndone = 0;
  for (std::string_view name : names) {
    const Node* n = NsecCovering(z, name);
    if (std::find(done, done + ndone, n) != done + ndone) continue;
    done[ndone++] = n;
    const RRset* nsec = z.FindRRset(*n, rrtype::kNsec);
    if (nsec &&
        !PutSigned(z, w, Section::kAuthority, n->name, *n, *nsec, true)) {
      return false;
    }
  }
  return true;
}

// NSEC3 denial of existence (RFC 5155 7.2): the NSEC3 RRsets (and their
// signatures) that prove what the answer says, each once.
class Nsec3Proof {
 public:
  Nsec3Proof(const Zone& z, MessageWriter& w) : z_(z), w_(w) {}

  // The NSEC3 whose owner hashes `name`, or nullptr. Only a name of the
  // zone can have one; its hash was computed with the zone.
  const Node* Matching(std::string_view name) const {
    const Node* n = z_.Find(name);
    if (n == nullptr) return nullptr;
    const Nsec3Digest* h = z_.nsec3.HashOf(NodeIndex(z_, n));
    if (h == nullptr) return nullptr;
    const auto* owner = z_.nsec3.owners.Find(*h);
    return owner != nullptr ? &z_.nodes[owner->node] : nullptr;
  }
  // The NSEC3 whose owner hash comes last before `name`'s hash (the chain
  // wraps): the one that covers it.
  const Node* Covering(std::string_view name) const {
    return &z_.nodes[z_.nsec3.owners
                         .Covering(Nsec3Hash(z_.nsec3, name), /*strict=*/true)
                         .node];
  }

  bool Put(const Node* n) {
    if (n == nullptr) return true;
    if (std::find(done_, done_ + ndone_, n) != done_ + ndone_) return true;
    if (ndone_ < kMax) done_[ndone_++] = n;
    const RRset* rs = z_.FindRRset(*n, rrtype::kNsec3);
    return rs == nullptr ||
           PutSigned(z_, w_, Section::kAuthority, n->name, *n, *rs, true);
  }

  // The closest encloser proof (7.2.1) for `name`, which does not exist
  // (or has no NSEC3: opt-out): the NSEC3 matching its closest provable
  // encloser and the one covering the next closer name. Sets
  // *encloser_size to the encloser's length in `name`.
  bool ClosestEncloser(std::string_view name, size_t* encloser_size) {
    std::string_view next_closer = name;
    std::string_view s = name;
    while (s.size() > z_.apex.size()) {
      next_closer = s;
      s = s.substr(1 + static_cast<uint8_t>(s[0]));
      if (const Node* m = Matching(s)) {
        *encloser_size = s.size();
        return Put(m) && Put(Covering(next_closer));
      }
    }
    *encloser_size = z_.apex.size();
    return true;
  }

 private:
  static constexpr size_t kMax = 4;
  const Zone& z_;
  MessageWriter& w_;
  const Node* done_[kMax];
  size_t ndone_ = 0;
};

// "*." + `encloser` (RFC 4592 3.3.1), in `buf`.
std::string_view WildcardOf(std::string_view encloser,
                            uint8_t buf[kMaxNameSize + 2]) {
  buf[0] = 1;
  buf[1] = '*';
  std::memcpy(buf + 2, encloser.data(), encloser.size());
  return {reinterpret_cast<const char*>(buf), encloser.size() + 2};
}

// A wildcard answer for `name` proves that no closer name exists (RFC
// 4035 3.1.3.3: the NSEC covering it; RFC 5155 7.2.6: the NSEC3 covering
// the next closer name below the closest encloser `encloser`).
bool PutWildcardDenial(const Zone& z, MessageWriter& w, const LowerName& name,
                       const Node& encloser) {
  if (z.nsec3.owners.empty()) return PutDenial(z, w, {name.view()});
  std::string_view next_closer = name.view();
  while (next_closer.size() > encloser.name.size()) {
    const std::string_view parent =
        next_closer.substr(1 + static_cast<uint8_t>(next_closer[0]));
    if (parent.size() == encloser.name.size()) break;
    next_closer = parent;
  }
  Nsec3Proof proof(z, w);
  return proof.Put(proof.Covering(next_closer));
}

// Returns false if an address of a name at or below `required_below` (the
// cut of a referral: its in-bailiwick glue) did not fit; other additional
// data is optional (RFC 2181 9) and is left out without TC.
bool PutAdditional(const Zone& z, const RRset& rs, MessageWriter& w,
                   std::string_view required_below = {},
                   bool dnssec = false) {
  bool complete = true;
  const Node* done[16];
  size_t ndone = 0;
  const uint8_t* p = z.Bytes(rs.rdata_offset);
  for (uint16_t i = 0; i < rs.count; ++i) {
    const size_t rdlen = Load16(p);
    std::string_view target;
    if (AdditionalTarget(rs.type, p + 2, rdlen, &target) &&
        IsSubdomain(target, z.apex)) {
      const Node* n = z.Find(target);
      if (n && std::find(done, done + ndone, n) == done + ndone) {
        if (ndone < 16) done[ndone++] = n;
        const bool required = !required_below.empty() &&
                              IsSubdomain(n->name, required_below);
        for (uint16_t type : {rrtype::kA, rrtype::kAaaa}) {
          const RRset* addr = z.FindRRset(*n, type);
          if (addr &&
              !PutSigned(z, w, Section::kAdditional, n->name, *n, *addr,
                         dnssec && !required) &&
              required) {
            complete = false;
          }
        }
      }
    }
    p += 2 + rdlen;
  }
  return complete;
}

bool NeedsAdditional(uint16_t type) {
  return type == rrtype::kNs || type == rrtype::kMx || type == rrtype::kSrv ||
         type == rrtype::kSvcb || type == rrtype::kHttps;
}

// Builds the DNAME substitution of `name` (RFC 6672 2.2): the labels of
// name above `owner` followed by `target`. False if it exceeds 255 octets.
bool Substitute(const LowerName& name, const Node& owner,
                std::string_view target, LowerName* out) {
  const size_t prefix = name.size - owner.name.size();
  if (prefix + target.size() > kMaxNameSize) return false;
  uint8_t tmp[kMaxNameSize];
  std::memcpy(tmp, name.bytes, prefix);
  std::memcpy(tmp + prefix, target.data(), target.size());
  LowerNameFromWire(
      {reinterpret_cast<const char*>(tmp), prefix + target.size()}, out);
  return true;
}

std::string_view FirstRdata(const Zone& z, const RRset& rs) {
  const uint8_t* p = z.Bytes(rs.rdata_offset);
  return {reinterpret_cast<const char*>(p + 2), Load16(p)};
}

}  // namespace

bool PutNegativeAuthority(const Zone& z, MessageWriter& w, bool dnssec) {
  // RFC 2308 3 and 5: the SOA goes in the authority section with the TTL
  // the negative answer may be cached for (and so do its signatures,
  // RFC 4035 3.1.3).
  RRset soa = z.rrsets[z.soa_rrset];
  soa.ttl = z.negative_ttl;
  if (!w.PutRRset(Section::kAuthority, z.apex, z, soa)) return false;
  if (!dnssec) return true;
  const RRset* sigs =
      FindSignatures(z, z.nodes[z.apex_node], rrtype::kSoa);
  if (sigs == nullptr) return true;
  RRset soa_sigs = *sigs;
  soa_sigs.ttl = z.negative_ttl;
  return w.PutRRset(Section::kAuthority, z.apex, z, soa_sigs);
}

bool PutReferral(const Zone& z, const Node& cut, MessageWriter& w,
                 bool dnssec) {
  const RRset* ns = z.FindRRset(cut, rrtype::kNs);
  if (!w.PutRRset(Section::kAuthority, cut.name, z, *ns)) return false;
  if (dnssec && z.is_signed) {
    // RFC 4035 3.1.4: the DS RRset (signed), or the NSEC proving there is
    // none.
    if (const RRset* ds = z.FindRRset(cut, rrtype::kDs)) {
      if (!PutSigned(z, w, Section::kAuthority, cut.name, cut, *ds, true)) {
        return false;
      }
    } else if (!z.nsec3.owners.empty()) {
      // RFC 5155 7.2.7: the NSEC3 matching the delegation, or with
      // opt-out the closest provable encloser proof.
      Nsec3Proof proof(z, w);
      size_t encloser;
      if (const Node* m = proof.Matching(cut.name)) {
        if (!proof.Put(m)) return false;
      } else if (!proof.ClosestEncloser(cut.name, &encloser)) {
        return false;
      }
    } else if (!PutDenial(z, w, {cut.name})) {
      return false;
    }
  }
  // RFC 9471 3: glue for in-bailiwick name servers must fit, or TC.
  return PutAdditional(z, *ns, w, cut.name, dnssec);
}

GeneralResult AnswerGeneral(const GeneralRequest& req, MessageWriter& w) {
  GeneralResult r;
  const Zone& z = *req.zone;
  const bool dnssec = req.dnssec && z.is_signed;
  const size_t apex_labels = CountLabels(z.apex);
  const uint16_t qtype = req.qtype;
  LowerName chain_name;
  const LowerName* cur = req.qname;
  const Node* visited[kMaxCnames + 2];
  int nvisited = 0;
  const Node* dnames_written[kMaxCnames + 1];
  int ndnames = 0;
  int cnames = 0;
  for (int step = 0;; ++step) {
    const size_t apex_label = cur->label_count - apex_labels;
    bool exact;
    const Node* e = ClosestEncloser(z, *cur, apex_label, &exact);
    const Redirect redirect = FindRedirect(z, e, exact, qtype);
    if (redirect.cut) {
      if (step == 0) {
        r.aa = false;
        r.outcome = Outcome::kReferral;
        r.rrl_name = redirect.cut->name;
      }
      if (!PutReferral(z, *redirect.cut, w, dnssec)) r.truncated = true;
      return r;
    }
    if (redirect.dname) {
      if (cnames == kMaxCnames) return r;
      const Node& d = *redirect.dname;
      const RRset& drs = *z.FindRRset(d, rrtype::kDname);
      // A DNAME that redirects the chain again is not repeated.
      if (std::find(dnames_written, dnames_written + ndnames, &d) ==
          dnames_written + ndnames) {
        if (!PutSigned(z, w, Section::kAnswer, d.name, d, drs, dnssec)) {
          r.truncated = true;
          return r;
        }
        dnames_written[ndnames++] = &d;
      }
      LowerName next;
      if (!Substitute(*cur, d, FirstRdata(z, drs), &next)) {
        r.rcode = kRcodeYxDomain;  // RFC 6672 2.2
        if (!PutNegativeAuthority(z, w, dnssec)) r.truncated = true;
        return r;
      }
      // RFC 6672 3.1: the synthesized CNAME carries the DNAME's TTL.
      if (!w.PutSingle(Section::kAnswer, cur->view(), rrtype::kCname, drs.ttl,
                       next.view())) {
        r.truncated = true;
        return r;
      }
      ++cnames;
      // RFC 6672 3.1: for a query of type CNAME the synthesized CNAME is
      // the answer; its target is not looked up (no NXDOMAIN or NODATA
      // for it, no SOA), as a CNAME owned by the query name is returned
      // alone (RFC 1034 4.3.2 step 3a). Knot and NSD do the same.
      if (qtype == rrtype::kCname) return r;
      if (!IsSubdomain(next.view(), z.apex)) return r;
      chain_name = next;
      cur = &chain_name;
      continue;
    }
    const Node* node = e;
    if (!exact) {
      if (!(e->flags & zone::kWildcardChild)) {
        // RFC 1034 4.3.2 step 3c / RFC 2308 2.1, also at a chain's end
        // (RFC 6604 3).
        r.rcode = static_cast<uint8_t>(Rcode::kNxDomain);
        r.outcome = Outcome::kNxDomain;
        if (!PutNegativeAuthority(z, w, dnssec)) {
          r.truncated = true;
        } else if (dnssec) {
          // RFC 4035 3.1.3.2: no such name, and no wildcard that could
          // have matched it.
          uint8_t wild[kMaxNameSize + 2];
          if (!z.nsec3.owners.empty()) {
            // RFC 5155 7.2.2: the closest encloser proof and the NSEC3
            // covering the wildcard at the closest encloser.
            Nsec3Proof proof(z, w);
            size_t encloser;
            if (!proof.ClosestEncloser(cur->view(), &encloser) ||
                !proof.Put(proof.Covering(WildcardOf(
                    cur->view().substr(cur->size - encloser), wild)))) {
              r.truncated = true;
            }
          } else if (!PutDenial(z, w,
                                {cur->view(), WildcardOf(e->name, wild)})) {
            r.truncated = true;
          }
        }
        return r;
      }
      // RFC 4592 3.3.1: the source of synthesis is "*." + closest encloser.
      uint8_t wild[kMaxNameSize + 2];
      node = z.Find(WildcardOf(e->name, wild));
      if (step == 0) r.rrl_name = node->name;
    }
    const std::string_view owner = cur->view();
    // RFC 4035 2.5 (RFC 2181 10.1.1): NSEC and RRSIG sit beside a CNAME;
    // asked for by type, they are the answer, not the CNAME's target (as
    // Knot and BIND answer).
    const bool beside_cname =
        (qtype == rrtype::kNsec || qtype == rrtype::kRrsig) &&
        z.FindRRset(*node, qtype) != nullptr;
    if ((node->flags & zone::kHasCname) && qtype != rrtype::kCname &&
        qtype != rrtype::kAny && !beside_cname) {
      if (cnames == kMaxCnames) return r;
      if (std::find(visited, visited + nvisited, node) != visited + nvisited) {
        return r;  // CNAME loop: stop at the repeated name, as Knot does
      }
      visited[nvisited++] = node;
      const RRset& cname = *z.FindRRset(*node, rrtype::kCname);
      if (!PutSigned(z, w, Section::kAnswer, owner, *node, cname, dnssec)) {
        r.truncated = true;
        return r;
      }
      r.outcome = Outcome::kAnswer;
      ++cnames;
      const std::string_view target = FirstRdata(z, cname);
      if (!IsSubdomain(target, z.apex)) return r;
      LowerNameFromWire(target, &chain_name);
      cur = &chain_name;
      continue;
    }
    if (qtype == rrtype::kAny) {
      // RFC 8482 4.1: one RRset is a complete answer; like Knot we send the
      // one with the lowest type, over UDP and TCP alike.
      const RRset* first = nullptr;
      for (uint16_t i = 0; i < node->rrset_count; ++i) {
        const RRset& rs = z.rrsets[node->rrset_begin + i];
        if (!first || rs.type < first->type) first = &rs;
      }
      if (first) {
        if (!PutSigned(z, w, Section::kAnswer, owner, *node, *first, dnssec)) {
          r.truncated = true;
          return r;
        }
        if (NeedsAdditional(first->type)) {
          PutAdditional(z, *first, w, {}, dnssec);
        }
        r.outcome = Outcome::kAnswer;
        return r;
      }
    } else if (const RRset* rs = z.FindRRset(*node, qtype)) {
      if (!PutSigned(z, w, Section::kAnswer, owner, *node, *rs, dnssec)) {
        r.truncated = true;
        return r;
      }
      // RFC 4035 3.1.3.3: a wildcard answer proves that no closer name
      // exists.
      if (dnssec && !exact && !PutWildcardDenial(z, w, *cur, *e)) {
        r.truncated = true;
        return r;
      }
      if (NeedsAdditional(qtype)) PutAdditional(z, *rs, w, {}, dnssec);
      r.outcome = Outcome::kAnswer;
      return r;
    }
    // RFC 2308 2.2: NODATA.
    if (step == 0) r.outcome = Outcome::kNoData;
    if (!PutNegativeAuthority(z, w, dnssec)) {
      r.truncated = true;
    } else if (dnssec) {
      // RFC 4035 3.1.3.1 (and 3.1.3.4 for a wildcard): the NSEC at the
      // name shows the type is absent.
      bool ok;
      if (!z.nsec3.owners.empty()) {
        Nsec3Proof proof(z, w);
        size_t encloser;
        if (exact) {
          // RFC 5155 7.2.3: the NSEC3 matching the name; none (DS at an
          // opt-out delegation, 7.2.4): the closest provable encloser.
          const Node* m = proof.Matching(node->name);
          ok = m != nullptr ? proof.Put(m)
                            : proof.ClosestEncloser(node->name, &encloser);
        } else {
          // 7.2.5: the closest encloser proof and the NSEC3 matching the
          // wildcard.
          ok = proof.ClosestEncloser(cur->view(), &encloser) &&
               proof.Put(proof.Matching(node->name));
        }
      } else {
        ok = exact ? PutDenial(z, w, {node->name})
                   : PutDenial(z, w, {node->name, cur->view()});
      }
      if (!ok) r.truncated = true;
    }
    return r;
  }
}

namespace {

AnswerResult ErrorResponse(uint8_t* buf, const Query& q,
                           const AnswerConfig& config, uint16_t rcode,
                           Outcome outcome, uint16_t ede = kNoEde) {
  AnswerResult res;
  const bool echo = q.question_end != 0;
  Finish(res, buf, q, config, echo ? q.question_end : kHeaderSize,
         echo ? 1 : 0, 0, 0, 0, rcode, false, false, ede);
  res.outcome = outcome;
  res.rcode = static_cast<uint8_t>(rcode & 0x0F);
  return res;
}

bool BelowSoaNames(const Zone& z, const LowerName& qname) {
  return (z.soa_mname.size() > z.apex.size() &&
          IsSubdomain(qname.view(), z.soa_mname)) ||
         (z.soa_rname.size() > z.apex.size() &&
          IsSubdomain(qname.view(), z.soa_rname));
}

bool NameIs(const LowerName& n, std::string_view wire) {
  return n.view() == wire;
}

AnswerResult AnswerChaos(uint8_t* buf, const Query& q,
                         const AnswerConfig& config,
                         const zone::Identity& identity, size_t limit) {
  using namespace std::string_view_literals;
  const std::string* text = nullptr;
  if (q.qtype == rrtype::kTxt) {
    if (NameIs(q.qname, "\2id\6server\0"sv) ||
        NameIs(q.qname, "\10hostname\4bind\0"sv)) {
      text = &identity.id_server;
    } else if (NameIs(q.qname, "\7version\4bind\0"sv) ||
               NameIs(q.qname, "\7version\6server\0"sv)) {
      text = &identity.version;
    }
  }
  if (!text || text->empty()) {
    return ErrorResponse(buf, q, config,
                         static_cast<uint16_t>(Rcode::kRefused),
                         Outcome::kRefused);
  }
  const size_t len = std::min<size_t>(text->size(), 255);
  size_t pos = q.question_end;
  const size_t rr = 2 + 10 + 1 + len;
  AnswerResult res;
  res.outcome = Outcome::kChaos;
  if (pos + rr > limit) {
    Finish(res, buf, q, config, pos, 1, 0, 0, 0, 0, false, true);
    res.truncated = true;
    return res;
  }
  uint8_t* o = buf + pos;
  Store16(o, kQuestionPointer);
  Store16(o + 2, rrtype::kTxt);
  Store16(o + 4, rrclass::kCh);
  Store32(o + 6, 0);
  Store16(o + 10, static_cast<uint16_t>(len + 1));
  o[12] = static_cast<uint8_t>(len);
  std::memcpy(o + 13, text->data(), len);
  Finish(res, buf, q, config, pos + rr, 1, 1, 0, 0, 0, false, false);
  return res;
}

// Copies a precompiled blob after the question, moving its compression
// pointers by `delta` (all of them, or all but those to the whole question
// name for wildcard synthesis, where the question is the owner). Cuts at the
// last whole RRset that fits; TC unless only additional data was left out.
void EmitBlob(const Zone& z, const Blob& b, uint8_t* buf, size_t start,
              size_t limit, size_t delta, bool keep_owner, size_t* end,
              uint16_t* an, uint16_t* ns, uint16_t* ar, bool* tc) {
  size_t n = b.size;
  *an = b.an, *ns = b.ns, *ar = b.ar;
  *tc = false;
  if (start + n > limit) {
    n = 0;
    *an = *ns = *ar = 0;
    const zone::BlobCut* cuts = z.cuts.data() + b.cut_begin;
    size_t k = 0;
    while (k < b.cut_count && start + cuts[k].end <= limit) {
      n = cuts[k].end;
      *an = cuts[k].an, *ns = cuts[k].ns, *ar = cuts[k].ar;
      ++k;
    }
    *tc = k < b.cut_count && cuts[k].section != 3;
  }
  uint8_t* out = buf + start;
  std::memcpy(out, z.Bytes(b.offset), n);
  if (delta != 0) {
    const uint16_t* relocs = z.relocs.data() + b.reloc_begin;
    for (uint16_t i = 0; i < b.reloc_count; ++i) {
      const size_t at = relocs[i];
      if (at + 2 > n) break;  // relocs are in message order
      const uint16_t target = Load16(out + at) & 0x3FFF;
      if (keep_owner && target == kHeaderSize) continue;
      Store16(out + at, static_cast<uint16_t>(0xC000 | (target + delta)));
    }
  }
  if (n == b.size) z.StampSoa(b, out + n);
  *end = start + n;
}

}  // namespace

AnswerResult AnswerParsed(const zone::ZoneSet& zones,
                          const AnswerConfig& config, Transport transport,
                          const Query& q, uint8_t* buf, size_t buf_size,
                          const Lookup& known) {
  switch (q.verdict) {
    case QueryVerdict::kDrop: {
      AnswerResult res;
      res.drop_reason = q.drop_reason;
      return res;
    }
    case QueryVerdict::kFormErr:
      return ErrorResponse(buf, q, config,
                           static_cast<uint16_t>(Rcode::kFormErr),
                           Outcome::kFormErr);
    case QueryVerdict::kNotImp:
      return ErrorResponse(buf, q, config,
                           static_cast<uint16_t>(Rcode::kNotImp),
                           Outcome::kNotImp);
    case QueryVerdict::kNotAuth:
      return ErrorResponse(buf, q, config,
                           static_cast<uint16_t>(Rcode::kNotAuth),
                           Outcome::kNotImp);
    case QueryVerdict::kBadVers:
      return ErrorResponse(buf, q, config, kRcodeBadVers, Outcome::kBadVers);
    case QueryVerdict::kSlowPath: {
      // Not a byte written: the caller hands the query on as received.
      AnswerResult res;
      res.outcome = Outcome::kSlowPath;
      res.slow_path = true;
      return res;
    }
    case QueryVerdict::kAnswer:
      break;
  }
  const size_t limit = AnswerLimit(q, config, transport, buf_size);

  // Class ANY (RFC 1035 3.2.5) is answered from the IN data, like Knot.
  if (q.qclass != rrclass::kIn && q.qclass != rrclass::kAny) {
    if (q.qclass == rrclass::kCh) {
      AnswerResult res = AnswerChaos(buf, q, config, zones.identity(), limit);
      if (config.rrl) {
        res.rrl_name = RrlName(res.outcome, q, {}, {}, known.hash);
      }
      return res;
    }
    return ErrorResponse(buf, q, config,
                         static_cast<uint16_t>(Rcode::kRefused),
                         Outcome::kRefused);
  }
  // AXFR and IXFR reach this point only with AnswerConfig::slow_path off
  // (otherwise they are the control side's), answered as a server that
  // transfers nothing: AXFR with NOTIMP (RFC 5936 4.2: not over UDP), IXFR
  // with NOTAUTH (no secondary may transfer from us; Knot does the same).
  // Type 0 is reserved (RFC 6895 3.1).
  if (q.qtype == rrtype::kAxfr || q.qtype == 0) {
    return ErrorResponse(buf, q, config,
                         static_cast<uint16_t>(Rcode::kNotImp),
                         Outcome::kNotImp);
  }
  if (q.qtype == rrtype::kIxfr) {
    return ErrorResponse(buf, q, config,
                         static_cast<uint16_t>(Rcode::kNotAuth),
                         Outcome::kNotImp);
  }
  size_t apex_label = known.apex_label;
  const Zone* z =
      known.zone ? known.zone : zones.FindZone(q.qname, &apex_label);
  if (!z) {
    // RFC 1034 4.3.2 step 2 leaves this to the server; REFUSED is what
    // authoritative-only servers answer (RFC 8906 3.1.4.1).
    return ErrorResponse(buf, q, config,
                         static_cast<uint16_t>(Rcode::kRefused),
                         Outcome::kRefused, kEdeNotAuthoritative);
  }
  if (zones.IsExpired(z)) {
    // RFC 1035 3.3.13 / RFC 1996: a secondary whose copy expired stops
    // answering from it. With EDNS, EDE 24 "Invalid Data" (RFC 8914 4.25:
    // the server cannot answer from the data it has), as NSD ("Zone has
    // expired") and Knot (a zone without contents) say; 22 "No Reachable
    // Authority" and 23 "Network Error" (4.23, 4.24) describe a
    // resolver's failure to reach other servers, not its own data.
    return ErrorResponse(buf, q, config,
                         static_cast<uint16_t>(Rcode::kServFail),
                         Outcome::kExpired, kEdeInvalidData);
  }
  if (q.qtype == rrtype::kDs && apex_label == 0 && q.qname.label_count > 0) {
    // RFC 4035 3.1.4.1: DS lives in the parent; answer from it if served.
    size_t parent_label;
    LowerName parent;
    LowerNameFromWire(q.qname.Suffix(1), &parent);
    if (const Zone* pz = zones.FindZone(parent, &parent_label)) {
      z = pz;
      apex_label = parent_label + 1;
    }
  }

  const size_t start = q.question_end;
  AnswerResult res;
  size_t end;
  uint16_t an, ns, ar;
  bool tc;
  const size_t qsize = q.qname.size;

  // Fast path: precompiled blobs.
  bool exact;
  const Node* e = ClosestEncloser(*z, q.qname, apex_label, &exact, known);
  const Blob* blob = nullptr;
  size_t delta = 0;
  bool keep_owner = false;
  std::string_view rrl_special;  // RrlName's `special`
  uint8_t rcode = 0;
  Outcome outcome = Outcome::kAnswer;
  bool aa = true;
  const uint16_t qt = q.qtype;
  const bool plain_type = qt != rrtype::kAny && qt != rrtype::kCname &&
                          qt != rrtype::kDs;
  // Blobs carry no signatures: DO=1 on a signed zone takes the general path.
  const bool dnssec = q.edns_do && z->is_signed;
  if (exact && (e->flags & zone::kHasVariants) && qt != rrtype::kAny)
      [[unlikely]] {
    // App-aware answers (zone/variant.h): compiled only as blobs, so the
    // chosen one is sent whatever the precompiled setting; one RRset
    // that does not fit is a truncated empty answer, as the general path
    // would make it.
    if (const zone::Blob* v = SelectVariant(zones, *z, *e, config, q)) {
      const bool fits = start + v->size <= limit;
      if (fits) {
        EmitBlob(*z, *v, buf, start, limit, 0, false, &end, &an, &ns, &ar,
                 &tc);
      } else {
        end = start;
        an = ns = ar = 0;
        tc = true;
      }
      Finish(res, buf, q, config, end, 1, an, ns, ar, 0, true, tc);
      res.outcome = Outcome::kAnswer;
      res.truncated = tc;
      if (config.rrl) {
        res.rrl_name = RrlName(Outcome::kAnswer, q, z->apex, {}, known.hash);
      }
      return res;
    }
  }
  if (exact && e->typed_blob_count != 0 &&
      (blob = z->FindBlob(*e, qt)) != nullptr) {
    // Exact hit: the blob was built for this very name.
    rcode = blob->rcode;
    outcome = static_cast<Outcome>(blob->outcome);
  } else if (e->cut != zone::kNone && e->cut == NodeIndex(*z, e) &&
             e->dname == zone::kNone && !(exact && qt == rrtype::kDs)) {
    // Only when the closest encloser is the cut: below it, a query for a
    // glue name (or below one) compresses the NS targets into the question
    // better than a blob compiled for the cut can.
    const Node& cut = z->nodes[e->cut];
    blob = &z->blobs[cut.referral_blob];
    delta = qsize - cut.name.size();
    rrl_special = cut.name;
    aa = false;
    outcome = Outcome::kReferral;
  } else if (e->cut == zone::kNone && e->dname == zone::kNone && plain_type) {
    const Node* node = exact ? e : nullptr;
    if (!exact && (e->flags & zone::kWildcardChild)) {
      uint8_t wild[kMaxNameSize + 2];
      node = z->Find(WildcardOf(e->name, wild));
      if ((blob = z->FindBlob(*node, qt)) != nullptr) {
        delta = qsize - node->name.size();
        keep_owner = true;
        rrl_special = node->name;
        rcode = blob->rcode;
        outcome = static_cast<Outcome>(blob->outcome);
      }
    }
    const bool soa_below = BelowSoaNames(*z, q.qname);
    if (!blob && !soa_below) {
      if (!node) {
        rcode = static_cast<uint8_t>(Rcode::kNxDomain);
        outcome = Outcome::kNxDomain;
        blob = &z->blobs[z->negative_blob];
        delta = qsize - z->apex.size();
      } else if (!(node->flags & zone::kHasCname) &&
                 z->FindRRset(*node, qt) == nullptr) {
        outcome = Outcome::kNoData;
        blob = &z->blobs[z->negative_blob];
        delta = qsize - z->apex.size();
      }
    }
  }
  // A blob that does not fit whole goes through the general path, which
  // truncates RRset by RRset exactly as Knot does.
  if (blob && !dnssec && config.use_precompiled &&
      (delta == 0 || blob->relocatable) &&
      start + blob->size <= limit) {
    EmitBlob(*z, *blob, buf, start, limit, delta, keep_owner, &end, &an, &ns,
             &ar, &tc);
    Finish(res, buf, q, config, end, 1, an, ns, ar, rcode, aa, tc);
    res.outcome = outcome;
    res.rcode = rcode;
    res.truncated = tc;
    if (config.rrl) {
      res.rrl_name = RrlName(outcome, q, z->apex, rrl_special, known.hash);
    }
    return res;
  }

  // General path.
  MessageWriter w(buf, start, limit);
  w.AddQuestion(q.qname, false);
  GeneralRequest req;
  req.zone = z;
  req.qname = &q.qname;
  req.qtype = qt;
  req.dnssec = dnssec;
  const GeneralResult g = AnswerGeneral(req, w);
  Finish(res, buf, q, config, w.pos(), 1, w.an(), w.ns(), w.ar(), g.rcode,
         g.aa, g.truncated);
  res.outcome = g.outcome;
  res.rcode = g.rcode;
  res.truncated = g.truncated;
  if (config.rrl) {
    res.rrl_name = RrlName(g.outcome, q, z->apex, g.rrl_name, known.hash);
  }
  return res;
}

void ApplyCookie(const CookieSecrets& secrets, const Client& client,
                 Query* q) {
  switch (q->verdict) {
    case QueryVerdict::kDrop:
    case QueryVerdict::kSlowPath:
      return;
    default:
      break;
  }
  if (q->cookie_malformed) {
    // RFC 7873 5.2.2: a COOKIE option of a bad length is FORMERR.
    q->verdict = QueryVerdict::kFormErr;
    return;
  }
  if (client.ip == nullptr) return;
  q->cookie_state =
      CheckCookie(secrets, client, q->cookie, q->cookie_len, q->server_cookie);
  q->cookie_out = true;
  q->opt_extra = static_cast<uint16_t>(q->opt_extra + kCookieOptionSize);
}

bool SetNsid(AnswerConfig* config, std::string_view nsid) {
  if (nsid.size() > kMaxNsidSize) return false;
  config->nsid_option_size = 0;
  if (nsid.empty()) return true;
  Store16(config->nsid_option, kOptionNsid);
  Store16(config->nsid_option + 2, static_cast<uint16_t>(nsid.size()));
  std::memcpy(config->nsid_option + 4, nsid.data(), nsid.size());
  config->nsid_option_size = static_cast<uint16_t>(4 + nsid.size());
  return true;
}

AnswerResult Answer(const zone::ZoneSet& zones, const AnswerConfig& config,
                    Transport transport, uint8_t* buf, size_t query_len,
                    size_t buf_size, const Client& client) {
  Query q;
  ParseForConfig(config, transport, buf, query_len, &q, client);
  AnswerResult r =
      AnswerParsed(zones, config, transport, q, buf, buf_size, Lookup{});
  r.qtype = q.question_end != 0 ? q.qtype : 0;
  return r;
}

}  // namespace popdns::dns
