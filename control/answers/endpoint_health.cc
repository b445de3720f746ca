#include "control/answers/endpoint_health.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "control/answers/network_prefix.h"

namespace popdns::control {
namespace {

std::string ConnectError(int fd, const sockaddr* sa, socklen_t len,
                         int timeout_ms) {
  if (connect(fd, sa, len) == 0) return "";
  if (errno != EINPROGRESS) {
    return absl::StrCat("connect: ", std::strerror(errno));
  }
  pollfd p{fd, POLLOUT, 0};
  const int ready = poll(&p, 1, timeout_ms);
  if (ready == 0) return absl::StrCat("timeout after ", timeout_ms, " ms");
  if (ready < 0) return absl::StrCat("poll: ", std::strerror(errno));
  int err = 0;
  socklen_t err_len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
  return err == 0 ? "" : absl::StrCat("connect: ", std::strerror(err));
}

std::string ProbeTcp(const HealthCheckConfig& check) {
  sockaddr_storage ss{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, check.endpoint.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(check.port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, check.endpoint.c_str(), &v6->sin6_addr) ==
             1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(check.port);
    len = sizeof(*v6);
  } else {
    return "not an address";
  }
  const int fd =
      socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::StrCat("socket: ", std::strerror(errno));
  const std::string error = ConnectError(
      fd, reinterpret_cast<const sockaddr*>(&ss), len, check.timeout_ms);
  close(fd);
  return error;
}

std::string ProbeHttp(const HealthCheckConfig& check) {
  httplib::Client client(check.endpoint, check.port);
  const auto timeout = std::chrono::milliseconds(check.timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Headers headers = {{"User-Agent", "popdns-health-check"}};
  if (!check.host.empty()) {
    headers.emplace("Host", check.host);
  } else if (check.endpoint.find(':') != std::string::npos) {
    headers.emplace("Host", absl::StrCat("[", check.endpoint, "]:", check.port));
  }
  const httplib::Result r = client.Get(check.path, headers);
  if (!r) {
    // httplib says "Connection" or "Read": say why, as the TCP check would.
    if (r.error() == httplib::Error::Connection) {
      const std::string tcp = ProbeTcp(check);
      if (!tcp.empty()) return tcp;
    }
    if (r.error() == httplib::Error::Read) {
      return absl::StrCat("http: no answer within ", check.timeout_ms, " ms");
    }
    return absl::StrCat("http: ", httplib::to_string(r.error()));
  }
  if (r->status < 200 || r->status > 399) {
    return absl::StrCat("HTTP ", r->status);
  }
  return "";
}

}  // namespace

std::string ProbeEndpoint(const HealthCheckConfig& check) {
  return check.type == "http" ? ProbeHttp(check) : ProbeTcp(check);
}

EndpointHealth::EndpointHealth(std::vector<HealthCheckConfig> checks,
                               Publish publish, Probe probe)
    : publish_(std::move(publish)), probe_(std::move(probe)) {
  for (HealthCheckConfig& c : checks) {
    auto address = ParseAddress(c.endpoint);
    if (!address.ok()) continue;  // the config check refused it already
    Endpoint e;
    e.address = *address;
    e.state.endpoint = c.endpoint;
    e.state.check = c.type == "http"
                        ? absl::StrCat("http ", c.port, " ", c.path)
                        : absl::StrCat("tcp ", c.port);
    e.check = std::move(c);
    endpoints_.push_back(std::move(e));
  }
  checked_ = endpoints_.size();
}

EndpointHealth::~EndpointHealth() { Stop(); }

void EndpointHealth::Start() {
  for (size_t i = 0; i < checked_; ++i) {
    threads_.emplace_back([this, i] { RunChecks(i); });
  }
}

void EndpointHealth::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void EndpointHealth::RunChecks(size_t index) {
  HealthCheckConfig check;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check = endpoints_[index].check;
  }
  const auto interval = std::chrono::milliseconds(check.interval_ms);
  auto next = std::chrono::steady_clock::now();
  while (true) {
    const std::string error = probe_(check);
    bool changed;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      Endpoint& e = endpoints_[index];
      e.state.last_check = std::time(nullptr);
      e.state.last_result = error.empty() ? "ok" : error;
      if (error.empty()) {
        e.failures = 0;
        ++e.successes;
        if (!e.state.checks_up && e.successes >= check.rise) {
          e.state.checks_up = true;
        }
      } else {
        e.successes = 0;
        ++e.failures;
        if (e.state.checks_up && e.failures >= check.fall) {
          e.state.checks_up = false;
        }
      }
      // The operator's mark may hold it down whatever the checks say.
      changed = UpdateUpLocked(e, e.state.last_result);
    }
    if (changed) Republish();
    next += interval;
    std::unique_lock<std::mutex> lock(mu_);
    // A check slower than the interval starts the next one at once.
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    if (std::chrono::steady_clock::now() > next + interval) {
      next = std::chrono::steady_clock::now();
    }
  }
}

bool EndpointHealth::UpdateUpLocked(Endpoint& e, const std::string& why) {
  const bool up = e.state.checks_up && !e.state.admin_down;
  if (up == e.state.up) return false;
  e.state.up = up;
  e.state.since = std::time(nullptr);
  std::fprintf(stderr, "popdns: endpoint %s %s (%s)\n",
               e.state.endpoint.c_str(), up ? "up" : "down", why.c_str());
  return true;
}

EndpointHealth::Endpoint* EndpointHealth::FindLocked(zone::Address a) {
  for (Endpoint& e : endpoints_) {
    if (e.address == a) return &e;
  }
  return nullptr;
}

absl::Status EndpointHealth::SetAdminDown(const std::string& endpoint,
                                          bool down) {
  auto address = ParseAddress(endpoint);
  if (!address.ok()) return address.status();
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Endpoint* e = FindLocked(*address);
    if (e == nullptr) {
      if (!down) return absl::OkStatus();  // nothing to undo
      Endpoint added;
      added.address = *address;
      added.state.endpoint = endpoint;
      endpoints_.push_back(std::move(added));
      e = &endpoints_.back();
    }
    e->state.admin_down = down;
    changed = UpdateUpLocked(*e, "operator");
  }
  if (changed) Republish();
  return absl::OkStatus();
}

std::vector<EndpointHealth::State> EndpointHealth::States() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<State> out;
  for (const Endpoint& e : endpoints_) out.push_back(e.state);
  return out;
}

std::vector<zone::Address> EndpointHealth::DownSet() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<zone::Address> down;
  for (const Endpoint& e : endpoints_) {
    if (!e.state.up) down.push_back(e.address);
  }
  std::sort(down.begin(), down.end());
  down.erase(std::unique(down.begin(), down.end()), down.end());
  return down;
}

void EndpointHealth::Republish() {
  std::lock_guard<std::mutex> lock(publish_mu_);
  publish_(DownSet());
}

}  // namespace popdns::control
