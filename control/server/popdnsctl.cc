// popdnsctl: asks a running popdns over its control socket.
//   popdnsctl [--socket PATH] status | stats | reload [zone]
#include <cstdio>
#include <string>

#include "control/server/control_socket.h"

int main(int argc, char** argv) {
  std::string path = "/run/popdns/control.sock";
  std::string command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      path = argv[++i];
    } else {
      command += (command.empty() ? "" : " ") + a;
    }
  }
  if (command.empty()) {
    std::fprintf(stderr,
                 "usage: popdnsctl [--socket PATH] status|stats|reload [zone]\n");
    return 2;
  }
  auto reply = popdns::control::ControlRequest(path, command);
  if (!reply.ok()) {
    std::fprintf(stderr, "popdnsctl: %s\n",
                 std::string(reply.status().message()).c_str());
    return 1;
  }
  const size_t nl = reply->find('\n');
  const std::string head = reply->substr(0, nl);
  const std::string body = nl == std::string::npos ? "" : reply->substr(nl + 1);
  std::fputs(body.c_str(), head == "ok" ? stdout : stderr);
  return head == "ok" ? 0 : 1;
}
