// Endpoint health (control/answers/endpoint_health.h, issue 16): the
// probes against real listeners on loopback, the hysteresis with a scripted
// probe, the operator's mark, and the management API of endpoint_api.h.
#include "control/answers/endpoint_health.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "control/answers/endpoint_api.h"
#include "gtest/gtest.h"

namespace popdns::control {
namespace {

// A TCP listener on 127.0.0.1 (any port), closed by the destructor.
struct Listener {
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd, 16);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
  int fd;
  uint16_t port;
};

HealthCheckConfig Check(const std::string& type, uint16_t port) {
  HealthCheckConfig c;
  c.endpoint = "127.0.0.1";
  c.type = type;
  c.port = port;
  c.interval_ms = 100;
  c.timeout_ms = 100;
  return c;
}

zone::Address Loopback() { return zone::FromIpv4(0x7f000001); }

TEST(ProbeEndpoint, TcpConnects) {
  Listener l;
  EXPECT_EQ(ProbeEndpoint(Check("tcp", l.port)), "");
  const uint16_t closed = l.port;
  close(l.fd);
  l.fd = -1;
  EXPECT_EQ(ProbeEndpoint(Check("tcp", closed)),
            "connect: Connection refused");
}

TEST(ProbeEndpoint, HttpStatusDecides) {
  httplib::Server server;
  server.Get("/ok", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_header_value("Host"), "text/plain");
  });
  server.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/ok");
  });
  server.Get("/down", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
  });
  server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    res.set_content("late", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  HealthCheckConfig c = Check("http", static_cast<uint16_t>(port));
  c.path = "/ok";
  EXPECT_EQ(ProbeEndpoint(c), "");
  c.path = "/moved";  // 3xx is up: the endpoint answers
  EXPECT_EQ(ProbeEndpoint(c), "");
  c.path = "/down";
  EXPECT_EQ(ProbeEndpoint(c), "HTTP 503");
  c.path = "/nowhere";
  EXPECT_EQ(ProbeEndpoint(c), "HTTP 404");
  c.path = "/slow";
  EXPECT_EQ(ProbeEndpoint(c), "http: no answer within 100 ms");
  server.stop();
  t.join();
  c.path = "/ok";
  EXPECT_EQ(ProbeEndpoint(c), "connect: Connection refused");
}

// Publications as the ZoneStore would get them.
class Published {
 public:
  void Add(std::vector<zone::Address> down) {
    std::lock_guard<std::mutex> lock(mu_);
    all_.push_back(std::move(down));
    cv_.notify_all();
  }
  // Waits (at most 10 s) for publication number `n` (from 1).
  std::vector<zone::Address> Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10),
                 [&] { return all_.size() >= n; });
    return all_.size() >= n ? all_[n - 1]
                            : std::vector<zone::Address>{zone::Address(42)};
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return all_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<zone::Address>> all_;
};

// A probe that answers from a script, then as its last entry; Wait()
// returns once the script is used up and one more check ran.
class ScriptedProbe {
 public:
  explicit ScriptedProbe(std::vector<bool> ups) : ups_(std::move(ups)) {}
  std::string operator()(const HealthCheckConfig&) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool up = next_ < ups_.size() ? ups_[next_] : ups_.back();
    ++next_;
    cv_.notify_all();
    return up ? "" : "scripted failure";
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10),
                 [&] { return next_ > ups_.size(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> ups_;
  size_t next_ = 0;
};

TEST(EndpointHealth, HysteresisRiseAndFall) {
  HealthCheckConfig c = Check("tcp", 1);
  c.interval_ms = 100;
  c.rise = 2;
  c.fall = 2;
  Published published;
  // One failure between successes moves nothing; two in a row take it
  // down; one success between failures does not bring it up; two do.
  auto script = std::make_shared<ScriptedProbe>(std::vector<bool>{
      true, false, true, false, false, true, false, true, true, true, true});
  EndpointHealth health({c}, [&](auto down) { published.Add(down); },
                        [script](const HealthCheckConfig& h) {
                          return (*script)(h);
                        });
  health.Start();
  EXPECT_EQ(published.Wait(1), std::vector<zone::Address>{Loopback()});
  EXPECT_EQ(published.Wait(2), std::vector<zone::Address>{});
  script->Wait();
  health.Stop();
  EXPECT_EQ(published.count(), 2u);
  const auto states = health.States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].check, "tcp 1");
  EXPECT_EQ(states[0].last_result, "ok");
  EXPECT_TRUE(states[0].up);
}

