// PowerDNS-compatible provisioning API routes. See pdns_api.h.
#include "control/update/pdns_api.h"

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "control/server/event_counters.h"
#include "control/update/pdns_json.h"
#include "control/update/pdns_patch.h"
#include "control/update/update_service.h"
#include "control/update/zone_edit.h"
#include "control/zonefile/name_text.h"

namespace popdns::update {
namespace {

using control::HttpRequest;
using control::HttpResponse;
using control::ManagementHttp;
using nlohmann::json;

constexpr char kVersion[] = "4.7.3";  // the API generation popdns follows
constexpr char kZones[] = "/api/v1/servers/localhost/zones";

json ServerJson() {
  return {{"autoprimaries_url",
           "/api/v1/servers/localhost/autoprimaries{/autoprimary}"},
          {"config_url", "/api/v1/servers/localhost/config{/config_setting}"},
          {"daemon_type", "authoritative"},
          {"id", "localhost"},
          {"type", "Server"},
          {"url", "/api/v1/servers/localhost"},
          {"version", kVersion},
          {"zones_url", "/api/v1/servers/localhost/zones{/zone}"}};
}

// A zone name from the API ("example.org.") as a lowercased wire name;
// nullopt when it does not parse.
std::optional<std::string> ApexOf(const std::string& name) {
  auto wire = control::NameFromText(name.ends_with(".") ? name : name + ".",
                                    "");
  if (!wire.ok()) return std::nullopt;
  return control::NameToLower(*wire);
}

class Api {
 public:
  Api(control::ZoneStore* store, xfr::Replicator* replicator)
      : store_(store), replicator_(replicator) {}

  void Zones(const HttpRequest& req, HttpResponse* resp) const {
    std::optional<std::string> only;
    if (req.HasQuery("zone")) {
      const std::string zone = req.Query("zone");
      if (zone.empty() || zone.back() != '.') {
        return resp->ApiError(
            422, absl::StrCat("DNS Name '", zone, "' is not canonical"));
      }
      only = ApexOf(zone);
      if (!only) {
        return resp->ApiError(
            422, absl::StrCat("Unable to parse DNS Name '", zone, "'"));
      }
    }
    const bool dnssec = req.Query("dnssec") != "false";
    json list = json::array();
    for (const control::ZoneConfig& c : store_->configs()) {
      const std::optional<std::string> apex = ApexOf(c.name);
      if (!apex || (only && *only != *apex)) continue;
      std::optional<control::ZoneView> view = store_->View(*apex);
      json z = ZoneSummaryJson(c, view ? view->zone.get() : nullptr);
      if (!dnssec) {
        z.erase("dnssec");
        z.erase("edited_serial");
      }
      list.push_back(std::move(z));
    }
    resp->Json(200, DumpJson(list));
  }

  void Zone(const HttpRequest& req, HttpResponse* resp) const {
    std::optional<control::ZoneView> view = Find(req, resp);
    if (!view) return;
    RRsetFilter filter;
    if (req.HasQuery("rrsets")) {
      const std::string v = req.Query("rrsets");
      if (v != "true" && v != "false") {
        return resp->ApiError(
            422, absl::StrCat("'rrsets' request parameter value '", v,
                              "' is not supported"));
      }
      filter.rrsets = v == "true";
    }
    if (req.HasQuery("rrset_name")) {
      filter.name_wire = ApexOf(req.Query("rrset_name")).value_or("");
    }
    if (req.HasQuery("rrset_type")) {
      filter.type = control::TypeFromText(req.Query("rrset_type")).value_or(0);
    }
    resp->Json(200,
               DumpJson(ZoneDetailJson(view->config, view->zone.get(), filter)));
  }

