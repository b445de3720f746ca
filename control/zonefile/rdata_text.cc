// RDATA presentation -> wire. See rdata_text.h.
//
// Most types are a fixed sequence of fields, so each type is a row of field
// kinds (kRdataFormats) run by one small interpreter; only SVCB/HTTPS
// parameters need their own code.
#include "control/zonefile/rdata_text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/text_util.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/variant.h"

namespace popdns::control {
namespace {

using internal::Cat;
using internal::EqualsIgnoreCase;

enum class Field : uint8_t {
  kU8,
  kU16,
  kU32,
  kTtl,        // u32 with optional units: 1h30m
  kAlgorithm,  // DNSSEC algorithm number or mnemonic (RFC 4034 A.1)
  kType,       // RR type mnemonic, u16 (RRSIG type covered)
  kTime,       // YYYYMMDDHHmmSS or integer seconds (RFC 4034 3.2)
  kName,
  kIpv4,
  kIpv6,
  kCharString,   // length-prefixed <character-string>
  kCharStrings,  // one or more, to the end (TXT)
  kRestString,   // one string without length prefix, to the end (CAA, URI)
  kCaaTag,
  kBase64Rest,
  kHexRest,
  kSalt,       // "-" or hex, length-prefixed (NSEC3)
  kHash,       // base32hex, length-prefixed (NSEC3 next hashed owner)
  kBitmap,     // type bitmap to the end (RFC 4034 4.1.2)
  kSvcParams,  // RFC 9460 SvcParams to the end
  kLoc,        // RFC 1876 location, all of the RDATA
};

struct FieldSpec {
  Field kind;
  const char* name;
};

struct RdataFormat {
  uint16_t type;
  std::array<FieldSpec, 9> fields;
  int count;
};

using F = Field;
// Types whose presentation format is understood. Others need "\#".
const RdataFormat kRdataFormats[] = {
    {1, {{{F::kIpv4, "IPv4 address"}}}, 1},
    {2, {{{F::kName, "nameserver name"}}}, 1},
    {5, {{{F::kName, "CNAME target"}}}, 1},
    {6,
     {{{F::kName, "SOA MNAME"},
       {F::kName, "SOA RNAME"},
       {F::kU32, "SOA serial"},
       {F::kTtl, "SOA refresh"},
       {F::kTtl, "SOA retry"},
       {F::kTtl, "SOA expire"},
       {F::kTtl, "SOA minimum"}}},
     7},
    {12, {{{F::kName, "PTR target"}}}, 1},
    {13, {{{F::kCharString, "HINFO CPU"}, {F::kCharString, "HINFO OS"}}}, 2},
    {15, {{{F::kU16, "MX preference"}, {F::kName, "MX exchange"}}}, 2},
    {16, {{{F::kCharStrings, "TXT string"}}}, 1},
    {17, {{{F::kName, "RP mailbox"}, {F::kName, "RP TXT name"}}}, 2},
    {18, {{{F::kU16, "AFSDB subtype"}, {F::kName, "AFSDB hostname"}}}, 2},
    {28, {{{F::kIpv6, "IPv6 address"}}}, 1},
    {33,
     {{{F::kU16, "SRV priority"},
       {F::kU16, "SRV weight"},
       {F::kU16, "SRV port"},
       {F::kName, "SRV target"}}},
     4},
    {35,
     {{{F::kU16, "NAPTR order"},
       {F::kU16, "NAPTR preference"},
       {F::kCharString, "NAPTR flags"},
       {F::kCharString, "NAPTR services"},
       {F::kCharString, "NAPTR regexp"},
       {F::kName, "NAPTR replacement"}}},
     6},
    {36, {{{F::kU16, "KX preference"}, {F::kName, "KX exchanger"}}}, 2},
    {39, {{{F::kName, "DNAME target"}}}, 1},
    {43,
     {{{F::kU16, "DS key tag"},
       {F::kAlgorithm, "DS algorithm"},
       {F::kU8, "DS digest type"},
       {F::kHexRest, "DS digest"}}},
     4},
    {44,
     {{{F::kU8, "SSHFP algorithm"},
       {F::kU8, "SSHFP fingerprint type"},
       {F::kHexRest, "SSHFP fingerprint"}}},
     3},
    {46,
     {{{F::kType, "RRSIG type covered"},
       {F::kAlgorithm, "RRSIG algorithm"},
       {F::kU8, "RRSIG labels"},
       {F::kTtl, "RRSIG original TTL"},
       {F::kTime, "RRSIG expiration"},
       {F::kTime, "RRSIG inception"},
       {F::kU16, "RRSIG key tag"},
       {F::kName, "RRSIG signer name"},
       {F::kBase64Rest, "RRSIG signature"}}},
     9},
    {47, {{{F::kName, "NSEC next name"}, {F::kBitmap, "NSEC type"}}}, 2},
    {48,
     {{{F::kU16, "DNSKEY flags"},
       {F::kU8, "DNSKEY protocol"},
       {F::kAlgorithm, "DNSKEY algorithm"},
       {F::kBase64Rest, "DNSKEY public key"}}},
     4},
    {49, {{{F::kBase64Rest, "DHCID data"}}}, 1},
    {50,
     {{{F::kU8, "NSEC3 hash algorithm"},
       {F::kU8, "NSEC3 flags"},
       {F::kU16, "NSEC3 iterations"},
       {F::kSalt, "NSEC3 salt"},
       {F::kHash, "NSEC3 next hashed owner"},
       {F::kBitmap, "NSEC3 type"}}},
     6},
    {51,
     {{{F::kU8, "NSEC3PARAM hash algorithm"},
       {F::kU8, "NSEC3PARAM flags"},
       {F::kU16, "NSEC3PARAM iterations"},
       {F::kSalt, "NSEC3PARAM salt"}}},
     4},
    {52,
     {{{F::kU8, "TLSA usage"},
       {F::kU8, "TLSA selector"},
       {F::kU8, "TLSA matching type"},
       {F::kHexRest, "TLSA certificate data"}}},
     4},
    {53,
     {{{F::kU8, "SMIMEA usage"},
       {F::kU8, "SMIMEA selector"},
       {F::kU8, "SMIMEA matching type"},
       {F::kHexRest, "SMIMEA certificate data"}}},
     4},
    {59,
     {{{F::kU16, "CDS key tag"},
       {F::kAlgorithm, "CDS algorithm"},
       {F::kU8, "CDS digest type"},
       {F::kHexRest, "CDS digest"}}},
     4},
    {60,
     {{{F::kU16, "CDNSKEY flags"},
       {F::kU8, "CDNSKEY protocol"},
       {F::kAlgorithm, "CDNSKEY algorithm"},
       {F::kBase64Rest, "CDNSKEY public key"}}},
     4},
    {61, {{{F::kBase64Rest, "OPENPGPKEY key"}}}, 1},
    {62,
     {{{F::kU32, "CSYNC serial"},
       {F::kU16, "CSYNC flags"},
       {F::kBitmap, "CSYNC type"}}},
     3},
    {63,
     {{{F::kU32, "ZONEMD serial"},
       {F::kU8, "ZONEMD scheme"},
       {F::kU8, "ZONEMD hash algorithm"},
       {F::kHexRest, "ZONEMD digest"}}},
     4},
    {64,
     {{{F::kU16, "SVCB priority"},
       {F::kName, "SVCB target"},
       {F::kSvcParams, "SVCB parameter"}}},
     3},
    {65,
     {{{F::kU16, "HTTPS priority"},
       {F::kName, "HTTPS target"},
       {F::kSvcParams, "HTTPS parameter"}}},
     3},
    {29, {{{F::kLoc, "LOC"}}}, 1},
    {99, {{{F::kCharStrings, "SPF string"}}}, 1},
    {256,
     {{{F::kU16, "URI priority"},
       {F::kU16, "URI weight"},
       {F::kRestString, "URI target"}}},
     3},
    {257,
     {{{F::kU8, "CAA flags"},
       {F::kCaaTag, "CAA tag"},
       {F::kRestString, "CAA value"}}},
     3},
};

const RdataFormat* FindFormat(uint16_t type) {
  for (const RdataFormat& format : kRdataFormats) {
    if (format.type == type) return &format;
  }
  return nullptr;
}

void AppendU16(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void AppendU32(std::string* out, uint32_t v) {
  AppendU16(out, v >> 16);
  AppendU16(out, v & 0xffff);
}

bool ParseDecimal(std::string_view text, uint64_t max, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (max - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *value = v;
  return true;
}

bool ParseIpv4(std::string_view text, std::string* out) {
  char buffer[INET_ADDRSTRLEN + 1];
  if (text.size() >= sizeof(buffer)) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  unsigned char bytes[4];
  if (inet_pton(AF_INET, buffer, bytes) != 1) return false;
  out->append(reinterpret_cast<const char*>(bytes), 4);
  return true;
}

bool ParseIpv6(std::string_view text, std::string* out) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.size() >= sizeof(buffer)) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  unsigned char bytes[16];
  if (inet_pton(AF_INET6, buffer, bytes) != 1) return false;
  out->append(reinterpret_cast<const char*>(bytes), 16);
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeHex(std::string_view text, std::string* out) {
  if (text.size() % 2 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = HexValue(text[i]);
    int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

// RFC 4648 section 7 "base32hex", unpadded as NSEC3 writes it (RFC 5155 3.3).
bool DecodeBase32Hex(std::string_view text, std::string* out) {
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'v') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'V') {
      v = c - 'A' + 10;
    } else {
      return false;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>(buffer >> bits));
      buffer &= (1u << bits) - 1;
    }
  }
  // Leftover bits must be padding zeros, and a whole quantum cannot leave
  // five or more, else the text had a stray character.
  return bits < 5 && buffer == 0;
}

std::optional<uint8_t> AlgorithmFromText(std::string_view text) {
  static constexpr std::pair<std::string_view, uint8_t> kAlgorithms[] = {
      {"RSAMD5", 1},
      {"DH", 2},
      {"DSA", 3},
      {"RSASHA1", 5},
      {"DSA-NSEC3-SHA1", 6},
      {"RSASHA1-NSEC3-SHA1", 7},
      {"RSASHA256", 8},
      {"RSASHA512", 10},
      {"ECC-GOST", 12},
      {"ECDSAP256SHA256", 13},
      {"ECDSAP384SHA384", 14},
      {"ED25519", 15},
      {"ED448", 16},
      {"INDIRECT", 252},
      {"PRIVATEDNS", 253},
      {"PRIVATEOID", 254},
  };
  uint64_t value;
  if (ParseDecimal(text, 255, &value)) return static_cast<uint8_t>(value);
  for (const auto& [name, number] : kAlgorithms) {
    if (EqualsIgnoreCase(name, text)) return number;
  }
  return std::nullopt;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// RFC 4034 3.2: 14 digits are a UTC date; anything else is seconds. Times
// are serial numbers modulo 2^32 (RFC 1982), so later years wrap.
bool ParseTime(std::string_view text, uint32_t* out) {
  uint64_t value;
  if (text.size() != 14) {
    if (!ParseDecimal(text, 0xffffffffu, &value)) return false;
    *out = static_cast<uint32_t>(value);
    return true;
  }
  if (!ParseDecimal(text, UINT64_MAX, &value)) return false;
  auto part = [&](size_t pos, size_t len) {
    uint64_t v = 0;
    ParseDecimal(text.substr(pos, len), UINT64_MAX, &v);
    return static_cast<int64_t>(v);
  };
  int64_t year = part(0, 4), month = part(4, 2), day = part(6, 2);
  int64_t hour = part(8, 2), minute = part(10, 2), second = part(12, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 +
                    minute * 60 + second;
  *out = static_cast<uint32_t>(static_cast<uint64_t>(seconds));
  return true;
}

void AppendTypeBitmap(std::vector<uint16_t> types, std::string* out) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  size_t i = 0;
  while (i < types.size()) {
    int window = types[i] >> 8;
    uint8_t bits[32] = {};
    int length = 0;
    for (; i < types.size() && (types[i] >> 8) == window; ++i) {
      int low = types[i] & 0xff;
      bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
      length = low / 8 + 1;
    }
    out->push_back(static_cast<char>(window));
    out->push_back(static_cast<char>(length));
    out->append(reinterpret_cast<const char*>(bits),
                static_cast<size_t>(length));
  }
}

// Splits an RFC 9460 appendix A.1 value-list on commas; "\," and "\\" in
// the already char-string-decoded value stand for a literal comma/backslash.
std::vector<std::string> SplitValueList(std::string_view value) {
  std::vector<std::string> items(1);
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      items.back().push_back(value[++i]);
    } else if (c == ',') {
      items.emplace_back();
    } else {
      items.back().push_back(c);
    }
  }
  return items;
}

