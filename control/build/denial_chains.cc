#include "control/build/denial_chains.h"

#include "dataplane/dns/name.h"
#include "dataplane/dns/nsec3_hash.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {

void DenialChainEntries::Add(const zone::Zone& z, const zone::Node& node,
                             uint32_t index) {
  if (z.FindRRset(node, dns::rrtype::kNsec)) {
    uint8_t key[dns::kMaxNameSize + 1];
    const size_t len = dns::CanonicalKey(node.name, key);
    nsec.push_back({std::string(reinterpret_cast<const char*>(key), len),
                    index});
  }
  dns::Nsec3Digest hash;
  if (z.FindRRset(node, dns::rrtype::kNsec3) &&
      dns::Nsec3OwnerHash(node.name, z.apex.size(), &hash)) {
    nsec3.push_back({hash, index});
  }
}

void DenialChainEntries::Sort() {
  NsecChain::SortEdits(nsec);
  Nsec3Owners::SortEdits(nsec3);
}

}  // namespace popdns::control
