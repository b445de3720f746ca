// The JSON documents of the PowerDNS Authoritative HTTP API v1 (4.7), as
// popdns builds them from its zones: zone ids, the zone object (list entry
// and detail with `rrsets`), and JSON text written the way PowerDNS's
// json11 writes it, so that byte comparisons with a real pdns_server are
// meaningful. Pure functions on a zone snapshot: any thread.
#ifndef POPDNS_CONTROL_UPDATE_PDNS_JSON_H_
#define POPDNS_CONTROL_UPDATE_PDNS_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control/config.h"
#include "dataplane/zone/zone.h"
#include "nlohmann/json.hpp"

namespace popdns::update {

// json11's layout: keys sorted, ", " between items, ": " after keys.
std::string DumpJson(const nlohmann::json& doc);

// PowerDNS's zone id: the absolute name with every byte other than
// [A-Za-z0-9.-] written as "=XX" (uppercase hex), so "/" is "=2F"; the
// root is "=2E".
std::string ZoneIdFromName(std::string_view name_text);
// The inverse; a missing trailing dot is allowed. nullopt for a bad "=XX"
// escape (PowerDNS answers 400).
std::optional<std::string> ZoneNameFromId(std::string_view id);

// The zone object of GET .../zones: account, catalog, dnssec,
// edited_serial, id, kind ("Master", or "Slave" for a secondary),
// last_check, masters, name, notified_serial, serial, url. `zone` may be
// null (configured, not loaded: serial 0).
nlohmann::json ZoneSummaryJson(const control::ZoneConfig& config,
                               const zone::Zone* zone);

// Which RRsets GET .../zones/{id} lists (its rrsets, rrset_name and
// rrset_type parameters).
struct RRsetFilter {
  bool rrsets = true;
  std::optional<std::string> name_wire;  // lowercased
  std::optional<uint16_t> type;
};

// The summary plus api_rectify, master_tsig_key_ids, nsec3narrow,
// nsec3param, slave_tsig_key_ids, soa_edit, soa_edit_api (the serial
// policy: "INCREASE" or "EPOCH"; "" for a secondary) and rrsets: [{name, type, ttl,
// records: [{content, disabled: false}], comments: []}], ordered as
// PowerDNS orders them (names by their wire form read backwards,
// descending; types by descending number).
nlohmann::json ZoneDetailJson(const control::ZoneConfig& config,
                              const zone::Zone* zone,
                              const RRsetFilter& filter);

// PowerDNS's SOA-EDIT-API kind that behaves as `policy`.
const char* SoaEditApiName(control::SerialPolicy policy);

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_PDNS_JSON_H_
