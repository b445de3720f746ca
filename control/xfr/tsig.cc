// TSIG (RFC 8945) with OpenSSL's EVP_MAC HMAC. See tsig.h.
//
// What is signed (RFC 8945 4.3):
//   request:             message + variables
//   response, first:     request MAC (len, MAC) + message + variables
//   response, next ones: prior MAC (len, MAC) + unsigned messages since it
//                        + message + timers (5.3.1)
// where "message" is the message without its TSIG RR, with the Original ID
// in place of the ID and ARCOUNT one less (4.3.1), "variables" are the key
// name and algorithm name in canonical (lowercase, uncompressed) form, class
// ANY, TTL 0, time signed (48 bits), fudge, error, other len, other data
// (4.3.3), and "timers" are time signed and fudge alone.
//
// MAC sizes (5.2.2.1): a MAC longer than the hash, or shorter than
// max(10, hash length / 2) and not empty, makes the record malformed
// (FindTsig: kMalformed, answer FORMERR), as rules 1 and 3 say. An empty MAC
// is only well-formed with a non-zero error (unsigned error responses,
// 5.3.2). Should a record with a MAC size out of range reach the Verify
// functions anyway (a TsigRecord not from FindTsig), they reject it as
// BADSIG. There is no local policy stricter than the RFC minimum, so BADTRUNC
// is never produced here. Every message is signed with the full MAC.
//
// Error responses (5.3.2): BADSIG and BADKEY go out unsigned with the
// request's timers; BADTIME is signed, echoes the request's Time Signed and
// carries the server's time in Other Data (as BIND and Knot do), so that a
// client with a skewed clock can still verify it and see the offset.
// The time is checked after the MAC (5.2.3), so only a genuine request
// gets a signed BADTIME.
#include "control/xfr/tsig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {
namespace {

using dns::Load16;
using dns::Load32;
using dns::Store16;

struct AlgorithmInfo {
  TsigAlgorithm algorithm;
  std::string_view name;  // presentation, one label, no trailing dot
  const char* digest;     // OpenSSL digest name
  size_t mac_size;        // hash output length
};

// Indexed by TsigAlgorithm.
constexpr AlgorithmInfo kAlgorithms[] = {
    {TsigAlgorithm::kHmacSha1, "hmac-sha1", "SHA1", 20},
    {TsigAlgorithm::kHmacSha256, "hmac-sha256", "SHA256", 32},
    {TsigAlgorithm::kHmacSha384, "hmac-sha384", "SHA384", 48},
    {TsigAlgorithm::kHmacSha512, "hmac-sha512", "SHA512", 64},
};
static_assert(static_cast<size_t>(TsigAlgorithm::kHmacSha512) == 3);

const AlgorithmInfo& Info(TsigAlgorithm algorithm) {
  const size_t i = static_cast<size_t>(algorithm);
  return kAlgorithms[i < std::size(kAlgorithms) ? i : 1];
}

// The algorithm whose wire name is `wire` (lowercased), or nullptr.
const AlgorithmInfo* InfoByWire(std::string_view wire) {
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (wire.size() == info.name.size() + 2 &&
        static_cast<uint8_t>(wire[0]) == info.name.size() &&
        wire.substr(1, info.name.size()) == info.name && wire.back() == 0) {
      return &info;
    }
  }
  return nullptr;
}

// RFC 8945 5.2.2.1 rule 3: max(10 octets, half the hash length).
size_t MinMacSize(const AlgorithmInfo& info) {
  return std::max<size_t>(10, info.mac_size / 2);
}

// A wire name lowercased: length octets are at most 63, below 'A', so the
// whole string can go through LowerAscii.
std::string LowerWire(std::string_view wire) {
  std::string out(wire);
  for (char& c : out) c = static_cast<char>(dns::LowerAscii(c));
  return out;
}

bool WireEqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (dns::LowerAscii(a[i]) != dns::LowerAscii(b[i])) return false;
  }
  return true;
}

