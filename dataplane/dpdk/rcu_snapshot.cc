#include "dataplane/dpdk/rcu_snapshot.h"

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
  const uint64_t token = rte_rcu_qsbr_start(qsbr_);
  while (rte_rcu_qsbr_check(qsbr_, token, false) == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  old.reset();
}

std::shared_ptr<const zone::ZoneSet> SnapshotManager::current_shared() const {
  std::lock_guard<std::mutex> lock(owner_mu_);
  return owner_;
}

}  // namespace popdns::dpdk
