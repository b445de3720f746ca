// XDP fallback mode glue: before EAL starts, removes a stale xdp_dns
// program a crashed run left on the interface and adds the net_af_xdp vdev
// (with our program as xdp_prog=) to the EAL arguments; once the port is
// up, fills the program's service maps; renders its verdict counters.
// Control thread only.
#ifndef POPDNS_CONTROL_SERVER_XDP_MODE_H_
#define POPDNS_CONTROL_SERVER_XDP_MODE_H_

#include <memory>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "control/config.h"
#include "dataplane/net/packet.h"

namespace popdns::control {

class XdpMode {
 public:
  ~XdpMode();
  // Errors: NotFound (no such interface, no program file), FailedPrecondition
  // (another XDP program is attached), Unimplemented (built without XDP).
  static absl::StatusOr<std::unique_ptr<XdpMode>> Prepare(
      const XdpSection& config, std::vector<std::string>* eal_args);
  // After the dataplane started: steer the service addresses to AF_XDP.
  absl::Status Activate(const net::ServiceAddresses& service);
  std::string RenderStats() const;
  // The program's counters by reason ("redirect", "pass_not_ip", ...),
  // empty before Activate or when they cannot be read.
  std::vector<std::pair<std::string, uint64_t>> Verdicts() const;

 private:
  struct Impl;
  XdpMode();
  std::unique_ptr<Impl> impl_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_XDP_MODE_H_