// Presentation (RFC 1035 5.1, with \X and \DDD escapes) to lowercased wire.
// Relative names are taken as absolute. False if it is not a valid name.
bool NameTextToWire(std::string_view text, std::string* out) {
  out->clear();
  if (text.empty()) return false;
  if (text == ".") {
    out->push_back('\0');
    return true;
  }
  std::string label;
  bool label_open = false;  // characters seen since the last dot
  auto close_label = [&]() {
    if (label.empty() || label.size() > dns::kMaxLabelSize) return false;
    out->push_back(static_cast<char>(label.size()));
    out->append(label);
    label.clear();
    label_open = false;
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(text[i]);
    if (c == '.') {
      if (!close_label()) return false;  // empty label ("a..b", ".a")
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return false;
      if (absl::ascii_isdigit(static_cast<unsigned char>(text[i + 1]))) {
        if (text.size() - i < 4) return false;  // \DDD: three digits
        unsigned v = 0;
        for (size_t k = 1; k <= 3; ++k) {
          const char d = text[i + k];
          if (!absl::ascii_isdigit(static_cast<unsigned char>(d))) return false;
          v = v * 10 + static_cast<unsigned>(d - '0');
        }
        if (v > 255) return false;
        c = static_cast<uint8_t>(v);
        i += 3;
      } else {
        c = static_cast<uint8_t>(text[++i]);
      }
    }
    label.push_back(static_cast<char>(dns::LowerAscii(c)));
    label_open = true;
  }
  if (label_open && !close_label()) return false;
  out->push_back('\0');
  return out->size() <= dns::kMaxNameSize;
}

// Reads the name at msg[pos] into *out, lowercased and uncompressed; *end is
// the offset just past it in the message. Compression pointers are followed
// only when `compressed_ok`, and then only backwards, as dns::SkipName does
// (which also bounds the walk). Never reads outside msg[0, len).
bool ReadName(const uint8_t* msg, size_t len, size_t pos, bool compressed_ok,
              std::string* out, size_t* end) {
  out->clear();
  size_t after = 0;    // set at the first pointer
  size_t limit = pos;  // a pointer must target strictly before this
  while (true) {
    if (pos >= len) return false;
    const uint8_t l = msg[pos];
    if (l == 0) break;
    if ((l & 0xC0) == 0xC0) {
      if (!compressed_ok || len - pos < 2) return false;
      const size_t target = Load16(msg + pos) & 0x3FFF;
      if (target >= limit) return false;
      if (after == 0) after = pos + 2;
      limit = target;  // strictly decreasing: no loops
      pos = target;
      continue;
    }
    if (l > dns::kMaxLabelSize) return false;  // label types 01 and 10
    if (out->size() + 1 + l + 1 > dns::kMaxNameSize) return false;
    if (len - pos - 1 < l) return false;
    out->push_back(static_cast<char>(l));
    for (size_t i = 1; i <= l; ++i) {
      out->push_back(static_cast<char>(dns::LowerAscii(msg[pos + i])));
    }
    pos += 1u + l;
  }
  out->push_back('\0');
  *end = after != 0 ? after : pos + 1;
  return true;
}

void Put16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v));
}
void Put32(std::string* s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v >> 16));
  Put16(s, static_cast<uint16_t>(v));
}
void Put48(std::string* s, uint64_t v) {
  Put16(s, static_cast<uint16_t>(v >> 32));
  Put32(s, static_cast<uint32_t>(v));
}

// Debian's abseil has its own string_view type.
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

constexpr uint64_t kMask48 = (uint64_t{1} << 48) - 1;

