// The PowerDNS API's PATCH of a zone (`rrsets` with changetype REPLACE or
// DELETE) turned into one ZoneEdit, with PowerDNS 4.7's checks in its
// order (pdns/ws-auth.cc patchZone, gatherRecords, checkNewRecords) and
// its error messages, so that a client sees the same 422 reasons.
// Differences, on purpose (README "Provisioning API"): disabled records
// and comments are refused (popdns serves what it stores, and stores no
// comments); the SOA cannot be deleted; a REPLACE of the SOA keeps the
// serial moving forward (see ApplyPatch).
// Pure: works on an edit of a zone version the caller keeps alive; any
// thread.
#ifndef POPDNS_CONTROL_UPDATE_PDNS_PATCH_H_
#define POPDNS_CONTROL_UPDATE_PDNS_PATCH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/config.h"
#include "control/update/zone_edit.h"
#include "nlohmann/json.hpp"

namespace popdns::update {

// A record's "content" to wire RDATA, accepted only in the form the API
// prints it (names absolute, strings quoted: PowerDNS's "Not in expected
// format" check), AAAA in any form inet_pton takes. `owner_text` is for
// messages. Errors: InvalidArgument "Record NAME/TYPE 'content': why".
absl::StatusOr<std::string> ContentToRdata(std::string_view owner_text,
                                           uint16_t type,
                                           std::string_view content);

// Applies `document`'s rrsets to `edit`, in order (a later RRset sees the
// earlier ones' changes, as PowerDNS's transaction does). REPLACE with
// records [] deletes the RRset. A REPLACE of the apex SOA takes its
// fields; its serial becomes the next one after the larger (RFC 1982) of
// the given serial and the zone's, by `policy` (PowerDNS's SOA-EDIT-API
// INCREASE / EPOCH applied to the given SOA, but never backwards).
// Errors: InvalidArgument with PowerDNS's message (the API's 422); the
// edit is then to be dropped.
absl::Status ApplyPatch(const nlohmann::json& document,
                        control::SerialPolicy policy, uint32_t now,
                        ZoneEdit* edit);

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_PDNS_PATCH_H_
