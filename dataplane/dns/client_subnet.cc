#include "dataplane/dns/client_subnet.h"

#include <algorithm>
#include <cstring>

namespace popdns::dns {

zone::Address ClientSubnet::MappedAddress() const {
  if (family == 1) {
    return zone::FromIpv4Bytes(address);
  }
  return zone::FromIpv6(address);
}

uint8_t ClientSubnet::FamilyScope(int mapped_scope) const {
  if (family != 1) return static_cast<uint8_t>(mapped_scope);
  // A range wider than the IPv4 space answers every IPv4 address alike.
  return static_cast<uint8_t>(
      std::max(0, mapped_scope - zone::kIpv4MappedBits));
}

bool ParseClientSubnet(const uint8_t* data, size_t len, ClientSubnet* out) {
  if (len < 4) return false;
  const uint16_t family = static_cast<uint16_t>(data[0] << 8 | data[1]);
  const uint8_t source = data[2];
  const uint8_t scope = data[3];
  size_t bits;
  if (family == 1) {
    bits = 32;
  } else if (family == 2) {
    bits = 128;
  } else {
    return false;
  }
  if (source > bits || scope != 0) return false;
  const size_t octets = (source + 7u) / 8u;
  if (len - 4 != octets) return false;
  *out = ClientSubnet{};
  out->family = family;
  out->source_prefix = source;
  std::memcpy(out->address, data + 4, octets);
  // RFC 7871 6: "padding with 0 bits to pad to the end of the last octet
  // needed"; a server "SHOULD return FORMERR" when they are not.
  if (source % 8 != 0) {
    const uint8_t host = static_cast<uint8_t>(0xFF >> (source % 8));
    if (out->address[octets - 1] & host) return false;
  }
  return true;
}

size_t WriteClientSubnet(const ClientSubnet& query, uint8_t scope,
                         uint8_t* out, size_t room) {
  const size_t octets = (query.source_prefix + 7u) / 8u;
  const size_t total = 4 + 4 + octets;
  if (room < total) return 0;
  const size_t data_len = 4 + octets;
  out[0] = 0;
  out[1] = kEdnsClientSubnet;
  out[2] = static_cast<uint8_t>(data_len >> 8);
  out[3] = static_cast<uint8_t>(data_len);
  out[4] = static_cast<uint8_t>(query.family >> 8);
  out[5] = static_cast<uint8_t>(query.family);
  out[6] = query.source_prefix;
  out[7] = scope;
  std::memcpy(out + 8, query.address, octets);
  return total;
}

}  // namespace popdns::dns