// HMAC over pieces, with EVP_MAC. A failure inside OpenSSL (out of memory,
// a provider that refuses the digest) gives an empty MAC, which never
// verifies (MacMatches) and which peers reject.
class Hmac {
 public:
  explicit Hmac(const TsigKey& key) {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) return;
    ctx_ = EVP_MAC_CTX_new(mac);
    if (ctx_ == nullptr) return;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(
            OSSL_MAC_PARAM_DIGEST, const_cast<char*>(Info(key.algorithm).digest),
            0),
        OSSL_PARAM_construct_end()};
    // A non-null key pointer even for an empty secret: EVP_MAC_init takes
    // NULL as "keep the previous key".
    static const unsigned char kNoKey = 0;
    const auto* k = key.secret.empty()
                        ? &kNoKey
                        : reinterpret_cast<const unsigned char*>(key.secret.data());
    ok_ = EVP_MAC_init(ctx_, k, key.secret.size(), params) == 1;
  }
  ~Hmac() { EVP_MAC_CTX_free(ctx_); }
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  void Update(const void* p, size_t n) {
    if (ok_ && n > 0) {
      ok_ = EVP_MAC_update(ctx_, static_cast<const unsigned char*>(p), n) == 1;
    }
  }
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  void Update16(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Update(b, 2);
  }
  // Length-prefixed: the request MAC or prior MAC (RFC 8945 4.3.2, 5.3.1).
  void UpdateMac(std::string_view mac) {
    Update16(static_cast<uint16_t>(mac.size()));
    Update(mac);
  }
  // RFC 8945 4.3.3: time signed (48 bits) and fudge.
  void UpdateTimers(uint64_t time_signed, uint16_t fudge) {
    std::string b;
    Put48(&b, time_signed & kMask48);
    Put16(&b, fudge);
    Update(b);
  }
  // RFC 8945 4.3.3: the TSIG variables. Names are lowercased wire names.
  void UpdateVariables(std::string_view key_name, std::string_view algorithm,
                       uint64_t time_signed, uint16_t fudge, uint16_t error,
                       std::string_view other) {
    Update(LowerWire(key_name));
    Update16(dns::rrclass::kAny);
    const uint8_t ttl[4] = {0, 0, 0, 0};
    Update(ttl, 4);
    Update(LowerWire(algorithm));
    UpdateTimers(time_signed, fudge);
    Update16(error);
    Update16(static_cast<uint16_t>(other.size()));
    Update(other);
  }
  // A received message without its TSIG RR: the Original ID in place of
  // the ID and ARCOUNT one less (RFC 8945 4.3.1). The caller checked that
  // 12 <= rec.offset <= the message length and ARCOUNT >= 1.
  void UpdateReceived(const uint8_t* msg, const TsigRecord& rec) {
    Update16(rec.original_id);
    Update(msg + dns::kOffFlags1, dns::kOffArCount - dns::kOffFlags1);
    Update16(static_cast<uint16_t>(dns::GetArCount(msg) - 1));
    Update(msg + dns::kHeaderSize, rec.offset - dns::kHeaderSize);
  }

  std::string Final() {
    if (!ok_) return {};
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (EVP_MAC_final(ctx_, out, &n, sizeof(out)) != 1) return {};
    return std::string(reinterpret_cast<const char*>(out), n);
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
  bool ok_ = false;
};

// The received MAC, possibly truncated (RFC 8945 5.2.2.1), against the full
// one computed here: in constant time over the received length.
bool MacMatches(const std::string& computed, const std::string& received,
                const AlgorithmInfo& info) {
  if (computed.size() != info.mac_size) return false;  // OpenSSL failed
  if (received.size() > computed.size() ||
      received.size() < MinMacSize(info)) {
    return false;
  }
  return CRYPTO_memcmp(computed.data(), received.data(), received.size()) == 0;
}

// RFC 8945 5.2.3: |now - time signed| > fudge is BADTIME.
bool TimeOk(uint64_t now, uint64_t time_signed, uint16_t fudge) {
  const uint64_t diff =
      now > time_signed ? now - time_signed : time_signed - now;
  return diff <= fudge;
}

// Whether a received message can be fed to Hmac::UpdateReceived.
bool ReceivedShapeOk(const uint8_t* msg, size_t len, const TsigRecord& rec) {
  return msg != nullptr && len >= dns::kHeaderSize &&
         rec.offset >= dns::kHeaderSize && rec.offset <= len &&
         dns::GetArCount(msg) >= 1;
}

