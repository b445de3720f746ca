// /metrics (control/server/metrics.h): the text exposition format as
// Prometheus 0.0.4 defines it (HELP/TYPE lines, escapes, values, one
// sample per series), and a whole RenderMetrics() over a real stats
// registry, zone store and snapshot manager, checked line by line.
#include "control/server/metrics.h"

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "control/build/zone_store.h"
#include "control/server/event_counters.h"
#include "control/server/management_http.h"
#include "control/server/stats.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "gtest/gtest.h"

namespace popdns::control {
namespace {

using Type = MetricsText::Type;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Checks what promtool's parser checks, and what we promise on top: every
// sample's family has HELP then TYPE before its samples, families are not
// split, names and label names are valid, no series appears twice, every
// counter ends in _total. Returns the samples by series.
std::map<std::string, std::string> CheckExposition(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (\S+)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  std::map<std::string, std::string> samples;
  std::set<std::string> done;  // families already closed
  std::string family, type;
  bool have_help = false;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (const std::string& line : Lines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      if (!family.empty()) done.insert(family);
      family = m[1];
      EXPECT_EQ(done.count(family), 0u) << "family split: " << line;
      have_help = true;
      type.clear();
      continue;
    }
    if (std::regex_match(line, m, kType)) {
      EXPECT_TRUE(have_help) << line;
      EXPECT_EQ(m[1], family) << line;
      type = m[2];
      if (type == "counter") {
        EXPECT_TRUE(family.ends_with("_total")) << family;
      }
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "bad line: " << line;
      continue;
    }
    EXPECT_FALSE(type.empty()) << "sample before TYPE: " << line;
    const std::string name = m[1];
    if (type == "histogram") {
      EXPECT_TRUE(name == family + "_bucket" || name == family + "_sum" ||
                  name == family + "_count")
          << line;
    } else {
      EXPECT_EQ(name, family) << line;
    }
    const std::string series = line.substr(0, line.rfind(' '));
    EXPECT_TRUE(samples.emplace(series, m[m.size() - 1]).second)
        << "duplicate series: " << series;
  }
  return samples;
}

TEST(MetricsTextTest, HelpTypeAndSamples) {
  MetricsText m;
  m.Family("popdns_things_total", Type::kCounter, "Things seen.");
  m.Add({{"kind", "a"}}, 3);
  m.Add({{"kind", "b"}}, 0);
  m.Family("popdns_level", Type::kGauge, "A level.");
  m.Add({}, 0.25);
  EXPECT_EQ(m.Render(),
            "# HELP popdns_things_total Things seen.\n"
            "# TYPE popdns_things_total counter\n"
            "popdns_things_total{kind=\"a\"} 3\n"
            "popdns_things_total{kind=\"b\"} 0\n"
            "# HELP popdns_level A level.\n"
            "# TYPE popdns_level gauge\n"
            "popdns_level 0.25\n");
}

TEST(MetricsTextTest, SameSeriesIsSummedAndFamiliesStayWhole) {
  // Two worker threads' blocks of one transport: one series, their sum;
  // a family continued after another stays in one piece.
  MetricsText m;
  m.Family("popdns_q_total", Type::kCounter, "Q.");
  m.Add({{"transport", "udp"}}, 5);
  m.Family("popdns_r_total", Type::kCounter, "R.");
  m.Add({}, 1);
  m.Family("popdns_q_total", Type::kCounter, "Q.");
  m.Add({{"transport", "udp"}}, 7);
  m.Add({{"transport", "tcp"}}, 1);
  const std::string text = m.Render();
  EXPECT_EQ(text,
            "# HELP popdns_q_total Q.\n"
            "# TYPE popdns_q_total counter\n"
            "popdns_q_total{transport=\"udp\"} 12\n"
            "popdns_q_total{transport=\"tcp\"} 1\n"
            "# HELP popdns_r_total R.\n"
            "# TYPE popdns_r_total counter\n"
            "popdns_r_total 1\n");
  CheckExposition(text);
}

TEST(MetricsTextTest, EmptyFamiliesAreLeftOut) {
  MetricsText m;
  m.Family("popdns_none_total", Type::kCounter, "Nothing.");
  EXPECT_EQ(m.Render(), "");
}

TEST(MetricsTextTest, Escapes) {
  // Label values: backslash, double quote and newline; HELP: backslash
  // and newline (a quote stays as is).
  EXPECT_EQ(MetricsText::EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(MetricsText::EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  MetricsText m;
  m.Family("popdns_zone_serial", Type::kGauge, "Serial \\ of\nthe zone.");
  m.Add({{"zone", "we\"ird\\zone\n."}}, 7);
  const std::string text = m.Render();
  EXPECT_EQ(text,
            "# HELP popdns_zone_serial Serial \\\\ of\\nthe zone.\n"
            "# TYPE popdns_zone_serial gauge\n"
            "popdns_zone_serial{zone=\"we\\\"ird\\\\zone\\n.\"} 7\n");
  CheckExposition(text);
}

TEST(MetricsTextTest, Values) {
  EXPECT_EQ(MetricsText::FormatValue(0), "0");
  EXPECT_EQ(MetricsText::FormatValue(4294967295.0), "4294967295");
  EXPECT_EQ(MetricsText::FormatValue(1733140000), "1733140000");
  EXPECT_EQ(MetricsText::FormatValue(0.0005), "0.0005");
  EXPECT_EQ(MetricsText::FormatValue(0.00005), "0.00005");
  EXPECT_EQ(MetricsText::FormatValue(0.125), "0.125");
  EXPECT_EQ(MetricsText::FormatValue(1.5e-9), "1.5e-09");
  EXPECT_EQ(MetricsText::FormatValue(1e300), "1e+300");
  EXPECT_EQ(MetricsText::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(MetricsText::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(MetricsText::FormatValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTextTest, Histogram) {
  MetricsText m;
  m.Family("popdns_wait_seconds", Type::kHistogram, "Waits.");
  m.AddSuffixed("_bucket", {{"le", "0.001"}}, 1);
  m.AddSuffixed("_bucket", {{"le", "+Inf"}}, 2);
  m.AddSuffixed("_sum", {}, 0.5);
  m.AddSuffixed("_count", {}, 2);
  const auto samples = CheckExposition(m.Render());
  EXPECT_EQ(samples.at("popdns_wait_seconds_bucket{le=\"+Inf\"}"), "2");
  EXPECT_EQ(samples.at("popdns_wait_seconds_count"), "2");
}

// A whole exposition from the real sources: socket counters of two UDP
// threads and one TCP thread, a loaded zone and one that fails, grace
// periods, events.
TEST(RenderMetricsTest, RealSources) {
  dpdk::SnapshotManager snapshots(4);
  ZoneStore store(&snapshots, {"id", "v"});
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/metrics_test_good.zone";
  {
    FILE* f = std::fopen(good.c_str(), "w");
    std::fputs(
        "$ORIGIN example.com.\n$TTL 300\n"
        "@ SOA ns1 host 2024010203 3600 600 86400 300\n@ NS ns1\n"
        "ns1 A 192.0.2.53\n",
        f);
    std::fclose(f);
  }
  ZoneConfig ok_zone;
  ok_zone.name = "example.com.";
  ok_zone.file = good;
  ZoneConfig bad_zone;
  bad_zone.name = "broken.test.";
  bad_zone.file = dir + "/metrics_test_missing.zone";
  const absl::Status configured = store.Configure({ok_zone, bad_zone});
  ASSERT_TRUE(configured.ok()) << configured;
  store.LoadAll();

  StatsRegistry stats;
  WorkerStats* udp1 = stats.Add("udp");
  WorkerStats* udp2 = stats.Add("udp");
  WorkerStats* tcp = stats.Add("tcp");
  dns::AnswerResult answer;
  answer.size = 40;
  answer.outcome = dns::Outcome::kAnswer;
  answer.rcode = 0;
  answer.qtype = 1;  // A
  dns::AnswerResult nx = answer;
  nx.outcome = dns::Outcome::kNxDomain;
  nx.rcode = 3;
  nx.qtype = 65280;  // other
  for (int i = 0; i < 3; ++i) udp1->Count(answer);
  udp2->Count(answer);
  udp2->Count(nx);
  tcp->Count(answer);

  const int reloads_before =
      static_cast<int>(Events().reloads[0].load());
  EventCounters::Add(Events().reloads, EventResult::kOk);

  MetricsSources sources;
  sources.stats = &stats;
  sources.zones = &store;
  sources.snapshots = &snapshots;
  sources.build_info = {{"version", "1.2.3"}, {"revision", "abc+"},
                        {"dpdk", "22.11"}, {"xdp", "yes"}};
  const std::string text = RenderMetrics(sources);
  const auto s = CheckExposition(text);

  EXPECT_EQ(
      s.at("popdns_build_info{version=\"1.2.3\",revision=\"abc+\","
           "dpdk=\"22.11\",xdp=\"yes\"}"),
      "1");
  EXPECT_EQ(s.at("popdns_queries_total{transport=\"udp\"}"), "5");
  EXPECT_EQ(s.at("popdns_queries_total{transport=\"tcp\"}"), "1");
  EXPECT_EQ(s.at("popdns_responses_total{transport=\"udp\",rcode=\"NOERROR\"}"),
            "4");
  EXPECT_EQ(
      s.at("popdns_responses_total{transport=\"udp\",rcode=\"NXDOMAIN\"}"),
      "1");
  EXPECT_EQ(s.count("popdns_responses_total{transport=\"udp\",rcode=\"RCODE15\"}"),
            0u);
  EXPECT_EQ(s.at("popdns_queries_by_qtype_total{transport=\"udp\",qtype=\"A\"}"),
            "4");
  EXPECT_EQ(
      s.at("popdns_queries_by_qtype_total{transport=\"udp\",qtype=\"other\"}"),
      "1");
  EXPECT_EQ(
      s.at("popdns_query_outcomes_total{transport=\"udp\",outcome=\"nxdomain\"}"),
      "1");

  EXPECT_EQ(s.at("popdns_zone_loaded{zone=\"example.com.\"}"), "1");
  EXPECT_EQ(s.at("popdns_zone_serial{zone=\"example.com.\"}"), "2024010203");
  EXPECT_EQ(s.at("popdns_zone_expired{zone=\"example.com.\"}"), "0");
  EXPECT_EQ(s.at("popdns_zone_load_errors_total{zone=\"example.com.\"}"), "0");
  const double loaded =
      std::stod(s.at("popdns_zone_loaded_timestamp_seconds{zone=\"example.com.\"}"));
  EXPECT_NEAR(loaded, static_cast<double>(std::time(nullptr)), 60);
  EXPECT_EQ(s.at("popdns_zone_loaded{zone=\"broken.test.\"}"), "0");
  EXPECT_EQ(s.at("popdns_zone_last_load_failed{zone=\"broken.test.\"}"), "1");
  EXPECT_EQ(s.at("popdns_zone_load_errors_total{zone=\"broken.test.\"}"), "1");
  EXPECT_EQ(s.count("popdns_zone_serial{zone=\"broken.test.\"}"), 0u);

  EXPECT_EQ(s.at("popdns_reloads_total{result=\"ok\"}"),
            std::to_string(reloads_before + 1));
  EXPECT_EQ(s.count("popdns_zone_changes_total{source=\"api\",result=\"ok\"}"),
            1u);

  // The constructor's empty snapshot and LoadAll's: two grace periods,
  // every bucket cumulative.
  const int count = std::stoi(s.at("popdns_rcu_grace_period_seconds_count"));
  EXPECT_GE(count, 2);
  EXPECT_EQ(s.at("popdns_rcu_grace_period_seconds_bucket{le=\"+Inf\"}"),
            std::to_string(count));
  int previous = 0;
  for (double le : dpdk::GracePeriodStats::kBounds) {
    const int b = std::stoi(s.at("popdns_rcu_grace_period_seconds_bucket{le=\"" +
                                 MetricsText::FormatValue(le) + "\"}"));
    EXPECT_GE(b, previous);
    EXPECT_LE(b, count);
    previous = b;
  }

  EXPECT_GT(std::stod(s.at("process_resident_memory_bytes")), 1e6);
  EXPECT_NEAR(std::stod(s.at("process_start_time_seconds")),
              static_cast<double>(std::time(nullptr)), 600);
  EXPECT_GE(std::stod(s.at("process_open_fds")), 3);
  EXPECT_GE(std::stod(s.at("process_cpu_seconds_total")), 0);
  // Kernel-socket only: no dataplane families.
  EXPECT_EQ(text.find("popdns_dataplane_"), std::string::npos);
  EXPECT_EQ(text.find("popdns_xdp_"), std::string::npos);
}

TEST(RenderMetricsTest, RouteIsPublicTextFormat) {
  MetricsSources sources;
  ManagementHttp http({"127.0.0.1:0", "key"});
  RegisterMetrics(&http, &sources);
  HttpRequest req;
  req.method = "GET";
  req.path = "/metrics";
  const HttpResponse resp = http.Dispatch(req);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
  CheckExposition(resp.body);
}

}  // namespace
}  // namespace popdns::control
