// Addresses of clients and endpoints (issue 16) as one 128-bit number:
// IPv4 lives in the IPv6 space as ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so
// that one table or set holds both families.
#ifndef POPDNS_DATAPLANE_ZONE_ADDRESS_H_
#define POPDNS_DATAPLANE_ZONE_ADDRESS_H_

#include <cstdint>

#include "absl/numeric/int128.h"

namespace popdns::zone {

using Address = absl::uint128;

// ::ffff:a.b.c.d for the IPv4 address `v4` (host byte order).
constexpr Address FromIpv4(uint32_t v4) {
  return (Address{0xffff} << 32) | v4;
}
// The 4 bytes of an IPv4 address, network order, mapped.
constexpr Address FromIpv4Bytes(const uint8_t b[4]) {
  return FromIpv4(uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 |
                  uint32_t{b[2]} << 8 | b[3]);
}
// The 16 bytes of an IPv6 address, network order.
constexpr Address FromIpv6(const uint8_t bytes[16]) {
  Address a = 0;
  for (int i = 0; i < 16; ++i) a = (a << 8) | bytes[i];
  return a;
}
constexpr bool IsIpv4Mapped(Address a) { return (a >> 32) == 0xffff; }
// Prefix lengths of the IPv4-mapped space: IPv4 /n is /(96 + n).
constexpr int kIpv4MappedBits = 96;

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_ADDRESS_H_
