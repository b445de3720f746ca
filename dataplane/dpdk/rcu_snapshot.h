// RCU publication of ZoneSet snapshots.
//
// Readers (DPDK worker lcores, kernel-socket workers) load the current
// snapshot with one acquire load and never block. The control thread builds
// the next snapshot to the side, publishes it with one release store, waits
// for a grace period (every online reader reported a quiescent state, DPDK
// rte_rcu_qsbr) and only then drops the old one.
//
// Reader side: any registered thread, per packet or burst. Writer side:
// the control thread only (Publish is not reentrant).
#ifndef POPDNS_DATAPLANE_DPDK_RCU_SNAPSHOT_H_
#define POPDNS_DATAPLANE_DPDK_RCU_SNAPSHOT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include <rte_rcu_qsbr.h>

#include "dataplane/zone/zone_set.h"

namespace popdns::dpdk {

// How long Publish waited for grace periods (a histogram for /metrics),
// measured on the writer side only: readers pay nothing for it.
struct GracePeriodStats {
  // Upper bounds of the buckets, in seconds (Prometheus "le"); a last,
  // implicit bucket is +Inf.
  static constexpr std::array<double, 12> kBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005,   0.01,   0.025,   0.05,   0.1,   1.0};
  std::array<uint64_t, kBounds.size()> buckets{};  // cumulative
  uint64_t count = 0;
  double sum_seconds = 0;
};

class SnapshotManager {
 public:
  explicit SnapshotManager(uint32_t max_readers);
  ~SnapshotManager();
  SnapshotManager(const SnapshotManager&) = delete;
  SnapshotManager& operator=(const SnapshotManager&) = delete;

  // Returns the reader id to pass to the calls below; ids are dense from 0.
  uint32_t RegisterReader();

  // A reader goes online before it reads snapshots and offline before it
  // blocks (in recvmmsg, epoll_wait), so that it never holds up a grace
  // period while idle.
  void Online(uint32_t reader) { rte_rcu_qsbr_thread_online(qsbr_, reader); }
  void Offline(uint32_t reader) { rte_rcu_qsbr_thread_offline(qsbr_, reader); }
  // After each burst: nothing read before this point is used after it.
  void Quiescent(uint32_t reader) { rte_rcu_qsbr_quiescent(qsbr_, reader); }

  const zone::ZoneSet* Current() const {
    // Acquire pairs with the release in Publish: a reader that sees the new
    // pointer sees the fully built snapshot behind it.
    return current_.load(std::memory_order_acquire);
  }

  // Publishes `next` and returns once no reader can still see the previous
  // snapshot, which is then released.
  void Publish(std::shared_ptr<const zone::ZoneSet> next);

  std::shared_ptr<const zone::ZoneSet> current_shared() const;

  // The grace periods waited so far. Any thread.
  GracePeriodStats grace_period_stats() const;

 private:
  struct rte_rcu_qsbr* qsbr_;
  uint32_t max_readers_;
  std::atomic<uint32_t> next_reader_{0};
  std::atomic<const zone::ZoneSet*> current_{nullptr};
  std::shared_ptr<const zone::ZoneSet> owner_;  // keeps current_ alive
  mutable std::mutex owner_mu_;                 // control side only
  // Written by Publish (one writer at a time), read by scrapes.
  std::array<std::atomic<uint64_t>, GracePeriodStats::kBounds.size()>
      grace_buckets_{};
  std::atomic<uint64_t> grace_count_{0};
  std::atomic<uint64_t> grace_nanos_{0};
};

}  // namespace popdns::dpdk

#endif  // POPDNS_DATAPLANE_DPDK_RCU_SNAPSHOT_H_
