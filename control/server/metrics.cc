#include "control/server/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "control/build/zone_store.h"
#include "control/server/event_counters.h"
#include "control/server/health.h"
#include "control/server/management_http.h"
#include "control/server/stats.h"
#include "control/server/xdp_mode.h"
#include "dataplane/dpdk/dataplane.h"
#include "dataplane/dpdk/rcu_snapshot.h"

namespace popdns::control {
namespace {

using Labels = MetricsText::Labels;
using Type = MetricsText::Type;

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string Series(std::string_view name, const Labels& labels) {
  std::string out(name);
  if (labels.empty()) return out;
  out.push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", labels[i].first, "=\"",
                    MetricsText::EscapeLabelValue(labels[i].second), "\"");
  }
  out.push_back('}');
  return out;
}

// ---------------------------------------------------------------------------
// Queries and responses, by transport

// Response rate limiting on one path (udp, dpdk, xdp).
void AddRrl(const std::string& path, const dns::RrlTotals& t, MetricsText& m) {
  const Labels l = {{"path", path}};
  m.Family("popdns_rrl_limited_total", Type::kCounter,
           "UDP responses over the rate limit (rrl.rate), by path; with "
           "rrl.log_only those that would have been limited.");
  m.Add(l, static_cast<double>(t.limited));
  m.Family("popdns_rrl_slipped_total", Type::kCounter,
           "Limited responses sent as a slip (TC=1, or BADCOOKIE to a "
           "query with a client cookie), by path.");
  m.Add(l, static_cast<double>(t.slipped));
  m.Family("popdns_rrl_dropped_total", Type::kCounter,
           "Limited responses not sent, by path.");
  m.Add(l, static_cast<double>(t.dropped));
}

// One text for a family whatever path adds to it.
constexpr const char* kOutcomesHelp =
    "DNS queries by what the answer engine did.";
constexpr const char* kQtypeHelp =
    "DNS queries by query type (the common types, others as \"other\").";

void AddSocketStats(const StatsRegistry& stats, MetricsText& m) {
  for (const auto& [transport, t] : stats.TotalsByTransport()) {
    const Labels tl = {{"transport", transport}};
    m.Family("popdns_queries_total", Type::kCounter,
             "DNS queries that reached the answer engine.");
    m.Add(tl, static_cast<double>(t.received));
    m.Family("popdns_responses_total", Type::kCounter,
             "DNS responses sent, by response code.");
    for (size_t r = 0; r < 16; ++r) {
      // The codes an authoritative server sends; others only once seen.
      if (r > 10 && t.rcode[r] == 0) continue;
      m.Add({{"transport", transport}, {"rcode", RcodeName(r)}},
            static_cast<double>(t.rcode[r]));
    }
    m.Family("popdns_responses_truncated_total", Type::kCounter,
             "DNS responses sent with TC=1 (the client retries over TCP).");
    m.Add(tl, static_cast<double>(t.truncated));
    m.Family("popdns_queries_dropped_total", Type::kCounter,
             "DNS queries dropped without a response (malformed, QR=1).");
    m.Add(tl, static_cast<double>(t.dropped));
    m.Family("popdns_query_outcomes_total", Type::kCounter, kOutcomesHelp);
    for (size_t o = 0; o < kOutcomes; ++o) {
      m.Add({{"transport", transport}, {"outcome", OutcomeName(o)}},
            static_cast<double>(t.outcome[o]));
    }
    m.Family("popdns_queries_by_qtype_total", Type::kCounter, kQtypeHelp);
    for (size_t q = 0; q < kQtypeBuckets; ++q) {
      m.Add({{"transport", transport}, {"qtype", QtypeBucketName(q)}},
            static_cast<double>(t.qtype[q]));
    }
    if (t.rrl_enabled) AddRrl(transport, t.rrl, m);
  }
}