TEST(EndpointHealth, ARealListenerGoesAndComesBack) {
  auto l = std::make_unique<Listener>();
  const uint16_t port = l->port;
  HealthCheckConfig c = Check("tcp", port);
  c.fall = 2;
  c.rise = 1;
  Published published;
  EndpointHealth health({c}, [&](auto down) { published.Add(down); });
  health.Start();
  l.reset();
  EXPECT_EQ(published.Wait(1), std::vector<zone::Address>{Loopback()});
  EXPECT_EQ(health.States()[0].last_result, "connect: Connection refused");
  EXPECT_FALSE(health.States()[0].up);
  // Listening on the same port again.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  listen(fd, 16);
  EXPECT_EQ(published.Wait(2), std::vector<zone::Address>{});
  EXPECT_TRUE(health.States()[0].up);
  health.Stop();
  close(fd);
}

TEST(EndpointHealth, TheOperatorsMarkWins) {
  HealthCheckConfig c = Check("tcp", 1);
  c.endpoint = "2001:db8::10";
  Published published;
  EndpointHealth health({c}, [&](auto down) { published.Add(down); },
                        [](const HealthCheckConfig&) { return ""; });
  health.Start();
  // An address nobody checks.
  ASSERT_TRUE(health.SetAdminDown("192.0.2.7", true).ok());
  EXPECT_EQ(published.Wait(1),
            std::vector<zone::Address>{zone::FromIpv4(0xc0000207)});
  // A checked one, in another spelling: both down, sorted.
  ASSERT_TRUE(health.SetAdminDown("2001:DB8:0::10", true).ok());
  auto down = published.Wait(2);
  ASSERT_EQ(down.size(), 2u);
  EXPECT_TRUE(health.States()[0].checks_up);
  EXPECT_FALSE(health.States()[0].up);
  ASSERT_TRUE(health.SetAdminDown("192.0.2.7", false).ok());
  ASSERT_TRUE(health.SetAdminDown("2001:db8::10", false).ok());
  EXPECT_EQ(published.Wait(4), std::vector<zone::Address>{});
  // Marking up what was never down publishes nothing.
  ASSERT_TRUE(health.SetAdminDown("192.0.2.8", false).ok());
  EXPECT_EQ(health.SetAdminDown("www.example.test", true).code(),
            absl::StatusCode::kInvalidArgument);
  health.Stop();
  EXPECT_EQ(published.count(), 4u);
}

TEST(EndpointApi, ListMarkAndErrors) {
  ManagementHttp http({"127.0.0.1:0", "k"});
  HealthCheckConfig c = Check("http", 8080);
  c.path = "/healthz";
  Published published;
  EndpointHealth health({c}, [&](auto down) { published.Add(down); },
                        [](const HealthCheckConfig&) { return ""; });
  RegisterEndpointApi(&http, &health);
  auto call = [&](const std::string& method, const std::string& path,
                  const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.headers["x-api-key"] = "k";
    return http.Dispatch(req);
  };
  HttpResponse list = call("GET", "/api/v1/endpoints");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("\"check\":\"http 8080 /healthz\""),
            std::string::npos)
      << list.body;
  HttpResponse mark =
      call("PUT", "/api/v1/endpoints/127.0.0.1", R"({"admin_down": true})");
  EXPECT_EQ(mark.status, 200);
  EXPECT_NE(mark.body.find("\"up\":false"), std::string::npos) << mark.body;
  EXPECT_EQ(published.Wait(1), std::vector<zone::Address>{Loopback()});
  EXPECT_EQ(call("GET", "/api/v1/endpoints/127.0.0.1").status, 200);
  EXPECT_EQ(EndpointsText(health),
            "127.0.0.1 down (marked down) check http 8080 /healthz: "
            "not run yet\n");
  HttpResponse bad = call("PUT", "/api/v1/endpoints/127.0.0.1", "{\"down\":1}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            R"({"error": "expected a JSON object with a boolean 'admin_down'"})");
  EXPECT_EQ(call("PUT", "/api/v1/endpoints/nope", R"({"admin_down": true})")
                .status,
            422);
  EXPECT_EQ(call("GET", "/api/v1/endpoints/192.0.2.99").status, 404);
  HttpRequest anonymous;
  anonymous.method = "GET";
  anonymous.path = "/api/v1/endpoints";
  EXPECT_EQ(http.Dispatch(anonymous).status, 401);
}

}  // namespace
}  // namespace popdns::control
