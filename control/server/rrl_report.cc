#include "control/server/rrl_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace popdns::control {

std::string RrlReport::Update(
    const std::map<std::string, dns::RrlTotals>& now, double seconds) {
  std::map<std::string, dns::RrlTotals> before;
  before.swap(last_);
  last_ = now;
  if (!started_) {
    started_ = true;
    return "";
  }
  std::string paths;
  uint64_t limited = 0;
  for (const auto& [path, t] : now) {
    const dns::RrlTotals& b = before[path];
    // A counter that went back (a worker restarted) counts from zero.
    auto delta = [](uint64_t n, uint64_t o) { return n >= o ? n - o : n; };
    const uint64_t l = delta(t.limited, b.limited);
    if (l == 0) continue;
    limited += l;
    if (log_only_) {
      absl::StrAppend(&paths, paths.empty() ? "" : ", ", path, " ", l);
    } else {
      absl::StrAppend(&paths, paths.empty() ? "" : ", ", path, " ", l,
                      " (slipped ", delta(t.slipped, b.slipped), ", dropped ",
                      delta(t.dropped, b.dropped), ")");
    }
  }
  if (limited == 0) return "";
  const std::string period = absl::StrFormat("%.0f s", seconds);
  if (log_only_) {
    return absl::StrCat("rrl (log_only): ", limited,
                        " responses over the rate in the last ", period,
                        " would have been limited (none was): ", paths);
  }
  return absl::StrCat("rrl: ", limited, " responses over the rate in the last ",
                      period, ": ", paths);
}

}  // namespace popdns::control
