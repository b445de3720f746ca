// Health and readiness (control/server/health.h): what /health, /ready
// and `popdnsctl health` report for a loaded zone, one that did not load,
// an expired secondary copy, and a drain; the HTTP routes through
// ManagementHttp::Dispatch (public, 200/503, text bodies).
#include "control/server/health.h"

#include <cstdio>
#include <string>

#include "control/build/zone_store.h"
#include "control/server/management_http.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "gtest/gtest.h"

namespace popdns::control {
namespace {

std::string WriteZone(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/health_test_" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(
      "$ORIGIN example.com.\n$TTL 300\n"
      "@ SOA ns1 host 2024010203 3600 600 86400 300\n@ NS ns1\n"
      "ns1 A 192.0.2.53\n",
      f);
  std::fclose(f);
  return path;
}

ZoneConfig Zone(const std::string& name, const std::string& file) {
  ZoneConfig c;
  c.name = name;
  c.file = file;
  return c;
}

HttpResponse Get(const ManagementHttp& http, const std::string& path) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  return http.Dispatch(r);
}

TEST(HealthTest, HealthyOnceReadyWithEveryZoneLoaded) {
  dpdk::SnapshotManager snapshots(4);
  ZoneStore store(&snapshots, {"id", "v"});
  ASSERT_TRUE(store.Configure({Zone("example.com.", WriteZone("a.zone"))}).ok());
  store.LoadAll();
  Health health(&store, nullptr);
  // Start-up not over: neither ready nor healthy.
  EXPECT_FALSE(health.Ready().ok);
  EXPECT_FALSE(health.Check().ok);
  health.SetReady(true);
  EXPECT_TRUE(health.Ready().ok);
  const HealthReport r = health.Check();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.Text("healthy", "unhealthy"), "healthy\n");
}

TEST(HealthTest, ZoneNotLoadedIsUnhealthyAndNamed) {
  dpdk::SnapshotManager snapshots(4);
  ZoneStore store(&snapshots, {"id", "v"});
  ASSERT_TRUE(store
                  .Configure({Zone("example.com.", WriteZone("b.zone")),
                              Zone("broken.test.", ::testing::TempDir() +
                                                      "/health_test_none")})
                  .ok());
  store.LoadAll();
  Health health(&store, nullptr);
  health.SetReady(true);
  const HealthReport r = health.Check();
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("zone broken.test.: not loaded"),
            std::string::npos)
      << r.problems[0];
  // Ready says "can serve": the other zone serves.
  EXPECT_TRUE(health.Ready().ok);
}

TEST(HealthTest, ExpiredSecondaryIsUnhealthy) {
  dpdk::SnapshotManager snapshots(4);
  ZoneStore store(&snapshots, {"id", "v"});
  ZoneConfig sec = Zone("example.com.", WriteZone("c.zone"));
  sec.primaries = {"127.0.0.1:5300"};
  ASSERT_TRUE(store.Configure({sec}).ok());
  store.LoadAll();
  Health health(&store, nullptr);
  health.SetReady(true);
  EXPECT_TRUE(health.Check().ok);
  RefreshStatus expired;
  expired.expired = true;
  expired.result = "no primary answered";
  store.SetRefreshStatus(std::string("\x07" "example\x03" "com\x00", 13),
                         expired);
  const HealthReport r = health.Check();
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("zone example.com.: expired"),
            std::string::npos)
      << r.problems[0];
}

TEST(HealthTest, DrainTurnsUnhealthyButStaysReady) {
  dpdk::SnapshotManager snapshots(4);
  ZoneStore store(&snapshots, {"id", "v"});
  ASSERT_TRUE(store.Configure({Zone("example.com.", WriteZone("d.zone"))}).ok());
  store.LoadAll();
  Health health(&store, nullptr);
  health.SetReady(true);
  health.StartDrain();
  EXPECT_TRUE(health.draining());
  const HealthReport r = health.Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.Text("healthy", "unhealthy").rfind("unhealthy\ndraining", 0),
            0u)
      << r.Text("healthy", "unhealthy");
  EXPECT_TRUE(health.Ready().ok);
}

TEST(HealthTest, RoutesArePublicWith200Or503) {
  dpdk::SnapshotManager snapshots(4);
  ZoneStore store(&snapshots, {"id", "v"});
  ASSERT_TRUE(store.Configure({Zone("example.com.", WriteZone("e.zone"))}).ok());
  store.LoadAll();
  Health health(&store, nullptr);
  ManagementSection config;
  config.listen = "127.0.0.1:0";
  config.api_key = "secret";
  ManagementHttp http(config);
  health.RegisterRoutes(&http);

  HttpResponse r = Get(http, "/ready");  // no key needed
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.rfind("not ready\n", 0), 0u) << r.body;
  health.SetReady(true);
  r = Get(http, "/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  r = Get(http, "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "healthy\n");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  health.StartDrain();
  r = Get(http, "/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("draining"), std::string::npos) << r.body;
  // Health is read-only: other methods are refused.
  HttpRequest post;
  post.method = "POST";
  post.path = "/health";
  EXPECT_EQ(http.Dispatch(post).status, 405);
}

}  // namespace
}  // namespace popdns::control
