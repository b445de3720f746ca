// What the one-query and the burst entry points of the answer engine
// share (answer.cc, answer_burst.cc): answering a parsed query, with what a
// burst already looked up, and the response's header and OPT record.
// Not for callers outside dataplane/dns.
#ifndef POPDNS_DATAPLANE_DNS_ANSWER_PARSED_H_
#define POPDNS_DATAPLANE_DNS_ANSWER_PARSED_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/query.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/name_index.h"
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
  uint64_t parent_hash = 0;  // of the parent's name, when the name is missing
};

// The COOKIE option of `q` with cookies on (RFC 7873 5.2): FORMERR for a
// malformed one (5.2.2), else the verdict and the server cookie to answer
// with (cookie.h). Messages that are dropped or left to the control side
// are not looked at.
void ApplyCookie(const CookieSecrets& secrets, const Client& client,
                 Query* q);

// The options of our own that the response's OPT gets because the query
// asks for them: NSID if we have one (RFC 5001 2.2), edns-tcp-keepalive on
// TCP only (RFC 7828 3.3.1: a server ignores it over UDP; 3.3.2).
inline void ApplyOptionRequests(const AnswerConfig& config,
                                Transport transport, Query* q) {
  if (q->edns_nsid && config.nsid_option_size != 0) {
    q->nsid_out = true;
    q->opt_extra = static_cast<uint16_t>(q->opt_extra +
                                         config.nsid_option_size);
  }
  if (q->edns_keepalive && transport == Transport::kTcp &&
      config.tcp_keepalive) {
    q->keepalive_out = true;
    q->opt_extra = static_cast<uint16_t>(q->opt_extra +
                                         kKeepaliveOptionSize);
  }
  if (q->edns_padding) {
    // RFC 7830 4: "Responders MUST pad DNS responses when the respective
    // DNS query included the 'Padding' option, unless doing so would
    // violate the maximum UDP payload size": to RFC 8467 4.1's block, up
    // to the UDP limit; over TCP the answer leaves room for a whole block.
    q->padding_out = true;
    const bool tcp = transport == Transport::kTcp;
    q->padding_limit = static_cast<uint16_t>(
        tcp ? kMaxMessageSize
            : std::min<size_t>(
                  std::max<size_t>(q->edns_udp_size, kMinUdpPayload),
                  std::max<size_t>(config.udp_payload, kMinUdpPayload)));
    q->opt_extra = static_cast<uint16_t>(
        q->opt_extra + kOptionHeaderSize + (tcp ? kPaddingBlock - 1 : 0));
  }
}

// RFC 7871 with client networks on: a malformed ECS option is FORMERR
// (6: "SHOULD return FORMERR"), a well-formed one comes back in the
// response with the family, source prefix and address of the query and
// the answer's scope (7.2.1; 0 until an answer chose by it).
inline void ApplyClientSubnet(Query* q) {
  if (!q->ecs_valid) {
    if (q->verdict == QueryVerdict::kAnswer) q->verdict = QueryVerdict::kFormErr;
    return;
  }
  q->ecs_out = true;
  q->opt_extra = static_cast<uint16_t>(q->opt_extra +
                                       ClientSubnetOptionSize(q->ecs));
}

