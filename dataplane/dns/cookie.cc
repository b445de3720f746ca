#include "dataplane/dns/cookie.h"

#include <cstring>

#include "dataplane/dns/siphash.h"

namespace popdns::dns {
namespace {

constexpr uint8_t kVersion = 1;  // RFC 9018 4.2

// Client cookie (8) | version (1) | reserved (3) | timestamp (4) | address.
size_t HashInput(const uint8_t* client_cookie, const uint8_t* version_to_ts,
                 const Client& client, uint8_t* in) {
  std::memcpy(in, client_cookie, kClientCookieSize);
  std::memcpy(in + 8, version_to_ts, 8);
  const size_t alen = client.ipv6 ? 16 : 4;
  std::memcpy(in + 16, client.ip, alen);
  return 16 + alen;
}

uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}

}  // namespace

void MakeServerCookie(const uint8_t secret[16], const uint8_t* client_cookie,
                      const Client& client, uint8_t out[kServerCookieSize]) {
  out[0] = kVersion;
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<uint8_t>(client.now >> 24);
  out[5] = static_cast<uint8_t>(client.now >> 16);
  out[6] = static_cast<uint8_t>(client.now >> 8);
  out[7] = static_cast<uint8_t>(client.now);
  uint8_t in[32];
  const size_t n = HashInput(client_cookie, out, client, in);
  StoreSipHash(SipHash24(secret, in, n), out + 8);
}

bool ServerCookieHashMatches(const uint8_t secret[16], const uint8_t* cookie,
                             const Client& client) {
  uint8_t in[32];
  const size_t n = HashInput(cookie, cookie + kClientCookieSize, client, in);
  uint8_t hash[8];
  StoreSipHash(SipHash24(secret, in, n), hash);
  // Not secret-dependent timing worth guarding: the hash is the client's
  // to know once it has it, and a mismatch reveals nothing about the key.
  return std::memcmp(hash, cookie + 16, 8) == 0;
}

CookieState CheckCookie(const CookieSecrets& secrets, const Client& client,
                        const uint8_t* option, size_t len,
                        uint8_t out[kServerCookieSize]) {
  // RFC 9018 4.2: our server cookies are exactly 16 bytes of version 1;
  // anything else is another server's (or forged): RFC 7873 5.2.4 treats
  // an invalid server cookie as none at all.
  if (len == kClientCookieSize + kServerCookieSize &&
      option[kClientCookieSize] == kVersion) {
    // RFC 9018 4.3: serial-number arithmetic on the 32-bit timestamp.
    const int32_t age = static_cast<int32_t>(
        client.now - Load32(option + kClientCookieSize + 4));
    if (age <= kCookieLifetime && age >= -kCookieSkew) {
      if (ServerCookieHashMatches(secrets.secret, option, client)) {
        if (age <= kCookieRenewAfter) {
          std::memcpy(out, option + kClientCookieSize, kServerCookieSize);
        } else {
          MakeServerCookie(secrets.secret, option, client, out);
        }
        return CookieState::kValid;
      }
      // During a rollover (RFC 9018 4.4, Appendix A.4): still good, but
      // answered with a cookie of the current secret.
      if (secrets.has_previous &&
          ServerCookieHashMatches(secrets.previous, option, client)) {
        MakeServerCookie(secrets.secret, option, client, out);
        return CookieState::kValid;
      }
    }
  }
  MakeServerCookie(secrets.secret, option, client, out);
  return CookieState::kClientOnly;
}

}  // namespace popdns::dns
