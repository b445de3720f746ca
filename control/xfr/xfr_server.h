// The control side's answers to what the answer engine leaves to it
// (control/server/slow_path.h): TSIG-signed messages (verified, answered
// signed, or NOTAUTH with BADKEY/BADSIG/BADTIME, RFC 8945 5.2), NOTIFY
// from a zone's primaries (RFC 1996), AXFR (RFC 5936) and IXFR (RFC 1995,
// from the zone's history) to the addresses and key a zone allows, and
// and RFC 2136 UPDATE (control/update/update_service.h). Runs on socket threads: thread-safe,
// and a transfer out is built from a zone snapshot taken under the
// store's lock and then used without it.
#ifndef POPDNS_CONTROL_XFR_XFR_SERVER_H_
#define POPDNS_CONTROL_XFR_XFR_SERVER_H_

#include <cstdint>
#include <vector>

#include "control/build/zone_store.h"
#include "control/server/slow_path.h"
#include "control/update/update_service.h"
#include "control/xfr/replicator.h"
#include "control/xfr/tsig.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dpdk/rcu_snapshot.h"

namespace popdns::xfr {

class XfrServer {
 public:
  XfrServer(control::ZoneStore* store, Replicator* replicator,
            const TsigKeyring* keys, dpdk::SnapshotManager* snapshots,
            dns::AnswerConfig answer_config)
      : store_(store),
        replicator_(replicator),
        keys_(keys),
        snapshots_(snapshots),
        answer_config_(answer_config),
        updates_(store) {
    // The engine answers here what it left to us (an SOA query asking
    // EXPIRE, a signed query once verified): it must not leave it again.
    answer_config_.slow_path = false;
  }

  std::vector<std::vector<uint8_t>> Handle(const control::SlowPathRequest& req);

  // Largest message of a transfer out (TCP allows 65535).
  static constexpr size_t kTransferMessageSize = 32768;

 private:
  control::ZoneStore* store_;
  Replicator* replicator_;
  const TsigKeyring* keys_;
  dpdk::SnapshotManager* snapshots_;
  dns::AnswerConfig answer_config_;
  update::UpdateService updates_;
};

// Whether `peer` is inside `prefix` ("192.0.2.0/24", "2001:db8::/32", or
// an address alone).
bool PrefixContains(const std::string& prefix, const sockaddr* peer);

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_XFR_SERVER_H_
