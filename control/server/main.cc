// popdns: the daemon. Loads the configured zones, serves them on kernel
// sockets (UDP + TCP), reloads on SIGHUP or `popdnsctl reload`, and stops
// cleanly on SIGTERM/SIGINT. The control thread is this main thread.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/config.h"
#include "control/server/command_line.h"
#include "control/server/version_text.h"
#include "control/server/zone_check.h"
#include "control/zonefile/name_text.h"
#include "control/server/control_socket.h"
#include "control/server/event_counters.h"
#include "control/server/exception_interface.h"
#include "control/server/health.h"
#include "control/server/huge_page_malloc.h"
#include "control/server/metrics.h"
#include "control/server/xdp_mode.h"
#include "dataplane/dpdk/dataplane.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "control/server/socket_server.h"
#include "control/server/rrl_report.h"
#include "control/server/stats.h"
#include "control/build/zone_store.h"
#include "control/xfr/replicator.h"
#include "control/xfr/tsig.h"
#include "control/xfr/xfr_server.h"
#include "control/answers/endpoint_api.h"
#include "control/answers/endpoint_health.h"
#include "control/server/management_http.h"
#include "control/update/pdns_api.h"

namespace popdns::control {
namespace {

bool HotAnswersOn(const Config& config) {
  return config.dataplane.enabled && config.dataplane.xdp.enabled &&
         config.dataplane.xdp.hot_answers.enabled;
}


// Messages are one line each, ended here (some carry their own newline).
int Fail(std::string what, int status = kExitFailure) {
  while (!what.empty() && what.back() == '\n') what.pop_back();
  std::fprintf(stderr, "popdns: error: %s\n", what.c_str());
  return status;
}

// Reloads zone files; zones whose serial changed NOTIFY their secondaries.
std::string ReloadZones(const std::string& zone, ZoneStore& store,
                        xfr::Replicator& replicator) {
  std::vector<std::string> changed;
  const std::string errors = store.Reload(zone, &changed);
  EventCounters::Add(Events().reloads, errors.empty() ? EventResult::kOk
                                                      : EventResult::kError);
  for (const std::string& apex : changed) replicator.NotifySecondaries(apex);
  return errors;
}

std::string Handle(const std::string& command, ZoneStore& store,
                   StatsRegistry& stats, xfr::Replicator& replicator) {
  if (command == "status") return "ok\n" + store.StatusText();
  if (command == "stats") return "ok\n" + stats.Render();
  if (command == "reload" || command.rfind("reload ", 0) == 0) {
    const std::string zone = command.size() > 7 ? command.substr(7) : "";
    const std::string errors = ReloadZones(zone, store, replicator);
    return errors.empty() ? "ok\n" : "error\n" + errors;
  }
  if (command == "refresh" || command.rfind("refresh ", 0) == 0) {
    // Secondaries: check the primaries now instead of at the next timer.
    std::string apex;
    if (command.size() > 8) {
      std::string name = command.substr(8);
      if (name.back() != '.') name.push_back('.');
      auto wire = NameFromText(name, "");
      if (!wire.ok()) return "error\nbad zone name " + command.substr(8) + "\n";
      apex = NameToLower(*wire);
    }
    replicator.RefreshNow(apex);
    return "ok\n";
  }
  return "error\nunknown command '" + command +
         "' (commands: status, stats, health, drain [seconds], reload [zone], "
         "refresh [zone])\n";
}

// The keys of the config as a keyring. Errors name the key and where it
// is written, never the secret.
absl::StatusOr<std::unique_ptr<xfr::TsigKeyring>> MakeKeyring(
    const Config& config) {
  auto ring = std::make_unique<xfr::TsigKeyring>();
  for (const KeyConfig& k : config.keys) {
    auto key = xfr::MakeTsigKey(k.name, k.algorithm, k.secret);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          k.where, ": key ", k.name, ": ", key.status().message()));
    }
    if (absl::Status s = ring->Add(std::move(*key)); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(k.where, ": key ", k.name, ": ", s.message()));
    }
  }
  return ring;
}

