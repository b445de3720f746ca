// Wire-format RDATA to presentation format, as PowerDNS prints record
// "content" in its HTTP API (and as master files write it): names absolute
// with a trailing dot, character-strings quoted, hex lowercase, NSEC3
// hashes in uppercase base32hex, SVCB parameters as PowerDNS 4.7 writes
// them. Types without a printer here come out in RFC 3597 generic form.
// The inverse of control/zonefile/rdata_text.h for the types both know:
// RdataFromText(RdataToText(x)) == x.
// Control side, any thread (no shared state); allocates.
#ifndef POPDNS_CONTROL_ZONEFILE_RDATA_TO_TEXT_H_
#define POPDNS_CONTROL_ZONEFILE_RDATA_TO_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace popdns::control {

// Presentation form of `rdata` (uncompressed wire) of type `type`. RDATA
// that does not have its type's shape (truncated, trailing bytes) is
// printed in generic form, so that nothing is ever lost.
std::string RdataToText(uint16_t type, std::string_view rdata);

// A <character-string> body in presentation form, quoted: '"' and '\'
// escaped with a backslash, bytes outside printable ASCII as \DDD
// (RFC 1035 5.1; PowerDNS's txtEscape).
std::string QuoteCharString(std::string_view bytes);

// RFC 4648 7 ("Extended Hex"), no padding, uppercase as PowerDNS and BIND
// print NSEC3 hashes (RFC 5155 3.3).
std::string Base32Hex(std::string_view bytes);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_RDATA_TO_TEXT_H_
