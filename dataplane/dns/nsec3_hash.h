// NSEC3 hashes (RFC 5155 5) of query names, for denial-of-existence proofs
// in NSEC3-signed zones: only a name that does not exist is hashed per
// query (the zone's own owners were hashed by its signer).
#ifndef POPDNS_DATAPLANE_DNS_NSEC3_HASH_H_
#define POPDNS_DATAPLANE_DNS_NSEC3_HASH_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/zone/zone.h"

namespace popdns::dns {

using Nsec3Digest = std::array<uint8_t, zone::Zone::Nsec3Chain::kHashSize>;

// IH(salt, x, k) with x the lowercase wire name and k the zone's
// iterations: SHA-1 of name + salt, then k more times of digest + salt.
Nsec3Digest Nsec3Hash(const zone::Zone::Nsec3Chain& chain,
                      std::string_view lower_wire_name);

// The hash an NSEC3 owner stands for: its first label, base32hex (RFC 5155
// 3.3, RFC 4648 7), right below the apex (`apex_size` octets of the
// lowercase wire name). False for any other name.
bool Nsec3OwnerHash(std::string_view lower_wire_name, size_t apex_size,
                    Nsec3Digest* out);

// The iterations and salt of NSEC3 or NSEC3PARAM RDATA (RFC 5155 3.2,
// 4.2), given with its 2-octet length first; nothing if it is too short.
void ReadNsec3Parameters(const uint8_t* rdata_with_length,
                         zone::Zone::Nsec3Chain* chain);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_NSEC3_HASH_H_
