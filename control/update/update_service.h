// RFC 2136 UPDATE as the server takes it: finds the zone, evaluates the
// update against its serving version under the zone store's writers'
// lock (dynamic_update.h), and commits the change (journal, incremental
// build, publication) before it answers. Called by the slow-path handler
// (xfr_server.cc) on socket threads: thread-safe.
#ifndef POPDNS_CONTROL_UPDATE_UPDATE_SERVICE_H_
#define POPDNS_CONTROL_UPDATE_UPDATE_SERVICE_H_

#include <cstdint>
#include <string>

#include "control/build/zone_store.h"
#include "control/xfr/dns_message.h"
#include "control/xfr/tsig.h"

namespace popdns::update {

struct UpdateReply {
  uint8_t rcode = 0;
  std::string apex;      // the zone (wire, lowercased); "" if none
  bool changed = false;  // a new serial serves: NOTIFY the secondaries
};

// `m`: the UPDATE, TSIG verified and stripped; `signed_by`: its key, or
// null; `peer`: the client's address as text, for the log. Every refusal
// is logged with its reason (never a secret); so is every change.
UpdateReply ApplyUpdate(control::ZoneStore* store, const xfr::Message& m,
                        const xfr::TsigKey* signed_by,
                        const std::string& peer);

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_UPDATE_SERVICE_H_
