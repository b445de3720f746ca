// The provisioning API: the PowerDNS Authoritative HTTP API v1 (4.7) as
// far as zones are provisioned through it, on the management endpoint:
//   GET   /api, /api/v1                      discovery
//   GET   /api/v1/servers[/localhost]        the server object
//   GET   /api/v1/servers/localhost/zones    every configured zone
//         (?zone=NAME for one, ?dnssec=false as PowerDNS)
//   GET   /api/v1/servers/localhost/zones/{id}  the zone with its rrsets
//         (?rrsets=false, ?rrset_name=, ?rrset_type= as PowerDNS)
//   PATCH /api/v1/servers/localhost/zones/{id}  rrsets REPLACE/DELETE:
//         one atomic change (ZoneStore::CommitEdit, one new serial,
//         journaled before the 204), then NOTIFY to the secondaries
//   PUT   /api/v1/servers/localhost/zones/{id}/notify
// Zones are created and removed in the configuration, not here: POST,
// PUT and DELETE of zones answer 405 with a reason.
// Handlers run on the management server's threads; ZoneStore serializes
// changes.
#ifndef POPDNS_CONTROL_UPDATE_PDNS_API_H_
#define POPDNS_CONTROL_UPDATE_PDNS_API_H_

#include "control/build/zone_store.h"
#include "control/server/management_http.h"
#include "control/xfr/replicator.h"

namespace popdns::update {

// Registers the routes above on `http` (before it starts). `store` and
// `replicator` must outlive the server; `replicator` may be null (no
// NOTIFY: tests).
void RegisterPdnsApi(control::ManagementHttp* http, control::ZoneStore* store,
                     xfr::Replicator* replicator);

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_PDNS_API_H_
