// The set of served zones: one immutable snapshot that workers read while
// the control thread builds the next one (RCU, see control/snapshot).
// Lookups run per packet on worker lcores: no allocation, locks or logging.
#ifndef POPDNS_DATAPLANE_ZONE_ZONE_SET_H_
#define POPDNS_DATAPLANE_ZONE_ZONE_SET_H_

#include <bitset>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/dns/name.h"
#include "dataplane/zone/address.h"
#include "dataplane/zone/zone.h"

namespace popdns::zone {

// Strings for CHAOS TXT id.server / hostname.bind / version.bind; an empty
// string means REFUSED for that name.
struct Identity {
  std::string id_server;
  std::string version;
};

class ZoneSet {
 public:
  ZoneSet() = default;
  ZoneSet(const ZoneSet&) = delete;
  ZoneSet& operator=(const ZoneSet&) = delete;

  // Control thread, before publication. Zones are shared between
  // snapshots: a reload of one zone does not rebuild the others.
  void Add(std::shared_ptr<const Zone> zone);
  // A secondary zone past its expiry (RFC 1035 3.3.13): found like any
  // zone, answered SERVFAIL.
  void AddExpired(std::shared_ptr<const Zone> zone) {
    expired_.push_back(zone.get());
    Add(std::move(zone));
  }
  bool IsExpired(const Zone* z) const {
    if (expired_.empty()) return false;  // the common case: one branch
    for (const Zone* e : expired_) {
      if (e == z) return true;
    }
    return false;
  }
  void set_identity(Identity identity) { identity_ = std::move(identity); }
  // Endpoints that are down (health checks, the operator; issue 16),
  // sorted: the variants of the zones added after this leave them out.
  // Set before Add().
  void set_down_endpoints(std::vector<Address> down) {
    down_endpoints_ = std::move(down);
  }
  const std::vector<Address>& down_endpoints() const {
    return down_endpoints_;
  }

  // Which endpoints of each variant of `z` are up: bit j of
  // masks[variant index] for its endpoint j (Zone::Variant); nullptr when
  // all of them are (the common case: one branch).
  const uint8_t* LiveMasks(const Zone* z) const {
    if (live_masks_.empty()) return nullptr;
    for (const auto& [zone, masks] : live_masks_) {
      if (zone == z) return masks.data();
    }
    return nullptr;
  }

  // The zone whose apex is the longest suffix of `qname`, and the label
  // index of that suffix in qname; nullptr if no served zone encloses it.
  const Zone* FindZone(const dns::LowerName& qname, size_t* apex_label) const {
    if (zones_.size() <= kLinearZones) {
      // A few zones (the common PoP case): compare each apex with the end
      // of the name instead of probing a table for every suffix.
      const Zone* best = nullptr;
      for (const auto& z : zones_) {
        const size_t n = z->apex.size();
        if (n > qname.size || z->apex_labels > qname.label_count ||
            (best && n <= best->apex.size())) {
          continue;
        }
        // The apex must start at a label: the one that many labels from
        // the right.
        const size_t label = qname.label_count - z->apex_labels;
        const size_t start = label < qname.label_count
                                 ? qname.label_offset[label]
                                 : qname.size - 1u;
        if (start != qname.size - n ||
            !SameName(qname.view().substr(start), z->apex)) {
          continue;
        }
        best = z.get();
        *apex_label = label;
      }
      return best;
    }
    for (size_t i = 0; i <= qname.label_count; ++i) {
      std::string_view suffix = qname.Suffix(i);
      if (!apex_sizes_[suffix.size()]) continue;
      auto it = by_apex_.find(suffix);
      if (it != by_apex_.end()) {
        *apex_label = i;
        return it->second;
      }
    }
    return nullptr;
  }

  const Identity& identity() const { return identity_; }
  const std::vector<std::shared_ptr<const Zone>>& zones() const {
    return zones_;
  }
  const Zone* Get(std::string_view apex) const {
    auto it = by_apex_.find(apex);
    return it == by_apex_.end() ? nullptr : it->second;
  }

 private:
  static constexpr size_t kLinearZones = 8;
  std::vector<std::shared_ptr<const Zone>> zones_;
  absl::flat_hash_map<std::string_view, const Zone*, NameHash> by_apex_;
  std::bitset<256> apex_sizes_;  // skips hash probes for impossible suffixes
  Identity identity_;
  std::vector<const Zone*> expired_;
  std::vector<Address> down_endpoints_;
  std::vector<std::pair<const Zone*, std::vector<uint8_t>>> live_masks_;
};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_ZONE_SET_H_
