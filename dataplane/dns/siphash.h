// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
// 2012): a 64-bit keyed hash of a short message, as RFC 9018 4.4 uses it
// for interoperable DNS server cookies. Written here rather than called
// through OpenSSL 3's EVP_MAC, whose per-call setup costs more than the
// hash of a 28- or 40-byte cookie input.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_SIPHASH_H_
#define POPDNS_DATAPLANE_DNS_SIPHASH_H_

#include <cstddef>
#include <cstdint>

namespace popdns::dns {

// SipHash-2-4 of data[0, len) under the 16-byte `key`. The result is the
// reference implementation's 64-bit value; its 8 output bytes are that
// value little-endian (StoreSipHash).
[[nodiscard]] uint64_t SipHash24(const uint8_t key[16], const uint8_t* data,
                                 size_t len);

// Writes `h` as the reference implementation's 8 output bytes.
inline void StoreSipHash(uint64_t h, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(h >> (8 * i));
}

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_SIPHASH_H_
