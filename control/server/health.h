// Health and readiness of a running popdns: what `GET /health`, `GET
// /ready` and `popdnsctl health` report, and what a PoP's BGP hook acts on
// (scripts/popdns-bgp-health: the anycast route is announced only while
// /health is 200).
//
//   ready    popdns can serve: start-up is over (zones loaded as far as
//            they load, dataplane workers running, sockets bound) and it
//            is not stopping. Stays true while draining. For whoever
//            waits for a started popdns (tests, a rollout script).
//   healthy  popdns should be announced: ready, not draining, every
//            configured zone loaded and not expired, every dataplane
//            worker has gone round its poll loop within kWorkerStall and
//            every wire port's link is up (kernel-socket mode: the sockets
//            are bound, which ready already says).
//
// Draining (`popdnsctl drain`, or SIGTERM with shutdown_drain_seconds):
// healthy turns false at once, with "draining" as the reason, while popdns
// keeps answering; main() stops it later.
//
// Threads: Check()/Ready() from any thread (HTTP handlers, the control
// thread), serialized inside; SetReady/StartDrain from the control thread.
#ifndef POPDNS_CONTROL_SERVER_HEALTH_H_
#define POPDNS_CONTROL_SERVER_HEALTH_H_

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace popdns::dpdk {
class Dataplane;
}

namespace popdns::control {

class ManagementHttp;
class ZoneStore;

struct HealthReport {
  bool ok = false;
  std::vector<std::string> problems;  // why not, one line each
  // "healthy\n" / "ready\n", or "unhealthy\n" / "not ready\n" followed by
  // the problems, one a line: the body of /health and /ready and what
  // popdnsctl prints.
  std::string Text(const char* good, const char* bad) const;
};

class Health {
 public:
  // A worker that has not gone round its loop for this long is stuck. A
  // sleeping worker (idle: sleep) comes round every idle_max_sleep_us.
  static constexpr double kWorkerStall = 1.0;  // seconds

  // `dataplane` may be null (kernel sockets only); both must outlive this.
  Health(const ZoneStore* store, const dpdk::Dataplane* dataplane);

  // Start-up is over (true) / stopping (false).
  void SetReady(bool ready) { ready_.store(ready); }
  // Healthy turns false at once, for good.
  void StartDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  HealthReport Check() const;
  HealthReport Ready() const;

  // GET /health and GET /ready, public (no key): 200 or 503, text/plain,
  // the body as HealthReport::Text. Before http->Start().
  void RegisterRoutes(ManagementHttp* http) const;

 private:
  const ZoneStore* store_;
  const dpdk::Dataplane* dataplane_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  mutable std::mutex mu_;  // one check at a time (port link reads)
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_HEALTH_H_