void AddDataplane(const MetricsSources& s, MetricsText& m) {
  const dpdk::Dataplane& dp = *s.dataplane;
  const std::string& transport = s.dataplane_transport;
  if (dp.rrl_enabled()) {
    AddRrl(transport, WithDriverRrl(dp.RrlTotals(), s.xdp), m);
  }
  for (size_t p = 0; p < dp.port_count(); ++p) {
    const std::string port =
        p < s.port_names.size() ? s.port_names[p] : absl::StrCat(p);
    for (unsigned q = 0; q < dp.worker_count(); ++q) {
      const dpdk::QueueCounters& c = dp.queue_counters(p, q);
      const Labels tl = {{"transport", transport}};
      m.Family("popdns_queries_total", Type::kCounter,
               "DNS queries that reached the answer engine.");
      m.Add(tl, static_cast<double>(c.answered.Get() + c.engine_drop.Get() +
                                    c.slow_path.Get()));
      m.Family("popdns_responses_total", Type::kCounter,
               "DNS responses sent, by response code.");
      for (size_t r = 0; r < 16; ++r) {
        if (r > 10 && c.rcode[r].Get() == 0) continue;
        m.Add({{"transport", transport}, {"rcode", RcodeName(r)}},
              static_cast<double>(c.rcode[r].Get()));
      }
      m.Family("popdns_responses_truncated_total", Type::kCounter,
               "DNS responses sent with TC=1 (the client retries over TCP).");
      m.Add(tl, static_cast<double>(c.truncated.Get()));
      m.Family("popdns_queries_dropped_total", Type::kCounter,
               "DNS queries dropped without a response (malformed, QR=1).");
      m.Add(tl, static_cast<double>(c.engine_drop.Get()));
      m.Family("popdns_query_outcomes_total", Type::kCounter,
               kOutcomesHelp);
      for (size_t o = 0; o < kOutcomes; ++o) {
        m.Add({{"transport", transport}, {"outcome", OutcomeName(o)}},
              static_cast<double>(c.outcome[o].Get()));
      }
      m.Family("popdns_queries_by_qtype_total", Type::kCounter, kQtypeHelp);
      for (size_t t = 0; t < kQtypeBuckets; ++t) {
        m.Add({{"transport", transport}, {"qtype", QtypeBucketName(t)}},
              static_cast<double>(c.qtype[t].Get()));
      }

      const Labels ql = {{"worker", absl::StrCat(q)},
                         {"port", port},
                         {"queue", absl::StrCat(q)}};
      auto with = [&ql](const char* name, const char* value) {
        Labels l = ql;
        l.emplace_back(name, value);
        return l;
      };
      m.Family("popdns_dataplane_rx_packets_total", Type::kCounter,
               "Frames received on a wire port's RX queue.");
      m.Add(ql, static_cast<double>(c.rx.Get()));
      m.Family("popdns_dataplane_answered_packets_total", Type::kCounter,
               "DNS responses a worker handed to its wire TX queue.");
      m.Add(ql, static_cast<double>(c.answered.Get()));
      m.Family("popdns_dataplane_dropped_packets_total", Type::kCounter,
               "Frames a worker dropped: engine (DNS the engine drops), "
               "malformed (for us but broken), tx (a full TX queue).");
      m.Add(with("reason", "engine"), static_cast<double>(c.engine_drop.Get()));
      m.Add(with("reason", "malformed"), static_cast<double>(c.malformed.Get()));
      m.Add(with("reason", "tx"), static_cast<double>(c.tx_drop.Get()));
      m.Family("popdns_dataplane_to_kernel_packets_total", Type::kCounter,
               "Frames forwarded to the kernel through the exception port "
               "(ARP, ICMP, TCP, slow-path DNS).");
      m.Add(ql, static_cast<double>(c.to_kernel.Get()));
      m.Family("popdns_dataplane_slow_path_packets_total", Type::kCounter,
               "DNS messages left to the control side (NOTIFY, UPDATE, "
               "AXFR/IXFR, TSIG); part of to_kernel.");
      m.Add(ql, static_cast<double>(c.slow_path.Get()));
      m.Family("popdns_dataplane_from_kernel_packets_total", Type::kCounter,
               "Frames the kernel sent through the exception port to the "
               "wire.");
      m.Add(ql, static_cast<double>(c.from_kernel.Get()));
    }
  }
}

