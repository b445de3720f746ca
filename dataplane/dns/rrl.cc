#include "dataplane/dns/rrl.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <random>

#include "dataplane/dns/answer_parsed.h"
#include "dataplane/dns/wire.h"

namespace popdns::dns {
namespace {

constexpr uint32_t kTokensPerResponse = 1000;

uint64_t Mix(uint64_t x) {
  // splitmix64's finalizer: every input bit reaches every output bit.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Byte masks of a prefix length over `bytes` bytes.
void PrefixMask(uint8_t length, size_t bytes, uint8_t* mask) {
  for (size_t i = 0; i < bytes; ++i) {
    const int bits = static_cast<int>(length) - static_cast<int>(8 * i);
    mask[i] = bits >= 8 ? 0xFF
              : bits <= 0
                  ? 0
                  : static_cast<uint8_t>(0xFF << (8 - bits));
  }
}

}  // namespace

void Rrl::Free::operator()(Bucket* b) const {
  ::operator delete[](b, std::align_val_t{64});
}

Rrl::Rrl(const RrlSettings& settings, RrlCounters* counters)
    : settings_(settings),
      counters_(counters != nullptr ? counters : &own_counters_) {
  capacity_ = settings_.rate * kTokensPerResponse;
  uint8_t m[16];
  PrefixMask(settings_.ipv4_prefix, 4, m);
  std::memcpy(&v4_mask_, m, 4);
  PrefixMask(settings_.ipv6_prefix, 16, m);
  std::memcpy(v6_mask_, m, 16);
  // Sets of four, a power of two of them.
  sets_ = 1;
  while (sets_ * kWays < settings_.table_size) sets_ <<= 1;
  void* mem = ::operator new[](sets_ * kWays * sizeof(Bucket),
                               std::align_val_t{64});
  table_.reset(static_cast<Bucket*>(mem));
  std::memset(mem, 0, sets_ * kWays * sizeof(Bucket));
  // A secret seed: without it a flood could be crafted to land in one set
  // and push out the buckets of the clients it wants limited less well.
  std::random_device rd;
  seed_ = (uint64_t{rd()} << 32) ^ rd();
}

bool Rrl::Whitelisted(const Client& client) const {
  for (const RrlPrefix& p : settings_.whitelist) {
    if (p.ipv6 != client.ipv6) continue;
    uint8_t mask[16];
    const size_t n = client.ipv6 ? 16 : 4;
    PrefixMask(p.length, n, mask);
    bool match = true;
    for (size_t i = 0; i < n && match; ++i) {
      match = (client.ip[i] & mask[i]) == p.addr[i];
    }
    if (match) return true;
  }
  return false;
}

[[gnu::always_inline]] inline uint64_t Rrl::Key(const Client& client,
                                               RrlClass cls,
                                               uint64_t name) const {
  uint64_t a, b, family;
  if (client.ipv6) {
    std::memcpy(&a, client.ip, 8);
    std::memcpy(&b, client.ip + 8, 8);
    a &= v6_mask_[0];
    b &= v6_mask_[1];
    family = 1;
  } else {
    uint32_t v4;
    std::memcpy(&v4, client.ip, 4);
    a = v4 & v4_mask_;
    b = 0;
    family = 0;
  }
  const uint64_t tag = uint64_t{static_cast<uint8_t>(cls)} << 56 |
                       family << 48;
  return Mix(((a ^ seed_) * 0x9E3779B97F4A7C15ULL) ^ Mix(b ^ tag ^ name));
}

bool Rrl::Account(const Client& client, RrlClass cls, uint64_t name,
                  uint32_t now_ms, bool* slip) {
  return AccountKey(Key(client, cls, name), now_ms, slip, 0);
}

[[gnu::always_inline]] inline bool Rrl::AccountKey(uint64_t key,
                                                  uint32_t now_ms,
                                                  bool* slip,
                                                  uint32_t charge) {
  Bucket* set = &table_[(key & (sets_ - 1)) * kWays];
  const uint32_t fp = static_cast<uint32_t>(key >> 32) | 1;  // never 0
  Bucket* b = nullptr;
  for (size_t w = 0; w < kWays; ++w) {
    if (set[w].fp == fp) {
      b = &set[w];
      break;
    }
  }
  if (b == nullptr) [[unlikely]] {
    // A new key: an empty bucket, else one that is not limiting, the one
    // that has refilled the most (a full bucket holds nothing worth
    // keeping: forgetting it changes no verdict), on a tie the least
    // recently used. A bucket that is limiting is taken last: forgetting
    // it would let its flood through again.
    Bucket* victim = nullptr;
    uint64_t best = 0, best_score = 0;
    for (size_t w = 0; w < kWays; ++w) {
      Bucket& c = set[w];
      if (c.fp == 0) {
        victim = &c;
        best = capacity_;
        break;
      }
      const uint32_t age = now_ms - c.stamp;
      uint64_t t = age >= 1000 ? capacity_
                               : uint64_t{c.tokens} + uint64_t{age} *
                                                          settings_.rate;
      if (t > capacity_) t = capacity_;
      const bool limiting = c.limiting != 0 && t < capacity_;
      const uint64_t score = (limiting ? 0 : uint64_t{1} << 40) + t;
      if (victim == nullptr || score > best_score ||
          (score == best_score && age > now_ms - victim->stamp)) {
        victim = &c;
        best = t;
        best_score = score;
      }
    }
    // Taken from a key that was still paying off its responses: the
    // table is full where this key landed; start it at half (Knot's
    // "slow start" after a collision), not with a whole second's worth.
    victim->tokens = best < capacity_ ? capacity_ / 2 : capacity_;
    victim->fp = fp;
    victim->stamp = now_ms;
    victim->slips = 0;
    victim->limiting = 0;
    b = victim;
  } else {
    // Refill: `rate` tokens per millisecond (a response costs 1000), up to
    // one second's worth. Unsigned differences survive the clock's wrap.
    const uint32_t elapsed = now_ms - b->stamp;
    const uint64_t t =
        elapsed >= 1000
            ? capacity_
            : uint64_t{b->tokens} + uint64_t{elapsed} * settings_.rate;
    if (t >= capacity_) {
      b->tokens = capacity_;
      b->limiting = 0;  // a limiting episode ends when the bucket is full
    } else {
      b->tokens = static_cast<uint32_t>(t);
    }
    b->stamp = now_ms;
  }
  if (charge != 0) [[unlikely]] {
    // Sent by the XDP program before it handed this client over: paid
    // now, down to an empty bucket (at most a second's worth is owed).
    const uint64_t owed = uint64_t{charge} * kTokensPerResponse;
    b->tokens = owed >= b->tokens ? 0 : b->tokens - static_cast<uint32_t>(owed);
  }
  if (b->tokens >= kTokensPerResponse) {
    b->tokens -= kTokensPerResponse;
    return true;
  }
  b->limiting = 1;
  if (settings_.slip != 0 && ++b->slips >= settings_.slip) b->slips = 0;
  if (slip != nullptr) *slip = settings_.slip != 0 && b->slips == 0;
  return false;
}

[[gnu::always_inline]] inline RrlClass Rrl::Subject(const AnswerResult& r,
                                                   const Client& client) {
  if (r.size == 0 || r.cookie == CookieState::kValid || client.ip == nullptr) {
    return RrlClass::kNone;
  }
  return ClassOf(r);
}

RrlAction Rrl::Apply(uint8_t* buf, AnswerResult& r, const Client& client,
                     uint32_t now_ms) {
  const RrlClass cls = Subject(r, client);
  if (cls == RrlClass::kNone) return RrlAction::kSend;
  bool slip = false;
  if (Account(client, cls, r.rrl_name, now_ms, &slip)) [[likely]] {
    return RrlAction::kSend;
  }
  return Limited(buf, r, client, slip);
}

void Rrl::ApplyBurst(AnswerJob* jobs, size_t n, uint32_t now_ms,
                     RrlAction* actions) {
  constexpr size_t kChunk = 32;
  uint64_t keys[kChunk];
  bool subject[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    const size_t m = n - base < kChunk ? n - base : kChunk;
    for (size_t i = 0; i < m; ++i) {
      const AnswerJob& j = jobs[base + i];
      const RrlClass cls = Subject(j.result, j.client);
      subject[i] = cls != RrlClass::kNone;
      if (subject[i]) {
        keys[i] = Key(j.client, cls, j.result.rrl_name);
        __builtin_prefetch(&table_[(keys[i] & (sets_ - 1)) * kWays], 1, 3);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      AnswerJob& j = jobs[base + i];
      bool slip = false;
      actions[base + i] =
          !subject[i] || AccountKey(keys[i], now_ms, &slip, j.rrl_charge)
              ? RrlAction::kSend
              : Limited(j.buf, j.result, j.client, slip);
    }
  }
}

RrlAction Rrl::Limited(uint8_t* buf, AnswerResult& r, const Client& client,
                       bool slip) {
  // Over the rate: the whitelist only now, so that it costs nothing to
  // the responses within it.
  if (Whitelisted(client)) return RrlAction::kSend;
  counters_->limited.Add();
  if (settings_.log_only) return RrlAction::kSend;
  if (slip) {
    counters_->slipped.Add();
    SlipResponse(buf, r);
    return RrlAction::kSend;
  }
  counters_->dropped.Add();
  return RrlAction::kDrop;
}

// The slip says why (RFC 8914, with EDNS): EDE 0 "Other Error" with the
// EXTRA-TEXT "RRL" (4.1: the registry has no code for rate limiting; 18
// "Prohibited" is for REFUSED to unauthorized clients), when it fits in
// the size of the response it replaces: a slip is never larger. No NSID:
// like BIND 9.18 and Knot's mod-rrl, the slip is the smallest message
// that makes a real client retry.
constexpr char kSlipEdeText[] = "RRL";
constexpr size_t kSlipEdeSize = 4 + 2 + sizeof(kSlipEdeText) - 1;

void SlipResponse(uint8_t* buf, AnswerResult& r) {
  const bool badcookie = r.cookie != CookieState::kNone;
  const size_t replaced = r.size;
  size_t end = r.question_end;
  uint16_t ar = 0;
  if (r.opt_at != 0) {
    // The OPT record right after the question: its fixed part, then the
    // cookie option, which Finish() wrote last.
    const uint8_t* opt = buf + r.opt_at;
    const size_t rdlen = Load16(opt + 9);
    uint8_t cookie[kCookieOptionSize];
    const bool has_cookie = badcookie && rdlen >= kCookieOptionSize;
    if (has_cookie) {
      std::memcpy(cookie, opt + kOptSize + rdlen - kCookieOptionSize,
                  kCookieOptionSize);
    }
    std::memmove(buf + end, opt, kOptSize);
    uint8_t* o = buf + end;
    o[5] = badcookie ? static_cast<uint8_t>(kRcodeBadCookie >> 4) : 0;
    end += kOptSize;
    const bool ede = end + kSlipEdeSize +
                         (has_cookie ? kCookieOptionSize : 0) <= replaced;
    Store16(o + 9, static_cast<uint16_t>((ede ? kSlipEdeSize : 0) +
                                         (has_cookie ? kCookieOptionSize : 0)));
    if (ede) {
      Store16(buf + end, kOptionEde);
      Store16(buf + end + 2, static_cast<uint16_t>(kSlipEdeSize - 4));
      Store16(buf + end + 4, 0);  // Other Error
      std::memcpy(buf + end + 6, kSlipEdeText, sizeof(kSlipEdeText) - 1);
      end += kSlipEdeSize;
    }
    if (has_cookie) {
      std::memcpy(buf + end, cookie, kCookieOptionSize);
      end += kCookieOptionSize;
    }
    ar = 1;
  }
  if (badcookie) {
    // RFC 7873 5.2.3: BADCOOKIE carries the fresh server cookie; the
    // client retries with it, over UDP, and is then not limited.
    buf[kOffFlags1] = static_cast<uint8_t>(buf[kOffFlags1] & ~kFlagTc);
    buf[kOffFlags2] = static_cast<uint8_t>(kRcodeBadCookie & 0x0F);
    r.rcode = static_cast<uint8_t>(kRcodeBadCookie & 0x0F);
    r.truncated = false;
  } else {
    // RFC 1035 4.1.1 / BIND's and Knot's slip: TC=1, no records; the
    // client retries over TCP, which is never limited.
    buf[kOffFlags1] = static_cast<uint8_t>(buf[kOffFlags1] | kFlagTc);
    r.truncated = true;
  }
  SetCounts(buf, r.question_end > kHeaderSize ? 1 : 0, 0, 0, ar);
  r.size = end;
  r.opt_at = static_cast<uint16_t>(ar ? r.question_end : 0);
}

}  // namespace popdns::dns