// Appends a TSIG RR (RFC 8945 4.2) and raises ARCOUNT. The owner name is
// written uncompressed.
void AppendTsigRr(std::vector<uint8_t>* msg, std::string_view owner,
                  std::string_view algorithm, uint64_t time_signed,
                  uint16_t fudge, std::string_view mac, uint16_t original_id,
                  uint16_t error, std::string_view other) {
  if (msg->size() < dns::kHeaderSize) return;
  const uint16_t arcount = dns::GetArCount(msg->data());
  if (arcount == 0xFFFF) return;
  if (owner.empty()) owner = std::string_view("\0", 1);
  std::string rdata(algorithm);
  Put48(&rdata, time_signed & kMask48);
  Put16(&rdata, fudge);
  Put16(&rdata, static_cast<uint16_t>(mac.size()));
  rdata.append(mac);
  Put16(&rdata, original_id);
  Put16(&rdata, error);
  Put16(&rdata, static_cast<uint16_t>(other.size()));
  rdata.append(other);

  std::string rr(owner);
  Put16(&rr, dns::rrtype::kTsig);
  Put16(&rr, dns::rrclass::kAny);
  Put32(&rr, 0);
  Put16(&rr, static_cast<uint16_t>(rdata.size()));
  rr.append(rdata);
  msg->insert(msg->end(), rr.begin(), rr.end());
  Store16(msg->data() + dns::kOffArCount, static_cast<uint16_t>(arcount + 1));
}

const char* ErrorName(uint16_t error) {
  switch (error) {
    case kTsigBadSig: return "BADSIG";
    case kTsigBadKey: return "BADKEY";
    case kTsigBadTime: return "BADTIME";
    case 19: return "BADMODE";
    case 20: return "BADNAME";
    case 21: return "BADALG";
    case kTsigBadTrunc: return "BADTRUNC";
    default: return "unknown TSIG error";
  }
}

// Parses the RDATA of a TSIG RR, rdata[0, rdlen) of msg (RFC 8945 4.2).
bool ParseTsigRdata(const uint8_t* msg, size_t rdata, size_t rdlen,
                    TsigRecord* out) {
  const size_t rdend = rdata + rdlen;
  size_t p = 0;
  // RFC 8945 4.2: the algorithm name MUST NOT be compressed (RFC 3597).
  if (!ReadName(msg, rdend, rdata, /*compressed_ok=*/false, &out->algorithm,
                &p)) {
    return false;
  }
  if (rdend - p < 10) return false;
  out->time_signed = (uint64_t{Load16(msg + p)} << 32) | Load32(msg + p + 2);
  out->fudge = Load16(msg + p + 6);
  const size_t mac_size = Load16(msg + p + 8);
  p += 10;
  if (rdend - p < mac_size) return false;
  out->mac.assign(reinterpret_cast<const char*>(msg + p), mac_size);
  p += mac_size;
  if (rdend - p < 6) return false;
  out->original_id = Load16(msg + p);
  out->error = Load16(msg + p + 2);
  const size_t other_len = Load16(msg + p + 4);
  p += 6;
  if (rdend - p != other_len) return false;  // nothing may follow Other Data
  out->other.assign(reinterpret_cast<const char*>(msg + p), other_len);

  // RFC 8945 5.2.2.1 rules 1 and 3 (FORMERR); an empty MAC only on an
  // error (5.3.2). Unknown algorithms are the caller's BADKEY.
  if (const AlgorithmInfo* info = InfoByWire(out->algorithm)) {
    if (mac_size > info->mac_size) return false;
    if (mac_size < MinMacSize(*info) && !(mac_size == 0 && out->error != 0)) {
      return false;
    }
  }
  return true;
}

