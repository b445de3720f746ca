// Checking a transferred zone while it arrives. See incoming_zone.h.
#include "control/build/incoming_zone.h"

#include <utility>

namespace popdns::control {

IncomingZone::IncomingZone(std::string apex_wire, std::string origin)
    : source_(std::move(origin)),
      validator_(std::move(apex_wire), &warnings_),
      thread_([this] { Check(); }) {}

IncomingZone::~IncomingZone() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = true;
    abandoned_ = true;
  }
  ready_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void IncomingZone::Add(std::vector<ZoneRecord> records) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(std::move(records));
  }
  ready_.notify_one();
}

void IncomingZone::Check() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ready_.wait(lock, [this] { return !pending_.empty() || last_; });
    if (abandoned_) return;
    if (pending_.empty()) return;  // the last piece is checked
    std::vector<ZoneRecord> records = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    for (ZoneRecord& r : records) r.file = source_;
    validator_.Add(std::move(records));
    lock.lock();
  }
}

absl::StatusOr<std::vector<ZoneRecord>> IncomingZone::Finish(
    std::vector<std::string>* warnings, bool* modified) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = true;
  }
  ready_.notify_one();
  thread_.join();
  auto result = validator_.Finish(modified);
  if (warnings != nullptr) {
    warnings->insert(warnings->end(),
                     std::make_move_iterator(warnings_.begin()),
                     std::make_move_iterator(warnings_.end()));
  }
  return result;
}

}  // namespace popdns::control
