// Wire RDATA -> presentation text. See rdata_to_text.h.
#include "control/zonefile/rdata_to_text.h"

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>
#include <optional>

#include "absl/strings/escaping.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "control/zonefile/text_util.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/variant.h"

namespace popdns::control {
namespace {

using internal::Cat;

// Reads fields off RDATA front to back; a read past the end or a bad name
// sets ok_ = false and later reads return empty values, so a printer
// checks once at the end (as Knot's wire_ctx does).
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  bool AtEnd() const { return pos_ == data_.size(); }
  std::string_view Rest() {
    std::string_view r = ok_ ? data_.substr(pos_) : std::string_view();
    pos_ = data_.size();
    return r;
  }
  std::string_view Bytes(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view r = data_.substr(pos_, n);
    pos_ += n;
    return r;
  }
  uint32_t U8() { return Number(1); }
  uint32_t U16() { return Number(2); }
  uint32_t U32() { return Number(4); }
  std::string_view CharString() { return Bytes(U8()); }
  // An uncompressed name, printed absolute.
  std::string Name() {
    const size_t start = pos_;
    while (ok_) {
      const uint32_t n = U8();
      if (n > kMaxLabelLength) ok_ = false;
      if (!ok_ || n == 0) break;
      Bytes(n);
    }
    if (!ok_ || pos_ - start > kMaxNameLength) {
      ok_ = false;
      return {};
    }
    return NameToText(data_.substr(start, pos_ - start));
  }

 private:
  uint32_t Number(size_t n) {
    uint32_t v = 0;
    for (unsigned char c : Bytes(n)) v = v << 8 | c;
    return v;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string Hex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

std::string Base64(std::string_view bytes) {
  return absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()));
}


std::string Address(int family, std::string_view bytes) {
  if (bytes.size() != (family == AF_INET ? 4u : 16u)) return {};  // r failed
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, bytes.data(), text, sizeof(text)) == nullptr) return {};
  return text;
}

// RFC 4034 3.2: YYYYMMDDHHmmSS in UTC.
std::string Time(uint32_t seconds) {
  const std::time_t t = seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02d",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return text;
}

// RFC 4034 4.1.2 type bitmap, " A NS ..." (each type with a leading space).
bool Bitmap(std::string_view rest, std::string* out) {
  int last_window = -1;
  size_t pos = 0;
  while (pos < rest.size()) {
    if (rest.size() - pos < 2) return false;
    const int window = static_cast<unsigned char>(rest[pos]);
    const size_t n = static_cast<unsigned char>(rest[pos + 1]);
    pos += 2;
    if (window <= last_window || n == 0 || n > 32 || rest.size() - pos < n) {
      return false;
    }
    for (size_t i = 0; i < n; ++i) {
      const unsigned char bits = static_cast<unsigned char>(rest[pos + i]);
      for (int b = 0; b < 8; ++b) {
        if (bits & (0x80 >> b)) {
          const auto type = static_cast<uint16_t>(window * 256 + i * 8 + b);
          out->append(" ");
          out->append(TypeToText(type));
        }
      }
    }
    pos += n;
    last_window = window;
  }
  return true;
}

// RFC 1876 precision byte (mantissa, exponent) in centimetres, as meters.
std::string LocSize(uint32_t byte) {
  uint64_t cm = byte >> 4;
  for (uint32_t e = byte & 15; e > 0; --e) cm *= 10;
  return Cat(cm / 100, ".", cm % 100 / 10, cm % 10, "m");
}

std::string LocCoordinate(uint32_t value, char positive, char negative) {
  const int64_t v = static_cast<int64_t>(value) - (int64_t{1} << 31);
  const uint64_t abs = static_cast<uint64_t>(v < 0 ? -v : v);
  char text[48];
  std::snprintf(text, sizeof(text), "%llu %llu %llu.%03llu %c",
                static_cast<unsigned long long>(abs / 3600000),
                static_cast<unsigned long long>(abs % 3600000 / 60000),
                static_cast<unsigned long long>(abs % 60000 / 1000),
                static_cast<unsigned long long>(abs % 1000),
                v < 0 ? negative : positive);
  return text;
}

std::optional<std::string> Loc(Reader& r) {
  const uint32_t version = r.U8();
  const uint32_t size = r.U8(), hp = r.U8(), vp = r.U8();
  const uint32_t lat = r.U32(), lon = r.U32(), alt = r.U32();
  if (!r.ok() || version != 0) return std::nullopt;
  const int64_t cm = static_cast<int64_t>(alt) - 10000000;
  const uint64_t abs = static_cast<uint64_t>(cm < 0 ? -cm : cm);
  return Cat(LocCoordinate(lat, 'N', 'S'), " ", LocCoordinate(lon, 'E', 'W'),
             " ", cm < 0 ? "-" : "", abs / 100, ".", abs % 100 / 10, abs % 10,
             "m ", LocSize(size), " ", LocSize(hp), " ", LocSize(vp));
}

