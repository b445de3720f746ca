// Every error of a zone instead of only the first, for `popdns --check`
// (as kzonecheck reports them). The zone file parser and the zone checks
// take an optional ErrorList: given one, they add each error to it and go
// on; without one they stop at the first error, which is what the load
// path wants. Control thread only; not thread-safe.
#ifndef POPDNS_CONTROL_ZONEFILE_ERROR_LIST_H_
#define POPDNS_CONTROL_ZONEFILE_ERROR_LIST_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace popdns::control {

class ErrorList {
 public:
  // Keeps the first `max_kept` messages and only counts the rest: a file
  // with an error on every line must not flood the terminal.
  explicit ErrorList(size_t max_kept = 20) : max_kept_(max_kept) {}

  void Add(const absl::Status& error) {
    ++count_;
    if (messages_.size() < max_kept_) {
      messages_.emplace_back(error.message());
    }
  }

  size_t count() const { return count_; }
  // The first max_kept messages, in the order they were found.
  const std::vector<std::string>& messages() const { return messages_; }
  // How many were counted but not kept.
  size_t not_kept() const { return count_ - messages_.size(); }

 private:
  size_t max_kept_;
  size_t count_ = 0;
  std::vector<std::string> messages_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_ERROR_LIST_H_
