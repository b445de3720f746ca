// RFC 2136 UPDATE as the server takes it: finds the zone, evaluates the
// update against its serving version under the zone store's writers'
// lock (dynamic_update.h), and commits the change (journal, incremental
// build, publication) before it answers.
//
// UPDATEs that arrive while a change of their zone is being committed
// wait and are then committed together, each checked in order against
// what the ones before it left (as Knot's DDNS batches them): one journal
// write (fsync), one incremental build and one new serial for the batch.
// A lone UPDATE is committed at once; under load, the cost of the fsync
// and the build is shared instead of queueing one behind the other.
//
// Called by the slow-path handler (xfr_server.cc) on socket threads:
// thread-safe.
#ifndef POPDNS_CONTROL_UPDATE_UPDATE_SERVICE_H_
#define POPDNS_CONTROL_UPDATE_UPDATE_SERVICE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "control/build/zone_store.h"
#include "control/update/dynamic_update.h"
#include "control/xfr/dns_message.h"
#include "control/xfr/tsig.h"

namespace popdns::update {

struct UpdateReply {
  uint8_t rcode = 0;
  std::string apex;      // the zone (wire, lowercased); "" if none
  bool changed = false;  // a new serial serves: NOTIFY the secondaries
};

class ZoneEdit;

// Changes the serving version of `apex` through `store` (journaled, then
// published): `apply` edits a ZoneEdit of the version the change applies
// to, and the SOA moves by the zone's serial_policy. `*before`/`*serial`:
// the serial before and after. Errors: apply's, and ZoneStore::CommitEdit's.
// What RFC 2136 UPDATE and the provisioning API both end in.
absl::Status CommitZoneEdit(
    control::ZoneStore* store, const std::string& apex,
    const std::string& origin,
    const std::function<absl::Status(ZoneEdit&, const control::ZoneConfig&)>&
        apply,
    uint32_t* before, uint32_t* serial);

class UpdateService {
 public:
  explicit UpdateService(control::ZoneStore* store) : store_(store) {}

  // `m`: the UPDATE, TSIG verified and stripped; `signed_by`: its key, or
  // null; `peer`: the client's address as text, for the log. Returns once
  // the change is durable and serving (or refused). Every refusal is
  // logged with its reason (never a secret); so is every change.
  UpdateReply Apply(const xfr::Message& m, const xfr::TsigKey* signed_by,
                    const std::string& peer);

 private:
  struct Pending {
    const xfr::Message* m;
    const xfr::TsigKey* key;
    std::string who;  // "UPDATE from ADDR key NAME", for the log
    UpdateResult result;
    bool changed = false;
    bool done = false;
  };
  struct ZoneQueue {
    std::vector<Pending*> waiting;
    bool committing = false;
    std::chrono::steady_clock::time_point last_commit;
  };
  // Commits `batch` (all for `apex`) as one change; fills each result.
  void Commit(const std::string& apex, const std::vector<Pending*>& batch);

  control::ZoneStore* store_;
  std::mutex mu_;
  std::condition_variable done_;
  std::map<std::string, ZoneQueue> queues_;  // by apex; stable references
};

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_UPDATE_SERVICE_H_
