#include "control/server/slow_path_queue.h"

#include <cstring>
#include <utility>

namespace popdns::control {

SlowPathQueue::SlowPathQueue(
    std::function<std::vector<std::vector<uint8_t>>(const SlowPathRequest&)>
        handle,
    int threads, size_t capacity)
    : handle_(std::move(handle)),
      thread_count_(threads),
      capacity_(capacity) {}

SlowPathQueue::~SlowPathQueue() { Stop(); }

void SlowPathQueue::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  for (int i = 0; i < thread_count_; ++i) {
    threads_.emplace_back(&SlowPathQueue::Run, this);
  }
}

void SlowPathQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    running_ = false;
    items_.clear();
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

bool SlowPathQueue::Push(const SlowPathRequest& request, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_ || items_.size() >= capacity_ ||
        request.peer_len > sizeof(sockaddr_storage)) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    Item item{std::vector<uint8_t>(request.msg, request.msg + request.len),
              {}, request.peer_len, request.tcp, std::move(done)};
    std::memcpy(&item.peer, request.peer, request.peer_len);
    items_.push_back(std::move(item));
  }
  ready_.notify_one();
  return true;
}

void SlowPathQueue::Run() {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [&] { return !running_ || !items_.empty(); });
      if (!running_) return;
      item = std::move(items_.front());
      items_.pop_front();
    }
    const SlowPathRequest request{
        .msg = item.msg.data(),
        .len = item.msg.size(),
        .peer = reinterpret_cast<const sockaddr*>(&item.peer),
        .peer_len = item.peer_len,
        .tcp = item.tcp};
    item.done(handle_(request), request);
  }
}

}  // namespace popdns::control