constexpr std::pair<std::string_view, uint16_t> kSvcKeys[] = {
    {"mandatory", 0}, {"alpn", 1},     {"no-default-alpn", 2},
    {"port", 3},      {"ipv4hint", 4}, {"ech", 5},
    {"ipv6hint", 6},  {"dohpath", 7},  {"ohttp", 8},
};

std::optional<uint16_t> SvcKeyFromText(std::string_view text) {
  for (const auto& [name, key] : kSvcKeys) {
    if (text == name) return key;
  }
  uint64_t value;
  if (text.starts_with("key") && text.size() > 3 &&
      ParseDecimal(text.substr(3), 65534, &value)) {
    return static_cast<uint16_t>(value);
  }
  return std::nullopt;
}

// ---- Wire-format checks for "\#" RDATA of known types ----
// Later stages (snapshot building, additional-section processing) trust that
// an NS or MX RDATA holds a well-formed name, so generic RDATA of a known
// type must have that type's shape, as BIND also requires.

class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  bool Skip(size_t n) {
    if (data_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  bool LengthPrefixed(size_t min_length) {
    if (pos_ >= data_.size()) return false;
    size_t n = static_cast<unsigned char>(data_[pos_++]);
    return n >= min_length && Skip(n);
  }
  bool Name() {
    size_t start = pos_;
    while (pos_ < data_.size()) {
      size_t n = static_cast<unsigned char>(data_[pos_++]);
      if (n > kMaxLabelLength || !Skip(n)) return false;  // also pointers
      if (n == 0) return pos_ - start <= kMaxNameLength;
    }
    return false;
  }
  bool Bitmap() {
    int last_window = -1;
    while (!AtEnd()) {
      if (data_.size() - pos_ < 2) return false;
      int window = static_cast<unsigned char>(data_[pos_]);
      size_t n = static_cast<unsigned char>(data_[pos_ + 1]);
      pos_ += 2;
      if (window <= last_window || n == 0 || n > 32 || !Skip(n)) return false;
      last_window = window;
    }
    return true;
  }
  bool SvcParams() {
    while (!AtEnd()) {
      if (!Skip(2) || data_.size() - pos_ < 2) return false;
      size_t n = static_cast<size_t>(static_cast<unsigned char>(data_[pos_]))
                     << 8 |
                 static_cast<unsigned char>(data_[pos_ + 1]);
      if (!Skip(2 + n)) return false;
    }
    return true;
  }
  bool AtEnd() const { return pos_ == data_.size(); }
  size_t pos() const { return pos_; }
  void SkipRest() { pos_ = data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

bool WireField(Field kind, WireReader* reader) {
  switch (kind) {
    case Field::kU8:
    case Field::kAlgorithm:
      return reader->Skip(1);
    case Field::kU16:
    case Field::kType:
      return reader->Skip(2);
    case Field::kU32:
    case Field::kTtl:
    case Field::kTime:
    case Field::kIpv4:
      return reader->Skip(4);
    case Field::kIpv6:
      return reader->Skip(16);
    case Field::kName:
      return reader->Name();
    case Field::kCharString:
    case Field::kSalt:
      return reader->LengthPrefixed(0);
    case Field::kCaaTag:
    case Field::kHash:
      return reader->LengthPrefixed(1);
    case Field::kCharStrings:
      do {
        if (!reader->LengthPrefixed(0)) return false;
      } while (!reader->AtEnd());
      return true;
    case Field::kRestString:
    case Field::kBase64Rest:
    case Field::kHexRest:
      reader->SkipRest();
      return true;
    case Field::kBitmap:
      return reader->Bitmap();
    case Field::kSvcParams:
      return reader->SvcParams();
    case Field::kLoc:
      return reader->Skip(16);
  }
  return false;
}

bool WireMatchesFormat(const RdataFormat& format, std::string_view rdata) {
  WireReader reader(rdata);
  for (int i = 0; i < format.count; ++i) {
    if (!WireField(format.fields[static_cast<size_t>(i)].kind, &reader)) {
      return false;
    }
  }
  return reader.AtEnd();
}

bool HasNameField(const RdataFormat& format) {
  for (int i = 0; i < format.count; ++i) {
    if (format.fields[static_cast<size_t>(i)].kind == Field::kName) {
      return true;
    }
  }
  return false;
}

class RdataParser {
 public:
  RdataParser(absl::Span<const TextToken> tokens, std::string_view origin,
              std::string* wire, RdataError* error)
      : tokens_(tokens), origin_(origin), wire_(wire), error_(error) {}

  bool Run(const RdataFormat& format) {
    for (int i = 0; i < format.count; ++i) {
      if (!ParseField(format.fields[static_cast<size_t>(i)])) return false;
    }
    if (next_ < tokens_.size()) {
      return Fail(next_,
                  Cat("unexpected '", tokens_[next_].text, "' after RDATA"));
    }
    return true;
  }

  bool RunGeneric() {
    ++next_;  // the "\#"
    const TextToken* length_token = Take("generic RDATA length");
    if (length_token == nullptr) return false;
    uint64_t length;
    if (!ParseDecimal(length_token->text, 0xffff, &length)) {
      return Fail(next_ - 1, Cat("invalid generic RDATA length '",
                                 length_token->text, "'"));
    }
    size_t first = next_;
    if (!TakeRest(&scratch_) || !DecodeHex(scratch_, wire_)) {
      return Fail(first, "invalid hex in generic RDATA");
    }
    if (wire_->size() != length) {
      return Fail(first, Cat("generic RDATA length mismatch: "
                             "declared ",
                             length, ", got ", wire_->size()));
    }
    return true;
  }

 private:
  bool Fail(size_t token, std::string message) {
    error_->token = token;
    error_->message = std::move(message);
    return false;
  }

  // Next token, or nullptr with a "missing <what>" error.
  const TextToken* Take(const char* what) {
    if (next_ >= tokens_.size()) {
      Fail(tokens_.size(), Cat("missing ", what));
      return nullptr;
    }
    return &tokens_[next_++];
  }

  // Concatenates all remaining tokens (base64/hex split by blanks).
  bool TakeRest(std::string* out) {
    out->clear();
    for (; next_ < tokens_.size(); ++next_) out->append(tokens_[next_].text);
    return true;
  }

  bool Invalid(const FieldSpec& spec, const TextToken& token) {
    return Fail(Index(token),
                Cat("invalid ", spec.name, " '", token.text, "'"));
  }

  size_t Index(const TextToken& token) const {
    return static_cast<size_t>(&token - tokens_.data());
  }
  bool ParseField(const FieldSpec& spec);
  bool ParseScalar(const FieldSpec& spec, const TextToken& token);
  bool ParseName(const FieldSpec& spec, const TextToken& token);
  bool ParseCaaTag(const FieldSpec& spec, const TextToken& token);
  bool ParseSaltOrHash(const FieldSpec& spec, const TextToken& token);
  bool ParseNumber(const FieldSpec& spec, uint64_t max, int bytes);
  bool ParseCharString(const FieldSpec& spec, const TextToken& token,
                       bool length_prefix);
  bool ParseEncodedRest(const FieldSpec& spec);
  bool ParseBitmap(const FieldSpec& spec);
  using SvcParamList = std::vector<std::pair<uint16_t, std::string>>;
  bool ParseSvcParams(const FieldSpec& spec);
  bool ParseLoc();
  bool ParseLocCoordinate(char positive, char negative, int64_t max_degrees,
                          uint32_t* out);
  bool ParseLocMeters(const char* what, bool allow_negative, int64_t* cm);
  bool CheckSvcParams(const SvcParamList& params, size_t first);
  bool AppendSvcParams(const SvcParamList& params);
  bool ParseSvcValue(uint16_t key, std::string_view value, bool has_value,
                     size_t token, std::string* out);

  absl::Span<const TextToken> tokens_;
  std::string_view origin_;
  std::string* wire_;
  RdataError* error_;
  size_t next_ = 0;
  std::string scratch_;
};

bool RdataParser::ParseNumber(const FieldSpec& spec, uint64_t max, int bytes) {
  const TextToken* token = Take(spec.name);
  if (token == nullptr) return false;
  uint64_t value;
  if (!ParseDecimal(token->text, max, &value)) return Invalid(spec, *token);
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    wire_->push_back(static_cast<char>(value >> shift));
  }
  return true;
}

bool RdataParser::ParseCharString(const FieldSpec& spec, const TextToken& token,
                                  bool length_prefix) {
  absl::StatusOr<std::string> value = UnescapeCharString(token.text);
  size_t index = Index(token);
  if (!value.ok()) {
    return Fail(index, Cat(value.status().message(), " in ", spec.name, " '",
                           token.text, "'"));
  }
  if (length_prefix) {
    if (value->size() > 255) {
      return Fail(index, Cat(spec.name, " longer than 255 octets"));
    }
    wire_->push_back(static_cast<char>(value->size()));
  }
  wire_->append(*value);
  return true;
}

bool RdataParser::ParseEncodedRest(const FieldSpec& spec) {
  size_t first = next_;
  if (first >= tokens_.size()) return Take(spec.name) != nullptr;
  TakeRest(&scratch_);
  bool ok;
  if (spec.kind == Field::kHexRest) {
    ok = DecodeHex(scratch_, wire_);
  } else {
    std::string decoded;
    ok = absl::Base64Unescape(scratch_, &decoded) && !decoded.empty();
    wire_->append(decoded);
  }
  if (!ok) {
    return Fail(first,
                Cat("invalid ", spec.name, " (",
                    spec.kind == Field::kHexRest ? "hex" : "base64", ")"));
  }
  return true;
}

bool RdataParser::ParseBitmap(const FieldSpec& spec) {
  std::vector<uint16_t> types;
  for (; next_ < tokens_.size(); ++next_) {
    std::optional<uint16_t> type = TypeFromText(tokens_[next_].text);
    if (!type) return Invalid(spec, tokens_[next_]);
    types.push_back(*type);
  }
  AppendTypeBitmap(std::move(types), wire_);
  return true;
}

// Fields that are exactly one token and need no state.
bool RdataParser::ParseScalar(const FieldSpec& spec, const TextToken& token) {
  std::string_view text = token.text;
  uint32_t value = 0;
  switch (spec.kind) {
    case Field::kTtl:
      if (!ParseTtlText(text, &value)) return Invalid(spec, token);
      AppendU32(wire_, value);
      return true;
    case Field::kTime:
      if (!ParseTime(text, &value)) return Invalid(spec, token);
      AppendU32(wire_, value);
      return true;
    case Field::kAlgorithm: {
      std::optional<uint8_t> algorithm = AlgorithmFromText(text);
      if (!algorithm) return Invalid(spec, token);
      wire_->push_back(static_cast<char>(*algorithm));
      return true;
    }
    case Field::kType: {
      std::optional<uint16_t> type = TypeFromText(text);
      if (!type) return Invalid(spec, token);
      AppendU16(wire_, *type);
      return true;
    }
    case Field::kIpv4:
      return ParseIpv4(text, wire_) || Invalid(spec, token);
    case Field::kIpv6:
      return ParseIpv6(text, wire_) || Invalid(spec, token);
    case Field::kName:
      return ParseName(spec, token);
    case Field::kCharString:
      return ParseCharString(spec, token, true);
    case Field::kRestString:
      return ParseCharString(spec, token, false);
    case Field::kCaaTag:
      return ParseCaaTag(spec, token);
    case Field::kSalt:
    case Field::kHash:
      return ParseSaltOrHash(spec, token);
    default:
      return false;
  }
}

bool RdataParser::ParseName(const FieldSpec& spec, const TextToken& token) {
  absl::StatusOr<std::string> name = NameFromText(token.text, origin_);
  if (!name.ok()) {
    return Fail(Index(token),
                Cat("invalid ", spec.name, ": ", name.status().message()));
  }
  wire_->append(*name);
  return true;
}

bool RdataParser::ParseCaaTag(const FieldSpec& spec, const TextToken& token) {
  // RFC 8659 4.1: tag is 1-15 ASCII letters and digits.
  std::string_view tag = token.text;
  if (tag.empty() || tag.size() > 15 ||
      !std::all_of(tag.begin(), tag.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c));
      })) {
    return Invalid(spec, token);
  }
  wire_->push_back(static_cast<char>(tag.size()));
  wire_->append(tag);
  return true;
}

