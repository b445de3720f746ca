// RDATA presentation format (RFC 1035 section 5 and each type's RFC) to
// uncompressed wire format, plus the RFC 3597 generic "\# len hex" form.
// Called by the zone file parser (control/zone_file.cc) on the control
// thread; allocates and returns absl::Status.
#ifndef POPDNS_CONTROL_ZONEFILE_RDATA_TEXT_H_
#define POPDNS_CONTROL_ZONEFILE_RDATA_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace popdns::control {

// One token of a zone file entry. `text` is raw: escapes are not decoded,
// and for a quoted token the quotes are stripped. Views point into the
// caller's buffer.
struct TextToken {
  std::string_view text;
  bool quoted = false;
  int line = 0;
  int col = 0;  // 1-based column of the token's first character
};

// Where and why an RDATA conversion failed. `token` indexes the offending
// token; tokens.size() means "a field is missing after the last token".
struct RdataError {
  size_t token = 0;
  std::string message;
};

// Converts the RDATA tokens of one record of type `type` to wire format.
// Names are relative to `origin_wire`. Text forms known: A NS CNAME SOA PTR
// HINFO MX TXT RP AFSDB AAAA LOC SRV NAPTR KX DNAME DS SSHFP RRSIG NSEC
// DNSKEY DHCID NSEC3 NSEC3PARAM TLSA SMIMEA CDS CDNSKEY OPENPGPKEY CSYNC
// ZONEMD SVCB HTTPS SPF URI CAA. "\# len hex" (RFC 3597) works for any
// type; for a known type the bytes must have that type's wire shape.
// On failure returns false and fills `error`.
// Errors: missing field, value out of range, bad address/name/base64/hex/
// base32hex/time/SvcParam, trailing garbage, a type without a text form,
// generic RDATA that does not fit its type.
bool RdataFromText(uint16_t type, absl::Span<const TextToken> tokens,
                   std::string_view origin_wire, std::string* wire,
                   RdataError* error);

// Parses a TTL: seconds, or units w/d/h/m/s in any case ("1h30m", "1W2D").
// Returns false on syntax error or a value above 2^32-1.
bool ParseTtlText(std::string_view text, uint32_t* ttl);

// Copy of `rdata` of type `type` with the domain names it embeds ASCII-
// lowercased, for comparing RRs the way DNS compares names (RFC 4343);
// nullopt if the type has no embedded names, is unknown or malformed.
std::optional<std::string> RdataWithLowercaseNames(uint16_t type,
                                                   std::string_view rdata);

// Appends `rdata` as DNS compares RRs (RFC 4343): the names it embeds
// lowercased when `type` has any (RdataWithLowercaseNames), else as is.
void AppendComparableRdata(uint16_t type, std::string_view rdata,
                           std::string* out);

// Whether wire `rdata` has the shape of `type` (its fields, names
// uncompressed, nothing left over), for RDATA that arrives in messages
// (UPDATE). Types without a known format are opaque: always true.
bool RdataWireValid(uint16_t type, std::string_view rdata);

// RFC 3597 generic form of wire RDATA: "\# 4 c0000201" ("\# 0" if empty).
std::string RdataToGenericText(std::string_view rdata);

// Decodes a <character-string>'s "\X"/"\DDD" escapes (RFC 1035 5.1).
// Errors: bad \DDD escape, dangling backslash.
absl::StatusOr<std::string> UnescapeCharString(std::string_view text);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_RDATA_TEXT_H_
