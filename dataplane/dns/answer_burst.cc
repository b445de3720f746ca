// dns::AnswerBurst: the answer engine for a burst of queries, with the
// zone lookups of the burst overlapped (see answer.h).
#include <algorithm>
#include <cstring>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/answer_parsed.h"

namespace popdns::dns {
namespace {

constexpr size_t kMaxBurst = 32;

void Prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// Every cache line of [p, p + size).
void PrefetchRange(const void* p, size_t size) {
  const auto* b = static_cast<const char*>(p);
  const uintptr_t first = reinterpret_cast<uintptr_t>(b) & ~uintptr_t{63};
  const uintptr_t last = reinterpret_cast<uintptr_t>(b + size - 1);
  for (uintptr_t line = first; line <= last; line += 64) {
    Prefetch(reinterpret_cast<const void*>(line));
  }
}

// The stages of one query, each prefetching what the next one reads. The
// burst runs each stage for all its queries before the next stage, so
// that the fetches of one stage are in flight together. (Interleaving the
// stages as a software pipeline, query i in stage k while query i + d is
// in stage k - 1, measured slower here: the answering stage then competes
// with the fetches for the core's few outstanding-miss slots.)
class Pipeline {
 public:
  Pipeline(const zone::ZoneSet& zones, const AnswerConfig& config,
           Transport transport, AnswerJob* jobs)
      : zones_(zones), config_(config), transport_(transport), jobs_(jobs) {}

  // 1: parse; the index slot of the question name.
  void Parse(size_t i) {
    ParseForConfig(config_, transport_, jobs_[i].buf, jobs_[i].query_len,
                   &q_[i], jobs_[i].client);
    if (q_[i].verdict != QueryVerdict::kAnswer) return;
    Lookup& l = l_[i];
    l.zone = zones_.FindZone(q_[i].qname, &l.apex_label);
    // An expired zone is answered (SERVFAIL) by AnswerParsed.
    if (l.zone == nullptr || l.apex_label == 0 || zones_.IsExpired(l.zone)) {
      return;
    }
    l.hash = zone::NameIndex::Hash(q_[i].qname.view());
    Prefetch(l.zone->index.ShardOf(l.hash));
  }
  // 2: the slot, from the shard descriptor.
  void ReadShard(size_t i) {
    if (l_[i].hash == 0) return;
    const zone::NameIndex& index = l_[i].zone->index;
    const uint64_t* first = index.FirstSlot(*index.ShardOf(l_[i].hash),
                                            l_[i].hash);
    Prefetch(first);
    // The probe goes on in the next line when the home slot is one of the
    // last two of its line.
    if ((reinterpret_cast<uintptr_t>(first) & 63) >= 48) Prefetch(first + 2);
  }
  // 3: the node the slot names.
  void ReadSlot(size_t i) {
    if (l_[i].hash == 0) return;
    const zone::NameIndex& index = l_[i].zone->index;
    const uint32_t node = index.LikelyNode(l_[i].hash);
    if (node == zone::NameIndex::kMissing) {
      // Not in the zone: AnswerParsed looks for the closest encloser,
      // starting with the parent. Below the apex's child that is mostly
      // a delegation or a wildcard's parent, a chain of misses a lone
      // query would wait for one by one (the apex itself stays cached).
      if (l_[i].apex_label >= 2) {
        l_[i].parent_hash = zone::NameIndex::Hash(q_[i].qname.Suffix(1));
        Prefetch(index.ShardOf(l_[i].parent_hash));
      }
      return;
    }
    l_[i].node = &l_[i].zone->nodes[node];
    // What an exact hit reads of it (the general path reads the rest).
    PrefetchRange(l_[i].node, zone::kNodeHotBytes);
  }
  // 4: its name (to confirm the match) and its precompiled answers: for
  // the likely type, the answer's HitHeader and bytes only.
  void ReadNode(size_t i) {
    if (l_[i].parent_hash != 0) {
      const zone::NameIndex& index = l_[i].zone->index;
      Prefetch(index.FirstSlot(*index.ShardOf(l_[i].parent_hash),
                               l_[i].parent_hash));
      return;
    }
    const zone::Node* node = l_[i].node;
    if (node == nullptr) return;
    const std::string_view name = l_[i].zone->HitName(*node);
    if (node->likely_qtype != 0) {
      // The copy of its name, its HitHeader and the answer's first bytes,
      // a line or two of one page: most answers of the likely type end
      // within them, and FindAnswer fetches the rest once the header
      // gives the size (128 bytes here measured slower).
      PrefetchRange(name.data(), name.size() + sizeof(zone::HitHeader) + 52);
    } else {
      PrefetchRange(name.data(), name.size());
      if (node->likely_answer != zone::kNone) {
        PrefetchRange(l_[i].zone->Bytes(node->likely_answer), 64);
      }
    }
    if (node->typed_blob_count != 0 && !Likely(i)) {
      PrefetchRange(&l_[i].zone->typed_blobs[node->typed_blob_begin],
                    node->typed_blob_count * sizeof(zone::TypedBlob));
      // A type it has no answer for (NODATA) reads its RRsets. (Their
      // place is in the node's last bytes, mostly in the line just read.)
      PrefetchRange(&l_[i].zone->rrsets[node->rrset_begin],
                    node->rrset_count * sizeof(zone::RRset));
    }
  }
  // 5: the answer bytes for the question's type; for a name not in the
  // zone, its parent's node.
  void FindAnswer(size_t i) {
    if (l_[i].parent_hash != 0) {
      const zone::Zone& z = *l_[i].zone;
      const uint32_t parent = z.index.LikelyNode(l_[i].parent_hash);
      if (parent != zone::NameIndex::kMissing) {
        parent_[i] = &z.nodes[parent];
        PrefetchRange(parent_[i], sizeof(zone::Node));
      }
      return;
    }
    const zone::Node* node = l_[i].node;
    if (node == nullptr || node->typed_blob_count == 0) return;
    const zone::Zone& z = *l_[i].zone;
    if (Likely(i)) {
      zone::Blob b;
      z.LikelyBlob(*node, &b);
      PrefetchRange(z.Bytes(b.offset), b.size);
    } else if (const zone::Blob* b = z.FindBlob(*node, q_[i].qtype)) {
      PrefetchRange(z.Bytes(b->offset), b->size);
    }
  }
  // 6: the parent's name, which AnswerParsed compares, and for a zone
  // cut the referral it answers with.
  void ReadParent(size_t i) {
    const zone::Node* parent = parent_[i];
    if (parent == nullptr) return;
    const zone::Zone& z = *l_[i].zone;
    PrefetchRange(parent->name.data(), parent->name.size());
    if (parent->cut != zone::kNone && &z.nodes[parent->cut] == parent) {
      PrefetchRange(&z.blobs[parent->referral_blob], sizeof(zone::Blob));
    }
  }
  // 7: answer, from cache.
  void Respond(size_t i) {
    AnswerJob& j = jobs_[i];
    if (!ExactHit(q_[i], l_[i], j)) {
      j.result = AnswerParsed(zones_, config_, transport_, q_[i], j.buf,
                              j.buf_size, l_[i]);
    }
    j.result.qtype = q_[i].question_end != 0 ? q_[i].qtype : 0;
  }

