#include "dataplane/zone/zone_set.h"

#include <algorithm>

namespace popdns::zone {

void ZoneSet::Add(std::shared_ptr<const Zone> zone) {
  if (!down_endpoints_.empty() && !zone->variant_endpoints.empty()) {
    // Published with the zone, so that no query sees a variant table
    // half changed: a health change is a new ZoneSet, like a reload.
    std::vector<uint8_t> masks(zone->variants.size(), 0xFF);
    bool any_down = false;
    for (size_t i = 0; i < zone->variants.size(); ++i) {
      const Zone::Variant& v = zone->variants[i];
      if (v.endpoint_count == 0) continue;
      uint8_t live = 0;
      for (uint8_t j = 0; j < v.endpoint_count; ++j) {
        if (!std::binary_search(down_endpoints_.begin(), down_endpoints_.end(),
                                zone->variant_endpoints[v.endpoint_begin + j])) {
          live |= static_cast<uint8_t>(1u << j);
        }
      }
      if (live != (1u << v.endpoint_count) - 1) any_down = true;
      masks[i] = live;
    }
    if (any_down) live_masks_.emplace_back(zone.get(), std::move(masks));
  }
  apex_sizes_.set(zone->apex.size());
  by_apex_[zone->apex] = zone.get();
  zones_.push_back(std::move(zone));
}

}  // namespace popdns::zone