// A value list item of alpn, with ',' and '\' escaped (RFC 9460 A.1).
std::string SvcListItem(std::string_view item) {
  std::string out;
  for (char c : item) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// RFC 9460 SvcParams as PowerDNS 4.7 prints them: keys it knows by name
// (mandatory .. ipv6hint), ech quoted, others as keyNNN="value".
std::optional<std::string> SvcParams(Reader& r) {
  std::string out;
  while (r.ok() && !r.AtEnd()) {
    const uint32_t key = r.U16();
    Reader value(r.Bytes(r.U16()));
    if (!r.ok()) return std::nullopt;
    static constexpr const char* kNames[] = {
        "mandatory", "alpn", "no-default-alpn", "port",
        "ipv4hint",  "ech",  "ipv6hint"};
    out.append(" ");
    out.append(key < 7 ? std::string(kNames[key]) : Cat("key", key));
    std::string text;
    switch (key) {
      case 0:
        while (value.ok() && !value.AtEnd()) {
          const uint32_t k = value.U16();
          if (!text.empty()) text.append(",");
          text.append(k < 7 ? std::string(kNames[k]) : Cat("key", k));
        }
        break;
      case 1:
        while (value.ok() && !value.AtEnd()) {
          if (!text.empty()) text.append(",");
          text.append(SvcListItem(value.CharString()));
        }
        break;
      case 2:
        if (!value.AtEnd()) return std::nullopt;
        continue;  // no value
      case 3:
        text = Cat(value.U16());
        break;
      case 4:
      case 6:
        while (value.ok() && !value.AtEnd()) {
          if (!text.empty()) text.append(",");
          text.append(key == 4 ? Address(AF_INET, value.Bytes(4))
                               : Address(AF_INET6, value.Bytes(16)));
        }
        break;
      case 5:
        text = Cat("\"", Base64(value.Rest()), "\"");
        break;
      default:
        text = QuoteCharString(value.Rest());
        break;
    }
    if (!value.ok() || !value.AtEnd()) return std::nullopt;
    out.append("=");
    out.append(text);
  }
  return out;
}

// The printer of each known type; nullopt for RDATA that does not fit it,
// and for types without one.
std::optional<std::string> Print(uint16_t type, Reader& r) {
  switch (type) {
    case 1:  // A
      return Address(AF_INET, r.Bytes(4));
    case 28:  // AAAA
      return Address(AF_INET6, r.Bytes(16));
    case 2:   // NS
    case 5:   // CNAME
    case 12:  // PTR
    case 39:  // DNAME
      return r.Name();
    case 6: {  // SOA
      std::string mname = r.Name(), rname = r.Name();
      const uint32_t serial = r.U32(), refresh = r.U32(), retry = r.U32(),
                     expire = r.U32(), minimum = r.U32();
      return Cat(mname, " ", rname, " ", serial, " ", refresh, " ", retry,
                 " ", expire, " ", minimum);
    }
    case 13: {  // HINFO
      std::string cpu = QuoteCharString(r.CharString());
      return Cat(cpu, " ", QuoteCharString(r.CharString()));
    }
    case 15:  // MX
    case 18:  // AFSDB
    case 36: {  // KX
      const uint32_t preference = r.U16();
      return Cat(preference, " ", r.Name());
    }
    case 16:  // TXT
    case 99: {  // SPF
      std::string out;
      do {
        if (!out.empty()) out.append(" ");
        out.append(QuoteCharString(r.CharString()));
      } while (r.ok() && !r.AtEnd());
      return out;
    }
    case 17: {  // RP
      std::string mbox = r.Name();
      return Cat(mbox, " ", r.Name());
    }
    case 29:  // LOC
      return Loc(r);
    case 33: {  // SRV
      const uint32_t priority = r.U16(), weight = r.U16(), port = r.U16();
      return Cat(priority, " ", weight, " ", port, " ", r.Name());
    }
    case 35: {  // NAPTR
      const uint32_t order = r.U16(), preference = r.U16();
      std::string flags = QuoteCharString(r.CharString());
      std::string services = QuoteCharString(r.CharString());
      std::string regexp = QuoteCharString(r.CharString());
      return Cat(order, " ", preference, " ", flags, " ", services, " ",
                 regexp, " ", r.Name());
    }
    case 43:    // DS
    case 59: {  // CDS
      const uint32_t tag = r.U16(), algorithm = r.U8(), digest_type = r.U8();
      return Cat(tag, " ", algorithm, " ", digest_type, " ", Hex(r.Rest()));
    }
    case 44: {  // SSHFP
      const uint32_t algorithm = r.U8(), fp_type = r.U8();
      return Cat(algorithm, " ", fp_type, " ", Hex(r.Rest()));
    }
    case 46: {  // RRSIG
      const uint32_t covered = r.U16(), algorithm = r.U8(), labels = r.U8(),
                     ttl = r.U32(), expiration = r.U32(),
                     inception = r.U32(), tag = r.U16();
      std::string signer = r.Name();
      return Cat(TypeToText(static_cast<uint16_t>(covered)), " ", algorithm,
                 " ", labels, " ", ttl, " ", Time(expiration), " ",
                 Time(inception), " ", tag, " ", signer, " ",
                 Base64(r.Rest()));
    }
    case 47: {  // NSEC
      std::string out = r.Name();
      if (!r.ok() || !Bitmap(r.Rest(), &out)) return std::nullopt;
      return out;
    }
    case 48:    // DNSKEY
    case 60: {  // CDNSKEY
      const uint32_t flags = r.U16(), protocol = r.U8(), algorithm = r.U8();
      return Cat(flags, " ", protocol, " ", algorithm, " ", Base64(r.Rest()));
    }
    case 49:  // DHCID
    case 61:  // OPENPGPKEY
      return Base64(r.Rest());
    case 50:    // NSEC3
    case 51: {  // NSEC3PARAM
      const uint32_t algorithm = r.U8(), flags = r.U8(), iterations = r.U16();
      std::string_view salt = r.CharString();
      std::string out = Cat(algorithm, " ", flags, " ", iterations, " ",
                            salt.empty() ? "-" : Hex(salt));
      if (type == 51) return out;
      std::string_view hash = r.CharString();
      if (!r.ok() || hash.empty()) return std::nullopt;
      out.append(" ");
      out.append(Base32Hex(hash));
      if (!Bitmap(r.Rest(), &out)) return std::nullopt;
      return out;
    }
    case 52:    // TLSA
    case 53: {  // SMIMEA
      const uint32_t usage = r.U8(), selector = r.U8(), matching = r.U8();
      return Cat(usage, " ", selector, " ", matching, " ", Hex(r.Rest()));
    }
    case 62: {  // CSYNC
      const uint32_t serial = r.U32(), flags = r.U16();
      std::string out = Cat(serial, " ", flags);
      if (!r.ok() || !Bitmap(r.Rest(), &out)) return std::nullopt;
      return out;
    }
    case 63: {  // ZONEMD
      const uint32_t serial = r.U32(), scheme = r.U8(), algorithm = r.U8();
      return Cat(serial, " ", scheme, " ", algorithm, " ", Hex(r.Rest()));
    }
    case 64:    // SVCB
    case 65: {  // HTTPS
      const uint32_t priority = r.U16();
      std::string out = Cat(priority, " ", r.Name());
      std::optional<std::string> params = SvcParams(r);
      if (!params) return std::nullopt;
      return out + *params;
    }
    case 256: {  // URI
      const uint32_t priority = r.U16(), weight = r.U16();
      return Cat(priority, " ", weight, " ", QuoteCharString(r.Rest()));
    }
    case 257: {  // CAA
      const uint32_t flags = r.U8();
      std::string_view tag = r.CharString();
      return Cat(flags, " ", tag, " ", QuoteCharString(r.Rest()));
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string Base32Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = buffer << 8 | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kDigits[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kDigits[(buffer << (5 - bits)) & 31]);
  return out;
}

std::string QuoteCharString(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c > 0x7e) {
      char esc[5];
      std::snprintf(esc, sizeof(esc), "\\%03u", c);
      out.append(esc);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

std::string RdataToText(uint16_t type, std::string_view rdata) {
  if (type == dns::rrtype::kVariant) {
    zone::VariantRdata v;
    if (!zone::ParseVariantRdata(rdata, &v)) return RdataToGenericText(rdata);
    return Cat(zone::VariantSelectorPrefix(v.kind), v.name,
               " ", TypeToText(v.type), " ", RdataToText(v.type, v.rdata));
  }
  Reader r(rdata);
  std::optional<std::string> text = Print(type, r);
  if (!text || !r.ok() || !r.AtEnd()) return RdataToGenericText(rdata);
  return std::move(*text);
}

}  // namespace popdns::control