// --check: the config (keys included) and every zone, all errors listed.
int Check(const Config& config) {
  if (auto keyring = MakeKeyring(config); !keyring.ok()) {
    return Fail(std::string(keyring.status().message()));
  }
  std::string report;
  const int failed = CheckZones(config, /*max_errors=*/20, &report);
  std::fputs(report.c_str(), stdout);
  return failed == 0 ? kExitOk : kExitFailure;
}

int Run(int argc, char** argv) {
  auto line = ParseCommandLine(argc, argv);
  if (!line.ok()) {
    Fail(std::string(line.status().message()), kExitUsage);
    std::fputs(PopdnsUsageLine(), stderr);
    return kExitUsage;
  }
  if (line->action == CommandLine::Action::kHelp) {
    std::fputs(PopdnsHelp(), stdout);
    return kExitOk;
  }
  if (line->action == CommandLine::Action::kVersion) {
    std::fputs(PopdnsVersionText().c_str(), stdout);
    return kExitOk;
  }
  auto args = LoadArgs(*line);
  if (!args.ok()) return Fail(std::string(args.status().message()));
  const Config& config = args->config;
  if (args->check_only) return Check(config);

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

  // EAL pins this thread to the main lcore's CPU and threads inherit that;
  // the socket threads must not, so remember the mask we started with.
  cpu_set_t start_cpus;
  sched_getaffinity(0, sizeof(start_cpus), &start_cpus);
  const DataplaneSection& dps = config.dataplane;
  dpdk::DataplaneConfig dp_config;
  // What dp_config.answer points at for app-aware answers; lives as long
  // as the workers.
  const ClientNetworks client_networks = ClientNetworksOf(config);
  unsigned dp_workers = 0;
  std::vector<std::string> eal_args = EffectiveEalArgs(dps.eal);
  std::unique_ptr<XdpMode> xdp_mode;
  if (dps.enabled) {
    if (dps.xdp.enabled) {
      auto mode = XdpMode::Prepare(dps.xdp, &eal_args);
      if (!mode.ok()) return Fail(std::string(mode.status().message()));
      xdp_mode = std::move(*mode);
    }
    if (absl::Status s = ParseServiceAddresses(dps.service_addresses,
                                               &dp_config.service);
        !s.ok()) {
      return Fail("dataplane.service_addresses: " + std::string(s.message()));
    }
    if (absl::Status s = dpdk::Dataplane::InitEal(eal_args); !s.ok()) {
      return Fail("dataplane.eal: " + std::string(s.message()));
    }
    dp_workers = dpdk::Dataplane::WorkerLcores();
    if (xdp_mode && static_cast<int>(dp_workers) != dps.xdp.queues) {
      return Fail("xdp.queues is " + std::to_string(dps.xdp.queues) +
                  " but EAL has " + std::to_string(dp_workers) +
                  " worker lcores: one worker per queue");
    }
  }
  dpdk::SnapshotManager snapshots(static_cast<uint32_t>(
      SocketServer::ReaderCount(config) + dp_workers + 4));
  auto keyring = MakeKeyring(config);
  if (!keyring.ok()) return Fail(std::string(keyring.status().message()));
  ZoneStore store(&snapshots, {config.identity, config.version});
  if (absl::Status s = store.Configure(config.zones); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  store.LoadAll();

  std::unique_ptr<dpdk::Dataplane> dataplane;
  if (dps.enabled) {
    dp_config.eal_args = eal_args;
    for (const PortSection& p : dps.ports) {
      dp_config.ports.push_back({p.wire, p.exception});
    }
    dp_config.answer.udp_payload = config.udp_payload;
    (void)dns::SetNsid(&dp_config.answer, config.nsid);  // length checked
    client_networks.ApplyTo(&dp_config.answer);
    dp_config.rrl = RrlSettingsOf(config.rrl);
    dp_config.cookies_enabled = config.cookies.enabled;
    dp_config.cookies = CookieSecretsOf(config.cookies);
    dp_config.mbufs = dps.mbufs;
    dp_config.idle = dps.idle;
    dp_config.idle_max_sleep_us = dps.idle_max_sleep_us;
    if (HotAnswersOn(config)) {
      dp_config.sample_every =
          static_cast<uint32_t>(dps.xdp.hot_answers.sample_every);
      // Only when the program hands clients over the rate to the workers'
      // RRL (a whitelist longer than the driver's map); random, so that
      // no stale headroom byte pattern can pass for it.
      if (config.rrl.rate != 0 && !RrlInDriver(config.rrl)) {
        dp_config.xdp_rrl_meta_magic = std::random_device{}() | 1;
      }
    }
    auto dp = dpdk::Dataplane::Start(dp_config, &snapshots);
    if (!dp.ok()) {
      return Fail("dataplane: " + std::string(dp.status().message()));
    }
    dataplane = std::move(*dp);
    std::fprintf(stderr, "popdns: dataplane mbufs in %s\n",
                 dataplane->mbufs_on_thp()
                     ? "memory advised for transparent huge pages"
                     : "EAL memory");
    for (size_t i = 0; i < dps.ports.size(); ++i) {
      const PortSection& p = dps.ports[i];
      if (p.exception.empty()) continue;
      if (absl::Status s = ConfigureExceptionInterface(
              p.exception_interface, dataplane->WireMac(i),
              ExceptionAddresses(dps, i));
          !s.ok()) {
        dataplane->Stop();
        return Fail("exception interface " + p.exception_interface + ": " +
                    std::string(s.message()));
      }
    }
    if (xdp_mode) {
      if (absl::Status s = xdp_mode->Activate(dp_config.service); !s.ok()) {
        dataplane->Stop();
        return Fail("xdp: " + std::string(s.message()));
      }
    }
    if (xdp_mode && HotAnswersOn(config)) {
      dpdk::Dataplane* dpp = dataplane.get();
      if (absl::Status s = xdp_mode->StartHotAnswers(
              dps.xdp.hot_answers, config.rrl, dp_config.xdp_rrl_meta_magic,
              dp_config.answer,
              [dpp](const std::function<void(std::string_view, uint16_t)>& f) {
                dpp->DrainSamples(f);
              });
          !s.ok()) {
        dataplane->Stop();
        return Fail("xdp.hot_answers: " + std::string(s.message()));
      }
      XdpMode* mode = xdp_mode.get();
      store.SetPublishHook([mode](std::shared_ptr<const zone::ZoneSet> set) {
        mode->Refresh(std::move(set));
      });
    }
    std::string ports;
    for (const PortSection& p : dps.ports) {
      absl::StrAppend(&ports, ports.empty() ? "" : ", ", "wire ", p.wire);
      if (!p.exception.empty()) {
        absl::StrAppend(&ports, " exception ", p.exception, " (",
                        p.exception_interface, ")");
      }
    }
    std::fprintf(stderr, "popdns: dataplane up: %u worker(s), checksums %s, %s\n",
                 dp_workers,
                 dataplane->tx_checksum_offload() ? "offloaded" : "software",
                 ports.c_str());
  }

  // Slow-path threads run anywhere but on the busy-polling worker cores.
  cpu_set_t slow_cpus = start_cpus;
  if (dataplane) {
    for (unsigned cpu : dataplane->WorkerCpus()) CPU_CLR(cpu, &slow_cpus);
    if (CPU_COUNT(&slow_cpus) == 0) slow_cpus = start_cpus;
  }
  sched_setaffinity(0, sizeof(slow_cpus), &slow_cpus);

  StatsRegistry stats;
  xfr::Replicator replicator(&store, keyring->get());
  dns::AnswerConfig answer_config;
  answer_config.udp_payload = config.udp_payload;
  (void)dns::SetNsid(&answer_config, config.nsid);
  client_networks.ApplyTo(&answer_config);
  xfr::XfrServer xfr_server(&store, &replicator, keyring->get(), &snapshots,
                            answer_config);
  SocketServer server(config, &snapshots, &stats);
  server.SetSlowPathHandler([&xfr_server](const SlowPathRequest& req) {
    return xfr_server.Handle(req);
  });
  if (absl::Status s = server.Start(); !s.ok()) {
    if (dataplane) dataplane->Stop();
    return Fail(std::string(s.message()));
  }
  auto control_fd = OpenControlSocket(config.control_socket);
  if (!control_fd.ok()) {
    server.Stop();
    if (dataplane) dataplane->Stop();
    return Fail(std::string(control_fd.status().message()));
  }
  // The provisioning API on the management address (metrics and health
  // will join it): its changes go through the same ZoneStore.
  Health health(&store, dataplane.get());
  // /metrics reads the counters `popdnsctl stats` shows, at scrape time.
  MetricsSources metrics;
  metrics.stats = &stats;
  metrics.zones = &store;
  metrics.snapshots = &snapshots;
  metrics.dataplane = dataplane.get();
  metrics.dataplane_transport = xdp_mode ? "xdp" : "dpdk";
  for (const PortSection& p : dps.ports) metrics.port_names.push_back(p.wire);
  metrics.xdp = xdp_mode.get();
  metrics.health = &health;
  metrics.build_info = BuildInfoLabels();
  // App-aware answers leave out endpoints that are down (issue 16).
  EndpointHealth endpoints(config.health_checks,
                           [&store](std::vector<zone::Address> down) {
                             store.SetDownEndpoints(std::move(down));
                           });
  ManagementHttp management(config.management);
  if (!config.management.listen.empty()) {
    update::RegisterPdnsApi(&management, &store, &replicator);
    RegisterEndpointApi(&management, &endpoints);
    health.RegisterRoutes(&management);
    RegisterMetrics(&management, &metrics);
    if (absl::Status s = management.Start(); !s.ok()) {
      server.Stop();
      if (dataplane) dataplane->Stop();
      close(*control_fd);
      unlink(config.control_socket.c_str());
      return Fail(std::string(s.message()));
    }
  }
  std::fprintf(stderr, "popdns: serving %zu zone(s) on %s\n",
               store.zone_count(), absl::StrJoin(config.listen, ", ").c_str());
  // Transfers start once we answer: a NOTIFY that comes back at once is
  // heard.
  replicator.Start();
  endpoints.Start();
  health.SetReady(true);

  // Draining (health.h): /health answers 503 while we keep answering, so
  // that the BGP speaker withdraws the route before the exception
  // interface, and the service addresses with it, goes away; we stop at
  // `stop_at`, or at once on a second SIGTERM or `popdnsctl drain`.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> stop_at;
  bool running = true;
  auto drain = [&](int seconds, const char* why) -> std::string {
    if (health.draining()) {
      std::fprintf(stderr, "popdns: %s while draining: stopping now\n", why);
      running = false;
      return "stopping now";
    }
    health.StartDrain();
    if (seconds > 0) {
      stop_at = Clock::now() + std::chrono::seconds(seconds);
      std::fprintf(stderr,
                   "popdns: %s: draining (/health 503, still answering), "
                   "stopping in %d s\n",
                   why, seconds);
      return absl::StrCat("draining: /health answers 503, still answering; "
                          "stopping in ", seconds, " s");
    }
    std::fprintf(stderr,
                 "popdns: %s: draining (/health 503, still answering) until "
                 "SIGTERM or a second drain\n",
                 why);
    return "draining: /health answers 503, still answering; stopping on "
           "SIGTERM or a second popdnsctl drain";
  };

  // Rate limiting's log line (rrl_report.h), every kRrlReportPeriod.
  std::optional<RrlReport> rrl_report;
  Clock::time_point rrl_report_at = Clock::now();
  constexpr auto kRrlReportPeriod = std::chrono::seconds(10);
  if (config.rrl.rate != 0) rrl_report.emplace(config.rrl.log_only);
  auto report_rrl = [&] {
    std::map<std::string, dns::RrlTotals> now;
    for (const auto& [transport, t] : stats.TotalsByTransport()) {
      if (t.rrl_enabled) now[transport] = t.rrl;
    }
    if (dataplane && dataplane->rrl_enabled()) {
      now[xdp_mode ? "xdp" : "dpdk"] =
          WithDriverRrl(dataplane->RrlTotals(), xdp_mode.get());
    }
    const std::string line = rrl_report->Update(
        now, std::chrono::duration<double>(kRrlReportPeriod).count());
    if (!line.empty()) std::fprintf(stderr, "popdns: %s\n", line.c_str());
  };

  pollfd fds[2] = {{sfd, POLLIN, 0}, {*control_fd, POLLIN, 0}};
  while (running) {
    std::optional<Clock::time_point> wake = stop_at;
    if (rrl_report) {
      if (Clock::now() >= rrl_report_at) {
        report_rrl();
        rrl_report_at = Clock::now() + kRrlReportPeriod;
      }
      if (!wake || rrl_report_at < *wake) wake = rrl_report_at;
    }
    int timeout_ms = -1;
    if (wake) {
      timeout_ms = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(
                 *wake - Clock::now())
                     .count() +
                 1));
    }
    const int ready = poll(fds, 2, timeout_ms);
    if (stop_at && Clock::now() >= *stop_at) {
      std::fprintf(stderr, "popdns: drained\n");
      break;
    }
    if (ready <= 0) continue;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(sfd, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
          std::fprintf(stderr, "popdns: SIGHUP: reloading zones\n");
          ReloadZones("", store, replicator);
        } else if (info.ssi_signo != SIGPIPE) {
          const char* name = info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
          if (config.shutdown_drain_seconds > 0 || health.draining()) {
            drain(config.shutdown_drain_seconds, name);
          } else {
            running = false;
          }
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      ServeControlClient(*control_fd, [&](const std::string& cmd) {
        if (cmd == "health") {
          const HealthReport report = health.Check();
          return (report.ok ? "ok\n" : "error\n") +
                 report.Text("healthy", "unhealthy");
        }
        if (cmd == "endpoints") return "ok\n" + EndpointsText(endpoints);
        if (cmd == "drain" || cmd.rfind("drain ", 0) == 0) {
          int seconds = config.shutdown_drain_seconds;
          if (cmd.size() > 6) {
            char* end = nullptr;
            const long v = std::strtol(cmd.c_str() + 6, &end, 10);
            if (end == cmd.c_str() + 6 || *end != '\0' || v < 0 ||
                v > 86400) {
              return std::string("error\ndrain: SECONDS must be 0..86400\n");
            }
            seconds = static_cast<int>(v);
          }
          return "ok\n" + drain(seconds, "popdnsctl drain") + "\n";
        }
        std::string reply = Handle(cmd, store, stats, replicator);
        if (cmd == "stats" && dataplane) {
          reply += dataplane->RenderStats();
          if (dataplane->rrl_enabled()) {
            const dns::RrlTotals t =
                WithDriverRrl(dataplane->RrlTotals(), xdp_mode.get());
            const std::string p = xdp_mode ? "rrl.xdp." : "rrl.dpdk.";
            absl::StrAppend(&reply, p, "limited ", t.limited, "\n", p,
                            "slipped ", t.slipped, "\n", p, "dropped ",
                            t.dropped, "\n");
          }
        }
        if (cmd == "stats" && xdp_mode) reply += xdp_mode->RenderStats();
        return reply;
      });
    }
  }
  std::fprintf(stderr, "popdns: stopping\n");
  health.SetReady(false);
  management.Stop();
  endpoints.Stop();
  replicator.Stop();
  server.Stop();
  if (xdp_mode) xdp_mode->StopHotAnswers();
  if (dataplane) dataplane->Stop();
  close(*control_fd);
  unlink(config.control_socket.c_str());
  return 0;
}

}  // namespace
}  // namespace popdns::control

int main(int argc, char** argv) {
  popdns::control::ReexecWithHugePageMalloc(argv);
  return popdns::control::Run(argc, argv);
}
