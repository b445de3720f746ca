#include "dataplane/zone/variant.h"

#include "dataplane/dns/wire.h"

namespace popdns::zone {

bool ParseVariantRdata(std::string_view rdata, VariantRdata* out) {
  if (rdata.empty()) return false;
  const size_t len = static_cast<uint8_t>(rdata[0]);
  if (rdata.size() < 1 + len + 2 || len <= 4) return false;
  const std::string_view selector = rdata.substr(1, len);
  if (selector.starts_with("net:")) {
    out->kind = VariantKind::kNetwork;
  } else if (selector.starts_with("pop:")) {
    out->kind = VariantKind::kPop;
  } else {
    return false;
  }
  out->name = selector.substr(4);
  const auto* t = reinterpret_cast<const uint8_t*>(rdata.data() + 1 + len);
  out->type = dns::Load16(t);
  out->rdata = rdata.substr(1 + len + 2);
  switch (out->type) {
    case dns::rrtype::kA:
      return out->rdata.size() == 4;
    case dns::rrtype::kAaaa:
      return out->rdata.size() == 16;
    case dns::rrtype::kTxt: {
      // One or more character-strings, exactly filling the RDATA.
      size_t i = 0;
      while (i < out->rdata.size()) {
        i += 1 + static_cast<uint8_t>(out->rdata[i]);
      }
      return !out->rdata.empty() && i == out->rdata.size();
    }
    default:
      return false;
  }
}

}  // namespace popdns::zone
