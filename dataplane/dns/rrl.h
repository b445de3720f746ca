// Response rate limiting (RRL), as BIND, Knot and NSD define it: a token
// bucket per (client prefix, response class, name), refilled at `rate`
// responses per second up to one second's worth; a response over the
// rate is limited: every `slip`-th limited response of a bucket goes out
// "slipped" (TC=1 and no records, so that a real client retries over TCP;
// BADCOOKIE with a fresh server cookie instead when the query carried a
// client cookie, RFC 7873 5.2.3, so that it retries over UDP with it), the
// others are dropped. This keeps a server from being a reflection
// amplifier for spoofed queries, while a real client behind the prefix
// still gets through (TCP, or a valid server cookie, which bypasses RRL).
//
// Classes and names ("identical responses", BIND's rrl.c / ARM):
//   answer    per question name and type (answers synthesized from a
//             wildcard: per wildcard, so random names below it share one);
//   nxdomain  per zone;       nodata   per zone (the SOA owner);
//   referral  per delegation; error    per client prefix only (REFUSED,
//             FORMERR, NOTIMP, SERVFAIL, BADVERS).
// The engine computes the name (AnswerResult::rrl_name, AnswerConfig::rrl).
//
// The table (one per worker thread or lcore: shared-nothing, no locks) is
// fixed at start: table_size buckets of 16 bytes in sets of four (one
// cache line). A new key takes an empty bucket of its set, else one that
// is not limiting, the one that has refilled the most (a full bucket holds
// no information), on a tie the least recently used; a limiting bucket
// only when all four are. So a full table degrades, it does not fail: a
// key that is being limited keeps its bucket while idle or merely busy
// ones are taken over; a key whose bucket was taken starts again (a flood
// spread over many more keys than the table holds is limited less well);
// nothing blocks, allocates or grows; and a key that takes a bucket that
// was not full starts with half a second's worth (Knot's "slow start"
// after a collision).
//
// Per worker, the limit applies to what that worker sees: where RSS
// spreads one prefix's queries over W queues, the prefix gets up to
// W x rate. TCP is never limited (the caller does not call Apply).
//
// Rrl::Apply runs per UDP response on worker lcores and socket threads: no
// allocation, locks, Status or logging. Construction: control thread.
#ifndef POPDNS_DATAPLANE_DNS_RRL_H_
#define POPDNS_DATAPLANE_DNS_RRL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/counter.h"
#include "dataplane/dns/answer.h"

namespace popdns::dns {

enum class RrlClass : uint8_t {
  kNone,  // not a response (dropped, left to the control side)
  kAnswer,
  kNxDomain,
  kNoData,
  kReferral,
  kError,
};

// The class of a response, from what the engine did.
[[nodiscard]] inline RrlClass ClassOf(const AnswerResult& r) {
  switch (r.outcome) {
    case Outcome::kAnswer:
    case Outcome::kChaos:
      return RrlClass::kAnswer;
    case Outcome::kNxDomain:
      return RrlClass::kNxDomain;
    case Outcome::kNoData:
      return RrlClass::kNoData;
    case Outcome::kReferral:
      return RrlClass::kReferral;
    case Outcome::kFormErr:
    case Outcome::kNotImp:
    case Outcome::kBadVers:
    case Outcome::kRefused:
    case Outcome::kExpired:
      return RrlClass::kError;
    case Outcome::kDropped:
    case Outcome::kSlowPath:
      return RrlClass::kNone;
  }
  return RrlClass::kNone;
}

// An address prefix: 4 or 16 bytes, network order, the bits past `length`
// zero.
struct RrlPrefix {
  uint8_t addr[16] = {};
  uint8_t length = 0;
  bool ipv6 = false;
};

struct RrlSettings {
  uint32_t rate = 0;        // responses per second per bucket; 0: off
  uint32_t slip = 2;        // every slip-th limited response slips; 0: none
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  uint32_t table_size = 65536;  // buckets per worker (rounded up to 4^n)
  std::vector<RrlPrefix> whitelist;
  bool log_only = false;    // count what would be limited, limit nothing
};

// A worker's counters, read from any thread (stats, metrics).
struct alignas(64) RrlCounters {
  Counter limited;  // responses over the rate (log_only: would have been)
  Counter slipped;  // of those, sent truncated (or BADCOOKIE)
  Counter dropped;  // of those, not sent
};

// RrlCounters read as plain numbers, summed over workers.
struct RrlTotals {
  uint64_t limited = 0, slipped = 0, dropped = 0;
  void Add(const RrlCounters& c) {
    limited += c.limited.Get();
    slipped += c.slipped.Get();
    dropped += c.dropped.Get();
  }
  void Add(const RrlTotals& t) {
    limited += t.limited;
    slipped += t.slipped;
    dropped += t.dropped;
  }
};

enum class RrlAction : uint8_t { kSend, kDrop };

class Rrl {
 public:
  // Allocates the table (settings.table_size buckets). rate must be > 0.
  // Counts into `counters` (its worker's stats block) when given.
  explicit Rrl(const RrlSettings& settings, RrlCounters* counters = nullptr);

