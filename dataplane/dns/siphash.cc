#include "dataplane/dns/siphash.h"

#include <bit>
#include <cstring>

namespace popdns::dns {
namespace {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline uint64_t Load64Le(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) {
    v = __builtin_bswap64(v);
  }
  return v;
}

struct State {
  uint64_t v0, v1, v2, v3;
  // One SipRound (paper, section 2).
  inline void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
  inline void Compress(uint64_t m) {
    v3 ^= m;
    Round();  // c = 2
    Round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t SipHash24(const uint8_t key[16], const uint8_t* data, size_t len) {
  const uint64_t k0 = Load64Le(key), k1 = Load64Le(key + 8);
  State s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
          k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) s.Compress(Load64Le(data + i));
  // The last block: the remaining bytes, and len mod 256 in the top byte.
  uint64_t b = static_cast<uint64_t>(len & 0xFF) << 56;
  for (size_t i = 0; i < (len & 7); ++i) {
    b |= static_cast<uint64_t>(data[whole + i]) << (8 * i);
  }
  s.Compress(b);
  s.v2 ^= 0xFF;
  s.Round();  // d = 4
  s.Round();
  s.Round();
  s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace popdns::dns
