// GET /metrics on the management endpoint: Prometheus text exposition
// format 0.0.4, written by hand (MetricsText). Every value is read at
// scrape time from counters that already exist — the per-thread query
// counters of `popdnsctl stats` (stats.h), the DPDK per-queue counters
// (dataplane.h), the XDP program's map (xdp_mode.h), the zone store, the
// RCU grace-period histogram, the slow-path event counters
// (event_counters.h) and /proc/self — so a scrape adds nothing to any
// packet path. The families are listed in the README ("Metrics").
//
// Threads: RenderMetrics and the route's handler run on the management
// server's threads, several at once; the sources are all readable from
// any thread. RegisterMetrics before ManagementHttp::Start.
#ifndef POPDNS_CONTROL_SERVER_METRICS_H_
#define POPDNS_CONTROL_SERVER_METRICS_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace popdns::dpdk {
class Dataplane;
class SnapshotManager;
}  // namespace popdns::dpdk

namespace popdns::control {

class Health;
class ManagementHttp;
class StatsRegistry;
class XdpMode;
class ZoneStore;

// One exposition: families in the order they are started, each with its
// HELP and TYPE lines and its samples. A sample added again for the same
// series (name and labels) is summed into the first one, so several
// threads' counter blocks become one series and no series is written
// twice. Families without samples are left out.
class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts family `name` ([a-zA-Z_:][a-zA-Z0-9_:]*; counters end in
  // _total). Starting a name already started continues that family.
  void Family(const std::string& name, Type type, std::string_view help);
  // A sample of the current family's own series.
  void Add(const Labels& labels, double value);
  // A sample of a series named family name + `suffix` (a histogram's
  // "_bucket", "_sum", "_count").
  void AddSuffixed(std::string_view suffix, const Labels& labels,
                   double value);

  std::string Render() const;

  // The format's escapes: HELP text escapes \ and newline; label values
  // escape \, " and newline.
  static std::string EscapeHelp(std::string_view text);
  static std::string EscapeLabelValue(std::string_view text);
  // Integers as integers, others shortest round-trip, and +Inf/-Inf/NaN.
  static std::string FormatValue(double value);

 private:
  struct Sample {
    std::string series;  // name{labels}
    double value;
  };
  struct FamilyData {
    std::string name;
    Type type;
    std::string help;
    std::vector<Sample> samples;
    std::map<std::string, size_t> index;  // series -> samples[i]
  };
  std::vector<FamilyData> families_;
  std::map<std::string, size_t> family_index_;
  FamilyData* current_ = nullptr;
};

// What /metrics reads. Null pointers leave their families out.
struct MetricsSources {
  const StatsRegistry* stats = nullptr;      // kernel-socket threads
  const ZoneStore* zones = nullptr;
  const dpdk::SnapshotManager* snapshots = nullptr;
  const dpdk::Dataplane* dataplane = nullptr;
  // The transport label of the dataplane's queries: "dpdk", or "xdp" when
  // its ports are AF_XDP sockets.
  std::string dataplane_transport = "dpdk";
  std::vector<std::string> port_names;  // wire device of each port
  const XdpMode* xdp = nullptr;
  const Health* health = nullptr;
  // popdns_build_info's labels: version, revision, dpdk, xdp.
  MetricsText::Labels build_info;
};

// The whole exposition.
std::string RenderMetrics(const MetricsSources& sources);

// GET /metrics, public (read-only; bind management.listen to loopback or a
// management network). `sources` must outlive the server.
void RegisterMetrics(ManagementHttp* http, const MetricsSources* sources);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_METRICS_H_
