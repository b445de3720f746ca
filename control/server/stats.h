// Query counters: one cache-aligned block per worker thread, written only
// by that thread (relaxed atomics, no sharing), summed when `popdnsctl
// stats` asks. Count() runs per query on the worker; Render() on the
// control thread.
#ifndef POPDNS_CONTROL_SERVER_STATS_H_
#define POPDNS_CONTROL_SERVER_STATS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "dataplane/counter.h"
#include "dataplane/dns/answer.h"

namespace popdns::control {

inline constexpr size_t kOutcomes = 12;  // dns::Outcome
inline constexpr size_t kQtypeBuckets = 16;  // 15 common types + other

struct alignas(64) WorkerStats {
  std::string transport;  // "udp", "tcp", "dpdk", "xdp"
  Counter received;
  Counter dropped;
  Counter truncated;
  Counter outcome[kOutcomes];
  Counter rcode[16];
  Counter qtype[kQtypeBuckets];

  void Count(const dns::AnswerResult& r);
};

class StatsRegistry {
 public:
  // Thread-safe; the returned block lives as long as the registry.
  WorkerStats* Add(const std::string& transport);
  // "key value" lines: totals, by transport, by outcome, rcode and qtype.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::deque<WorkerStats> workers_;  // deque: stable addresses
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_STATS_H_
