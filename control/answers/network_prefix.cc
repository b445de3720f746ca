#include "control/answers/network_prefix.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace popdns::control {

absl::StatusOr<zone::Address> ParseAddress(std::string_view text) {
  const std::string s(text);
  uint8_t b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) return zone::FromIpv4Bytes(b);
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) return zone::FromIpv6(b);
  return absl::InvalidArgumentError(
      absl::StrCat("'", s, "': not an IPv4 or IPv6 address"));
}

absl::StatusOr<zone::NetworkTable::Prefix> ParseNetworkPrefix(
    std::string_view text, uint16_t network) {
  // (absl::string_view is not std::string_view in Debian's abseil.)
  const std::string whole(text);
  const size_t slash = whole.find('/');
  const std::string addr = whole.substr(0, slash);
  auto address = ParseAddress(addr);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", whole, "': not an IPv4 or IPv6 address"));
  }
  zone::NetworkTable::Prefix p{*address, 128, network};
  // Written as IPv4 (IPv6 text always has a colon, also ::ffff:a.b.c.d).
  const int max_length = addr.find(':') == std::string::npos ? 32 : 128;
  int length = max_length;
  if (slash != std::string::npos &&
      (!absl::SimpleAtoi(whole.substr(slash + 1), &length) || length < 0 ||
       length > max_length)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", whole, "': prefix length must be 0..", max_length));
  }
  const int mapped = max_length == 32 ? zone::kIpv4MappedBits + length : length;
  const zone::Address host =
      mapped >= 128 ? 0 : ~zone::Address{0} >> mapped;
  if ((p.address & host) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", whole, "': address bits set beyond /", length));
  }
  p.length = static_cast<uint8_t>(mapped);
  return p;
}

}  // namespace popdns::control
