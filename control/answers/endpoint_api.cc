#include "control/answers/endpoint_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "control/answers/network_prefix.h"

namespace popdns::control {
namespace {

using nlohmann::json;

json StateJson(const EndpointHealth::State& s) {
  json j = {{"endpoint", s.endpoint},
            {"up", s.up},
            {"checks_up", s.checks_up},
            {"admin_down", s.admin_down},
            {"since", s.since}};
  if (!s.check.empty()) {
    j["check"] = s.check;
    j["last_result"] = s.last_result;
    j["last_check"] = s.last_check;
  }
  return j;
}

// The state of `endpoint` (as written, or in any other spelling of the
// same address), or null.
json Find(const EndpointHealth& health, const std::string& endpoint) {
  auto want = ParseAddress(endpoint);
  if (!want.ok()) return nullptr;
  for (const EndpointHealth::State& s : health.States()) {
    auto a = ParseAddress(s.endpoint);
    if (a.ok() && *a == *want) return StateJson(s);
  }
  return nullptr;
}

}  // namespace

void RegisterEndpointApi(ManagementHttp* http, EndpointHealth* health) {
  const auto key = ManagementHttp::Access::kApiKey;
  http->Route("GET", "/api/v1/endpoints", key,
              [health](const HttpRequest&, HttpResponse* resp) {
                json all = json::array();
                for (const auto& s : health->States()) {
                  all.push_back(StateJson(s));
                }
                resp->Json(200, all.dump());
              });
  const std::string one = "/api/v1/endpoints/([^/]+)";
  http->Route("GET", one, key,
              [health](const HttpRequest& req, HttpResponse* resp) {
                if (!ParseAddress(req.path_params[0]).ok()) {
                  resp->ApiError(422, "'" + req.path_params[0] +
                                          "' is not an IPv4 or IPv6 address");
                  return;
                }
                json j = Find(*health, req.path_params[0]);
                if (j.is_null()) {
                  resp->ApiError(404, "endpoint " + req.path_params[0] +
                                          " is neither checked nor marked");
                  return;
                }
                resp->Json(200, j.dump());
              });
  http->Route("PUT", one, key,
              [health](const HttpRequest& req, HttpResponse* resp) {
                const json body =
                    json::parse(req.body, nullptr, /*allow_exceptions=*/false);
                if (body.is_discarded() || !body.is_object() ||
                    !body.contains("admin_down") ||
                    !body["admin_down"].is_boolean()) {
                  resp->ApiError(400,
                                 "expected a JSON object with a boolean "
                                 "'admin_down'");
                  return;
                }
                if (absl::Status s = health->SetAdminDown(
                        req.path_params[0], body["admin_down"].get<bool>());
                    !s.ok()) {
                  resp->ApiError(422, std::string(s.message()));
                  return;
                }
                json j = Find(*health, req.path_params[0]);
                if (j.is_null()) {  // marked up and never checked
                  EndpointHealth::State up;
                  up.endpoint = req.path_params[0];
                  j = StateJson(up);
                }
                resp->Json(200, j.dump());
              });
}

std::string EndpointsText(const EndpointHealth& health) {
  std::string out;
  for (const EndpointHealth::State& s : health.States()) {
    absl::StrAppend(&out, s.endpoint, " ", s.up ? "up" : "down");
    if (s.admin_down) absl::StrAppend(&out, " (marked down)");
    if (!s.check.empty()) {
      absl::StrAppend(&out, " check ", s.check, ": ",
                      s.last_check == 0 ? "not run yet" : s.last_result);
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace popdns::control
