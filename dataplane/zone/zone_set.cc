#include "dataplane/zone/zone_set.h"

namespace popdns::zone {

void ZoneSet::Add(std::shared_ptr<const Zone> zone) {
  apex_sizes_.set(zone->apex.size());
  by_apex_[zone->apex] = zone.get();
  zones_.push_back(std::move(zone));
}

}  // namespace popdns::zone
