// The labels of the per-thread query counters, the same on every path
// (kernel sockets, DPDK and XDP workers), so that `popdnsctl stats` keys
// and /metrics labels mean the same whatever the transport: what the
// engine did (Outcome), the response code, and the query type (the
// common ones one by one, everything else as "other": one table lookup
// per query).
#ifndef POPDNS_DATAPLANE_DNS_COUNTER_LABELS_H_
#define POPDNS_DATAPLANE_DNS_COUNTER_LABELS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/dns/wire.h"

namespace popdns::dns {

inline constexpr size_t kOutcomeCount = 12;  // Outcome, answer.h
inline constexpr const char* kOutcomeNames[kOutcomeCount] = {
    "dropped", "formerr", "notimp",   "badvers",  "refused", "answer",
    "nodata",  "nxdomain", "referral", "chaos",   "slow_path", "expired"};
inline constexpr const char* kRcodeNames[16] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",  "NOTZONE", "RCODE11",
    "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};
inline const char* OutcomeName(size_t outcome) {
  return outcome < kOutcomeCount ? kOutcomeNames[outcome] : "unknown";
}
inline const char* RcodeName(size_t rcode) { return kRcodeNames[rcode & 0x0F]; }

inline constexpr size_t kQtypeBuckets = 16;  // 15 types + "other"
inline constexpr uint16_t kQtypeBucketTypes[kQtypeBuckets - 1] = {
    rrtype::kA,     rrtype::kNs,    rrtype::kCname, rrtype::kSoa,
    rrtype::kPtr,   rrtype::kMx,    rrtype::kTxt,   rrtype::kAaaa,
    rrtype::kSrv,   rrtype::kDs,    rrtype::kDnskey, rrtype::kSvcb,
    rrtype::kHttps, rrtype::kCaa,   rrtype::kAny};
inline constexpr const char* kQtypeBucketNames[kQtypeBuckets] = {
    "A",   "NS", "CNAME",  "SOA",  "PTR",   "MX",  "TXT", "AAAA",
    "SRV", "DS", "DNSKEY", "SVCB", "HTTPS", "CAA", "ANY", "other"};

namespace internal {
// Every bucketed type is below 258 (CAA is 257).
inline constexpr size_t kQtypeTableSize = 258;
constexpr std::array<uint8_t, kQtypeTableSize> MakeQtypeTable() {
  std::array<uint8_t, kQtypeTableSize> t{};
  for (auto& b : t) b = kQtypeBuckets - 1;
  for (size_t i = 0; i < kQtypeBuckets - 1; ++i) {
    t[kQtypeBucketTypes[i]] = static_cast<uint8_t>(i);
  }
  return t;
}
inline constexpr std::array<uint8_t, kQtypeTableSize> kQtypeTable =
    MakeQtypeTable();
}  // namespace internal

inline size_t QtypeBucket(uint16_t qtype) {
  return qtype < internal::kQtypeTableSize ? internal::kQtypeTable[qtype]
                                           : kQtypeBuckets - 1;
}

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_COUNTER_LABELS_H_
