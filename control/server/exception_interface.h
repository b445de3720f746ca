// Prepares the kernel side of the exception port: the NIC's MAC (so that the
// kernel's ARP/ND answers name the address clients must send to), the
// service addresses, link up. Control thread, at start-up.
#ifndef POPDNS_CONTROL_SERVER_EXCEPTION_INTERFACE_H_
#define POPDNS_CONTROL_SERVER_EXCEPTION_INTERFACE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/config.h"
#include "dataplane/net/packet.h"

namespace popdns::control {

absl::Status ConfigureExceptionInterface(
    const std::string& ifname, const std::string& mac,
    const std::vector<std::string>& addresses_with_prefix);

// What goes on the exception interface of port `port`: its link addresses,
// and the service addresses (as given on the first port; as /32 and /128 on
// the others, so that each prefix has one connected route and the kernel's
// replies leave by the link they belong to).
std::vector<std::string> ExceptionAddresses(const DataplaneSection& dataplane,
                                            size_t port);

// "198.18.0.1/24" and "fd00:53::1/64" -> the dataplane's address set.
// Errors: InvalidArgument naming the bad address.
absl::Status ParseServiceAddresses(const std::vector<std::string>& addresses,
                                   net::ServiceAddresses* out);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_EXCEPTION_INTERFACE_H_
