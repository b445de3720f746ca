// Named client networks for answers that depend on who asks (issue 16):
// the most specific network holding an address, and how far the answer
// chosen for it reaches (the ECS scope, RFC 7871 7.2.1).
//
// Built on the control side from prefixes that may nest (the longest
// wins); what the data path reads is one sorted array of disjoint address
// ranges, each with its network, searched in O(log ranges) with no
// allocation. IPv4 lives in the IPv6 space as ::ffff:a.b.c.d (RFC 4291
// 2.5.5.2), so one table holds both families.
#ifndef POPDNS_DATAPLANE_ZONE_NETWORK_TABLE_H_
#define POPDNS_DATAPLANE_ZONE_NETWORK_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/zone/address.h"

namespace popdns::zone {

class NetworkTable {
 public:
  // 32 bits: a GeoIP ASN table has more distinct networks than 16 hold.
  using NetworkId = uint32_t;
  static constexpr NetworkId kNoNetwork = 0xFFFFFFFF;

  struct Prefix {
    Address address;  // host bits beyond `length` must be zero
    uint8_t length;   // 0..128, in the IPv6 space
    NetworkId network;
  };
  // Prefixes may nest; the same prefix twice for two networks is an error
  // (InvalidArgument naming it), and so is a network id of kNoNetwork.
  static absl::StatusOr<NetworkTable> Build(std::vector<Prefix> prefixes);

  struct Match {
    NetworkId network = kNoNetwork;  // kNoNetwork: in none of them
    // The shortest prefix of the address all of whose addresses have the
    // same match (0..128, IPv6 space): the scope an answer chosen by this
    // match may claim.
    uint8_t scope = 0;
  };
  Match Find(Address a) const;

  bool empty() const { return starts_.size() <= 1; }
  size_t ranges() const { return starts_.size(); }

 private:
  // starts_[i] .. starts_[i + 1] - 1 (or the end of the space) belong to
  // networks_[i]; starts_[0] == 0; adjacent ranges differ in network.
  std::vector<Address> starts_{Address{0}};
  std::vector<NetworkId> networks_{kNoNetwork};
};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_NETWORK_TABLE_H_