void AddXdp(const XdpMode& xdp, MetricsText& m) {
  const auto verdicts = xdp.Verdicts();
  if (verdicts.empty()) return;
  m.Family("popdns_xdp_packets_total", Type::kCounter,
           "Packets the XDP program saw, by verdict and reason.");
  for (const auto& [reason, value] : verdicts) {
    const double v = static_cast<double>(value);
    if (reason == "redirect") {
      m.Add({{"verdict", "redirect"}, {"reason", "dns"}}, v);
    } else if (reason == "answered") {
      m.Add({{"verdict", "tx"}, {"reason", "hot_answer"}}, v);
    } else if (reason == "rrl_slipped") {
      m.Add({{"verdict", "tx"}, {"reason", "rrl_slip"}}, v);
    } else if (reason == "rrl_dropped") {
      m.Add({{"verdict", "drop"}, {"reason", "rrl"}}, v);
    } else if (reason.rfind("pass_", 0) == 0) {
      m.Add({{"verdict", "pass"}, {"reason", reason.substr(5)}}, v);
    }
  }
  m.Family("popdns_xdp_redirect_no_xsk_packets_total", Type::kCounter,
           "Matched packets with no AF_XDP socket on their queue, "
           "passed to the kernel instead (part of verdict=redirect).");
  for (const auto& [reason, value] : verdicts) {
    if (reason == "redirect_no_xsk") m.Add({}, static_cast<double>(value));
  }
  m.Family("popdns_xdp_hot_redirect_packets_total", Type::kCounter,
           "With answers in the driver on, plain queries redirected to the "
           "AF_XDP worker all the same, by why (part of verdict=redirect).");
  for (const auto& [reason, value] : verdicts) {
    if (reason.rfind("redirect_", 0) == 0 && reason != "redirect_no_xsk") {
      m.Add({{"reason", reason.substr(9)}}, static_cast<double>(value));
    }
  }
}

// ---------------------------------------------------------------------------
// Zones, reloads, changes, RCU

void AddZones(const ZoneStore& store, MetricsText& m) {
  for (const ZoneState& z : store.States()) {
    const Labels zl = {{"zone", z.name}};
    m.Family("popdns_zone_loaded", Type::kGauge,
             "1 if a version of the zone serves, else 0.");
    m.Add(zl, z.loaded ? 1 : 0);
    m.Family("popdns_zone_expired", Type::kGauge,
             "1 if the zone's secondary copy expired (answering SERVFAIL).");
    m.Add(zl, z.refresh.expired ? 1 : 0);
    m.Family("popdns_zone_last_load_failed", Type::kGauge,
             "1 if the zone's last load failed (the previous version, if "
             "any, serves).");
    m.Add(zl, z.error.empty() ? 0 : 1);
    m.Family("popdns_zone_load_errors_total", Type::kCounter,
             "Loads and reloads of the zone that failed.");
    m.Add(zl, static_cast<double>(z.load_errors));
    if (z.loaded) {
      m.Family("popdns_zone_serial", Type::kGauge,
               "SOA serial of the serving version.");
      m.Add(zl, z.serial);
      m.Family("popdns_zone_loaded_timestamp_seconds", Type::kGauge,
               "When the serving version was installed (Unix time).");
      m.Add(zl, static_cast<double>(z.loaded_at));
    }
    if (!z.secondary) continue;
    m.Family("popdns_zone_refresh_ok", Type::kGauge,
             "Secondaries: 1 if the last refresh reached a primary.");
    m.Add(zl, z.refresh.last_ok ? 1 : 0);
    if (z.refresh.last_refresh != 0) {
      m.Family("popdns_zone_last_refresh_timestamp_seconds", Type::kGauge,
               "Secondaries: when a primary last answered (Unix time).");
      m.Add(zl, static_cast<double>(z.refresh.last_refresh));
    }
    if (z.refresh.expires_at != 0) {
      m.Family("popdns_zone_expiry_timestamp_seconds", Type::kGauge,
               "Secondaries: when the copy expires without a refresh "
               "(Unix time).");
      m.Add(zl, static_cast<double>(z.refresh.expires_at));
    }
  }
}

