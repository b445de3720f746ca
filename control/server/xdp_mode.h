// XDP fallback mode glue: before EAL starts, removes a stale xdp_dns
// program a crashed run left on the interface and adds the net_af_xdp vdev
// (with our program as xdp_prog=) to the EAL arguments; once the port is
// up, fills the program's service maps; renders its verdict counters.
// Control thread only.
#ifndef POPDNS_CONTROL_SERVER_XDP_MODE_H_
#define POPDNS_CONTROL_SERVER_XDP_MODE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "control/config.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/rrl.h"
#include "dataplane/net/packet.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::control {

// Whether answers in the driver are rate-limited by the XDP program itself
// (slips and drops, or log_only's count; the whitelist in its LPM map),
// and not by the AF_XDP worker's RRL: unless `rrl` asks for what only the
// worker does (a slip over 255 or a whitelist over the map's size).
bool RrlInDriver(const RrlSection& rrl);

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

  // After Activate: answers in the driver (issue 17) for the questions of
  // `config`, compiled with the workers' `answer` settings. Every
  // `config.refresh_ms` a thread takes the workers' samples from `drain`
  // and re-chooses the sampled part of the set. The caller feeds Refresh()
  // with every new ZoneSet (ZoneStore::SetPublishHook).
  using DrainFn = std::function<void(
      const std::function<void(std::string_view, uint16_t)>&)>;
  // With `rrl` on, a (client prefix, hot answer) over its rate goes to
  // the worker's RRL (xdp_dns_config.rrl_rate in bpf/xdp_dns_shared.h),
  // tagged with `rrl_meta_magic` (the workers'
  // DataplaneConfig::xdp_rrl_meta_magic).
  absl::Status StartHotAnswers(const HotAnswersSection& config,
                               const RrlSection& rrl, uint32_t rrl_meta_magic,
                               const dns::AnswerConfig& answer,
                               DrainFn drain);
  void Refresh(std::shared_ptr<const zone::ZoneSet> zones);
  // Stops the sampling thread (before the dataplane stops).
  void StopHotAnswers();
  // What the program limited itself (RrlInDriver): slipped and dropped,
  // or with log_only counted and answered.
  dns::RrlTotals DriverRrlTotals() const;
  // The program's counters by reason ("redirect", "pass_not_ip", ...),
  // empty before Activate or when they cannot be read.
  std::vector<std::pair<std::string, uint64_t>> Verdicts() const;

 private:
  struct Impl;
  XdpMode();
  std::unique_ptr<Impl> impl_;
};

// The RRL counters of the DPDK or AF_XDP path: the workers' (`workers`)
// and, in XDP mode (`xdp` not null), what the program limited itself.
inline dns::RrlTotals WithDriverRrl(dns::RrlTotals workers,
                                    const XdpMode* xdp) {
  if (xdp != nullptr) workers.Add(xdp->DriverRrlTotals());
  return workers;
}

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_XDP_MODE_H_
