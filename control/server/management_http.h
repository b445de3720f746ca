// The management HTTP endpoint (`management: {listen, api_key}`): one
// cpp-httplib server on its own threads, shared by every concern that
// answers over HTTP (the provisioning API now; metrics and health later).
// A concern registers its routes before Start(); routes marked kApiKey
// need the X-API-Key header to equal the configured key (compared in
// constant time; the key is never logged), else 401 with PowerDNS's body.
// Error bodies follow PowerDNS's webserver: {"error": "..."} for API
// errors, and for HTTP-level errors (400, 401, 404, 405) JSON when the
// client accepts application/json, plain text otherwise.
// Threads: Route() before Start(); handlers run on the server's threads,
// several at once; Start()/Stop() from the control thread.
#ifndef POPDNS_CONTROL_SERVER_MANAGEMENT_HTTP_H_
#define POPDNS_CONTROL_SERVER_MANAGEMENT_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "control/config.h"

namespace httplib {
class Server;
}

namespace popdns::control {

struct HttpRequest {
  std::string method;  // "GET", "PATCH", ...
  std::string path;    // without the query
  std::vector<std::string> path_params;  // the route pattern's captures
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string remote;  // "127.0.0.1:34567", for logs

  std::string Header(const std::string& lower_name) const;
  std::string Query(const std::string& name) const;  // "" if absent
  bool HasQuery(const std::string& name) const;
  bool AcceptsJson() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // empty: no body
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  void Json(int code, std::string json_text);
  // PowerDNS's setErrorResult: {"error": message} with `code`.
  void ApiError(int code, const std::string& message);
  // An HTTP-level error as PowerDNS's webserver writes it for `request`:
  // {"error": "Not Found"} when JSON is accepted, "Not Found" otherwise.
  void HttpError(const HttpRequest& request, int code);
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse*)>;

class ManagementHttp {
 public:
  enum class Access { kPublic, kApiKey };

  explicit ManagementHttp(ManagementSection config);
  ~ManagementHttp();
  ManagementHttp(const ManagementHttp&) = delete;
  ManagementHttp& operator=(const ManagementHttp&) = delete;

  // Adds `handler` for `method` on paths matching `pattern` (an ECMAScript
  // regex of the whole path; captures become path_params). The first
  // pattern that matches a path owns it: a method it lacks gets 405.
  void Route(const std::string& method, const std::string& pattern,
             Access access, HttpHandler handler);

  // Routing, key check and error bodies for one request, without a socket
  // (the server calls it; so do tests).
  HttpResponse Dispatch(HttpRequest request) const;

  // Binds `listen` and serves on its own threads. Errors: InvalidArgument
  // (bad address), Unavailable (cannot bind).
  absl::Status Start();
  void Stop();
  int port() const { return port_; }  // the bound port

 private:
  struct Path {
    std::regex pattern;
    std::string pattern_text;
    Access access = Access::kPublic;
    std::map<std::string, HttpHandler> methods;
  };
  bool KeyMatches(const std::string& given) const;

  ManagementSection config_;
  std::vector<Path> paths_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_MANAGEMENT_HTTP_H_