bool RdataParser::ParseSaltOrHash(const FieldSpec& spec,
                                  const TextToken& token) {
  std::string bytes;
  bool ok = spec.kind == Field::kSalt
                ? (token.text == "-" || DecodeHex(token.text, &bytes))
                : DecodeBase32Hex(token.text, &bytes) && !bytes.empty();
  if (!ok || bytes.size() > 255) return Invalid(spec, token);
  wire_->push_back(static_cast<char>(bytes.size()));
  wire_->append(bytes);
  return true;
}

bool RdataParser::ParseField(const FieldSpec& spec) {
  switch (spec.kind) {
    case Field::kU8:
      return ParseNumber(spec, 0xff, 1);
    case Field::kU16:
      return ParseNumber(spec, 0xffff, 2);
    case Field::kU32:
      return ParseNumber(spec, 0xffffffffu, 4);
    case Field::kCharStrings:
      if (Take(spec.name) == nullptr) return false;
      for (--next_; next_ < tokens_.size(); ++next_) {
        if (!ParseCharString(spec, tokens_[next_], true)) return false;
      }
      return true;
    case Field::kBase64Rest:
    case Field::kHexRest:
      return ParseEncodedRest(spec);
    case Field::kBitmap:
      return ParseBitmap(spec);
    case Field::kSvcParams:
      return ParseSvcParams(spec);
    case Field::kLoc:
      return ParseLoc();
    default: {
      const TextToken* token = Take(spec.name);
      return token != nullptr && ParseScalar(spec, *token);
    }
  }
}

