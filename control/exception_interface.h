// Prepares the kernel side of the exception port: the NIC's MAC (so that the
// kernel's ARP/ND answers name the address clients must send to), the
// service addresses, link up. Control thread, at start-up.
#ifndef POPDNS_CONTROL_EXCEPTION_INTERFACE_H_
#define POPDNS_CONTROL_EXCEPTION_INTERFACE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/net/packet.h"

namespace popdns::control {

absl::Status ConfigureExceptionInterface(
    const std::string& ifname, const std::string& mac,
    const std::vector<std::string>& addresses_with_prefix);

// "198.18.0.1/24" and "fd00:53::1/64" -> the dataplane's address set.
// Errors: InvalidArgument naming the bad address.
absl::Status ParseServiceAddresses(const std::vector<std::string>& addresses,
                                   net::ServiceAddresses* out);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_EXCEPTION_INTERFACE_H_
