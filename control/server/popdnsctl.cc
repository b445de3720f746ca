// popdnsctl: asks a running popdns over its control socket.
//   popdnsctl [--socket PATH] status | stats | health | drain [SECONDS]
//             | reload [ZONE] | refresh [ZONE]
// Commands are checked here, so that a typo is a usage error (exit 2) even
// when no daemon runs.
#include <cstdio>
#include <string>
#include <vector>

#include "control/server/command_line.h"
#include "control/server/control_socket.h"
#include "control/server/version_text.h"

namespace popdns::control {
namespace {

constexpr char kDefaultSocket[] = "/run/popdns/control.sock";

constexpr char kUsageLine[] =
    "usage: popdnsctl [--socket PATH] COMMAND [ARG]\n"
    "Try 'popdnsctl --help' for more information.\n";

constexpr char kHelp[] =
    R"(usage: popdnsctl [--socket PATH] COMMAND [ARG]

popdnsctl asks a running popdns (over its control socket, a root-only unix
socket) for its state and tells it to reload or to drain.

Commands:
  status           zones: role, serial, load and refresh times, last error
  stats            counters: queries by transport, rcode and type, dataplane
  health           what GET /health says: "healthy", or "unhealthy" and why
                   (draining, a zone not loaded or expired, a worker that
                   stopped polling, a port whose link is down); exit 0 when
                   healthy, 1 when not
  endpoints        endpoints of app-aware answers: up or down, marked down
                   by the operator, their checks' last results
  drain [SECONDS]  take this PoP out of the anycast: /health turns 503 at
                   once while popdns keeps answering, so the BGP hook
                   withdraws the route; popdns stops SECONDS later (default:
                   the config's shutdown_drain_seconds; 0: only on SIGTERM
                   or a second drain). A drain while draining stops at once
  reload [ZONE]    re-read the zone files (all zones, or ZONE); a zone that
                   fails keeps serving its previous version
  refresh [ZONE]   secondaries: ask the primaries for a new serial now

Options:
  --socket PATH    the control socket (default /run/popdns/control.sock;
                   popdns's control_socket key or --control-socket)
  -h, --help       print this help and exit
  --version        print the version and git revision and exit

Exit status: 0 ok, 1 failure (popdns not running, the command failed, or
health: unhealthy), 2 usage error.

Manual: popdnsctl(8), popdns(8); configuration: popdns.yaml(5).
)";

int Usage(const std::string& what) {
  std::fprintf(stderr, "popdnsctl: error: %s\n%s", what.c_str(), kUsageLine);
  return kExitUsage;
}

// Writes `text` ending with exactly one newline (replies, errors), so the
// shell prompt or the next line never runs into it.
void PutLines(std::string text, FILE* to) {
  if (text.empty()) return;
  if (text.back() != '\n') text.push_back('\n');
  std::fputs(text.c_str(), to);
}

int Run(int argc, char** argv) {
  std::string path = kDefaultSocket;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    }
    if (a == "--version") {
      std::fputs(VersionLine("popdnsctl").c_str(), stdout);
      return kExitOk;
    }
    if (a == "--socket") {
      if (i + 1 >= argc) return Usage("--socket needs a value");
      path = argv[++i];
    } else if (a.rfind("--socket=", 0) == 0) {
      path = a.substr(9);
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option '" + a + "'");
    } else {
      words.push_back(a);
    }
  }
  if (words.empty()) return Usage("no command given");
  const std::string& command = words[0];
  const bool takes_arg =
      command == "reload" || command == "refresh" || command == "drain";
  if (!takes_arg && command != "status" && command != "stats" &&
      command != "health" && command != "endpoints") {
    return Usage("unknown command '" + command +
                 "' (commands: status, stats, health, endpoints, "
                 "drain [SECONDS], "
                 "reload [ZONE], refresh [ZONE])");
  }
  if (words.size() > (takes_arg ? 2u : 1u)) {
    return Usage("too many arguments for '" + command + "'");
  }
  if (command == "drain" && words.size() == 2 &&
      (words[1].empty() || words[1].size() > 5 ||
       words[1].find_first_not_of("0123456789") != std::string::npos ||
       std::stoi(words[1]) > 86400)) {
    return Usage("drain: SECONDS must be a number in 0..86400, got '" +
                 words[1] + "'");
  }
  if (path.empty()) return Usage("--socket needs a path");
  std::string request = command;
  if (words.size() == 2) request += " " + words[1];

  auto reply = ControlRequest(path, request);
  if (!reply.ok()) {
    PutLines("popdnsctl: error: " + std::string(reply.status().message()),
             stderr);
    return kExitFailure;
  }
  const size_t nl = reply->find('\n');
  const std::string head = reply->substr(0, nl);
  const std::string body = nl == std::string::npos ? "" : reply->substr(nl + 1);
  if (head == "ok") {
    PutLines(body, stdout);
    return kExitOk;
  }
  if (command == "health" && !body.empty()) {
    PutLines(body, stdout);  // "unhealthy" and why: an answer, not an error
    return kExitFailure;
  }
  PutLines(body.empty() ? "popdnsctl: error: " + command + " failed" : body,
           stderr);
  return kExitFailure;
}

}  // namespace
}  // namespace popdns::control

int main(int argc, char** argv) { return popdns::control::Run(argc, argv); }
