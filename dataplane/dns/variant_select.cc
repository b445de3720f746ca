// dns::SelectVariant (answer.h): which of a name's variants answers a
// client (zone/variant.h). Only names flagged kHasVariants get here.
#include "dataplane/dns/answer.h"
#include "dataplane/zone/network_table.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::dns {

namespace {

// The answer of variant `v` without its endpoints that are down, nullptr
// if none is up (the next choice answers).
const zone::Blob* LiveAnswer(const zone::Zone& z, const zone::Zone::Variant& v,
                             const uint8_t* live_masks) {
  if (live_masks == nullptr || v.endpoint_count == 0) return &v.blob;
  const unsigned live = live_masks[&v - z.variants.data()];
  const unsigned all = (1u << v.endpoint_count) - 1;
  if (live == all) return &v.blob;
  if (live == 0) return nullptr;
  return &z.variant_subsets[v.subset_begin + live - 1];
}

}  // namespace

const zone::Blob* SelectVariant(const zone::ZoneSet& zones,
                                const zone::Zone& z, const zone::Node& n,
                                const AnswerConfig& config, const Query& q) {
  q.ecs_scope = 0;
  const auto it =
      z.variants_of.find(static_cast<uint32_t>(&n - z.nodes.data()));
  if (it == z.variants_of.end()) return nullptr;
  const zone::Zone::Variant* begin = z.variants.data() + it->second.first;
  const zone::Zone::Variant* end = begin + it->second.second;
  const uint8_t* live_masks = zones.LiveMasks(&z);
  const zone::Blob* by_pop = nullptr;
  bool by_network = false;
  for (const zone::Zone::Variant* v = begin; v != end; ++v) {
    if (v->qtype != q.qtype) continue;
    if (v->kind == zone::VariantKind::kNetwork) {
      by_network = true;
    } else if (by_pop == nullptr && config.pop_selector != 0 &&
               v->selector == config.pop_selector) {
      by_pop = LiveAnswer(z, *v, live_masks);
    }
  }
  if (!by_network || config.networks == nullptr) return by_pop;
  // The client: its resolver's ECS option, else the sender. RFC 7871
  // 7.1.2: SOURCE PREFIX-LENGTH 0 asks that no client information be used.
  zone::Address client;
  if (q.ecs_out) {
    if (q.ecs.source_prefix == 0) return by_pop;
    client = q.ecs.MappedAddress();
  } else if (q.has_client_address) {
    client = q.client_address;
  } else {
    return by_pop;
  }
  const zone::NetworkTable::Match m = config.networks->Find(client);
  // The choice holds for the block around the client that is all in one
  // network (or in none): a narrower source prefix gets a longer scope
  // (7.2.1 allows it).
  if (q.ecs_out) q.ecs_scope = q.ecs.FamilyScope(m.scope);
  if (m.network == zone::NetworkTable::kNoNetwork) return by_pop;
  const uint64_t selector = config.network_selectors[m.network];
  for (const zone::Zone::Variant* v = begin; v != end; ++v) {
    if (v->qtype == q.qtype && v->kind == zone::VariantKind::kNetwork &&
        v->selector == selector) {
      const zone::Blob* b = LiveAnswer(z, *v, live_masks);
      return b != nullptr ? b : by_pop;
    }
  }
  return by_pop;
}

}  // namespace popdns::dns