  // The verdict on the response `r` (in buf, r.size bytes) to `client`
  // (ip and ipv6; `now_ms` a monotonic clock in milliseconds, read once
  // per burst). kSend: send r.size bytes, which a slip rewrote into a
  // truncated (or BADCOOKIE) response; kDrop: send nothing.
  // Responses to a valid server cookie (RFC 7873 5.2.5) are not limited:
  // the client has shown that it receives our responses at its address,
  // so it is no spoofed source (BIND exempts them likewise).
  [[nodiscard]] RrlAction Apply(uint8_t* buf, AnswerResult& r,
                                const Client& client, uint32_t now_ms);
  // Apply for each of jobs[0, n) (their buf, result and client), the
  // verdicts in actions[0, n): the buckets of the whole burst are looked
  // up (and their cache lines fetched) first, so that their misses overlap
  // instead of coming one after another. A job's rrl_charge responses are
  // taken from its bucket first (at most what it holds), as if they had
  // been sent from here.
  void ApplyBurst(AnswerJob* jobs, size_t n, uint32_t now_ms,
                  RrlAction* actions);

  const RrlCounters& counters() const { return *counters_; }
  size_t buckets() const { return sets_ * kWays; }

  // The bucket arithmetic alone, for tests: account one response of
  // class `cls` with name hash `name` from `client` at `now_ms`; true if
  // it is within the rate. Ignores the whitelist.
  [[nodiscard]] bool Account(const Client& client, RrlClass cls,
                             uint64_t name, uint32_t now_ms,
                             bool* slip = nullptr);
  // Whether `client` is in the whitelist.
  [[nodiscard]] bool Whitelisted(const Client& client) const;

 private:
  static constexpr size_t kWays = 4;
  struct Bucket {
    uint32_t fp = 0;        // key fingerprint; 0: empty
    uint32_t stamp = 0;     // ms of the last refill
    uint32_t tokens = 0;    // in 1/1000 of a response
    uint16_t slips = 0;     // limited responses mod slip (the slip counter,
                            // kept across episodes, as BIND's)
    uint16_t limiting = 0;  // 1 from a limited response until the bucket is
                            // full again
  };
  static_assert(sizeof(Bucket) == 16);

  uint64_t Key(const Client& client, RrlClass cls, uint64_t name) const;
  // The responses RRL looks at (answered, no valid cookie, a known client)
  // and their class.
  static RrlClass Subject(const AnswerResult& r, const Client& client);
  bool AccountKey(uint64_t key, uint32_t now_ms, bool* slip,
                  uint32_t charge);
  RrlAction Limited(uint8_t* buf, AnswerResult& r, const Client& client,
                    bool slip);

  RrlSettings settings_;
  uint32_t capacity_ = 0;  // rate * 1000: one second's worth
  uint64_t v6_mask_[2] = {};
  uint32_t v4_mask_ = 0;
  uint64_t seed_ = 0;
  size_t sets_ = 0;
  struct Free {
    void operator()(Bucket* b) const;
  };
  std::unique_ptr<Bucket[], Free> table_;
  RrlCounters own_counters_;
  RrlCounters* counters_;
};

// Rewrites the response `r` in buf into what a slip sends (RFC 7873 5.2.3,
// BIND's and Knot's RRL): the header and question with TC=1 and no
// records, or, when the query carried a client cookie (r.cookie is not
// kNone), BADCOOKIE (RCODE 23) with the response's cookie option; the OPT
// record is kept (without other options). Updates r.size, r.rcode,
// r.truncated.
void SlipResponse(uint8_t* buf, AnswerResult& r);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_RRL_H_
