// A whole zone arriving by transfer (AXFR, or an IXFR answered
// AXFR-style), checked on a thread of its own while its messages arrive,
// so that after the last one only the end of the checks is left before
// the build (control/zonefile/zone_validate.h's ZoneValidator).
#ifndef POPDNS_CONTROL_BUILD_INCOMING_ZONE_H_
#define POPDNS_CONTROL_BUILD_INCOMING_ZONE_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "control/zonefile/zone_record.h"
#include "control/zonefile/zone_validate.h"

namespace popdns::control {

class IncomingZone {
 public:
  // `apex_wire`: the zone; `origin`: where the records come from ("AXFR
  // from 192.0.2.1:53"), the file of their error messages.
  IncomingZone(std::string apex_wire, std::string origin);
  // Stops the checks (a transfer that failed) and waits for the thread.
  ~IncomingZone();
  IncomingZone(const IncomingZone&) = delete;
  IncomingZone& operator=(const IncomingZone&) = delete;

  // The zone's next records, in order; returns at once.
  void Add(std::vector<ZoneRecord> records);
  // Once, after the last Add: waits for the checks, then as
  // NormalizeAndValidateZone (warnings appended to `warnings`).
  absl::StatusOr<std::vector<ZoneRecord>> Finish(
      std::vector<std::string>* warnings, bool* modified);

 private:
  void Check();  // the thread

  const SourceFile source_;
  std::vector<std::string> warnings_;
  ZoneValidator validator_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::vector<ZoneRecord>> pending_;  // guarded by mu_
  bool last_ = false;                            // guarded by mu_
  bool abandoned_ = false;                       // guarded by mu_
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_INCOMING_ZONE_H_