void AddEvents(MetricsText& m) {
  EventCounters& e = Events();
  auto get = [](const EventCounters::ByResult& c, size_t i) {
    return static_cast<double>(c[i].load(std::memory_order_relaxed));
  };
  m.Family("popdns_reloads_total", Type::kCounter,
           "Zone file reloads (SIGHUP, popdnsctl reload), by result.");
  m.Add({{"result", "ok"}}, get(e.reloads, 0));
  m.Add({{"result", "error"}}, get(e.reloads, 2));
  m.Family("popdns_zone_changes_total", Type::kCounter,
           "Zone change requests, by source (update: RFC 2136, api: the "
           "provisioning API) and result.");
  for (size_t i = 0; i < kEventResults; ++i) {
    m.Add({{"source", "update"}, {"result", kEventResultNames[i]}},
          get(e.updates, i));
    m.Add({{"source", "api"}, {"result", kEventResultNames[i]}},
          get(e.api_changes, i));
  }
}

void AddGracePeriods(const dpdk::SnapshotManager& snapshots, MetricsText& m) {
  const dpdk::GracePeriodStats g = snapshots.grace_period_stats();
  m.Family("popdns_rcu_grace_period_seconds", Type::kHistogram,
           "Time a snapshot publication waited for every reader to pass a "
           "quiescent state.");
  for (size_t i = 0; i < g.buckets.size(); ++i) {
    m.AddSuffixed("_bucket",
                  {{"le", MetricsText::FormatValue(
                              dpdk::GracePeriodStats::kBounds[i])}},
                  static_cast<double>(g.buckets[i]));
  }
  m.AddSuffixed("_bucket", {{"le", "+Inf"}}, static_cast<double>(g.count));
  m.AddSuffixed("_sum", {}, g.sum_seconds);
  m.AddSuffixed("_count", {}, static_cast<double>(g.count));
}

// ---------------------------------------------------------------------------
// Process (the names Prometheus client libraries use)

void AddProcess(MetricsText& m) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)),
                   std::istreambuf_iterator<char>());
  // Fields after the command, which is in parentheses and may hold spaces.
  const size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    for (std::string w; in >> w;) f.push_back(w);
    if (f.size() > 21) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      const double utime = std::strtod(f[11].c_str(), nullptr);
      const double stime = std::strtod(f[12].c_str(), nullptr);
      const double start = std::strtod(f[19].c_str(), nullptr);
      m.Family("process_cpu_seconds_total", Type::kCounter,
               "User and system CPU time spent in seconds.");
      m.Add({}, (utime + stime) / tick);
      double boot = 0;
      std::ifstream proc_stat("/proc/stat");
      for (std::string line; std::getline(proc_stat, line);) {
        if (line.rfind("btime ", 0) == 0) {
          boot = std::strtod(line.c_str() + 6, nullptr);
        }
      }
      if (boot > 0) {
        m.Family("process_start_time_seconds", Type::kGauge,
                 "Start time of the process since unix epoch in seconds.");
        m.Add({}, boot + start / tick);
      }
      m.Family("process_virtual_memory_bytes", Type::kGauge,
               "Virtual memory size in bytes.");
      m.Add({}, std::strtod(f[20].c_str(), nullptr));
      m.Family("process_resident_memory_bytes", Type::kGauge,
               "Resident memory size in bytes.");
      m.Add({}, std::strtod(f[21].c_str(), nullptr) * page);
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    double fds = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(d);
    m.Family("process_open_fds", Type::kGauge,
             "Number of open file descriptors.");
    m.Add({}, fds - 1);  // the directory's own descriptor
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    m.Family("process_max_fds", Type::kGauge,
             "Maximum number of open file descriptors.");
    m.Add({}, static_cast<double>(rl.rlim_cur));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// MetricsText