// ---- LOC (RFC 1876 section 3) ----

// Parses "12", "12.3" or "-12.34" as value * 10^decimals.
bool ParseFixedPoint(std::string_view text, int decimals, bool allow_negative,
                     int64_t* out) {
  bool negative = allow_negative && !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  uint64_t w = 0;
  uint64_t f = 0;
  if (!ParseDecimal(whole, 100000000000ull, &w)) return false;
  if (fraction.size() > static_cast<size_t>(decimals)) return false;
  if (dot != std::string_view::npos && !ParseDecimal(fraction, 1000, &f)) {
    return false;
  }
  for (size_t i = fraction.size(); i < static_cast<size_t>(decimals); ++i) {
    f *= 10;
  }
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  int64_t value = static_cast<int64_t>(w) * scale + static_cast<int64_t>(f);
  *out = negative ? -value : value;
  return true;
}

// Size/precision as "mantissa e exponent" centimetres, one nibble each.
uint8_t LocPrecision(int64_t cm) {
  int exponent = 0;
  while (cm >= 10) {
    cm /= 10;
    ++exponent;
  }
  return static_cast<uint8_t>(cm << 4 | exponent);
}

bool RdataParser::ParseLocMeters(const char* what, bool allow_negative,
                                 int64_t* cm) {
  const TextToken* token = Take(what);
  if (token == nullptr) return false;
  std::string_view text = token->text;
  if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) {
    text.remove_suffix(1);
  }
  // 90000000.00m is the largest size or precision RFC 1876 can encode.
  if (!ParseFixedPoint(text, 2, allow_negative, cm) || *cm > 9000000000) {
    return Fail(next_ - 1, Cat("invalid ", what, " '", token->text, "'"));
  }
  return true;
}

