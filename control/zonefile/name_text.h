// Domain names and RR type mnemonics in presentation format <-> wire format.
// Used by the zone file parser (control/zone_file.cc), the RDATA codecs
// (control/rdata_text.cc), validation messages and tests. Control thread
// only: these allocate and return absl::Status.
#ifndef POPDNS_CONTROL_ZONEFILE_NAME_TEXT_H_
#define POPDNS_CONTROL_ZONEFILE_NAME_TEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace popdns::control {

inline constexpr size_t kMaxLabelLength = 63;
inline constexpr size_t kMaxNameLength = 255;

// Converts a presentation-format name to uncompressed wire format.
// `text` is the raw token as written: "\." and "\DDD" escapes are decoded,
// "@" is the origin, a name without a trailing dot gets `origin_wire`
// appended. Case is kept.
// Errors (InvalidArgument, message without position): empty label, label
// longer than 63 octets, name longer than 255 octets, bad escape, relative
// name with no origin.
absl::StatusOr<std::string> NameFromText(std::string_view text,
                                         std::string_view origin_wire);

// Presentation form of a wire-format name: absolute (trailing dot), with
// special characters escaped as "\X" and non-printable octets as "\DDD".
// The root is ".". `wire` must be a well-formed uncompressed name.
std::string NameToText(std::string_view wire);

// True if `name` equals `apex` or is below it (ASCII case-insensitive).
bool NameIsAtOrBelow(std::string_view name, std::string_view apex);

// ASCII-lowercased copy of a wire-format name (label lengths untouched).
std::string NameToLower(std::string_view wire);

// "A", "MX", ... or "TYPE123" (RFC 3597) for types without a mnemonic.
std::string TypeToText(uint16_t type);

// Mnemonic (case-insensitive) or "TYPEnnn"; nullopt if neither.
std::optional<uint16_t> TypeFromText(std::string_view text);

// "IN", "CH", "HS" or "CLASSnnn" (case-insensitive); nullopt otherwise.
std::optional<uint16_t> ClassFromText(std::string_view text);
std::string ClassToText(uint16_t rclass);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_NAME_TEXT_H_