// Base64 (RFC 4648 4) with padding, ASCII whitespace ignored. Scratch
// copies of the secret are wiped whatever the outcome.
bool DecodeBase64Into(const std::string& s, std::string* raw) {
  if (s.empty() || s.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && s[s.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < s.size() - pad; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!absl::ascii_isalnum(c) && c != '+' && c != '/') return false;
  }
  const size_t full = s.size() / 4 * 3;
  raw->assign(full, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw->data()),
                                reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  if (n < 0 || static_cast<size_t>(n) != full) return false;
  // EVP_DecodeBlock decodes each '=' as zero bits: drop those bytes.
  OPENSSL_cleanse(raw->data() + full - pad, pad);
  raw->resize(full - pad);
  return true;
}

bool DecodeBase64(std::string_view in, std::string* out) {
  std::string s;
  s.reserve(in.size());
  for (char c : in) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) s.push_back(c);
  }
  std::string raw;
  const bool ok = DecodeBase64Into(s, &raw);
  if (ok) *out = raw;
  OPENSSL_cleanse(s.data(), s.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  return ok;
}

}  // namespace

absl::StatusOr<TsigAlgorithm> ParseTsigAlgorithm(std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && t.back() == '.') t.remove_suffix(1);
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (absl::EqualsIgnoreCase(Absl(t), Absl(info.name))) return info.algorithm;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown TSIG algorithm '", absl::CHexEscape(Absl(text)),
      "' (known: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512)"));
}

std::string_view TsigAlgorithmName(TsigAlgorithm algorithm) {
  return Info(algorithm).name;
}

std::string TsigAlgorithmWire(TsigAlgorithm algorithm) {
  const std::string_view name = Info(algorithm).name;
  std::string wire;
  wire.push_back(static_cast<char>(name.size()));
  wire.append(name);
  wire.push_back('\0');
  return wire;
}

absl::StatusOr<TsigKey> MakeTsigKey(std::string_view name,
                                    std::string_view algorithm,
                                    std::string_view base64_secret) {
  TsigKey key;
  if (!NameTextToWire(name, &key.name) || key.name.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TSIG key name '", absl::CHexEscape(Absl(name)), "' is not a domain name"));
  }
  key.name_text = std::string(name);
  if (key.name_text.back() != '.' ||
      (key.name_text.size() >= 2 &&
       key.name_text[key.name_text.size() - 2] == '\\')) {
    key.name_text.push_back('.');
  }
  auto alg = ParseTsigAlgorithm(algorithm);
  if (!alg.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TSIG key ", key.name_text, ": ", alg.status().message()));
  }
  key.algorithm = *alg;
  if (!DecodeBase64(base64_secret, &key.secret) || key.secret.empty()) {
    // Never the secret itself, nor a part of it.
    return absl::InvalidArgumentError(absl::StrCat(
        "TSIG key ", key.name_text, ": secret is empty or not valid base64"));
  }
  return key;
}

absl::Status TsigKeyring::Add(TsigKey key) {
  if (key.name.empty()) {
    return absl::InvalidArgumentError("TSIG key without a name");
  }
  if (Find(key.name) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("TSIG key ", key.name_text, " is defined twice"));
  }
  key.name = LowerWire(key.name);
  keys_.push_back(std::make_unique<TsigKey>(std::move(key)));
  return absl::OkStatus();
}

const TsigKey* TsigKeyring::Find(std::string_view wire_name) const {
  for (const auto& key : keys_) {
    if (WireEqualsIgnoreCase(key->name, wire_name)) return key.get();
  }
  return nullptr;
}

const TsigKey* TsigKeyring::FindByText(std::string_view text) const {
  std::string wire;
  if (!NameTextToWire(text, &wire)) return nullptr;
  return Find(wire);
}

