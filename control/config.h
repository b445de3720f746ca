// popdns configuration: a YAML file (--config) and/or command-line flags.
// Control thread only, at start-up and on reload.
#ifndef POPDNS_CONTROL_CONFIG_H_
#define POPDNS_CONTROL_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace popdns::control {

struct ZoneConfig {
  std::string name;  // presentation, absolute ("example.test.")
  std::string file;  // absolute, or relative to the working directory
};

// XDP fallback: DPDK net_af_xdp on a kernel-owned interface, with popdns's
// XDP program steering only our DNS queries to the AF_XDP sockets.
struct XdpSection {
  bool enabled = false;
  std::string interface;
  int queues = 1;        // RX queues from queue 0; one worker lcore each
  std::string program;   // xdp_dns.bpf.o; empty: the built/installed one
};

// One wire port and the net_tap that carries its kernel side.
struct PortSection {
  std::string wire;       // DPDK device name or PCI address
  std::string exception;  // DPDK device name of the net_tap; may be empty
                          // (XDP mode, replay benchmarks)
  std::string exception_interface;  // its kernel name
  // Link addresses of this port ("198.18.1.1/24"): kernel only (BGP
  // sessions, next hop of the client-side router); the workers send them
  // to the kernel like any address that is not a service address.
  std::vector<std::string> addresses;
};

// The DPDK dataplane (absent: kernel sockets only).
struct DataplaneSection {
  bool enabled = false;
  XdpSection xdp;
  std::vector<std::string> eal;  // EAL arguments, as the operator gave them
  // `wire_port`/`exception_port`/`exception_interface` (one port) or
  // `ports:` (a list of {wire, exception, exception_interface, addresses}).
  std::vector<PortSection> ports;
  // "198.18.0.1/24", "fd00:53::1/64": answered by the workers on UDP port
  // 53 of every wire port; on the first port's exception interface as
  // given, on the others' as host addresses (/32, /128), so that the
  // kernel has one connected route per prefix.
  std::vector<std::string> service_addresses;
  uint32_t mbufs = 16383;  // mbuf pool size (replay benchmarks need more)
};

// EAL arguments as given to rte_eal_init: DPDK 22.11 rejects --in-memory
// with --no-huge (--no-huge implies its legacy memory mode), yet without
// hugepages --in-memory can only mean "no files": --no-shconf does exactly
// that, so it takes the place of --in-memory next to --no-huge.
std::vector<std::string> EffectiveEalArgs(const std::vector<std::string>& eal);

struct Config {
  std::vector<std::string> listen;  // "127.0.0.1:53", "[::1]:53"
  std::vector<ZoneConfig> zones;
  uint16_t udp_payload = 1232;
  std::string identity;  // CHAOS id.server / hostname.bind; empty: REFUSED
  std::string version;   // CHAOS version.bind; empty: REFUSED
  int udp_threads = 0;   // per listen address; 0: one per core
  int tcp_idle_timeout_ms = 10000;  // RFC 7766 6.2.3 suggests seconds
  int tcp_max_connections = 1024;
  std::string control_socket = "/run/popdns/control.sock";
  std::string config_file;  // where it was read from, for reloads
  DataplaneSection dataplane;
};

// Reads a YAML config. Relative zone file paths are resolved against the
// config file's directory. Errors: NotFound (cannot open), InvalidArgument
// "file:line:col: what" for syntax errors, unknown keys and bad values.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Parses argv. Flags: --config FILE, --zone NAME=FILE, --listen ADDR:PORT
// (both repeatable, added to the file's), --udp-payload N, --identity S,
// --version-string S, --udp-threads N, --control-socket PATH, --check.
// Errors: InvalidArgument naming the flag.
struct Args {
  Config config;
  bool check_only = false;
};
absl::StatusOr<Args> ParseArgs(int argc, char** argv);

// Splits "1.2.3.4:53" / "[::1]:53" / "::1" (port 53 by default).
absl::Status ParseListenAddress(const std::string& text, std::string* host,
                                uint16_t* port);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_CONFIG_H_