// "d [m [s.sss]] N|S" or "d [m [s.sss]] E|W", as thousandths of an arc
// second offset by 2^31.
bool RdataParser::ParseLocCoordinate(char positive, char negative,
                                     int64_t max_degrees, uint32_t* out) {
  const char* what = positive == 'N' ? "LOC latitude" : "LOC longitude";
  const size_t first = next_;
  int64_t parts[3] = {0, 0, 0};  // degrees, minutes, milliseconds
  const int64_t limits[3] = {max_degrees, 59, 59999};
  const int decimals[3] = {0, 0, 3};
  for (int i = 0;; ++i) {
    const TextToken* token = Take(what);
    if (token == nullptr) return false;
    if (token->text.size() == 1) {
      char c = absl::ascii_toupper(static_cast<unsigned char>(token->text[0]));
      if (i > 0 && (c == positive || c == negative)) {
        int64_t ms = (parts[0] * 60 + parts[1]) * 60000 + parts[2];
        if (ms > max_degrees * 3600000) {
          return Fail(first, Cat("invalid ", what));
        }
        *out = static_cast<uint32_t>((int64_t{1} << 31) +
                                     (c == positive ? ms : -ms));
        return true;
      }
    }
    if (i == 3 ||
        !ParseFixedPoint(token->text, decimals[i], false, &parts[i]) ||
        parts[i] > limits[i]) {
      return Fail(next_ - 1, Cat("invalid ", what, " '", token->text, "'"));
    }
  }
}