namespace {

// Skips `qdcount` questions and `rrs` records from *pos in msg[0, len).
// Each question takes at least 5 bytes and each record 11, so `pos` bounds
// the loops however large the counts.
bool SkipSections(const uint8_t* msg, size_t len, uint32_t qdcount,
                  uint32_t rrs, size_t* pos) {
  for (uint32_t i = 0; i < qdcount; ++i) {
    size_t end = 0;
    if (dns::SkipName(msg, len, *pos, &end) != dns::NameStatus::kOk ||
        len - end < 4) {
      return false;
    }
    *pos = end + 4;
  }
  for (uint32_t i = 0; i < rrs; ++i) {
    size_t end = 0;
    if (dns::SkipName(msg, len, *pos, &end) != dns::NameStatus::kOk ||
        len - end < 10) {
      return false;
    }
    const size_t rdlen = Load16(msg + end + 8);
    if (len - end - 10 < rdlen) return false;
    *pos = end + 10 + rdlen;
  }
  return true;
}

}  // namespace

TsigFind FindTsig(const uint8_t* msg, size_t len, TsigRecord* out) {
  TsigRecord scratch;
  if (out == nullptr) out = &scratch;
  if (msg == nullptr || len < dns::kHeaderSize) return TsigFind::kMalformed;
  size_t pos = dns::kHeaderSize;
  const uint32_t qdcount = dns::GetQdCount(msg);
  if (!SkipSections(msg, len, qdcount, 0, &pos)) return TsigFind::kMalformed;
  const uint32_t before_additional =
      uint32_t{dns::GetAnCount(msg)} + dns::GetNsCount(msg);
  const uint32_t total = before_additional + dns::GetArCount(msg);
  for (uint32_t i = 0; i < total; ++i) {
    const size_t rr_start = pos;
    size_t end = 0;
    if (dns::SkipName(msg, len, pos, &end) != dns::NameStatus::kOk ||
        len - end < 10) {
      return TsigFind::kMalformed;
    }
    const uint16_t type = Load16(msg + end);
    const uint16_t rclass = Load16(msg + end + 2);
    const uint32_t ttl = Load32(msg + end + 4);
    const size_t rdlen = Load16(msg + end + 8);
    const size_t rdata = end + 10;
    if (len - rdata < rdlen) return TsigFind::kMalformed;
    pos = rdata + rdlen;
    if (type != dns::rrtype::kTsig) continue;
    // RFC 8945 5.1 and 4.2: the last record of the additional section,
    // class ANY, TTL 0, and nothing after it.
    if (i + 1 != total || i < before_additional || pos != len ||
        rclass != dns::rrclass::kAny || ttl != 0) {
      return TsigFind::kMalformed;
    }
    // The message without its TSIG is what is signed and what StripTsig
    // hands on: it must parse by itself. (A compressed name before the
    // TSIG may otherwise run on into the TSIG's own bytes.)
    size_t signed_end = dns::kHeaderSize;
    if (!SkipSections(msg, rr_start, qdcount, total - 1, &signed_end) ||
        signed_end != rr_start) {
      return TsigFind::kMalformed;
    }
    out->offset = rr_start;
    size_t owner_end = 0;
    if (!ReadName(msg, len, rr_start, /*compressed_ok=*/true, &out->key_name,
                  &owner_end) ||
        !ParseTsigRdata(msg, rdata, rdlen, out)) {
      return TsigFind::kMalformed;
    }
    return TsigFind::kFound;
  }
  return TsigFind::kNone;
}

void TsigContext::SignRequest(std::vector<uint8_t>* msg, uint64_t now) {
  if (msg->size() < dns::kHeaderSize) return;
  const std::string algorithm = TsigAlgorithmWire(key_.algorithm);
  // RFC 8945 4.3.1 / 4.3.3: the message as it is (the TSIG not yet added).
  Hmac h(key_);
  h.Update(msg->data(), msg->size());
  h.UpdateVariables(key_.name, algorithm, now, kTsigDefaultFudge,
                    kTsigNoError, {});
  std::string mac = h.Final();
  AppendTsigRr(msg, LowerWire(key_.name), algorithm, now, kTsigDefaultFudge,
               mac, Load16(msg->data()), kTsigNoError, {});
  prior_mac_ = std::move(mac);
  pending_.clear();
  unsigned_run_ = 0;
  first_ = true;
  request_time_ = now & kMask48;
  request_fudge_ = kTsigDefaultFudge;
}

