// DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): the
// server cookie is Version 1 | Reserved | Timestamp | SipHash-2-4 of
// (client cookie | version | reserved | timestamp | client address) under
// a 16-byte secret that every server of a fleet shares, so that a cookie
// one PoP handed out verifies at any other (anycast moves clients around).
// A second secret (`previous`) still verifies during a rollover; cookies
// are always made with the current one.
//
// The engine (ParseForConfig in answer_parsed.h) checks the COOKIE option
// of a query once it is parsed and records the server cookie to answer
// with in the Query; Finish() writes it into the response's OPT record.
// Rate limiting (rrl.h) reads the verdict from AnswerResult::cookie.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_COOKIE_H_
#define POPDNS_DATAPLANE_DNS_COOKIE_H_

#include <cstddef>
#include <cstdint>

namespace popdns::dns {

inline constexpr uint16_t kOptionCookie = 10;           // RFC 7873 4
inline constexpr size_t kClientCookieSize = 8;          // RFC 7873 4
inline constexpr size_t kMinCookieOption = 8;           // client only
inline constexpr size_t kMinServerCookieOption = 16;    // RFC 7873 4: 8..32
inline constexpr size_t kMaxCookieOption = 40;          // server cookie
inline constexpr size_t kServerCookieSize = 16;         // RFC 9018 4.2
// The option we add to a response: code, length, client and server cookie.
inline constexpr size_t kCookieOptionSize = 4 + kClientCookieSize +
                                            kServerCookieSize;
inline constexpr uint16_t kRcodeBadCookie = 23;         // RFC 7873 8
// RFC 9018 4.3: a server cookie is good for an hour, may be up to five
// minutes in the future (clock skew inside a fleet), and is replaced by a
// fresh one once it is half an hour old.
inline constexpr int32_t kCookieLifetime = 3600;
inline constexpr int32_t kCookieSkew = 300;
inline constexpr int32_t kCookieRenewAfter = 1800;

// Who sent a query, and when: what a server cookie is computed over.
struct Client {
  const uint8_t* ip = nullptr;  // 4 or 16 bytes, network order; nullptr:
                                // unknown (no cookies are made)
  bool ipv6 = false;
  uint32_t now = 0;             // Unix time, seconds (RFC 9018 4.3)
};

// From the config (`cookies: {secret, secret_previous}`); shared read-only
// by every thread.
struct CookieSecrets {
  uint8_t secret[16] = {};
  uint8_t previous[16] = {};
  bool has_previous = false;
};

enum class CookieState : uint8_t {
  kNone,        // no COOKIE option, or cookies off: rate limiting applies
  kClientOnly,  // a client cookie without a valid server cookie
                // (RFC 7873 5.2.3, 5.2.4): answered normally with a fresh
                // server cookie; rate limiting applies, a slip is BADCOOKIE
  kValid,       // a server cookie we made for this client and time
                // (RFC 7873 5.2.5): rate limiting is bypassed
};

// The server cookie for `client_cookie` from `client` at `client.now`,
// made with `secret` (RFC 9018 4.2, reserved bytes zero).
void MakeServerCookie(const uint8_t secret[16], const uint8_t* client_cookie,
                      const Client& client, uint8_t out[kServerCookieSize]);

// Whether the 24-byte {client cookie, server cookie} `cookie` carries a hash
// made with `secret` for `client` (its own timestamp and reserved bytes as
// received; the version byte is not checked here).
[[nodiscard]] bool ServerCookieHashMatches(const uint8_t secret[16],
                                           const uint8_t* cookie,
                                           const Client& client);

// The verdict on a received COOKIE option `option[0, len)` (8 or 16..40
// bytes: other lengths are FORMERR, RFC 7873 5.2.2, the caller's business)
// and the server cookie to answer with in `out`: the one received when it
// is valid, made with the current secret and less than half an hour old,
// else a fresh one. `client.ip` must be set.
[[nodiscard]] CookieState CheckCookie(const CookieSecrets& secrets,
                                      const Client& client,
                                      const uint8_t* option, size_t len,
                                      uint8_t out[kServerCookieSize]);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_COOKIE_H_