bool RdataParser::ParseLoc() {
  uint32_t latitude = 0;
  uint32_t longitude = 0;
  int64_t altitude = 0;
  if (!ParseLocCoordinate('N', 'S', 90, &latitude) ||
      !ParseLocCoordinate('E', 'W', 180, &longitude) ||
      !ParseLocMeters("LOC altitude", true, &altitude)) {
    return false;
  }
  // Altitude is centimetres above 100 km below the WGS 84 ellipsoid.
  if (altitude < -10000000 || altitude > 0xffffffffll - 10000000) {
    return Fail(next_ - 1, "invalid LOC altitude");
  }
  // Defaults from RFC 1876 appendix A: size 1m, precision 10km / 10m.
  int64_t sizes[3] = {100, 1000000, 1000};
  const char* names[3] = {"LOC size", "LOC horizontal precision",
                          "LOC vertical precision"};
  for (int i = 0; i < 3 && next_ < tokens_.size(); ++i) {
    if (!ParseLocMeters(names[i], false, &sizes[i])) return false;
  }
  wire_->push_back(0);  // version
  for (int64_t cm : sizes)
    wire_->push_back(static_cast<char>(LocPrecision(cm)));
  AppendU32(wire_, latitude);
  AppendU32(wire_, longitude);
  AppendU32(wire_, static_cast<uint32_t>(altitude + 10000000));
  return true;
}