absl::Status TsigContext::VerifyResponse(const uint8_t* msg, size_t len,
                                         uint64_t now, size_t* unsigned_len) {
  TsigRecord rec;
  switch (FindTsig(msg, len, &rec)) {
    case TsigFind::kMalformed:
      return absl::PermissionDeniedError(
          "malformed response or TSIG record (FORMERR)");
    case TsigFind::kNone:
      // RFC 8945 5.3.1: the first message must be signed; after it, at most
      // 99 in a row may go unsigned and are folded into the next MAC.
      if (first_) {
        return absl::PermissionDeniedError(
            "unsigned response to a signed request");
      }
      if (unsigned_run_ >= 99) {
        return absl::PermissionDeniedError(
            "unsigned response: more than 99 messages in a row without TSIG");
      }
      pending_.insert(pending_.end(), msg, msg + len);
      ++unsigned_run_;
      *unsigned_len = len;
      return absl::OkStatus();
    case TsigFind::kFound:
      break;
  }
  const AlgorithmInfo* info = InfoByWire(rec.algorithm);
  if (!WireEqualsIgnoreCase(rec.key_name, key_.name) || info == nullptr ||
      info->algorithm != key_.algorithm) {
    return absl::PermissionDeniedError(absl::StrCat(
        "BADKEY: response signed with another key or algorithm than ",
        key_.name_text));
  }
  if (rec.error != kTsigNoError) {
    std::string detail;
    if (rec.error == kTsigBadTime && rec.other.size() == 6) {
      const auto* o = reinterpret_cast<const uint8_t*>(rec.other.data());
      const uint64_t server = (uint64_t{Load16(o)} << 32) | Load32(o + 2);
      detail = absl::StrCat(" (server time ", server, ", ours ", now, ")");
    }
    return absl::PermissionDeniedError(
        absl::StrCat("server answered TSIG error ", ErrorName(rec.error), " (",
                     rec.error, ") for key ", key_.name_text, detail));
  }
  if (!ReceivedShapeOk(msg, len, rec)) {
    return absl::PermissionDeniedError("BADSIG: malformed response");
  }
  Hmac h(key_);
  if (first_) {
    // RFC 8945 4.3.2: request MAC, message, variables.
    if (!prior_mac_.empty()) h.UpdateMac(prior_mac_);
    h.UpdateReceived(msg, rec);
    h.UpdateVariables(rec.key_name, rec.algorithm, rec.time_signed, rec.fudge,
                      rec.error, rec.other);
  } else {
    // RFC 8945 5.3.1: prior MAC, the unsigned messages, message, timers.
    h.UpdateMac(prior_mac_);
    h.Update(pending_.data(), pending_.size());
    h.UpdateReceived(msg, rec);
    h.UpdateTimers(rec.time_signed, rec.fudge);
  }
  if (!MacMatches(h.Final(), rec.mac, *info)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "BADSIG: response MAC does not verify with key ", key_.name_text));
  }
  // RFC 8945 5.4.3 (5.2.3 on the client): the MAC first, then the time.
  if (!TimeOk(now, rec.time_signed, rec.fudge)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "BADTIME: response signed at ", rec.time_signed, ", now ", now,
        ", fudge ", rec.fudge));
  }
  prior_mac_ = rec.mac;
  pending_.clear();
  unsigned_run_ = 0;
  first_ = false;
  *unsigned_len = rec.offset;
  return absl::OkStatus();
}