 private:
  // Whether query i asks for its node's likely answer (with HitHeader).
  bool Likely(size_t i) const {
    return AsksLikely(q_[i].qtype, *l_[i].node);
  }
  static bool AsksLikely(uint16_t qtype, const zone::Node& node) {
    return node.likely_qtype != 0 && qtype == node.likely_qtype;
  }
  // AnswerParsed's first case, an exact hit with a precompiled answer that
  // fits, for the node the earlier stages found: the same conditions and
  // bytes without looking the name up again. (The unit tests answer every
  // query both ways and compare.) False: AnswerParsed decides.
  bool ExactHit(const Query& q, const Lookup& l, AnswerJob& j) const {
    const zone::Node* node = l.node;
    const uint16_t qt = q.qtype;
    if (node == nullptr || q.verdict != QueryVerdict::kAnswer ||
        !config_.use_precompiled ||
        (q.qclass != rrclass::kIn && q.qclass != rrclass::kAny) ||
        qt == rrtype::kDs || qt == rrtype::kAxfr || qt == rrtype::kIxfr ||
        qt == 0 || (q.edns_do && l.zone->is_signed) ||
        node->typed_blob_count == 0 ||
        (node->flags & zone::kHasVariants) ||  // AnswerParsed chooses
        !zone::SameName(l.zone->HitName(*node), q.qname.view())) {
      return false;
    }
    zone::Blob likely;
    const zone::Blob* b;
    if (AsksLikely(qt, *node)) {
      l.zone->LikelyBlob(*node, &likely);
      b = &likely;
    } else {
      b = l.zone->FindBlob(*node, qt);
    }
    const size_t start = q.question_end;
    if (b == nullptr ||
        start + b->size > AnswerLimit(q, config_, transport_, j.buf_size)) {
      return false;
    }
    std::memcpy(j.buf + start, l.zone->Bytes(b->offset), b->size);
    l.zone->StampSoa(*b, j.buf + start + b->size);
    Finish(j.result, j.buf, q, config_, start + b->size, 1, b->an, b->ns,
           b->ar, b->rcode, true, false);
    j.result.outcome = static_cast<Outcome>(b->outcome);
    j.result.rcode = b->rcode;
    j.result.truncated = false;
    j.result.drop_reason = DropReason::kNone;
    if (config_.rrl) {
      j.result.rrl_name = RrlName(j.result.outcome, q, l.zone->apex, {},
                                  l.hash);
    }
    return true;
  }

 public:

 private:
  const zone::ZoneSet& zones_;
  const AnswerConfig& config_;
  const Transport transport_;
  AnswerJob* const jobs_;
  Query q_[kMaxBurst];
  Lookup l_[kMaxBurst];
  // Names not in the zone: their parent's likely node.
  const zone::Node* parent_[kMaxBurst] = {};
};

// Up to kMaxBurst jobs.
void AnswerChunk(const zone::ZoneSet& zones, const AnswerConfig& config,
                 Transport transport, AnswerJob* jobs, size_t n) {
  Pipeline p(zones, config, transport, jobs);
  for (size_t i = 0; i < n; ++i) p.Parse(i);
  for (size_t i = 0; i < n; ++i) p.ReadShard(i);
  for (size_t i = 0; i < n; ++i) p.ReadSlot(i);
  for (size_t i = 0; i < n; ++i) p.ReadNode(i);
  for (size_t i = 0; i < n; ++i) p.FindAnswer(i);
  for (size_t i = 0; i < n; ++i) p.ReadParent(i);
  for (size_t i = 0; i < n; ++i) p.Respond(i);
}

}  // namespace

void AnswerBurst(const zone::ZoneSet& zones, const AnswerConfig& config,
                 Transport transport, AnswerJob* jobs, size_t n) {
  for (size_t done = 0; done < n; done += kMaxBurst) {
    AnswerChunk(zones, config, transport, jobs + done,
                std::min(n - done, kMaxBurst));
  }
}

}  // namespace popdns::dns
