// The management HTTP server. See management_http.h.
#include "control/server/management_http.h"

#include <httplib.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace popdns::control {
namespace {

// What PowerDNS's webserver accepts (webserver-max-bodysize, 2 MB).
constexpr size_t kMaxBody = 2 * 1024 * 1024;
// Requests are short; more threads only queue on the zone writers' lock.
constexpr size_t kThreads = 4;

const char* StatusText(int code) {
  switch (code) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    default: return "Error";
  }
}

// {"error": "..."} as json11 writes it (see update/pdns_json.h).
std::string ErrorBody(const std::string& message) {
  return "{\"error\": " + nlohmann::json(message).dump() + "}";
}

}  // namespace

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

bool HttpRequest::HasQuery(const std::string& name) const {
  return query.count(name) > 0;
}

bool HttpRequest::AcceptsJson() const {
  // PowerDNS: YAML wins over JSON, JSON over HTML.
  const std::string accept = Header("accept");
  return accept.find("application/json") != std::string::npos &&
         accept.find("yaml") == std::string::npos;
}

void HttpResponse::Json(int code, std::string json_text) {
  status = code;
  content_type = "application/json";
  body = std::move(json_text);
}

void HttpResponse::ApiError(int code, const std::string& message) {
  Json(code, ErrorBody(message));
}

void HttpResponse::HttpError(const HttpRequest& request, int code) {
  if (request.AcceptsJson()) {
    ApiError(code, StatusText(code));
  } else {
    status = code;
    content_type = "text/plain; charset=utf-8";
    body = StatusText(code);
  }
}

ManagementHttp::ManagementHttp(ManagementSection config)
    : config_(std::move(config)) {}

ManagementHttp::~ManagementHttp() { Stop(); }

void ManagementHttp::Route(const std::string& method,
                           const std::string& pattern, Access access,
                           HttpHandler handler) {
  for (Path& p : paths_) {
    if (p.pattern_text == pattern) {
      p.methods[method] = std::move(handler);
      return;
    }
  }
  Path p;
  p.pattern = std::regex(pattern, std::regex::ECMAScript);
  p.pattern_text = pattern;
  p.access = access;
  p.methods[method] = std::move(handler);
  paths_.push_back(std::move(p));
}

bool ManagementHttp::KeyMatches(const std::string& given) const {
  const std::string& key = config_.api_key;
  if (key.empty()) return false;  // PowerDNS: no api-key, no API
  // Time depends on the length of what was sent, never on where it
  // differs from the key.
  unsigned diff = given.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(key[i % key.size()]);
  }
  return diff == 0;
}

HttpResponse ManagementHttp::Dispatch(HttpRequest request) const {
  HttpResponse response;
  for (const Path& p : paths_) {
    std::smatch m;
    if (!std::regex_match(request.path, m, p.pattern)) continue;
    if (p.access == Access::kApiKey) {
      response.headers.emplace_back("Access-Control-Allow-Origin", "*");
      if (request.method == "OPTIONS") {
        // A browser's CORS preflight carries no key (PowerDNS answers it
        // before its key check too).
        response.headers.emplace_back("Access-Control-Allow-Headers",
                                      "Content-Type, X-API-Key");
        response.headers.emplace_back(
            "Access-Control-Allow-Methods",
            "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        response.headers.emplace_back("Access-Control-Max-Age", "3600");
        response.content_type = "text/plain";
        return response;
      }
      if (!KeyMatches(request.Header("x-api-key"))) {
        std::fprintf(stderr, "popdns: management: %s %s from %s: 401 (%s)\n",
                     request.method.c_str(), request.path.c_str(),
                     request.remote.c_str(),
                     config_.api_key.empty() ? "no api_key configured"
                     : request.Header("x-api-key").empty()
                         ? "no X-API-Key"
                         : "wrong X-API-Key");
        response.HttpError(request, 401);
        response.headers.emplace_back("WWW-Authenticate",
                                      "X-API-Key realm=\"PowerDNS\"");
        return response;
      }
    }
    auto method = p.methods.find(request.method);
    if (method == p.methods.end() && request.method == "HEAD") {
      method = p.methods.find("GET");
    }
    if (method == p.methods.end()) {
      response.HttpError(request, 405);
      return response;
    }
    for (size_t i = 1; i < m.size(); ++i) {
      request.path_params.push_back(m[i].str());
    }
    try {
      method->second(request, &response);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "popdns: management: %s %s: %s\n",
                   request.method.c_str(), request.path.c_str(), e.what());
      response = HttpResponse();
      response.HttpError(request, 500);
    }
    return response;
  }
  response.HttpError(request, 404);
  return response;
}

absl::Status ManagementHttp::Start() {
  std::string host;
  uint16_t port = 0;
  if (absl::Status s = ParseListenAddress(config_.listen, &host, &port);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("management: listen: ", s.message()));
  }
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server_->set_payload_max_length(kMaxBody);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r;
    r.method = req.method;
    r.path = req.path;
    r.body = req.body;
    r.remote = absl::StrCat(req.remote_addr, ":", req.remote_port);
    for (const auto& [name, value] : req.headers) {
      r.headers[absl::AsciiStrToLower(name)] = value;
    }
    for (const auto& [name, value] : req.params) r.query.emplace(name, value);
    HttpResponse out = Dispatch(std::move(r));
    res.status = out.status;
    for (const auto& [name, value] : out.headers) res.set_header(name, value);
    if (!out.content_type.empty()) {
      res.set_content(out.body, out.content_type.c_str());
    }
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);  // tests: any free port
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("management: cannot listen on ", config_.listen));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  std::fprintf(stderr, "popdns: management HTTP on %s\n",
               config_.listen.c_str());
  return absl::OkStatus();
}

void ManagementHttp::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace popdns::control
