#include "dataplane/dns/nsec3_hash.h"

#include <openssl/evp.h>

#include <cstring>

#include "dataplane/dns/wire.h"

namespace popdns::dns {

Nsec3Digest Nsec3Hash(const zone::Zone::Nsec3Chain& chain,
                      std::string_view lower_wire_name) {
  // The longest input: a name (255) or a digest, then the salt (255).
  uint8_t in[kMaxNameSize + 255];
  Nsec3Digest out{};
  size_t len = lower_wire_name.size();
  std::memcpy(in, lower_wire_name.data(), len);
  for (uint32_t k = 0; k <= chain.iterations; ++k) {
    std::memcpy(in + len, chain.salt.data(), chain.salt.size());
    unsigned int md_len = 0;
    EVP_Digest(in, len + chain.salt.size(), out.data(), &md_len, EVP_sha1(),
               nullptr);
    std::memcpy(in, out.data(), out.size());
    len = out.size();
  }
  return out;
}

bool Nsec3OwnerHash(std::string_view name, size_t apex_size,
                    Nsec3Digest* out) {
  if (name.empty()) return false;
  const size_t first = static_cast<uint8_t>(name[0]);
  if (first != 32 || name.size() != 1 + first + apex_size) return false;
  uint32_t bits = 0;
  int nbits = 0;
  size_t n = 0;
  for (size_t i = 1; i <= first; ++i) {
    const char c = name[i];
    uint32_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'v') {
      v = static_cast<uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    bits = (bits << 5) | v;
    nbits += 5;
    if (nbits >= 8) {
      nbits -= 8;
      (*out)[n++] = static_cast<uint8_t>(bits >> nbits);
    }
  }
  return true;
}

void ReadNsec3Parameters(const uint8_t* rdata, zone::Zone::Nsec3Chain* chain) {
  const size_t rdlen = Load16(rdata);
  // Hash Alg, Flags, Iterations (2), Salt Length, Salt.
  if (rdlen < 5 || rdlen < 5u + rdata[6]) return;
  chain->iterations = Load16(rdata + 4);
  chain->salt.assign(reinterpret_cast<const char*>(rdata + 7), rdata[6]);
}

}  // namespace popdns::dns
