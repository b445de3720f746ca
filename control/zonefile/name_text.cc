// Names and type mnemonics: presentation <-> wire. See name_text.h.
#include "control/zonefile/name_text.h"
#include "control/zonefile/text_util.h"

#include <array>

#include "absl/strings/ascii.h"

namespace popdns::control {
namespace {

using internal::Cat;
using internal::EqualsIgnoreCase;
using internal::StartsWithIgnoreCase;

struct TypeName {
  uint16_t type;
  std::string_view name;
};

// IANA "Resource Record (RR) TYPEs"; only mnemonics a zone file may use.
constexpr std::array<TypeName, 64> kTypeNames = {{
    {1, "A"},      {2, "NS"},          {3, "MD"},        {4, "MF"},
    {5, "CNAME"},  {6, "SOA"},         {7, "MB"},        {8, "MG"},
    {9, "MR"},     {10, "NULL"},       {11, "WKS"},      {12, "PTR"},
    {13, "HINFO"}, {14, "MINFO"},      {15, "MX"},       {16, "TXT"},
    {17, "RP"},    {18, "AFSDB"},      {19, "X25"},      {20, "ISDN"},
    {21, "RT"},    {22, "NSAP"},       {23, "NSAP-PTR"}, {24, "SIG"},
    {25, "KEY"},   {26, "PX"},         {27, "GPOS"},     {28, "AAAA"},
    {29, "LOC"},   {30, "NXT"},        {33, "SRV"},      {35, "NAPTR"},
    {36, "KX"},    {37, "CERT"},       {38, "A6"},       {39, "DNAME"},
    {42, "APL"},   {43, "DS"},         {44, "SSHFP"},    {45, "IPSECKEY"},
    {46, "RRSIG"}, {47, "NSEC"},       {48, "DNSKEY"},   {49, "DHCID"},
    {50, "NSEC3"}, {51, "NSEC3PARAM"}, {52, "TLSA"},     {53, "SMIMEA"},
    {55, "HIP"},   {59, "CDS"},        {60, "CDNSKEY"},  {61, "OPENPGPKEY"},
    {62, "CSYNC"}, {63, "ZONEMD"},     {64, "SVCB"},     {65, "HTTPS"},
    {99, "SPF"},   {108, "EUI48"},     {109, "EUI64"},   {256, "URI"},
    {257, "CAA"},  {258, "AVC"},       {32769, "DLV"},
    // popdns's private-use type for app-aware answers (zone/variant.h).
    {65350, "VARIANT"},
}};

// Parses the decimal suffix of "TYPEnnn"/"CLASSnnn" (1-5 digits, <= 65535).
std::optional<uint16_t> ParseU16Suffix(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  uint32_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 0xffff) return std::nullopt;
  return static_cast<uint16_t>(value);
}

bool NeedsBackslash(unsigned char c) {
  switch (c) {
    case '.':
    case '\\':
    case '"':
    case ';':
    case '(':
    case ')':
    case '$':
    case '@':
      return true;
    default:
      return false;
  }
}

// Decodes one escape starting after the backslash at text[*pos].
absl::StatusOr<unsigned char> DecodeEscape(std::string_view text, size_t* pos) {
  if (*pos >= text.size()) return absl::InvalidArgumentError("dangling '\\'");
  if (absl::ascii_isdigit(static_cast<unsigned char>(text[*pos]))) {
    if (*pos + 3 > text.size()) {
      return absl::InvalidArgumentError("bad \\DDD escape");
    }
    int value = 0;
    for (int i = 0; i < 3; ++i) {
      char d = text[*pos + i];
      if (!absl::ascii_isdigit(static_cast<unsigned char>(d))) {
        return absl::InvalidArgumentError("bad \\DDD escape");
      }
      value = value * 10 + (d - '0');
    }
    if (value > 255) return absl::InvalidArgumentError("bad \\DDD escape");
    *pos += 3;
    return static_cast<unsigned char>(value);
  }
  return static_cast<unsigned char>(text[(*pos)++]);
}

}  // namespace

