// Parsing a received query: header guards, exactly one question, the EDNS
// OPT record (RFC 6891) and a TSIG record (RFC 8945) in the additional
// section, and which messages are the control side's (kSlowPath).
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_QUERY_H_
#define POPDNS_DATAPLANE_DNS_QUERY_H_

#include <cstddef>
#include <cstdint>

#include "dataplane/dns/client_subnet.h"
#include "dataplane/dns/cookie.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"

namespace popdns::dns {

enum class QueryVerdict : uint8_t {
  kAnswer,   // a well-formed QUERY: look it up
  kDrop,     // not worth an answer (see DropReason)
  kFormErr,  // answer FORMERR
  kNotImp,   // answer NOTIMP (opcode other than QUERY, NOTIFY, UPDATE)
  kNotAuth,  // answer NOTAUTH (only from LocalVerdict: NOTIFY/UPDATE with
             // nobody to hand them to)
  kBadVers,  // answer BADVERS (EDNS version > 0)
  // Leave it untouched for the control side (control/server/slow_path.h):
  // NOTIFY (RFC 1996), UPDATE (RFC 2136), AXFR (RFC 5936) and IXFR
  // (RFC 1995) queries, and every TSIG-signed message (RFC 8945), which
  // only the control side can verify and sign the answer of.
  kSlowPath,
};

enum class DropReason : uint8_t {
  kNone,
  kShort,     // shorter than a header: nothing to answer to
  kResponse,  // QR=1: never answer a response (RFC 1035 4.1.1, loops)
};

struct Query {
  QueryVerdict verdict = QueryVerdict::kDrop;
  DropReason drop_reason = DropReason::kNone;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  // Offset just past the question; 0 when no question is to be echoed.
  size_t question_end = 0;
  bool has_edns = false;
  bool has_tsig = false;  // the additional section ends with a TSIG RR
  bool edns_expire = false;  // the OPT asks EXPIRE (RFC 7314)
  bool edns_do = false;
  bool edns_nsid = false;       // the OPT carries an NSID option (RFC 5001)
  bool edns_keepalive = false;  // ... an edns-tcp-keepalive (RFC 7828)
  bool edns_padding = false;    // ... a Padding option (RFC 7830)
  uint8_t edns_version = 0;
  uint16_t edns_udp_size = 0;
  // The first COOKIE option of the OPT record (RFC 7873 4), copied: the
  // response overwrites the query in place. cookie_len 0: none.
  uint8_t cookie_len = 0;
  bool cookie_malformed = false;  // a length RFC 7873 5.2.2 calls FORMERR
  // Set by ParseForConfig when cookies are on (AnswerConfig::cookies): the
  // verdict, and the server cookie Finish() writes into the response
  // (cookie_out).
  CookieState cookie_state = CookieState::kNone;
  bool cookie_out = false;
  // Set by ParseForConfig: the response carries our NSID (RFC 5001) or
  // edns-tcp-keepalive (RFC 7828, TCP only) option.
  bool nsid_out = false;
  bool keepalive_out = false;
  // The response is padded (RFC 7830 4), to at most this size.
  bool padding_out = false;
  uint16_t padding_limit = 0;
  // The first EDNS Client Subnet option (RFC 7871): seen, and whether it
  // is well-formed (client_subnet.h; `ecs` holds it then). Looked at only
  // when the server has client networks (AnswerConfig::client_subnet):
  // then a malformed one is FORMERR and the response carries the option
  // back (ecs_out) with ecs_scope, else it is ignored as by a server
  // without ECS (RFC 7871 7.1.3).
  bool edns_ecs = false;
  bool ecs_valid = false;
  bool ecs_out = false;
  // Set while answering, by the choice of a variant (SelectVariant).
  mutable uint8_t ecs_scope = 0;
  ClientSubnet ecs;
  // The sender's address (IPv4 mapped), when client networks are on and
  // the transport knows it: what a variant is chosen by without ECS.
  bool has_client_address = false;
  zone::Address client_address;
  // Octets of options the response's OPT record will carry besides an
  // EDE (COOKIE, NSID, keepalive, ECS), so that the answer leaves room
  // for them.
  uint16_t opt_extra = 0;
  uint8_t cookie[kMaxCookieOption];
  uint8_t server_cookie[kServerCookieSize];
  LowerName qname;
};

// Parses msg[0, len). Never reads outside it, never writes it.
// Malformed messages are kFormErr (also a TSIG anywhere but last in the
// additional section, RFC 8945 5.1) before anything is handed on:
// kSlowPath messages are well-formed as far as this parser looks.
void ParseQuery(const uint8_t* msg, size_t len, Query* q);

// The verdict of a kSlowPath message `q` (parsed from `msg`) for a server
// with no control side to hand it to (AnswerConfig::slow_path false), as
// popdns answered before it had one: NOTAUTH for NOTIFY and UPDATE
// (nobody is authorised), NOTIMP for other opcodes, FORMERR for a QUERY
// without a question, and a QUERY's own verdict otherwise, the TSIG record
// ignored (AnswerParsed then answers AXFR with NOTIMP, IXFR with NOTAUTH).
QueryVerdict LocalVerdict(const uint8_t* msg, const Query& q);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_QUERY_H_
