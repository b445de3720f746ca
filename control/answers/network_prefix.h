// Network prefixes as operators write them, for the client networks of
// app-aware answers (issue 16).
#ifndef POPDNS_CONTROL_ANSWERS_NETWORK_PREFIX_H_
#define POPDNS_CONTROL_ANSWERS_NETWORK_PREFIX_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "dataplane/zone/network_table.h"

namespace popdns::control {

// "192.0.2.1" or "2001:db8::1", IPv4 mapped (zone::FromIpv4): a client or
// an endpoint. Errors: InvalidArgument quoting the text.
absl::StatusOr<zone::Address> ParseAddress(std::string_view text);

// "192.0.2.0/24", "2001:db8::/32" or an address alone (a host), for
// `network`; IPv4 is mapped into the IPv6 space (zone::FromIpv4).
// Errors: InvalidArgument quoting the text and saying what is wrong (not
// an address, prefix length out of range, bits set beyond it).
absl::StatusOr<zone::NetworkTable::Prefix> ParseNetworkPrefix(
    std::string_view text, uint16_t network);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ANSWERS_NETWORK_PREFIX_H_