uint16_t TsigContext::VerifyRequest(const uint8_t* msg, size_t len,
                                    const TsigRecord& rec, uint64_t now) {
  prior_mac_.clear();
  pending_.clear();
  unsigned_run_ = 0;
  first_ = true;
  request_time_ = rec.time_signed;
  request_fudge_ = rec.fudge;
  // The caller matched the key; checked again so that a mismatch can never
  // pass as a good signature.
  const AlgorithmInfo* info = InfoByWire(rec.algorithm);
  if (!WireEqualsIgnoreCase(rec.key_name, key_.name) || info == nullptr ||
      info->algorithm != key_.algorithm) {
    return kTsigBadKey;
  }
  if (!ReceivedShapeOk(msg, len, rec)) return kTsigBadSig;
  // RFC 8945 5.2.2, 4.3.1 and 4.3.3: message, variables.
  Hmac h(key_);
  h.UpdateReceived(msg, rec);
  h.UpdateVariables(rec.key_name, rec.algorithm, rec.time_signed, rec.fudge,
                    rec.error, rec.other);
  if (!MacMatches(h.Final(), rec.mac, *info)) return kTsigBadSig;
  // The response is signed over this MAC, also when it says BADTIME.
  prior_mac_ = rec.mac;
  // RFC 8945 5.2.3: the time is checked after the MAC.
  if (!TimeOk(now, rec.time_signed, rec.fudge)) return kTsigBadTime;
  return kTsigNoError;
}

void TsigContext::SignResponse(std::vector<uint8_t>* msg, uint64_t now,
                               uint16_t error) {
  if (msg->size() < dns::kHeaderSize) return;
  const std::string owner = LowerWire(key_.name);
  const std::string algorithm = TsigAlgorithmWire(key_.algorithm);
  const uint16_t id = Load16(msg->data());
  if (error == kTsigBadSig || error == kTsigBadKey) {
    // RFC 8945 5.3.2: an error about the key or the MAC goes out unsigned
    // (MAC size 0), with the request's timers.
    AppendTsigRr(msg, owner, algorithm, request_time_, request_fudge_, {}, id,
                 error, {});
    return;
  }
  uint64_t time_signed = now & kMask48;
  std::string other;
  if (error == kTsigBadTime) {
    // RFC 8945 5.2.3: signed, the request's Time Signed echoed (so that the
    // client's clock accepts it) and the server's time in Other Data (as
    // BIND and Knot do).
    time_signed = request_time_;
    Put48(&other, now & kMask48);
  }
  Hmac h(key_);
  if (first_) {
    // RFC 8945 4.3.2: request MAC, message, variables.
    if (!prior_mac_.empty()) h.UpdateMac(prior_mac_);
    h.Update(msg->data(), msg->size());
    h.UpdateVariables(owner, algorithm, time_signed, kTsigDefaultFudge, error,
                      other);
  } else {
    // RFC 8945 5.3.1: prior MAC, message, timers.
    h.UpdateMac(prior_mac_);
    h.Update(msg->data(), msg->size());
    h.UpdateTimers(time_signed, kTsigDefaultFudge);
  }
  std::string mac = h.Final();
  AppendTsigRr(msg, owner, algorithm, time_signed, kTsigDefaultFudge, mac, id,
               error, other);
  prior_mac_ = std::move(mac);
  first_ = false;
}

void AppendTsigError(std::vector<uint8_t>* msg, const TsigRecord& request,
                     uint16_t error) {
  if (msg->size() < dns::kHeaderSize) return;
  // RFC 8945 5.3.2: unsigned, echoing the request's key, algorithm, timers.
  AppendTsigRr(msg, request.key_name, request.algorithm, request.time_signed,
               request.fudge, {}, Load16(msg->data()), error, {});
}

void StripTsig(std::vector<uint8_t>* msg, const TsigRecord& rec) {
  if (rec.offset < dns::kHeaderSize || rec.offset > msg->size()) return;
  msg->resize(rec.offset);
  const uint16_t arcount = dns::GetArCount(msg->data());
  if (arcount > 0) {
    Store16(msg->data() + dns::kOffArCount, static_cast<uint16_t>(arcount - 1));
  }
}

}  // namespace popdns::xfr
