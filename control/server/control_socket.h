// The management interface: a unix stream socket (mode 0600, root only)
// taking one command line per connection — "status", "reload [zone]",
// "stats" — and answering with text whose first line is "ok" or "error".
// popdnsctl is its client. Served from the control thread's poll loop.
#ifndef POPDNS_CONTROL_SERVER_CONTROL_SOCKET_H_
#define POPDNS_CONTROL_SERVER_CONTROL_SOCKET_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace popdns::control {

// Creates the socket (and its directory), replacing a stale one left by a
// crash. Returns the listening fd.
absl::StatusOr<int> OpenControlSocket(const std::string& path);

// Accepts one client on `listen_fd`, reads its command line, and writes
// handler(command) back. Blocking reads are bounded by a 1 s timeout.
void ServeControlClient(
    int listen_fd, const std::function<std::string(const std::string&)>& handler);

// Client side: sends `command` and returns the full reply.
absl::StatusOr<std::string> ControlRequest(const std::string& path,
                                           const std::string& command);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_CONTROL_SOCKET_H_