  void Patch(const HttpRequest& req, HttpResponse* resp) const {
    std::optional<control::ZoneView> view = Find(req, resp);
    if (!view) return;
    // PowerDNS: an empty or unparsable body is a 400 without a reason.
    json doc = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (req.body.empty() || doc.is_discarded()) {
      return resp->HttpError(req, 400);
    }
    const std::string apex = view->zone ? view->zone->apex
                                        : ApexOf(view->config.name).value_or("");
    const std::string origin = "API PATCH from " + req.remote;
    const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
    uint32_t before = 0, serial = 0;
    absl::Status s = CommitZoneEdit(
        store_, apex, origin,
        [&](ZoneEdit& edit, const control::ZoneConfig& config) {
          return ApplyPatch(doc, config.serial_policy, now, &edit);
        },
        &before, &serial);
    const std::string zone_text = control::NameToText(apex);
    if (!s.ok()) {
      std::string why(s.message());
      if (why.starts_with(origin + ": ")) why = why.substr(origin.size() + 2);
      std::fprintf(stderr, "popdns: zone %s: %s: refused: %s\n",
                   zone_text.c_str(), origin.c_str(), why.c_str());
      if (absl::IsNotFound(s)) return resp->HttpError(req, 404);
      // The request's fault (validation, a secondary, a zone that cannot
      // take changes) is PowerDNS's 422; a journal that cannot write is
      // ours.
      const bool client = absl::IsInvalidArgument(s) ||
                          absl::IsFailedPrecondition(s);
      return resp->ApiError(client ? 422 : 500, why);
    }
    resp->status = 204;
    resp->headers.emplace_back("X-PDNS-Old-Serial", std::to_string(before));
    resp->headers.emplace_back("X-PDNS-New-Serial", std::to_string(serial));
    if (serial != before) {
      std::fprintf(stderr, "popdns: zone %s: %s: serial %u -> %u\n",
                   zone_text.c_str(), origin.c_str(), before, serial);
      if (replicator_) replicator_->NotifySecondaries(apex);
    }
  }

  void Notify(const HttpRequest& req, HttpResponse* resp) const {
    std::optional<control::ZoneView> view = Find(req, resp);
    if (!view) return;
    if (view->config.secondary() || !view->zone) {
      return resp->ApiError(422,
                            "Failed to add to the queue - see server log");
    }
    if (replicator_) replicator_->NotifySecondaries(view->zone->apex);
    resp->Json(200, "{\"result\": \"Notification queued\"}");
  }

 private:
  // The zone named by the {id} of the path; answers 400/404/422 itself
  // when there is none.
  std::optional<control::ZoneView> Find(const HttpRequest& req,
                                        HttpResponse* resp) const {
    const std::optional<std::string> name =
        ZoneNameFromId(req.path_params.at(0));
    if (!name) {
      resp->HttpError(req, 400);
      return std::nullopt;
    }
    const std::optional<std::string> apex = ApexOf(*name);
    if (!apex) {
      resp->ApiError(422,
                     absl::StrCat("Unable to parse DNS Name '", *name, "'"));
      return std::nullopt;
    }
    std::optional<control::ZoneView> view;
    if (store_->ZoneFor(*apex) == *apex) view = store_->View(*apex);
    if (!view) resp->HttpError(req, 404);
    return view;
  }

  control::ZoneStore* store_;
  xfr::Replicator* replicator_;
};

}  // namespace

void RegisterPdnsApi(ManagementHttp* http, control::ZoneStore* store,
                     xfr::Replicator* replicator) {
  auto api = std::make_shared<const Api>(store, replicator);
  const auto key = ManagementHttp::Access::kApiKey;
  auto json_doc = [](json doc) {
    return [doc](const HttpRequest&, HttpResponse* resp) {
      resp->Json(200, DumpJson(doc));
    };
  };
  http->Route("GET", "/api", key,
              json_doc(json::array({{{"url", "/api/v1"}, {"version", 1}}})));
  http->Route("GET", "/api/v1", key,
              json_doc(json::array({{{"api_features", json::array()},
                                     {"server_url", "/api/v1/servers{/server}"}}})));
  http->Route("GET", "/api/v1/servers", key,
              json_doc(json::array({ServerJson()})));
  http->Route("GET", "/api/v1/servers/localhost", key, json_doc(ServerJson()));
  http->Route("GET", kZones, key, [api](const auto& req, auto* resp) {
    api->Zones(req, resp);
  });
  // Zones come from the configuration (and their data from its files,
  // primaries and this API), so they are not created or removed here.
  auto config_only = [](const HttpRequest&, HttpResponse* resp) {
    resp->ApiError(405,
                   "popdns: zones are added, changed and removed in its "
                   "configuration, not through the API");
  };
  http->Route("POST", kZones, key, config_only);
  const std::string zone = std::string(kZones) + "/([^/]+)";
  http->Route("GET", zone, key, [api](const auto& req, auto* resp) {
    api->Zone(req, resp);
  });
  http->Route("PATCH", zone, key, [api](const auto& req, auto* resp) {
    api->Patch(req, resp);
    control::EventCounters::Add(control::Events().api_changes,
                                resp->status < 300   ? control::EventResult::kOk
                                : resp->status < 500 ? control::EventResult::kRefused
                                                     : control::EventResult::kError);
  });
  http->Route("PUT", zone, key, config_only);
  http->Route("DELETE", zone, key, config_only);
  http->Route("PUT", zone + "/notify", key,
              [api](const auto& req, auto* resp) { api->Notify(req, resp); });
}

}  // namespace popdns::update