bool RdataParser::ParseSvcValue(uint16_t key, std::string_view raw,
                                bool has_value, size_t token,
                                std::string* out) {
  absl::StatusOr<std::string> value = UnescapeCharString(raw);
  if (!value.ok()) return Fail(token, std::string(value.status().message()));
  // Keys defined without a value (RFC 9460 7.1.1, RFC 9540).
  if (key == 2 || key == 8) {
    if (has_value) return Fail(token, "SvcParam takes no value");
    return true;
  }
  if (!has_value && key <= 7) return Fail(token, "SvcParam needs a value");
  auto bad = [&]() {
    return Fail(token,
                Cat("invalid SvcParam value '", tokens_[token].text, "'"));
  };
  switch (key) {
    case 0: {  // mandatory: sorted key list (RFC 9460 8)
      std::vector<uint16_t> keys;
      for (const std::string& item : SplitValueList(*value)) {
        std::optional<uint16_t> k = SvcKeyFromText(item);
        if (!k) return bad();
        keys.push_back(*k);
      }
      std::sort(keys.begin(), keys.end());
      if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
        return bad();
      }
      for (uint16_t k : keys) AppendU16(out, k);
      return true;
    }
    case 1:  // alpn: length-prefixed protocol ids
      for (const std::string& item : SplitValueList(*value)) {
        if (item.empty() || item.size() > 255) return bad();
        out->push_back(static_cast<char>(item.size()));
        out->append(item);
      }
      return true;
    case 3: {
      uint64_t port;
      if (!ParseDecimal(*value, 0xffff, &port)) return bad();
      AppendU16(out, static_cast<uint32_t>(port));
      return true;
    }
    case 4:
    case 6:
      for (const std::string& item : SplitValueList(*value)) {
        if (!(key == 4 ? ParseIpv4(item, out) : ParseIpv6(item, out))) {
          return bad();
        }
      }
      return true;
    case 5:
      if (!absl::Base64Unescape(*value, out) || out->empty()) return bad();
      return true;
    default:
      out->append(*value);
      return true;
  }
}

bool RdataParser::ParseSvcParams(const FieldSpec& spec) {
  SvcParamList params;
  const size_t first = next_;
  for (; next_ < tokens_.size(); ++next_) {
    size_t index = next_;
    const TextToken& token = tokens_[index];
    if (token.quoted) return Invalid(spec, token);
    std::string_view text = token.text;
    size_t eq = text.find('=');
    std::string_view key_text = text.substr(0, eq);
    bool has_value = eq != std::string_view::npos;
    std::string_view value;
    if (has_value) {
      value = text.substr(eq + 1);
      if (value.empty() && next_ + 1 < tokens_.size() &&
          tokens_[next_ + 1].quoted) {
        value = tokens_[++next_].text;  // key= "value"
      } else if (value.size() >= 2 && value.front() == '"' &&
                 value.back() == '"') {
        value = value.substr(1, value.size() - 2);  // key="value"
      }
    }
    std::optional<uint16_t> key = SvcKeyFromText(key_text);
    if (!key) {
      return Fail(index, Cat("unknown SvcParam key '", key_text, "'"));
    }
    std::string encoded;
    if (!ParseSvcValue(*key, value, has_value, index, &encoded)) return false;
    for (const auto& [existing, unused] : params) {
      if (existing == *key) {
        return Fail(index, Cat("duplicate SvcParam key '", key_text, "'"));
      }
    }
    if (encoded.size() > 0xffff) return Invalid(spec, token);
    params.emplace_back(*key, std::move(encoded));
  }
  // RFC 9460 2.2: keys in strictly increasing order on the wire.
  std::sort(params.begin(), params.end());
  return CheckSvcParams(params, first) && AppendSvcParams(params);
}

bool RdataParser::CheckSvcParams(const SvcParamList& params, size_t first) {
  auto has = [&](uint16_t key) {
    return std::any_of(params.begin(), params.end(),
                       [key](const auto& p) { return p.first == key; });
  };
  // RFC 9460 8: every key listed in "mandatory" must be present, and
  // "mandatory" must not list itself.
  if (!params.empty() && params[0].first == 0) {
    const std::string& list = params[0].second;
    for (size_t i = 0; i + 1 < list.size(); i += 2) {
      uint16_t key = static_cast<uint16_t>(static_cast<uint8_t>(list[i]) << 8 |
                                           static_cast<uint8_t>(list[i + 1]));
      if (key == 0 || !has(key)) {
        return Fail(first,
                    Cat("SvcParam mandatory lists ",
                        key == 0 ? "itself" : "a key that is not present"));
      }
    }
  }
  // RFC 9460 7.1.1: no-default-alpn only together with alpn.
  if (has(2) && !has(1)) {
    return Fail(first, "SvcParam no-default-alpn without alpn");
  }
  return true;
}

bool RdataParser::AppendSvcParams(const SvcParamList& params) {
  for (const auto& [key, value] : params) {
    AppendU16(wire_, key);
    AppendU16(wire_, static_cast<uint32_t>(value.size()));
    wire_->append(value);
  }
  return true;
}

}  // namespace

bool ParseTtlText(std::string_view text, uint32_t* ttl) {
  if (text.empty()) return false;
  uint64_t total = 0;
  uint64_t number = 0;
  bool have_digits = false;
  bool used_unit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      number = number * 10 + static_cast<uint64_t>(c - '0');
      if (number > 0xffffffffu) return false;
      have_digits = true;
      continue;
    }
    uint64_t unit;
    switch (absl::ascii_tolower(static_cast<unsigned char>(c))) {
      case 'w':
        unit = 604800;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'm':
        unit = 60;
        break;
      case 's':
        unit = 1;
        break;
      default:
        return false;
    }
    if (!have_digits) return false;
    total += number * unit;
    if (total > 0xffffffffu) return false;
    number = 0;
    have_digits = false;
    used_unit = true;
  }
  // BIND and Knot accept a trailing bare number after units as seconds
  // ("1h30" == 5430).
  if (!have_digits && !used_unit) return false;
  total += number;
  if (total > 0xffffffffu) return false;
  *ttl = static_cast<uint32_t>(total);
  return true;
}

