#include "control/server/exception_interface.h"

#include <arpa/inet.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace popdns::control {
namespace {

// Runs iproute2's `ip` (no shell): the kernel interface is configured once
// at start-up, and `ip` is what operators use to inspect it anyway.
absl::Status Ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "ip", nullptr, nullptr, argv.data(), environ) != 0) {
    return absl::InternalError("cannot run ip (iproute2 installed?)");
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    args.pop_back();
    return absl::InternalError("failed: " + absl::StrJoin(args, " "));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ConfigureExceptionInterface(
    const std::string& ifname, const std::string& mac,
    const std::vector<std::string>& addresses) {
  if (absl::Status s = Ip({"link", "set", "dev", ifname, "down"}); !s.ok()) {
    return s;
  }
  if (absl::Status s = Ip({"link", "set", "dev", ifname, "address", mac});
      !s.ok()) {
    return s;
  }
  for (const std::string& a : addresses) {
    // nodad: the address is ours by configuration; duplicate detection
    // would only delay binding the slow-path sockets.
    std::vector<std::string> cmd = {"addr", "replace", a, "dev", ifname};
    if (a.find(':') != std::string::npos) cmd.push_back("nodad");
    if (absl::Status s = Ip(cmd); !s.ok()) return s;
  }
  return Ip({"link", "set", "dev", ifname, "up"});
}

std::vector<std::string> ExceptionAddresses(const DataplaneSection& dataplane,
                                            size_t port) {
  std::vector<std::string> out = dataplane.ports[port].addresses;
  for (const std::string& a : dataplane.service_addresses) {
    if (port == 0) {
      out.push_back(a);
    } else {
      const std::string host = a.substr(0, a.find('/'));
      out.push_back(host + (host.find(':') != std::string::npos ? "/128" : "/32"));
    }
  }
  return out;
}

absl::Status ParseServiceAddresses(const std::vector<std::string>& addresses,
                                   net::ServiceAddresses* out) {
  for (const std::string& a : addresses) {
    const std::string host = a.substr(0, a.find('/'));
    uint8_t buf[16];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
      if (out->v4_count == net::ServiceAddresses::kMax) {
        return absl::InvalidArgumentError("too many service addresses");
      }
      std::memcpy(&out->v4[out->v4_count++], buf, 4);
    } else if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
      if (out->v6_count == net::ServiceAddresses::kMax) {
        return absl::InvalidArgumentError("too many service addresses");
      }
      std::memcpy(out->v6[out->v6_count++], buf, 16);
    } else {
      return absl::InvalidArgumentError("bad service address '" + a + "'");
    }
  }
  return absl::OkStatus();
}

}  // namespace popdns::control
