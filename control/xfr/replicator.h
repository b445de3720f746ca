// The replication thread: SOA timers of every secondary zone (RFC 1035
// 3.3.13, RFC 1996), refreshes triggered by NOTIFY, transfers in (IXFR
// with fallback to AXFR), and NOTIFY out to a zone's `notify` list on every
// new serial. Transfers block on the network, so they run here and never
// on the control thread or a socket thread; what they bring is committed
// through the ZoneStore like any other change.
// Notify()/NotifySecondaries()/RefreshNow() may be called from any thread.
#ifndef POPDNS_CONTROL_XFR_REPLICATOR_H_
#define POPDNS_CONTROL_XFR_REPLICATOR_H_

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/build/zone_store.h"
#include "control/xfr/tsig.h"
#include "control/xfr/xfr_client.h"

namespace popdns::xfr {

class Replicator {
 public:
  Replicator(control::ZoneStore* store, const TsigKeyring* keys);
  ~Replicator();

  // Starts the thread: every secondary zone is refreshed at once (a
  // restarted PoP catches up), then on its timers.
  void Start();
  void Stop();

  // A NOTIFY for `apex` (wire, lowercased) came from one of its primaries.
  void Notify(const std::string& apex);
  // Refresh `apex` now ("" = every secondary zone).
  void RefreshNow(const std::string& apex = "");
  // `apex` serves a new serial: NOTIFY its `notify` list.
  void NotifySecondaries(const std::string& apex);

  XfrTimeouts& timeouts() { return timeouts_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct ZoneState {
    std::string apex;
    control::ZoneConfig config;
    Clock::time_point next;  // next refresh attempt
    control::RefreshStatus status;
    int failures = 0;  // in a row, for the retry backoff
    bool due = true;
  };
  void Run();
  void Refresh(ZoneState& z);
  // Tries one primary; returns the result text ("ok: ...") or an error.
  absl::StatusOr<std::string> RefreshFrom(ZoneState& z, const Remote& primary,
                                          const TsigKey* key);
  void SendNotifies(const std::string& apex);
  const TsigKey* KeyOf(const control::ZoneConfig& config) const;
  void SaveLastRefresh(const ZoneState& z) const;
  std::time_t LoadLastRefresh(const ZoneState& z) const;

  control::ZoneStore* store_;
  const TsigKeyring* keys_;
  XfrTimeouts timeouts_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool running_ = false;
  std::vector<ZoneState> zones_;      // replication thread only
  std::vector<std::string> notified_; // apexes NOTIFY'd since last look
  std::deque<std::string> notify_out_;
  bool refresh_all_ = false;
  std::thread thread_;
};

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_REPLICATOR_H_
