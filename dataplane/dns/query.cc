#include "dataplane/dns/query.h"

#include <cstring>

namespace popdns::dns {
namespace {

constexpr size_t kRrFixedSize = 10;  // type, class, ttl, rdlength

constexpr uint16_t kOptionExpire = 9;  // RFC 7314

// The first COOKIE option (RFC 7873 5.2: later ones are ignored), copied
// into the Query; its length decides FORMERR later (5.2.2), when cookies
// are on.
void NoteCookie(const uint8_t* data, size_t olen, Query* q) {
  if (q->cookie_len != 0 || q->cookie_malformed) return;
  if (olen == kMinCookieOption ||
      (olen >= kMinServerCookieOption && olen <= kMaxCookieOption)) {
    std::memcpy(q->cookie, data, olen);
    q->cookie_len = static_cast<uint8_t>(olen);
  } else {
    q->cookie_malformed = true;
  }
}

// Checks that the OPT RDATA is a sequence of whole {code, length, data}
// options (RFC 6891 6.1.2); of the options only EXPIRE, COOKIE, NSID,
// edns-tcp-keepalive, Padding and the first ECS are noted.
bool OptionsWellFormed(const uint8_t* p, size_t rdlen, Query* q) {
  size_t i = 0;
  while (i < rdlen) {
    if (rdlen - i < kOptionHeaderSize) return false;
    const uint16_t code = Load16(p + i);
    const size_t olen = Load16(p + i + 2);
    i += kOptionHeaderSize;
    if (rdlen - i < olen) return false;
    if (code == kOptionExpire) q->edns_expire = true;
    if (code == kOptionCookie) NoteCookie(p + i, olen, q);
    // RFC 5001 2.1: a request's NSID option is empty; like BIND and Knot
    // any NSID option asks. RFC 7828 3.2.1: a client sends
    // edns-tcp-keepalive without TIMEOUT; like BIND a TIMEOUT is ignored.
    if (code == kOptionNsid) q->edns_nsid = true;
    if (code == kOptionKeepalive) q->edns_keepalive = true;
    if (code == kOptionPadding) q->edns_padding = true;
    if (code == kEdnsClientSubnet && !q->edns_ecs) [[unlikely]] {
      q->edns_ecs = true;
      q->ecs_valid = ParseClientSubnet(p + i, olen, &q->ecs);
    }
    i += olen;
  }
  return true;
}

// Walks the answer, authority and additional sections. Returns false for
// FORMERR. Fills the EDNS fields of `q` from the OPT record, and has_tsig.
[[gnu::always_inline]] inline bool ParseRecords(const uint8_t* msg, size_t len,
                                               size_t pos, Query* q) {
  const uint32_t an_ns = uint32_t{GetAnCount(msg)} + GetNsCount(msg);
  const uint32_t total = an_ns + GetArCount(msg);
  // What nearly every query carries: nothing, or exactly one OPT record
  // owned by root that ends the message (so no TSIG: it would have to be
  // the last record). Anything else takes the walk.
  if (total == 0) return pos == len;
  if (total == 1 && an_ns == 0 && len - pos >= 1 + kRrFixedSize &&
      msg[pos] == 0 && Load16(msg + pos + 1) == rrtype::kOpt &&
      Load16(msg + pos + 9) == len - (pos + 1 + kRrFixedSize) &&
      OptionsWellFormed(msg + pos + 1 + kRrFixedSize,
                        len - (pos + 1 + kRrFixedSize), q)) {
    q->has_edns = true;
    q->edns_udp_size = Load16(msg + pos + 3);
    q->edns_version = msg[pos + 6];
    q->edns_do = (msg[pos + 7] & 0x80) != 0;
    return true;
  }
  for (uint32_t i = 0; i < total; ++i) {
    const size_t owner = pos;
    if (SkipName(msg, len, pos, &pos) != NameStatus::kOk) return false;
    if (len - pos < kRrFixedSize) return false;
    const uint16_t type = Load16(msg + pos);
    const size_t rdlen = Load16(msg + pos + 8);
    const size_t rdata = pos + kRrFixedSize;
    if (len - rdata < rdlen) return false;
    if (type == rrtype::kOpt) {
      // RFC 6891 6.1.1: one OPT, in the additional section, owned by root.
      if (i < an_ns || q->has_edns || msg[owner] != 0) return false;
      if (!OptionsWellFormed(msg + rdata, rdlen, q)) return false;
      q->has_edns = true;
      q->edns_udp_size = Load16(msg + pos + 2);
      q->edns_version = msg[pos + 5];
      q->edns_do = (msg[pos + 6] & 0x80) != 0;
    } else if (type == rrtype::kTsig) {
      // RFC 8945 5.1: the TSIG is the last record of the additional
      // section; anywhere else the message is FORMERR.
      if (i + 1 != total || i < an_ns) return false;
      q->has_tsig = true;
    }
    pos = rdata + rdlen;
  }
  // RFC 1035 4.1: the message is exactly its sections; trailing bytes mean
  // the counts lie.
  return pos == len;
}

}  // namespace

void ParseQuery(const uint8_t* msg, size_t len, Query* q) {
  q->has_edns = false;
  q->has_tsig = false;
  q->edns_expire = false;
  q->edns_do = false;
  q->edns_version = 0;
  q->question_end = 0;
  q->cookie_len = 0;
  q->cookie_malformed = false;
  q->cookie_state = CookieState::kNone;
  q->cookie_out = false;
  q->edns_nsid = false;
  q->edns_keepalive = false;
  q->edns_padding = false;
  q->nsid_out = false;
  q->keepalive_out = false;
  q->padding_out = false;
  q->opt_extra = 0;
  if (len < kHeaderSize) {
    q->verdict = QueryVerdict::kDrop;
    q->drop_reason = DropReason::kShort;
    return;
  }
  if (msg[kOffFlags1] & kFlagQr) {
    q->verdict = QueryVerdict::kDrop;
    q->drop_reason = DropReason::kResponse;
    return;
  }
  q->drop_reason = DropReason::kNone;
  const Opcode opcode = GetOpcode(msg);
  // RFC 1035 4.1.2 allows QDCOUNT > 1 but no server answers it; RFC 9619
  // makes exactly one question the rule for QUERY.
  if (GetQdCount(msg) != 1) {
    // Still find the OPT, so that the FORMERR carries one (as Knot does).
    if (GetQdCount(msg) != 0 || !ParseRecords(msg, len, kHeaderSize, q)) {
      q->has_edns = false;
      q->verdict = QueryVerdict::kFormErr;
      return;
    }
    // No question: FORMERR for QUERY, NOTIMP for opcodes we do not
    // implement. A NOTIFY or UPDATE without one is malformed too
    // (RFC 1996 3.7, RFC 2136 3.1.1), but it is the control side's to
    // answer, as is any signed message, whose error must be signed
    // (RFC 8945 5.3).
    if (q->has_tsig || opcode == Opcode::kNotify ||
        opcode == Opcode::kUpdate) {
      q->verdict = QueryVerdict::kSlowPath;
    } else {
      q->verdict = opcode == Opcode::kQuery ? QueryVerdict::kFormErr
                                            : QueryVerdict::kNotImp;
    }
    return;
  }
  size_t pos;
  if (ParseUncompressedName(msg, len, kHeaderSize, &q->qname, &pos) !=
          NameStatus::kOk ||
      len - pos < 4) {
    q->verdict = QueryVerdict::kFormErr;
    return;
  }
  q->qtype = Load16(msg + pos);
  q->qclass = Load16(msg + pos + 2);
  pos += 4;
  q->question_end = pos;
  if (!ParseRecords(msg, len, pos, q)) {
    q->verdict = QueryVerdict::kFormErr;
    q->has_edns = false;
    return;
  }
  // RFC 8945 5.2/5.3: only the control side has the keys to verify a
  // signed request and to sign its answer.
  if (q->has_tsig) {
    q->verdict = QueryVerdict::kSlowPath;
    return;
  }
  switch (opcode) {
    case Opcode::kQuery:
      break;
    case Opcode::kNotify:  // RFC 1996: only from configured primaries
    case Opcode::kUpdate:  // RFC 2136: only from configured clients
      q->verdict = QueryVerdict::kSlowPath;
      return;
    default:
      q->verdict = QueryVerdict::kNotImp;
      return;
  }
  // Zone transfers (RFC 5936, RFC 1995) are the control side's, over UDP
  // too: an IXFR may be answered over UDP (RFC 1995 2), an AXFR there is
  // refused by whoever knows the zone's transfer policy (RFC 5936 4.2).
  // RFC 7314: an SOA query asking EXPIRE is answered by the control side,
  // which knows how long the secondary copy has left.
  if (q->qtype == rrtype::kAxfr || q->qtype == rrtype::kIxfr ||
      (q->edns_expire && q->qtype == rrtype::kSoa)) {
    q->verdict = QueryVerdict::kSlowPath;
    return;
  }
  // RFC 6891 6.1.3: a version we do not implement gets BADVERS.
  q->verdict = q->has_edns && q->edns_version > 0 ? QueryVerdict::kBadVers
                                                  : QueryVerdict::kAnswer;
}

QueryVerdict LocalVerdict(const uint8_t* msg, const Query& q) {
  switch (GetOpcode(msg)) {
    case Opcode::kQuery:
      if (q.question_end == 0) return QueryVerdict::kFormErr;
      return q.has_edns && q.edns_version > 0 ? QueryVerdict::kBadVers
                                              : QueryVerdict::kAnswer;
    case Opcode::kNotify:  // RFC 1996: only from configured primaries
    case Opcode::kUpdate:  // RFC 2136: only from configured clients
      return QueryVerdict::kNotAuth;
    default:
      return QueryVerdict::kNotImp;
  }
}

}  // namespace popdns::dns
