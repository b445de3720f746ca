// Slow-path events counted for /metrics (control/server/metrics.h): zone
// reloads, and zone changes through RFC 2136 UPDATE and the provisioning
// API, by result. One increment per event, on the control thread, socket
// threads or HTTP threads: relaxed atomics, and no packet path touches
// them.
#ifndef POPDNS_CONTROL_SERVER_EVENT_COUNTERS_H_
#define POPDNS_CONTROL_SERVER_EVENT_COUNTERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace popdns::control {

enum class EventResult : uint8_t { kOk, kRefused, kError };
inline constexpr size_t kEventResults = 3;
inline constexpr const char* kEventResultNames[kEventResults] = {
    "ok", "refused", "error"};

struct EventCounters {
  using ByResult = std::atomic<uint64_t>[kEventResults];
  ByResult reloads{};      // SIGHUP, popdnsctl reload: ok or error
  ByResult updates{};      // RFC 2136 UPDATE, by the rcode sent
  ByResult api_changes{};  // provisioning API PATCH, by HTTP status

  static void Add(ByResult& c, EventResult r) {
    c[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
};

// The process's counters.
inline EventCounters& Events() {
  static EventCounters counters;
  return counters;
}

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_EVENT_COUNTERS_H_