// ParseQuery, then what `config` says about kSlowPath: a server with
// nobody to hand such messages to answers them itself (LocalVerdict); then
// the NSID and keepalive requests, and the COOKIE option, if any and
// cookies are on.
inline void ParseForConfig(const AnswerConfig& config, Transport transport,
                           const uint8_t* msg, size_t len, Query* q,
                           const Client& client) {
  ParseQuery(msg, len, q);
  if (q->verdict == QueryVerdict::kSlowPath && !config.slow_path) {
    q->verdict = LocalVerdict(msg, *q);
  }
  if ((q->edns_nsid || q->edns_keepalive || q->edns_padding) &&
      q->has_edns) [[unlikely]] {
    ApplyOptionRequests(config, transport, q);
  }
  if (q->edns_ecs && q->has_edns && config.client_subnet) [[unlikely]] {
    ApplyClientSubnet(q);
  }
  if (config.networks != nullptr && client.ip != nullptr) [[unlikely]] {
    q->has_client_address = true;
    q->client_address = client.ipv6 ? zone::FromIpv6(client.ip)
                                    : zone::FromIpv4Bytes(client.ip);
  }
  if ((q->cookie_len != 0 || q->cookie_malformed) && q->has_edns &&
      config.cookies != nullptr) [[unlikely]] {
    ApplyCookie(*config.cookies, client, q);
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
  if (q.has_edns) limit -= kOptSize + q.opt_extra;
  return limit;
}

// Header flags, counts and the OPT record; returns the response size.
inline constexpr uint16_t kNoEde = 0xFFFF;
inline constexpr uint16_t kEdeNotAuthoritative = 20;  // RFC 8914 4.21
inline constexpr uint16_t kEdeInvalidData = 24;        // RFC 8914 4.25
inline constexpr uint16_t kOptionEde = 15;

// AnswerResult::rrl_name: what the response is accounted to, as BIND's RRL
// counts "identical responses": the question name and type for an answer
// (`special`: the wildcard that synthesized it), the zone for NXDOMAIN and
// NODATA, the delegation (`special`) for a referral; 0 for errors, which
// are all one bucket per client prefix.
[[gnu::always_inline]] inline uint64_t RrlName(Outcome outcome, const Query& q, std::string_view apex,
                 std::string_view special, uint64_t qname_hash) {
  constexpr uint64_t kTypeMul = 0x9E3779B97F4A7C15ULL;
  switch (outcome) {
    case Outcome::kAnswer:
    case Outcome::kChaos: {
      const uint64_t h =
          !special.empty()
              ? zone::NameIndex::Hash(special)
              : (qname_hash != 0 ? qname_hash
                                 : zone::NameIndex::Hash(q.qname.view()));
      return h ^ (uint64_t{q.qtype} + 1) * kTypeMul;
    }
    case Outcome::kNxDomain:
    case Outcome::kNoData:
      return zone::NameIndex::Hash(apex);
    case Outcome::kReferral:
      return zone::NameIndex::Hash(special);
    default:
      return 0;
  }
}

// Sets res.size (and what rate limiting reads: opt_at, question_end,
// cookie). Inlined: twelve arguments cost more to pass than the function
// does.
[[gnu::always_inline]] inline void Finish(
    AnswerResult& res, uint8_t* buf, const Query& q,
    const AnswerConfig& config, size_t end, uint16_t qd, uint16_t an,
    uint16_t ns, uint16_t ar, uint16_t rcode, bool aa, bool tc,
    uint16_t ede = kNoEde) {
  buf[kOffFlags1] = static_cast<uint8_t>(
      kFlagQr | (buf[kOffFlags1] & (0x78 | kFlagRd)) | (aa ? kFlagAa : 0) |
      (tc ? kFlagTc : 0));
  // RA, Z, AD and CD are a resolver's business (Knot clears them too).
  buf[kOffFlags2] = static_cast<uint8_t>(rcode & 0x0F);
  res.question_end = static_cast<uint16_t>(qd != 0 ? q.question_end
                                                   : kHeaderSize);
  res.cookie = q.cookie_state;
  res.opt_at = 0;
  if (q.has_edns) {
    res.opt_at = static_cast<uint16_t>(end);
    uint8_t* o = buf + end;
    o[0] = 0;  // root owner
    Store16(o + 1, rrtype::kOpt);
    Store16(o + 3, std::max<uint16_t>(config.udp_payload, kMinUdpPayload));
    o[5] = static_cast<uint8_t>(rcode >> 4);  // RFC 6891 6.1.3
    o[6] = 0;                                 // version 0
    o[7] = q.edns_do ? 0x80 : 0;              // RFC 3225 3: echo DO
    o[8] = 0;
    size_t rdlen = 0;
    if (ede != kNoEde) {
      // RFC 8914 2: {INFO-CODE, no EXTRA-TEXT}; error responses are small,
      // so the 6 bytes always fit.
      Store16(o + 11, kOptionEde);
      Store16(o + 13, 2);
      Store16(o + 15, ede);
      rdlen = 6;
    }
    if (q.opt_extra != 0) {
      // AnswerLimit left room for these (Query::opt_extra).
      uint8_t* c = o + 11 + rdlen;
      if (q.nsid_out) {
        // RFC 5001 2.2: our identifier, precompiled (SetNsid).
        std::memcpy(c, config.nsid_option, config.nsid_option_size);
        c += config.nsid_option_size;
      }
      if (q.keepalive_out) {
        // RFC 7828 3.3.2: the idle timeout of this TCP connection.
        Store16(c, kOptionKeepalive);
        Store16(c + 2, 2);
        Store16(c + 4, config.tcp_keepalive_timeout);
        c += kKeepaliveOptionSize;
      }
      if (q.ecs_out) {
        // RFC 7871 7.2.1 (AnswerLimit left its room).
        c += WriteClientSubnet(q.ecs, q.ecs_scope, c,
                               ClientSubnetOptionSize(q.ecs));
      }
      if (q.padding_out) {
        // RFC 7830 4 / RFC 8467 4.1 (ApplyOptionRequests kept the room).
        const size_t total = end + kOptSize +
                             static_cast<size_t>(c - (o + 11)) +
                             kOptionHeaderSize +
                             (q.cookie_out ? kCookieOptionSize : 0);
        size_t target = (total + kPaddingBlock - 1) / kPaddingBlock *
                        kPaddingBlock;
        if (target > q.padding_limit) target = q.padding_limit;
        if (target >= total) {
          Store16(c, kOptionPadding);
          Store16(c + 2, static_cast<uint16_t>(target - total));
          std::memset(c + kOptionHeaderSize, 0, target - total);
          c += kOptionHeaderSize + (target - total);
        }
      }
      if (q.cookie_out) {
        // RFC 7873 5.2.3-5.2.5: the client cookie and our server cookie.
        // Last: a rate-limited slip keeps only this one (SlipResponse).
        Store16(c, kOptionCookie);
        Store16(c + 2, kClientCookieSize + kServerCookieSize);
        std::memcpy(c + 4, q.cookie, kClientCookieSize);
        std::memcpy(c + 4 + kClientCookieSize, q.server_cookie,
                    kServerCookieSize);
        c += kCookieOptionSize;
      }
      rdlen = static_cast<size_t>(c - (o + 11));
    }
    Store16(o + 9, static_cast<uint16_t>(rdlen));
    end += kOptSize + rdlen;
    ++ar;
  }
  SetCounts(buf, qd, an, ns, ar);
  res.size = end;
}

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_ANSWER_PARSED_H_
