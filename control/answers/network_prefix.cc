#include "control/answers/network_prefix.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace popdns::control {

absl::StatusOr<zone::NetworkTable::Prefix> ParseNetworkPrefix(
    std::string_view text, uint16_t network) {
  // (absl::string_view is not std::string_view in Debian's abseil.)
  const std::string whole(text);
  const size_t slash = whole.find('/');
  const std::string addr = whole.substr(0, slash);
  zone::NetworkTable::Prefix p{0, 128, network};
  int max_length = 128;
  uint8_t v6[16];
  in_addr v4;
  if (inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
    p.address = zone::FromIpv4(ntohl(v4.s_addr));
    max_length = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), v6) == 1) {
    p.address = zone::FromIpv6(v6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("'", whole, "': not an IPv4 or IPv6 address"));
  }
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
