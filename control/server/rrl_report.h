// What rate limiting did, in the log, every interval: the workers count
// (dns::RrlCounters) but never log (no I/O on the packet path), so the
// control thread sums their counters and writes one line per interval in
// which a response went over the rate. With `rrl.log_only` that line is
// the rollout's evidence: how many responses the configured rate would
// have limited, and on which path, while none was.
#ifndef POPDNS_CONTROL_SERVER_RRL_REPORT_H_
#define POPDNS_CONTROL_SERVER_RRL_REPORT_H_

#include <map>
#include <string>

#include "dataplane/dns/rrl.h"

namespace popdns::control {

class RrlReport {
 public:
  explicit RrlReport(bool log_only) : log_only_(log_only) {}

  // The counters now, by path ("udp", "dpdk", "xdp"); returns the line
  // to log for what changed since the last call (empty: nothing went
  // over the rate). The first call only sets the baseline.
  std::string Update(const std::map<std::string, dns::RrlTotals>& now,
                     double seconds);

 private:
  const bool log_only_;
  bool started_ = false;
  std::map<std::string, dns::RrlTotals> last_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_RRL_REPORT_H_
