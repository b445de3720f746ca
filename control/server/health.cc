// Health and readiness. See health.h.
#include "control/server/health.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/build/zone_store.h"
#include "control/server/management_http.h"
#include "control/zonefile/name_text.h"
#include "dataplane/dpdk/dataplane.h"

namespace popdns::control {

std::string HealthReport::Text(const char* good, const char* bad) const {
  std::string out = ok ? good : bad;
  out += "\n";
  for (const std::string& p : problems) absl::StrAppend(&out, p, "\n");
  return out;
}

Health::Health(const ZoneStore* store, const dpdk::Dataplane* dataplane)
    : store_(store), dataplane_(dataplane) {}

HealthReport Health::Ready() const {
  HealthReport r;
  r.ok = ready_.load();
  if (!r.ok) r.problems.push_back("not serving (starting or stopping)");
  return r;
}

HealthReport Health::Check() const {
  std::lock_guard<std::mutex> lock(mu_);
  HealthReport r;
  if (!ready_.load()) r.problems.push_back("not serving (starting or stopping)");
  if (draining_.load()) {
    r.problems.push_back("draining (popdnsctl drain or SIGTERM): still "
                         "answering until it stops");
  }
  for (const ZoneConfig& c : store_->configs()) {
    auto wire = NameFromText(c.name, "");
    if (!wire.ok()) continue;  // Configure() refused such names
    auto view = store_->View(NameToLower(*wire));
    if (!view || view->zone == nullptr) {
      r.problems.push_back(absl::StrCat(
          "zone ", c.name, ": not loaded (popdnsctl status says why)"));
    } else if (view->expired) {
      r.problems.push_back(absl::StrCat(
          "zone ", c.name, ": expired (no primary answered within the SOA "
          "expire time; answering SERVFAIL)"));
    }
  }
  if (dataplane_ != nullptr) {
    const std::vector<double> ages = dataplane_->WorkerPollAges();
    for (size_t i = 0; i < ages.size(); ++i) {
      if (ages[i] > kWorkerStall) {
        r.problems.push_back(absl::StrFormat(
            "worker %u: has not polled its queues for %.1f s (bound %.1f s)",
            static_cast<unsigned>(i), ages[i], kWorkerStall));
      }
    }
    for (std::string& p : dataplane_->LinkProblems()) {
      r.problems.push_back(std::move(p));
    }
  }
  r.ok = r.problems.empty();
  return r;
}

void Health::RegisterRoutes(ManagementHttp* http) const {
  auto reply = [](const HealthReport& report, const char* good,
                  const char* bad, HttpResponse* response) {
    response->status = report.ok ? 200 : 503;
    response->content_type = "text/plain; charset=utf-8";
    response->body = report.Text(good, bad);
    response->headers.emplace_back("Cache-Control", "no-store");
  };
  http->Route("GET", "/health", ManagementHttp::Access::kPublic,
              [this, reply](const HttpRequest&, HttpResponse* response) {
                reply(Check(), "healthy", "unhealthy", response);
              });
  http->Route("GET", "/ready", ManagementHttp::Access::kPublic,
              [this, reply](const HttpRequest&, HttpResponse* response) {
                reply(Ready(), "ready", "not ready", response);
              });
}

}  // namespace popdns::control
