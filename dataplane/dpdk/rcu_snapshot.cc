#include "dataplane/dpdk/rcu_snapshot.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <stdexcept>

namespace popdns::dpdk {

SnapshotManager::SnapshotManager(uint32_t max_readers)
    : max_readers_(max_readers) {
  const size_t size = rte_rcu_qsbr_get_memsize(max_readers);
  // The QSBR variable must be cache-line aligned (rte_rcu_qsbr.h).
  qsbr_ = static_cast<struct rte_rcu_qsbr*>(
      std::aligned_alloc(RTE_CACHE_LINE_SIZE,
                         (size + RTE_CACHE_LINE_SIZE - 1) &
                             ~size_t{RTE_CACHE_LINE_SIZE - 1}));
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, max_readers) != 0) {
    throw std::runtime_error("rte_rcu_qsbr_init failed");
  }
  // An empty snapshot, so that readers never see nullptr.
  Publish(std::make_shared<zone::ZoneSet>());
}

SnapshotManager::~SnapshotManager() { std::free(qsbr_); }

uint32_t SnapshotManager::RegisterReader() {
  const uint32_t id = next_reader_.fetch_add(1);
  if (id >= max_readers_ || rte_rcu_qsbr_thread_register(qsbr_, id) != 0) {
    throw std::runtime_error("too many snapshot readers");
  }
  return id;
}

void SnapshotManager::Publish(std::shared_ptr<const zone::ZoneSet> next) {
  std::shared_ptr<const zone::ZoneSet> old;
  {
    std::lock_guard<std::mutex> lock(owner_mu_);
    old = std::move(owner_);
    owner_ = std::move(next);
    // Release: the snapshot's contents are complete before the pointer is
    // visible to readers.
    current_.store(owner_.get(), std::memory_order_release);
  }
  // Grace period: every online reader passes a quiescent state (or goes
  // offline) after the store, so none still uses `old`. start/check are
  // the header-inline halves of rte_rcu_qsbr_synchronize(): same
  // semantics, but visible to ThreadSanitizer, and we sleep instead of
  // spinning while workers finish their burst.
  const auto start = std::chrono::steady_clock::now();
  const uint64_t token = rte_rcu_qsbr_start(qsbr_);
  while (rte_rcu_qsbr_check(qsbr_, token, false) == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  const uint64_t nanos = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - start)
          .count());
  const double seconds = static_cast<double>(nanos) * 1e-9;
  for (size_t i = 0; i < GracePeriodStats::kBounds.size(); ++i) {
    if (seconds <= GracePeriodStats::kBounds[i]) {
      grace_buckets_[i].fetch_add(1, std::memory_order_relaxed);
    }
  }
  grace_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  // Release: a scrape that sees the count sees the buckets and sum too.
  grace_count_.fetch_add(1, std::memory_order_release);
  old.reset();
}

GracePeriodStats SnapshotManager::grace_period_stats() const {
  GracePeriodStats out;
  // Acquire pairs with the release in Publish. A Publish running
  // meanwhile may show in some buckets and not yet in others or in the
  // count: clamp, so that the histogram stays cumulative (each bucket at
  // most the next one, the last at most the count).
  out.count = grace_count_.load(std::memory_order_acquire);
  out.sum_seconds =
      static_cast<double>(grace_nanos_.load(std::memory_order_relaxed)) * 1e-9;
  uint64_t above = out.count;
  for (size_t i = out.buckets.size(); i-- > 0;) {
    above = std::min(above, grace_buckets_[i].load(std::memory_order_relaxed));
    out.buckets[i] = above;
  }
  return out;
}

std::shared_ptr<const zone::ZoneSet> SnapshotManager::current_shared() const {
  std::lock_guard<std::mutex> lock(owner_mu_);
  return owner_;
}

}  // namespace popdns::dpdk
