// Parsing a received query: header guards, exactly one question, and the
// EDNS OPT record (RFC 6891) in the additional section.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_QUERY_H_
#define POPDNS_DATAPLANE_DNS_QUERY_H_

#include <cstddef>
#include <cstdint>

#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"

namespace popdns::dns {

enum class QueryVerdict : uint8_t {
  kAnswer,   // a well-formed QUERY: look it up
  kDrop,     // not worth an answer (see DropReason)
  kFormErr,  // answer FORMERR
  kNotImp,   // answer NOTIMP (opcode other than QUERY)
  kNotAuth,  // answer NOTAUTH (NOTIFY/UPDATE: nobody is authorised yet)
  kBadVers,  // answer BADVERS (EDNS version > 0)
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
  bool edns_do = false;
  uint8_t edns_version = 0;
  uint16_t edns_udp_size = 0;
  LowerName qname;
};

// Parses msg[0, len). Never reads outside it.
void ParseQuery(const uint8_t* msg, size_t len, Query* q);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_QUERY_H_
