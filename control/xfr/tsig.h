// TSIG (RFC 8945): keys, and signing and verifying DNS messages with
// OpenSSL's HMAC (hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512).
// Control side only: zone transfers in and out, NOTIFY, UPDATE and signed
// queries on the slow path. Any thread; a TsigContext belongs to one
// exchange and is not shared. Secrets are never logged or put in errors.
#ifndef POPDNS_CONTROL_XFR_TSIG_H_
#define POPDNS_CONTROL_XFR_TSIG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace popdns::xfr {

enum class TsigAlgorithm : uint8_t {
  kHmacSha1,
  kHmacSha256,
  kHmacSha384,
  kHmacSha512,
};

// "hmac-sha256", case-insensitive, with or without the trailing dot.
// Errors: InvalidArgument naming the algorithm.
absl::StatusOr<TsigAlgorithm> ParseTsigAlgorithm(std::string_view text);
// "hmac-sha256" (presentation, no trailing dot).
std::string_view TsigAlgorithmName(TsigAlgorithm algorithm);
// The algorithm's name in wire format, as it goes into the TSIG RR.
std::string TsigAlgorithmWire(TsigAlgorithm algorithm);

struct TsigKey {
  std::string name;       // wire format, lowercased
  std::string name_text;  // presentation, for logs ("xfr-key.")
  TsigAlgorithm algorithm = TsigAlgorithm::kHmacSha256;
  std::string secret;  // raw bytes: never logged
};

// A key as `tsig-keygen` and `keymgr -t` print it: name, algorithm name,
// base64 secret. Errors: InvalidArgument (bad name, unknown algorithm,
// secret that is not base64 or is empty); the message never holds the
// secret.
absl::StatusOr<TsigKey> MakeTsigKey(std::string_view name,
                                    std::string_view algorithm,
                                    std::string_view base64_secret);

class TsigKeyring {
 public:
  // Errors: AlreadyExists when a key of that name is there.
  absl::Status Add(TsigKey key);
  // By wire name, ASCII case-insensitive; nullptr when unknown.
  const TsigKey* Find(std::string_view wire_name) const;
  // By the name as written in the config ("xfr-key" or "xfr-key.").
  const TsigKey* FindByText(std::string_view text) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<std::unique_ptr<TsigKey>> keys_;  // stable addresses
};

// RFC 8945 4.3 / 5.2: the TSIG RR's Error field.
inline constexpr uint16_t kTsigNoError = 0;
inline constexpr uint16_t kTsigBadSig = 16;
inline constexpr uint16_t kTsigBadKey = 17;
inline constexpr uint16_t kTsigBadTime = 18;
inline constexpr uint16_t kTsigBadTrunc = 22;
inline constexpr uint16_t kTsigDefaultFudge = 300;  // RFC 8945 10

// The TSIG record of a message (RFC 8945 4.2).
struct TsigRecord {
  size_t offset = 0;  // where the TSIG RR starts: the message without it
                      // is msg[0, offset) with ARCOUNT one less
  std::string key_name;   // wire, lowercased
  std::string algorithm;  // wire, lowercased
  uint64_t time_signed = 0;  // 48 bits
  uint16_t fudge = 0;
  std::string mac;
  uint16_t original_id = 0;
  uint16_t error = 0;
  std::string other;
};

enum class TsigFind : uint8_t {
  kNone,       // no TSIG RR
  kFound,      // the last RR of the additional section is a TSIG RR
  kMalformed,  // a TSIG RR that is not the last one, not class ANY, TTL
               // not 0, or malformed RDATA (including a MAC size outside
               // RFC 8945 5.2.2.1's range); or the message itself does not
               // parse (RFC 8945 5.1: answer FORMERR)
};
// Walks msg[0, len) (names may be compressed). Never reads outside it.
TsigFind FindTsig(const uint8_t* msg, size_t len, TsigRecord* out);

// One signed exchange: a request and its response message(s), in order.
// Every message of a multi-message response (AXFR/IXFR) after the first
// is signed over the previous MAC, the message and the timers only
// (RFC 8945 5.3.1).
class TsigContext {
 public:
  explicit TsigContext(const TsigKey& key) : key_(key) {}

  // --- client side (transfers in, NOTIFY out, SOA queries) ---
  // Appends a TSIG RR to `msg` (ARCOUNT + 1) signing it as a request at
  // time `now` (seconds since the epoch), fudge 300.
  void SignRequest(std::vector<uint8_t>* msg, uint64_t now);
  // Verifies the next response message of the exchange. On success sets
  // *unsigned_len to the length of the message without its TSIG RR (its
  // ARCOUNT is then one too many: use StripTsig or parse with care) and
  // remembers its MAC for the next message. RFC 8945 5.3.1 lets up to 99
  // messages in a row go unsigned after the first; they are accepted
  // (*unsigned_len = len) and folded into the next signed message's MAC.
  // Errors: PermissionDenied with "BADSIG", "BADKEY", "BADTIME",
  // "unsigned response" or the server's TSIG error in the message.
  absl::Status VerifyResponse(const uint8_t* msg, size_t len, uint64_t now,
                              size_t* unsigned_len);
  // Whether the last message verified had no TSIG and more must follow.
  bool expecting_signed() const { return unsigned_run_ > 0; }

  // --- server side (transfers out, NOTIFY in, UPDATE, signed queries) ---
  // Verifies a request whose TSIG `rec` (from FindTsig) names this
  // context's key. Returns the TSIG error to answer with: kTsigNoError,
  // kTsigBadSig or kTsigBadTime (RFC 8945 5.2.2, 5.2.3). A BADKEY (the key
  // is unknown or the algorithm differs) is the caller's to detect before
  // building a context: see AppendTsigError (should `rec` name another key
  // or algorithm anyway, this returns kTsigBadKey, never success).
  uint16_t VerifyRequest(const uint8_t* msg, size_t len,
                         const TsigRecord& rec, uint64_t now);
  // Appends a TSIG RR to a response message: the first over the request's
  // MAC, each next one over the previous response's MAC (RFC 8945 5.3).
  // `error` is the TSIG error of VerifyRequest: BADSIG responses go out
  // unsigned (empty MAC, RFC 8945 5.3.2); BADTIME responses are signed and
  // carry the server's time in Other Data (5.2.3).
  void SignResponse(std::vector<uint8_t>* msg, uint64_t now, uint16_t error);

 private:
  const TsigKey& key_;
  std::string prior_mac_;          // the request's or previous message's
  std::vector<uint8_t> pending_;   // unsigned messages since the last MAC
  int unsigned_run_ = 0;
  bool first_ = true;
  uint64_t request_time_ = 0;  // the request's timers, for error responses
  uint16_t request_fudge_ = kTsigDefaultFudge;
};

// Appends an unsigned TSIG RR with error `error` (BADKEY: key unknown)
// echoing the request's key name, algorithm and timers (RFC 8945 5.3.2).
// The caller sets RCODE NOTAUTH.
void AppendTsigError(std::vector<uint8_t>* msg, const TsigRecord& request,
                     uint16_t error);

// Removes the TSIG RR at rec.offset from msg and lowers ARCOUNT: what the
// answer engine is given for a verified signed query.
void StripTsig(std::vector<uint8_t>* msg, const TsigRecord& rec);

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_TSIG_H_
