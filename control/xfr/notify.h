// NOTIFY (RFC 1996) out: telling secondaries that a zone has a new serial.
// Blocking with timeouts: runs on the replication thread.
#ifndef POPDNS_CONTROL_XFR_NOTIFY_H_
#define POPDNS_CONTROL_XFR_NOTIFY_H_

#include <string>

#include "absl/status/status.h"
#include "control/xfr/changeset.h"
#include "control/xfr/transport.h"
#include "control/xfr/tsig.h"

namespace popdns::xfr {

// Sends NOTIFY for `apex` (wire) carrying `soa` in the answer section
// (RFC 1996 3.7), signed with `key` when given, and waits for the
// secondary's answer; retransmits up to `tries` times, 2 s apart
// (RFC 1996 3.6). Errors: DeadlineExceeded (no answer), FailedPrecondition
// (an rcode other than NOERROR), PermissionDenied (TSIG).
absl::Status SendNotify(const Remote& secondary, const std::string& apex,
                        const ZoneRecord& soa, const TsigKey* key,
                        int tries = 3);

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_NOTIFY_H_
