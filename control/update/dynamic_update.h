// RFC 2136 UPDATE, evaluated against the serving version of a zone:
// the zone section (3.1), prerequisites (3.2), the zone's `update:` policy
// for the key that signed it (3.3, as BIND's update-policy grants), the
// prescan (3.4.1) and the update itself (3.4.2), ending in one Changeset
// (one new serial) or an rcode that changes nothing. Pure: the ZoneStore
// runs it under its writers' lock, so prerequisites are checked against
// the version the change applies to.
// Control side; any thread.
#ifndef POPDNS_CONTROL_UPDATE_DYNAMIC_UPDATE_H_
#define POPDNS_CONTROL_UPDATE_DYNAMIC_UPDATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control/config.h"
#include "control/xfr/changeset.h"
#include "control/xfr/dns_message.h"
#include "dataplane/zone/zone.h"

namespace popdns::update {

struct UpdateResult {
  uint8_t rcode = 0;   // dns::Rcode
  std::string reason;  // why it was refused, for the log; "" when NOERROR
  std::optional<xfr::Changeset> change;  // nullopt: nothing to change
};

class ZoneEdit;

// Checks `m` against `edit` (as the updates before it in the same edit
// left it) and applies it there when every check passes (rcode 0); a
// refused update leaves `edit` as it was. `change` stays empty: several
// UPDATEs may share one edit, and so one new serial (as Knot's DDNS
// batches them); ZoneEdit::Finish makes the change.
UpdateResult EvaluateInto(ZoneEdit& edit, const control::ZoneConfig& config,
                          const xfr::Message& m, std::string_view key);

// `m`: the UPDATE with its TSIG already verified and stripped; `key`: the
// name of the key that signed it (wire, any case), empty when unsigned;
// `now`: seconds since the epoch (serial_policy unixtime).
UpdateResult EvaluateUpdate(const zone::Zone& z,
                            const control::ZoneConfig& config,
                            const xfr::Message& m, std::string_view key,
                            uint32_t now);

// Whether `config`'s policy lets `key` (wire, any case; empty: unsigned)
// change records of `type` at `owner` (wire, any case): the first rule
// naming that key, a subtree holding owner, and the type (or no types:
// every type but SOA and the DNSSEC types) grants it.
bool UpdateAllowed(const control::ZoneConfig& config, std::string_view key,
                   std::string_view owner, uint16_t type);

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_DYNAMIC_UPDATE_H_
