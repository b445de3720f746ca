// Question sampling for answers in the XDP program (issue 17): a worker
// copies one answered question in `every` into its own single-producer,
// single-consumer ring; the control thread drains the rings and counts
// which (name, type) pairs are hot (control/server/xdp_hot_answers.h).
//
// Per query it costs a decrement and a branch; per sample a copy of the
// name (at most kMaxName octets) and one release store. A full ring drops
// the sample: sampling is statistics, and the worker never waits.
#ifndef POPDNS_DATAPLANE_DNS_QUESTION_SAMPLER_H_
#define POPDNS_DATAPLANE_DNS_QUESTION_SAMPLER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace popdns::dns {

class QuestionSampler {
 public:
  static constexpr size_t kMaxName = 64;  // longer names are never hot
  static constexpr uint32_t kSlots = 256;

  struct Sample {
    uint8_t len = 0;
    uint16_t qtype = 0;
    char name[kMaxName];  // wire format, lowercased
  };

  explicit QuestionSampler(uint32_t every) : every_(every), left_(every) {}

  // Worker: the question of a response in `msg` (`question_end` as the
  // engine reports it; the name starts at offset 12).
  void Offer(const uint8_t* msg, size_t question_end, uint16_t qtype) {
    if (every_ == 0 || --left_ != 0) return;
    left_ = every_;
    if (question_end < 12 + 1 + 4) return;
    const size_t len = question_end - 4 - 12;
    if (len > kMaxName) return;
    const uint32_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == kSlots) return;
    Sample& s = slots_[head % kSlots];
    for (size_t i = 0; i < len; ++i) {
      const uint8_t b = msg[12 + i];
      // Label lengths are at most 63, below 'A': only letters change.
      s.name[i] = static_cast<char>(b >= 'A' && b <= 'Z' ? b | 0x20 : b);
    }
    s.len = static_cast<uint8_t>(len);
    s.qtype = qtype;
    head_.store(head + 1, std::memory_order_release);
  }

  // Control thread: every sample so far, oldest first.
  template <typename F>
  size_t Drain(F f) {
    const uint32_t head = head_.load(std::memory_order_acquire);
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    size_t n = 0;
    for (; tail != head; ++tail, ++n) {
      const Sample& s = slots_[tail % kSlots];
      f(std::string_view(s.name, s.len), s.qtype);
    }
    tail_.store(tail, std::memory_order_release);
    return n;
  }

 private:
  const uint32_t every_;
  uint32_t left_;  // worker only
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
  Sample slots_[kSlots];
};

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_QUESTION_SAMPLER_H_
