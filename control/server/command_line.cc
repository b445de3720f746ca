#include "control/server/command_line.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace popdns::control {
namespace {

absl::Status Usage(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

bool ParseInt(const std::string& text, int lo, int hi, int* out) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < lo ||
      v > hi) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

const char* PopdnsUsageLine() {
  return "usage: popdns --config FILE | --zone NAME=FILE... [OPTION]...\n"
         "Try 'popdns --help' for more information.\n";
}

const char* PopdnsHelp() {
  return R"(usage: popdns --config FILE | --zone NAME=FILE... [OPTION]...

popdns is an authoritative DNS server for anycast points of presence. It
loads the configured zones (zone files, or transfers from a primary) and
answers them on kernel sockets (UDP and TCP) and, with a `dataplane:`
section in the config, on DPDK or XDP worker cores.

Options:
  --config FILE          read the YAML config FILE
  --zone NAME=FILE       serve zone NAME from zone file FILE (repeatable)
  --listen ADDR:PORT     answer on ADDR:PORT, UDP and TCP (repeatable;
                         default: the service addresses, else 127.0.0.1:53)
  --udp-payload N        EDNS UDP payload size offered, 512..4096 (default 1232)
  --identity TEXT        answer CHAOS id.server/hostname.bind (default: REFUSED)
  --version-string TEXT  answer CHAOS version.bind (default: REFUSED)
  --udp-threads N        UDP threads per listen address; 0: one per core
  --control-socket PATH  popdnsctl's socket (default /run/popdns/control.sock)
  --check                check the config and every zone file, report every
                         error (up to 20 per zone), and exit
  -h, --help             print this help and exit
  --version              print the version, git revision and build features

--zone and --listen add to the config file's lists; the other flags
override its values. SIGHUP reloads the zones, SIGTERM and SIGINT stop
(after draining for shutdown_drain_seconds: /health 503, still answering);
popdnsctl(8) asks a running popdns for status, health, counters, reloads
and drains.

Exit status: 0 ok, 1 runtime failure (config, zone, sockets, dataplane),
2 usage error.

Configuration reference (every key, its default and unit): popdns.yaml(5)
(`man 5 popdns.yaml`), also in README.md, section "Configuration
reference". Manual: popdns(8).
)";
}

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine line;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::optional<std::string> inline_value;
    if (flag.rfind("--", 0) == 0) {
      if (const size_t eq = flag.find('='); eq != std::string::npos) {
        inline_value = flag.substr(eq + 1);
        flag.resize(eq);
      }
    }
    const bool takes_no_value =
        flag == "-h" || flag == "--help" || flag == "--version" ||
        flag == "--check";
    if (takes_no_value) {
      if (inline_value) return Usage(flag + " takes no value");
      if (flag == "-h" || flag == "--help") {
        line.action = CommandLine::Action::kHelp;
        return line;
      }
      if (flag == "--version") {
        line.action = CommandLine::Action::kVersion;
        return line;
      }
      line.action = CommandLine::Action::kCheck;
      continue;
    }
    const bool known =
        flag == "--config" || flag == "--zone" || flag == "--listen" ||
        flag == "--udp-payload" || flag == "--identity" ||
        flag == "--version-string" || flag == "--udp-threads" ||
        flag == "--control-socket";
    if (!known) return Usage("unknown flag '" + flag + "'");
    std::string v;
    if (inline_value) {
      v = *inline_value;
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      return Usage(flag + " needs a value");
    }
    if (flag == "--config") {
      if (!line.config_file.empty()) return Usage("--config given twice");
      if (v.empty()) return Usage("--config needs a file name");
      line.config_file = v;
    } else if (flag == "--zone") {
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) {
        return Usage("--zone expects NAME=FILE, got '" + v + "'");
      }
      ZoneConfig zc;
      zc.name = v.substr(0, eq);
      if (zc.name.back() != '.') zc.name.push_back('.');
      zc.file = v.substr(eq + 1);
      line.zones.push_back(std::move(zc));
    } else if (flag == "--listen") {
      std::string host;
      uint16_t port;
      if (absl::Status s = ParseListenAddress(v, &host, &port); !s.ok()) {
        return Usage("--listen: " + std::string(s.message()) +
                     " (expected ADDR, ADDR:PORT or [V6]:PORT)");
      }
      line.listen.push_back(v);
    } else if (flag == "--udp-payload") {
      int n;
      if (!ParseInt(v, 512, 4096, &n)) {
        return Usage("--udp-payload must be a number in 512..4096, got '" + v +
                     "'");
      }
      line.udp_payload = static_cast<uint16_t>(n);
    } else if (flag == "--identity") {
      line.identity = v;
    } else if (flag == "--version-string") {
      line.version = v;
    } else if (flag == "--udp-threads") {
      int n;
      if (!ParseInt(v, 0, 256, &n)) {
        return Usage("--udp-threads must be a number in 0..256, got '" + v +
                     "'");
      }
      line.udp_threads = n;
    } else if (flag == "--control-socket") {
      if (v.empty()) return Usage("--control-socket needs a path");
      line.control_socket = v;
    }
  }
  if (line.config_file.empty() && line.zones.empty()) {
    return Usage("no zones: give --config FILE or --zone NAME=FILE");
  }
  return line;
}

absl::StatusOr<Args> LoadArgs(const CommandLine& line) {
  Args args;
  args.check_only = line.action == CommandLine::Action::kCheck;
  Config& c = args.config;
  if (!line.config_file.empty()) {
    auto loaded = LoadConfigFile(line.config_file);
    if (!loaded.ok()) return loaded.status();
    c = *std::move(loaded);
  }
  c.listen.insert(c.listen.end(), line.listen.begin(), line.listen.end());
  c.zones.insert(c.zones.end(), line.zones.begin(), line.zones.end());
  if (line.udp_payload) c.udp_payload = *line.udp_payload;
  if (line.identity) c.identity = *line.identity;
  if (line.version) c.version = *line.version;
  if (line.udp_threads) c.udp_threads = *line.udp_threads;
  if (line.control_socket) c.control_socket = *line.control_socket;
  if (c.zones.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(line.config_file, ": no zones configured (zones: is "
                                       "empty or missing, and no --zone)"));
  }
  if (c.listen.empty()) {
    // With a dataplane, the slow path (TCP, fragments) listens on the
    // service addresses; otherwise on loopback.
    for (const std::string& a : c.dataplane.service_addresses) {
      const std::string host = a.substr(0, a.find('/'));
      c.listen.push_back(host.find(':') != std::string::npos
                             ? "[" + host + "]:53"
                             : host + ":53");
    }
    if (c.listen.empty()) c.listen.push_back("127.0.0.1:53");
  }
  return args;
}

}  // namespace popdns::control
