// What the one-query and the burst entry points of the answer engine
// share (answer.cc, answer_burst.cc): answering a parsed query, with what a
// burst already looked up, and the response's header and OPT record.
// Not for callers outside dataplane/dns.
#ifndef POPDNS_DATAPLANE_DNS_ANSWER_PARSED_H_
#define POPDNS_DATAPLANE_DNS_ANSWER_PARSED_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/query.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::dns {

inline constexpr size_t kOptSize = 11;

// What AnswerBurst's first stage already knows of a query, so that
// answering it does not look for it again.
struct Lookup {
  const zone::Zone* zone = nullptr;  // FindZone's result; nullptr: not looked up
  size_t apex_label = 0;
  uint64_t hash = 0;           // NameIndex::Hash of the question name, or 0
  const zone::Node* node = nullptr;  // the index's likely answer (prefetching)
};

// ParseQuery, then what `config` says about kSlowPath: a server with
// nobody to hand such messages to answers them itself (LocalVerdict).
inline void ParseForConfig(const AnswerConfig& config, const uint8_t* msg,
                           size_t len, Query* q) {
  ParseQuery(msg, len, q);
  if (q->verdict == QueryVerdict::kSlowPath && !config.slow_path) {
    q->verdict = LocalVerdict(msg, *q);
  }
}

// Answers `q`, parsed from buf, in place (see Answer()).
AnswerResult AnswerParsed(const zone::ZoneSet& zones,
                          const AnswerConfig& config, Transport transport,
                          const Query& q, uint8_t* buf, size_t buf_size,
                          const Lookup& known);

inline size_t UdpLimit(const Query& q, const AnswerConfig& config) {
  if (!q.has_edns) return kMinUdpPayload;
  // RFC 6891 6.2.3/6.2.5: sizes below 512 are treated as 512.
  const size_t client = std::max<size_t>(q.edns_udp_size, kMinUdpPayload);
  return std::min<size_t>(client, std::max<size_t>(config.udp_payload,
                                                   kMinUdpPayload));
}

// Where the answer sections must end: the transport's limit, less the OPT
// record that Finish() adds.
inline size_t AnswerLimit(const Query& q, const AnswerConfig& config,
                   Transport transport, size_t buf_size) {
  size_t limit = transport == Transport::kTcp
                     ? std::min<size_t>(buf_size, kMaxMessageSize)
                     : std::min(buf_size, UdpLimit(q, config));
  if (q.has_edns) limit -= kOptSize;
  return limit;
}

// Header flags, counts and the OPT record; returns the response size.
inline constexpr uint16_t kNoEde = 0xFFFF;
inline constexpr uint16_t kEdeNotAuthoritative = 20;  // RFC 8914 4.21
inline constexpr uint16_t kOptionEde = 15;

// Inlined: twelve arguments cost more to pass than the function does.
[[gnu::always_inline]] inline size_t Finish(
    uint8_t* buf, const Query& q, const AnswerConfig& config, size_t end,
    uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar, uint16_t rcode,
    bool aa, bool tc, uint16_t ede = kNoEde) {
  buf[kOffFlags1] = static_cast<uint8_t>(
      kFlagQr | (buf[kOffFlags1] & (0x78 | kFlagRd)) | (aa ? kFlagAa : 0) |
      (tc ? kFlagTc : 0));
  // RA, Z, AD and CD are a resolver's business (Knot clears them too).
  buf[kOffFlags2] = static_cast<uint8_t>(rcode & 0x0F);
  if (q.has_edns) {
    uint8_t* o = buf + end;
    o[0] = 0;  // root owner
    Store16(o + 1, rrtype::kOpt);
    Store16(o + 3, std::max<uint16_t>(config.udp_payload, kMinUdpPayload));
    o[5] = static_cast<uint8_t>(rcode >> 4);  // RFC 6891 6.1.3
    o[6] = 0;                                 // version 0
    o[7] = q.edns_do ? 0x80 : 0;              // RFC 3225 3: echo DO
    o[8] = 0;
    Store16(o + 9, 0);
    end += kOptSize;
    if (ede != kNoEde) {
      // RFC 8914 2: {INFO-CODE, no EXTRA-TEXT}; error responses are small,
      // so the 6 bytes always fit.
      Store16(o + 9, 6);
      Store16(o + 11, kOptionEde);
      Store16(o + 13, 2);
      Store16(o + 15, ede);
      end += 6;
    }
    ++ar;
  }
  SetCounts(buf, qd, an, ns, ar);
  return end;
}

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_ANSWER_PARSED_H_
