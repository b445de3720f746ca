// dns::SelectVariant (answer.h): which of a name's variants answers a
// client (zone/variant.h). Only names flagged kHasVariants get here.
#include <algorithm>

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
  // The kinds by client this name has for the question type.
  bool by_client[5] = {};
  bool any_by_client = false;
  for (const zone::Zone::Variant* v = begin; v != end; ++v) {
    if (v->qtype != q.qtype) continue;
    if (v->kind != zone::VariantKind::kPop) {
      by_client[static_cast<int>(v->kind)] = true;
      any_by_client = true;
    } else if (by_pop == nullptr && config.pop_selector != 0 &&
               v->selector == config.pop_selector) {
      by_pop = LiveAnswer(z, *v, live_masks);
    }
  }
  if (!any_by_client) return by_pop;
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
  // Network, then AS, then country. The choice holds for the block around
  // the client that every table consulted puts wholly in one entry (or in
  // none): the longest of their scopes (a narrower source prefix gets a
  // longer scope, 7.2.1 allows it).
  const struct {
    zone::VariantKind kind;
    const zone::NetworkTable* table;
    const uint64_t* selectors;
  } tables[] = {
      {zone::VariantKind::kNetwork, config.networks, config.network_selectors},
      {zone::VariantKind::kAsn, config.asns, config.asn_selectors},
      {zone::VariantKind::kCountry, config.countries, config.country_selectors},
  };
  uint8_t scope = 0;
  const zone::Blob* chosen = by_pop;
  for (const auto& t : tables) {
    if (!by_client[static_cast<int>(t.kind)] || t.table == nullptr) continue;
    const zone::NetworkTable::Match m = t.table->Find(client);
    scope = std::max(scope, m.scope);
    if (m.network == zone::NetworkTable::kNoNetwork) continue;
    const uint64_t selector = t.selectors[m.network];
    const zone::Blob* b = nullptr;
    for (const zone::Zone::Variant* v = begin; v != end; ++v) {
      if (v->qtype == q.qtype && v->kind == t.kind &&
          v->selector == selector) {
        b = LiveAnswer(z, *v, live_masks);
        break;
      }
    }
    if (b != nullptr) {
      chosen = b;
      break;
    }
  }
  if (q.ecs_out) q.ecs_scope = q.ecs.FamilyScope(scope);
  return chosen;
}

}  // namespace popdns::dns