absl::StatusOr<std::string> UnescapeCharString(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= text.size()) return absl::InvalidArgumentError("dangling '\\'");
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      out.push_back(text[i]);
      continue;
    }
    int value = 0;
    for (int k = 0; k < 3; ++k, ++i) {
      if (i >= text.size() ||
          !absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
        return absl::InvalidArgumentError("bad \\DDD escape");
      }
      value = value * 10 + (text[i] - '0');
    }
    --i;
    if (value > 255) return absl::InvalidArgumentError("bad \\DDD escape");
    out.push_back(static_cast<char>(value));
  }
  return out;
}

namespace {

// VARIANT (zone/variant.h): SELECTOR TYPE RDATA-of-TYPE.
bool VariantFromText(absl::Span<const TextToken> tokens,
                     std::string_view origin_wire, std::string* wire,
                     RdataError* error) {
  if (tokens.size() < 3) {
    error->token = tokens.size();
    error->message =
        "VARIANT needs: net:NAME|asn:NUMBER|cc:CODE|pop:NAME TYPE RDATA";
    return false;
  }
  const std::string_view selector = tokens[0].text;
  zone::VariantKind kind;
  std::string_view name;
  if (!zone::ParseVariantSelector(selector, &kind, &name) ||
      selector.size() > 255) {
    error->token = 0;
    error->message = Cat("VARIANT selector '", selector,
                         "': expected net:NAME, asn:NUMBER, cc:CODE (two "
                         "letters) or pop:NAME");
    return false;
  }
  const std::optional<uint16_t> type = TypeFromText(tokens[1].text);
  if (!type || (*type != dns::rrtype::kA && *type != dns::rrtype::kTxt &&
                *type != dns::rrtype::kAaaa)) {
    error->token = 1;
    error->message = Cat("VARIANT type '", tokens[1].text,
                         "': only A, AAAA and TXT answers vary");
    return false;
  }
  std::string inner;
  RdataError inner_error;
  if (!RdataFromText(*type, tokens.subspan(2), origin_wire, &inner,
                     &inner_error)) {
    error->token = 2 + inner_error.token;
    error->message = inner_error.message;
    return false;
  }
  wire->clear();
  wire->push_back(static_cast<char>(selector.size()));
  wire->append(selector.data(), selector.size());
  wire->push_back(static_cast<char>(*type >> 8));
  wire->push_back(static_cast<char>(*type & 0xFF));
  *wire += inner;
  return true;
}

}  // namespace

bool RdataFromText(uint16_t type, absl::Span<const TextToken> tokens,
                   std::string_view origin_wire, std::string* wire,
                   RdataError* error) {
  wire->clear();
  if (type == dns::rrtype::kVariant &&
      !(!tokens.empty() && tokens[0].text == "\\#")) {
    return VariantFromText(tokens, origin_wire, wire, error);
  }
  RdataParser parser(tokens, origin_wire, wire, error);
  const RdataFormat* format = FindFormat(type);
  if (!tokens.empty() && !tokens[0].quoted && tokens[0].text == "\\#") {
    if (!parser.RunGeneric()) return false;
    zone::VariantRdata variant;
    if (type == dns::rrtype::kVariant && !zone::ParseVariantRdata(*wire, &variant)) {
      error->token = 0;
      error->message = "generic RDATA is not valid VARIANT RDATA";
      return false;
    }
    if (format != nullptr && !WireMatchesFormat(*format, *wire)) {
      error->token = 0;
      error->message =
          Cat("generic RDATA is not valid ", TypeToText(type), " RDATA");
      return false;
    }
    return true;
  }
  if (format == nullptr) {
    error->token = 0;
    error->message = Cat("no text format known for type ", TypeToText(type),
                         "; use \\# generic RDATA");
    return false;
  }
  if (!parser.Run(*format)) return false;
  if (wire->size() > 0xffff) {
    error->token = 0;
    error->message = "RDATA longer than 65535 octets";
    return false;
  }
  return true;
}

std::optional<std::string> RdataWithLowercaseNames(uint16_t type,
                                                   std::string_view rdata) {
  const RdataFormat* format = FindFormat(type);
  if (format == nullptr || !HasNameField(*format)) return std::nullopt;
  std::string out(rdata);
  WireReader reader(rdata);
  for (int i = 0; i < format->count; ++i) {
    Field kind = format->fields[static_cast<size_t>(i)].kind;
    size_t start = reader.pos();
    if (!WireField(kind, &reader)) return std::nullopt;
    if (kind != Field::kName) continue;
    // Label length octets are < 64, so lowering every octet is safe.
    for (size_t k = start; k < reader.pos(); ++k) {
      out[k] = internal::AsciiLower(out[k]);
    }
  }
  return out;
}

void AppendComparableRdata(uint16_t type, std::string_view rdata,
                           std::string* out) {
  if (auto lower = RdataWithLowercaseNames(type, rdata)) {
    *out += *lower;
  } else {
    out->append(rdata.data(), rdata.size());
  }
}

bool RdataWireValid(uint16_t type, std::string_view rdata) {
  const RdataFormat* format = FindFormat(type);
  return format == nullptr || WireMatchesFormat(*format, rdata);
}

std::string RdataToGenericText(std::string_view rdata) {
  std::string out = Cat("\\# ", rdata.size());
  if (!rdata.empty()) {
    out.push_back(' ');
    out.append(
        absl::BytesToHexString(absl::string_view(rdata.data(), rdata.size())));
  }
  return out;
}

}  // namespace popdns::control
