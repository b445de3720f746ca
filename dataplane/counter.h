// A statistics counter with a single writer thread: a relaxed load/store
// pair, no locked instruction, readable from any thread.
// Per packet on worker threads.
#ifndef POPDNS_DATAPLANE_COUNTER_H_
#define POPDNS_DATAPLANE_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace popdns {

class Counter {
 public:
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n,
             std::memory_order_relaxed);
  }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace popdns

#endif  // POPDNS_DATAPLANE_COUNTER_H_