absl::StatusOr<std::string> NameFromText(std::string_view text,
                                         std::string_view origin_wire) {
  if (text == "@") {
    if (origin_wire.empty()) {
      return absl::InvalidArgumentError("'@' used with no origin set");
    }
    return std::string(origin_wire);
  }
  if (text == ".") return std::string(1, '\0');
  if (text.empty()) return absl::InvalidArgumentError("empty name");
  std::string wire;
  wire.reserve(text.size() + 2 + origin_wire.size());
  size_t label_start = 0;  // index of the current label's length octet
  wire.push_back('\0');
  bool absolute = false;
  size_t pos = 0;
  while (pos < text.size()) {
    char c = text[pos++];
    if (c == '.') {
      size_t length = wire.size() - label_start - 1;
      if (length == 0) {
        return absl::InvalidArgumentError(
            Cat("empty label in name '", text, "'"));
      }
      if (pos == text.size()) {
        absolute = true;
        break;
      }
      label_start = wire.size();
      wire.push_back('\0');
      continue;
    }
    unsigned char octet = static_cast<unsigned char>(c);
    if (c == '\\') {
      auto decoded = DecodeEscape(text, &pos);
      if (!decoded.ok()) {
        return absl::InvalidArgumentError(
            Cat(decoded.status().message(), " in name '", text, "'"));
      }
      octet = *decoded;
    }
    wire.push_back(static_cast<char>(octet));
    if (wire.size() - label_start - 1 > kMaxLabelLength) {
      return absl::InvalidArgumentError(
          Cat("label longer than 63 octets in name '", text, "'"));
    }
    wire[label_start] = static_cast<char>(wire.size() - label_start - 1);
  }
  if (absolute) {
    wire.push_back('\0');
  } else {
    if (origin_wire.empty()) {
      return absl::InvalidArgumentError(
          Cat("relative name '", text, "' with no origin set"));
    }
    wire.append(origin_wire);
  }
  if (wire.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        Cat("name longer than 255 octets: '", text, "'"));
  }
  return wire;
}

std::string NameToText(std::string_view wire) {
  // The root name (or nothing) is ".". Returned as a new string, not
  // assigned into `out` after the loop: for `out = "."` GCC 12 at -O3
  // inlines basic_string::_M_replace, whose branch for a source inside the
  // string's own buffer it cannot rule out for a 1-char literal, and warns
  // about that dead branch with impossible sizes (-Wrestrict, GCC PR 105329,
  // fixed in GCC 13). Constructing a string has no aliasing branch.
  if (wire.empty() || wire[0] == 0) return std::string(".");
  std::string out;
  size_t pos = 0;
  while (pos < wire.size()) {
    size_t length = static_cast<unsigned char>(wire[pos++]);
    if (length == 0) break;
    for (size_t i = 0; i < length && pos < wire.size(); ++i, ++pos) {
      unsigned char c = static_cast<unsigned char>(wire[pos]);
      if (c <= 0x20 || c >= 0x7f) {
        out.push_back('\\');
        out.push_back(static_cast<char>('0' + c / 100));
        out.push_back(static_cast<char>('0' + c / 10 % 10));
        out.push_back(static_cast<char>('0' + c % 10));
      } else {
        if (NeedsBackslash(c)) out.push_back('\\');
        out.push_back(static_cast<char>(c));
      }
    }
    out.push_back('.');
  }
  return out;  // not empty: the first label (length > 0) added its '.'
}

bool NameIsAtOrBelow(std::string_view name, std::string_view apex) {
  if (apex.size() > name.size()) return false;
  // Walk labels of `name` until the remaining suffix has the apex's length;
  // comparing only at a label boundary avoids "xexample.com" matching.
  size_t pos = 0;
  while (name.size() - pos > apex.size()) {
    size_t length = static_cast<unsigned char>(name[pos]);
    if (length == 0) return false;
    pos += length + 1;
  }
  if (name.size() - pos != apex.size()) return false;
  return EqualsIgnoreCase(name.substr(pos), apex);
}

std::string NameToLower(std::string_view wire) {
  std::string out(wire);
  // Label length octets are <= 63, below 'A', so lowering every octet is safe.
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

std::string TypeToText(uint16_t type) {
  for (const TypeName& entry : kTypeNames) {
    if (entry.type == type) return std::string(entry.name);
  }
  return Cat("TYPE", type);
}

std::optional<uint16_t> TypeFromText(std::string_view text) {
  for (const TypeName& entry : kTypeNames) {
    if (EqualsIgnoreCase(entry.name, text)) return entry.type;
  }
  if (text.size() > 4 && StartsWithIgnoreCase(text, "TYPE")) {
    return ParseU16Suffix(text.substr(4));
  }
  return std::nullopt;
}

std::optional<uint16_t> ClassFromText(std::string_view text) {
  if (EqualsIgnoreCase(text, "IN")) return 1;
  if (EqualsIgnoreCase(text, "CH")) return 3;
  if (EqualsIgnoreCase(text, "HS")) return 4;
  if (text.size() > 5 && StartsWithIgnoreCase(text, "CLASS")) {
    return ParseU16Suffix(text.substr(5));
  }
  return std::nullopt;
}

std::string ClassToText(uint16_t rclass) {
  switch (rclass) {
    case 1:
      return "IN";
    case 3:
      return "CH";
    case 4:
      return "HS";
    default:
      return Cat("CLASS", rclass);
  }
}

}  // namespace popdns::control
