// Query counters: one cache-aligned block per worker thread, written only
// by that thread (relaxed atomics, no sharing), summed when `popdnsctl
// stats` asks. Count() runs per query on the worker; Render() on the
// control thread.
#ifndef POPDNS_CONTROL_SERVER_STATS_H_
#define POPDNS_CONTROL_SERVER_STATS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "dataplane/counter.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/counter_labels.h"
#include "dataplane/dns/rrl.h"

namespace popdns::control {

inline constexpr size_t kOutcomes = dns::kOutcomeCount;
inline constexpr size_t kQtypeBuckets = dns::kQtypeBuckets;

struct alignas(64) WorkerStats {
  std::string transport;  // "udp", "tcp", "dpdk", "xdp"
  Counter received;
  Counter dropped;
  Counter truncated;
  Counter outcome[kOutcomes];
  Counter rcode[16];
  Counter qtype[kQtypeBuckets];
  // Response rate limiting of this thread (UDP threads with `rrl:` on).
  dns::RrlCounters rrl;
  bool rrl_enabled = false;  // set before the thread starts

  void Count(const dns::AnswerResult& r);
};

// The names of the indices above: the keys of Render() and the labels of
// /metrics (control/server/metrics.h).
const char* OutcomeName(size_t outcome);  // "answer", "nxdomain", ...
const char* RcodeName(size_t rcode);      // "NOERROR", ..., "RCODE15"
const char* QtypeBucketName(size_t bucket);  // "A", ..., "other"

// WorkerStats summed, as plain numbers.
struct StatsTotals {
  uint64_t received = 0, dropped = 0, truncated = 0;
  uint64_t outcome[kOutcomes] = {};
  uint64_t rcode[16] = {};
  uint64_t qtype[kQtypeBuckets] = {};
  bool rrl_enabled = false;
  dns::RrlTotals rrl;
};

class StatsRegistry {
 public:
  // Thread-safe; the returned block lives as long as the registry.
  WorkerStats* Add(const std::string& transport);
  // "key value" lines: totals, by transport, by outcome, rcode and qtype.
  std::string Render() const;
  // The blocks summed by transport ("udp", "tcp", ...), read on the
  // caller's thread (a /metrics scrape).
  std::map<std::string, StatsTotals> TotalsByTransport() const;

 private:
  mutable std::mutex mu_;
  std::deque<WorkerStats> workers_;  // deque: stable addresses
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_STATS_H_
