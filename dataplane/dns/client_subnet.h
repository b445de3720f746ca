// EDNS Client Subnet (RFC 7871): the option a resolver sends to say which
// network it asks for, and the one the answer carries back with its scope.
#ifndef POPDNS_DATAPLANE_DNS_CLIENT_SUBNET_H_
#define POPDNS_DATAPLANE_DNS_CLIENT_SUBNET_H_

#include <cstddef>
#include <cstdint>

#include "dataplane/zone/network_table.h"

namespace popdns::dns {

inline constexpr uint16_t kEdnsClientSubnet = 8;  // RFC 7871 6

struct ClientSubnet {
  uint16_t family = 0;        // 1 IPv4, 2 IPv6 (IANA address families)
  uint8_t source_prefix = 0;  // in the family's bits
  uint8_t scope_prefix = 0;
  uint8_t address[16] = {};   // source_prefix bits, the rest zero

  // The address in the table's space (IPv4 mapped) and the source prefix
  // there.
  zone::Address MappedAddress() const;
  int MappedSourcePrefix() const {
    return family == 1 ? zone::kIpv4MappedBits + source_prefix : source_prefix;
  }
  // A scope found in the table's space, in the family's bits.
  uint8_t FamilyScope(int mapped_scope) const;
};

// The option's data (after OPTION-CODE and OPTION-LENGTH). False for what
// RFC 7871 6 tells a server to reject with FORMERR: a family other than 1
// or 2, a source prefix longer than the family's address, ADDRESS octets
// other than exactly ceil(SOURCE PREFIX-LENGTH / 8), address bits set
// beyond the source prefix, or a non-zero scope (7.1.1: "In queries, it
// MUST be set to 0").
bool ParseClientSubnet(const uint8_t* data, size_t len, ClientSubnet* out);

// The bytes the answer's option takes (code, length, data).
inline size_t ClientSubnetOptionSize(const ClientSubnet& query) {
  return 4 + 4 + (query.source_prefix + 7u) / 8u;
}

// Writes the option (code, length, data) for an answer: the query's
// family, source prefix and address, and `scope` (7.2.1). Returns the
// bytes written, 0 if `room` is too small (at most 4 + 4 + 16).
size_t WriteClientSubnet(const ClientSubnet& query, uint8_t scope,
                         uint8_t* out, size_t room);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_CLIENT_SUBNET_H_