void MetricsText::Family(const std::string& name, Type type,
                         std::string_view help) {
  if (auto it = family_index_.find(name); it != family_index_.end()) {
    current_ = &families_[it->second];
    return;
  }
  family_index_[name] = families_.size();
  families_.push_back({name, type, std::string(help), {}, {}});
  current_ = &families_.back();
}

void MetricsText::Add(const Labels& labels, double value) {
  AddSuffixed("", labels, value);
}

void MetricsText::AddSuffixed(std::string_view suffix, const Labels& labels,
                              double value) {
  if (current_ == nullptr) return;
  std::string series = Series(current_->name + std::string(suffix), labels);
  auto [it, added] =
      current_->index.emplace(series, current_->samples.size());
  if (added) {
    current_->samples.push_back({std::move(series), value});
  } else {
    current_->samples[it->second].value += value;
  }
}

std::string MetricsText::Render() const {
  std::string out;
  for (const FamilyData& f : families_) {
    if (f.samples.empty()) continue;
    absl::StrAppend(&out, "# HELP ", f.name, " ", EscapeHelp(f.help), "\n",
                    "# TYPE ", f.name, " ", TypeName(f.type), "\n");
    for (const Sample& s : f.samples) {
      absl::StrAppend(&out, s.series, " ", FormatValue(s.value), "\n");
    }
  }
  return out;
}

std::string MetricsText::EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string MetricsText::EscapeLabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string MetricsText::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // Shortest round-trip digits; plain decimals where they read well
  // ("0.0005" rather than "5e-04": histogram bounds are labels).
  char buf[64];
  const double a = std::fabs(value);
  const auto r = std::to_chars(buf, buf + sizeof(buf), value,
                               a >= 1e-5 && a < 1e15
                                   ? std::chars_format::fixed
                                   : std::chars_format::general);
  return std::string(buf, r.ptr);
}

// ---------------------------------------------------------------------------

std::string RenderMetrics(const MetricsSources& s) {
  MetricsText m;
  if (!s.build_info.empty()) {
    m.Family("popdns_build_info", Type::kGauge,
             "Always 1; the labels say which build of popdns runs.");
    m.Add(s.build_info, 1);
  }
  if (s.stats) AddSocketStats(*s.stats, m);
  if (s.dataplane) AddDataplane(s, m);
  if (s.xdp) AddXdp(*s.xdp, m);
  if (s.zones) AddZones(*s.zones, m);
  AddEvents(m);
  if (s.snapshots) AddGracePeriods(*s.snapshots, m);
  if (s.health) {
    m.Family("popdns_healthy", Type::kGauge,
             "1 while GET /health answers 200 (the PoP should be "
             "announced).");
    m.Add({}, s.health->Check().ok ? 1 : 0);
    m.Family("popdns_draining", Type::kGauge,
             "1 once popdnsctl drain or a draining shutdown started.");
    m.Add({}, s.health->draining() ? 1 : 0);
  }
  AddProcess(m);
  return m.Render();
}

void RegisterMetrics(ManagementHttp* http, const MetricsSources* sources) {
  http->Route("GET", "/metrics", ManagementHttp::Access::kPublic,
              [sources](const HttpRequest&, HttpResponse* resp) {
                resp->status = 200;
                resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
                resp->body = RenderMetrics(*sources);
              });
}

}  // namespace popdns::control
