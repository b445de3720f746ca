#include "dataplane/zone/variant.h"

#include "dataplane/dns/wire.h"
#include "dataplane/zone/name_index.h"

namespace popdns::zone {

namespace {

constexpr struct {
  VariantKind kind;
  std::string_view prefix;
} kSelectors[] = {{VariantKind::kNetwork, "net:"},
                  {VariantKind::kPop, "pop:"},
                  {VariantKind::kCountry, "cc:"},
                  {VariantKind::kAsn, "asn:"}};

bool IsAsciiLetter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

uint64_t VariantSelectorHash(VariantKind kind, std::string_view name) {
  if (kind != VariantKind::kCountry || name.size() != 2) {
    return NameIndex::Hash(name);
  }
  const char upper[2] = {static_cast<char>(name[0] & ~0x20),
                         static_cast<char>(name[1] & ~0x20)};
  return NameIndex::Hash(std::string_view(upper, 2));
}

std::string_view VariantSelectorPrefix(VariantKind kind) {
  for (const auto& s : kSelectors) {
    if (s.kind == kind) return s.prefix;
  }
  return "";
}

bool ParseVariantSelector(std::string_view selector, VariantKind* kind,
                          std::string_view* name) {
  for (const auto& s : kSelectors) {
    if (!selector.starts_with(s.prefix)) continue;
    const std::string_view n = selector.substr(s.prefix.size());
    if (n.empty()) return false;
    if (s.kind == VariantKind::kCountry &&
        (n.size() != 2 || !IsAsciiLetter(n[0]) || !IsAsciiLetter(n[1]))) {
      return false;
    }
    if (s.kind == VariantKind::kAsn) {
      if (n.size() > 10 || n[0] == '0') return false;
      uint64_t v = 0;
      for (char c : n) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      if (v > 0xFFFFFFFFu) return false;
    }
    *kind = s.kind;
    *name = n;
    return true;
  }
  return false;
}

bool ParseVariantRdata(std::string_view rdata, VariantRdata* out) {
  if (rdata.empty()) return false;
  const size_t len = static_cast<uint8_t>(rdata[0]);
  if (rdata.size() < 1 + len + 2) return false;
  if (!ParseVariantSelector(rdata.substr(1, len), &out->kind, &out->name)) {
    return false;
  }
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
