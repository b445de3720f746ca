// dns::SelectVariant (answer.h): which of a name's variants answers a
// client (zone/variant.h). Only names flagged kHasVariants get here.
#include "dataplane/dns/answer.h"
#include "dataplane/zone/network_table.h"

namespace popdns::dns {

const zone::Blob* SelectVariant(const zone::Zone& z, const zone::Node& n,
                                const AnswerConfig& config, const Query& q) {
  q.ecs_scope = 0;
  const auto it =
      z.variants_of.find(static_cast<uint32_t>(&n - z.nodes.data()));
  if (it == z.variants_of.end()) return nullptr;
  const zone::Zone::Variant* begin = z.variants.data() + it->second.first;
  const zone::Zone::Variant* end = begin + it->second.second;
  const zone::Blob* by_pop = nullptr;
  bool by_network = false;
  for (const zone::Zone::Variant* v = begin; v != end; ++v) {
    if (v->qtype != q.qtype) continue;
    if (v->kind == zone::VariantKind::kNetwork) {
      by_network = true;
    } else if (by_pop == nullptr && config.pop_selector != 0 &&
               v->selector == config.pop_selector) {
      by_pop = &v->blob;
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
      return &v->blob;
    }
  }
  return by_pop;
}

}  // namespace popdns::dns
