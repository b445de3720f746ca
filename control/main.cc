// popdns: the daemon. Loads the configured zones, serves them on kernel
// sockets (UDP + TCP), reloads on SIGHUP or `popdnsctl reload`, and stops
// cleanly on SIGTERM/SIGINT. The control thread is this main thread.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_join.h"
#include "control/config.h"
#include "control/control_socket.h"
#include "control/snapshot.h"
#include "control/socket_server.h"
#include "control/stats.h"
#include "control/zone_store.h"

namespace popdns::control {
namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "popdns: error: %s\n", what.c_str());
  return 1;
}

std::string Handle(const std::string& command, ZoneStore& store,
                   StatsRegistry& stats) {
  if (command == "status") return "ok\n" + store.StatusText();
  if (command == "stats") return "ok\n" + stats.Render();
  if (command == "reload" || command.rfind("reload ", 0) == 0) {
    const std::string zone = command.size() > 7 ? command.substr(7) : "";
    const std::string errors = store.Reload(zone);
    return errors.empty() ? "ok\n" : "error\n" + errors;
  }
  return "error\nunknown command '" + command +
         "' (commands: status, stats, reload [zone])\n";
}

int Run(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr,
                 "usage: popdns [--config FILE] [--zone NAME=FILE]... "
                 "[--listen ADDR:PORT]... [--check]\n");
    return Fail(std::string(args.status().message()));
  }
  const Config& config = args->config;
  if (config.zones.empty()) return Fail("no zones configured");

  // Signals are taken synchronously by the control loop; worker threads
  // inherit the mask and never see them.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  SnapshotManager snapshots(
      static_cast<uint32_t>(SocketServer::ReaderCount(config) + 4));
  ZoneStore store(&snapshots, {config.identity, config.version});
  if (absl::Status s = store.Configure(config.zones); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  const std::string errors = store.Reload();
  if (args->check_only) {
    std::fputs(store.StatusText().c_str(), stdout);
    return errors.empty() ? 0 : 1;
  }

  StatsRegistry stats;
  SocketServer server(config, &snapshots, &stats);
  if (absl::Status s = server.Start(); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  auto control_fd = OpenControlSocket(config.control_socket);
  if (!control_fd.ok()) {
    server.Stop();
    return Fail(std::string(control_fd.status().message()));
  }
  std::fprintf(stderr, "popdns: serving %zu zone(s) on %s\n",
               store.zone_count(), absl::StrJoin(config.listen, ", ").c_str());

  pollfd fds[2] = {{sfd, POLLIN, 0}, {*control_fd, POLLIN, 0}};
  bool running = true;
  while (running) {
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(sfd, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
          std::fprintf(stderr, "popdns: SIGHUP: reloading zones\n");
          store.Reload();
        } else if (info.ssi_signo != SIGPIPE) {
          running = false;
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      ServeControlClient(*control_fd, [&](const std::string& cmd) {
        return Handle(cmd, store, stats);
      });
    }
  }
  std::fprintf(stderr, "popdns: stopping\n");
  server.Stop();
  close(*control_fd);
  unlink(config.control_socket.c_str());
  return 0;
}

}  // namespace
}  // namespace popdns::control

int main(int argc, char** argv) { return popdns::control::Run(argc, argv); }
