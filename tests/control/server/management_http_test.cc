// The management HTTP endpoint (control/server/management_http.h):
// routing, the X-API-Key check and PowerDNS's error bodies through
// Dispatch(), then one request over a real socket on loopback.
#include "control/server/management_http.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace popdns::control {
namespace {

// A loopback port nobody listens on right now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class ManagementHttpTest : public ::testing::Test {
 protected:
  ManagementHttpTest()
      : http_({"127.0.0.1:" + std::to_string(FreePort()), "s3cret"}) {
    http_.Route("GET", "/api/v1/zones/([^/]+)", ManagementHttp::Access::kApiKey,
                [](const HttpRequest& req, HttpResponse* resp) {
                  resp->Json(200, "{\"id\": \"" + req.path_params.at(0) + "\"}");
                });
    http_.Route("GET", "/health", ManagementHttp::Access::kPublic,
                [](const HttpRequest&, HttpResponse* resp) {
                  resp->status = 200;
                  resp->content_type = "text/plain";
                  resp->body = "ok";
                });
  }

  HttpResponse Get(const std::string& path, const std::string& key,
                   const std::string& accept = "") {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    if (!key.empty()) req.headers["x-api-key"] = key;
    if (!accept.empty()) req.headers["accept"] = accept;
    return http_.Dispatch(req);
  }

  ManagementHttp http_;
};

TEST_F(ManagementHttpTest, KeyChecked) {
  HttpResponse ok = Get("/api/v1/zones/example.org.", "s3cret");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"id\": \"example.org.\"}");
  for (const std::string key : {"", "s3creT", "s3cre", "s3crett"}) {
    HttpResponse r = Get("/api/v1/zones/example.org.", key);
    EXPECT_EQ(r.status, 401) << key;
    EXPECT_EQ(r.body, "Unauthorized");  // PowerDNS's, without Accept
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  }
  HttpResponse json = Get("/api/v1/zones/x.", "nope", "application/json");
  EXPECT_EQ(json.body, "{\"error\": \"Unauthorized\"}");
  bool challenge = false;
  for (const auto& [name, value] : json.headers) {
    challenge |= name == "WWW-Authenticate" &&
                 value == "X-API-Key realm=\"PowerDNS\"";
  }
  EXPECT_TRUE(challenge);
  EXPECT_EQ(Get("/health", "").status, 200);  // public route
  HttpRequest preflight;
  preflight.method = "OPTIONS";
  preflight.path = "/api/v1/zones/x.";
  EXPECT_EQ(http_.Dispatch(preflight).status, 200);  // CORS, no key
}

TEST_F(ManagementHttpTest, NoConfiguredKeyRefusesTheApi) {
  ManagementHttp open({"127.0.0.1:0", ""});
  open.Route("GET", "/api", ManagementHttp::Access::kApiKey,
             [](const HttpRequest&, HttpResponse* r) { r->Json(200, "[]"); });
  HttpRequest req;
  req.method = "GET";
  req.path = "/api";
  EXPECT_EQ(open.Dispatch(req).status, 401);
  req.headers["x-api-key"] = "";
  EXPECT_EQ(open.Dispatch(req).status, 401);
}

TEST_F(ManagementHttpTest, NotFoundAndMethodNotAllowed) {
  HttpResponse r = Get("/nope", "s3cret", "application/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\": \"Not Found\"}");
  HttpRequest req;
  req.method = "DELETE";
  req.path = "/api/v1/zones/x.";
  req.headers["x-api-key"] = "s3cret";
  r = http_.Dispatch(req);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "Method Not Allowed");
}

TEST_F(ManagementHttpTest, ServesOnLoopback) {
  absl::Status s = http_.Start();
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_GT(http_.port(), 0);
  httplib::Client client("127.0.0.1", http_.port());
  auto res = client.Get("/api/v1/zones/a.b.", {{"X-API-Key", "s3cret"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"id\": \"a.b.\"}");
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  res = client.Get("/api/v1/zones/a.b.");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  http_.Stop();
}

}  // namespace
}  // namespace popdns::control
