// popdns configuration: the YAML file (--config); the command-line flags
// are read by control/server/command_line.h. Control thread only, at
// start-up and on reload. Every key is documented in
// doc/config_reference.py (man page popdns.yaml(5), README).
#ifndef POPDNS_CONTROL_CONFIG_H_
#define POPDNS_CONTROL_CONFIG_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/answers/geo_networks.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/cookie.h"
#include "dataplane/dns/rrl.h"
#include "dataplane/dpdk/idle_mode.h"
#include "dataplane/zone/network_table.h"

namespace popdns::control {

// A TSIG key as `tsig-keygen` and `keymgr -t` print it (RFC 8945).
struct KeyConfig {
  std::string name;       // as written ("xfr-key")
  std::string algorithm;  // "hmac-sha256", ...
  std::string secret;     // base64: never logged
  std::string where;      // "file:line:col" of the entry, for errors
};

// One rule of a zone's `update:` policy (RFC 2136 3.3, as BIND's
// update-policy grants): UPDATEs signed with `key` may change names at or
// below `subtree`, records of `types` only (empty: every type but SOA,
// NS at the apex and DNSSEC types, which popdns maintains itself).
struct UpdateRule {
  std::string key;      // a `keys:` entry's name
  std::string subtree;  // presentation, absolute
  std::vector<uint16_t> types;
  std::string where;    // file:line:col, for messages
};

// How a change's new serial is chosen (Knot's serial-policy).
enum class SerialPolicy : uint8_t {
  kIncrement,  // serial + 1
  kUnixtime,   // the time in seconds, or serial + 1 if that is not later
};

struct ZoneConfig {
  std::string name;  // presentation, absolute ("example.test.")
  // The zone file: the whole zone (primary), or the seed copy of a
  // secondary. Absolute, or relative to the working directory. May be
  // empty for a secondary.
  std::string file;
  // Secondary: pull from these ("192.0.2.1:53", "[2001:db8::1]:53"),
  // in order, signing with `key` when it is set.
  std::vector<std::string> primaries;
  std::string key;      // name of a `keys:` entry; "" = unsigned
  std::string storage;  // directory of the on-disk copy; "" = none
  // Outbound: NOTIFY these on every new serial; who may AXFR/IXFR
  // ("192.0.2.10/32", "2001:db8::/64"; with `key` when it is set).
  std::vector<std::string> notify;
  std::vector<std::string> allow_transfer;
  // Overrides of the SOA timers (seconds; 0 = the SOA's own value).
  uint32_t refresh = 0, retry = 0, expire = 0;
  // Who may change the zone with RFC 2136 UPDATE (first match wins);
  // empty: UPDATEs are REFUSED. The provisioning API may change any zone
  // that is not a secondary.
  std::vector<UpdateRule> update;
  SerialPolicy serial_policy = SerialPolicy::kIncrement;
  bool secondary() const { return !primaries.empty(); }
};

// XDP fallback: DPDK net_af_xdp on a kernel-owned interface, with popdns's
// XDP program steering only our DNS queries to the AF_XDP sockets.
// Answers inside the XDP program (`xdp.hot_answers`): the hottest
// (name, type) pairs answered in the driver (control/server/
// xdp_hot_answers.h).
struct HotAnswersSection {
  bool enabled = false;
  int entries = 1024;  // map entries used (at most XDP_DNS_HOT_MAX_ENTRIES)
  // Always in the map: {name (wire, lowercased), type}.
  std::vector<std::pair<std::string, uint16_t>> pinned;
  bool every_name = false;  // every name of every zone, each of its types
  int sample_every = 64;    // workers count 1 query in N; 0: no sampling
  int refresh_ms = 1000;    // how often the sampled set is re-chosen
};

struct XdpSection {
  bool enabled = false;
  std::string interface;
  int queues = 1;        // RX queues from queue 0; one worker lcore each
  std::string program;   // xdp_dns.bpf.o; empty: the built/installed one
  HotAnswersSection hot_answers;
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
  // What a worker does when its queues stay empty: busy-poll (production
  // PoPs), back off with short sleeps growing to idle_max_sleep_us (labs,
  // quiet PoPs: no core burnt, some latency added), or wait in poll() on
  // its queues until the kernel has a frame for it (net_af_xdp and net_tap
  // ports; Dataplane::Start refuses other drivers).
  dpdk::IdleMode idle = dpdk::IdleMode::kPoll;  // `idle:`
  uint32_t idle_max_sleep_us = 200;
};

// EAL arguments as given to rte_eal_init: DPDK 22.11 rejects --in-memory
// with --no-huge (--no-huge implies its legacy memory mode), yet without
// hugepages --in-memory can only mean "no files": --no-shconf does exactly
// that, so it takes the place of --in-memory next to --no-huge.
std::vector<std::string> EffectiveEalArgs(const std::vector<std::string>& eal);

// The management HTTP endpoint (provisioning API; metrics and health).
struct ManagementSection {
  std::string listen;   // "127.0.0.1:8053"; empty: no endpoint
  std::string api_key;  // X-API-Key; from `api_key` or `api_key_file`.
                        // Empty: the API answers 401 (as PowerDNS).
};

// Response rate limiting (`rrl:`): see dataplane/dns/rrl.h. Every UDP path
// (socket threads, DPDK and XDP workers) has its own tables; TCP is never
// limited.
struct RrlSection {
  uint32_t rate = 0;   // responses per second per bucket; 0: off
  uint32_t slip = 2;   // every slip-th limited response slips; 0: none
  int ipv4_prefix = 24;
  int ipv6_prefix = 56;
  uint32_t table_size = 65536;         // buckets per worker
  std::vector<std::string> whitelist;  // "192.0.2.0/24", "2001:db8::/32"
  bool log_only = false;
};

// DNS cookies (`cookies:`, RFC 7873 with RFC 9018 server cookies). The
// secrets are never logged.
struct CookieSection {
  bool enabled = false;  // `secret` given
  std::array<uint8_t, 16> secret{};
  bool has_previous = false;
  std::array<uint8_t, 16> previous{};
};

// What the dataplane takes from those sections (whitelist entries were
// checked by LoadConfigFile).
dns::RrlSettings RrlSettingsOf(const RrlSection& rrl);


dns::CookieSecrets CookieSecretsOf(const CookieSection& cookies);

// A named client network (issue 16): the prefixes of the resolvers and
// clients that answers with variants may single out.
struct NetworkConfig {
  std::string name;
  std::vector<std::string> prefixes;  // "192.0.2.0/24", "2001:db8::/32"
};

// A health check of an endpoint of app-aware answers (issue 16): the
// address in VARIANT A/AAAA records that answers leave out while it is
// down.
struct HealthCheckConfig {
  std::string endpoint;  // an IPv4 or IPv6 address
  std::string type;      // "tcp" (a connect) or "http" (a GET, 2xx/3xx)
  uint16_t port = 0;     // http: 80 unless given
  std::string path = "/";  // http
  std::string host;        // http Host header; empty: the endpoint
  int interval_ms = 5000;
  int timeout_ms = 2000;
  int rise = 2;  // consecutive successes that bring a down endpoint up
  int fall = 2;  // consecutive failures that take an up endpoint down
};

// GeoIP databases (MaxMind DB format) for VARIANT cc: and asn: selectors.
struct GeoIpSection {
  std::string country_database;  // absolute path; empty: none
  std::string asn_database;
};

struct Config {
  std::vector<std::string> listen;  // "127.0.0.1:53", "[::1]:53"
  std::vector<ZoneConfig> zones;
  // `keys:` and the keys of `keys_file:` (a root-only YAML file with the
  // same list).
  std::vector<KeyConfig> keys;
  uint16_t udp_payload = 1232;
  std::string identity;  // CHAOS id.server / hostname.bind; empty: REFUSED
  std::string version;   // CHAOS version.bind; empty: REFUSED
  // NSID (RFC 5001) octets sent to queries that ask; empty: none. Written
  // as Knot writes it: text, or hex digits after "0x".
  std::string nsid;
  int udp_threads = 0;   // per listen address; 0: one per core
  int tcp_idle_timeout_ms = 10000;  // RFC 7766 6.2.3 suggests seconds
  int tcp_max_connections = 1024;
  std::string control_socket = "/run/popdns/control.sock";
  std::string config_file;  // where it was read from, for reloads
  // SIGTERM/SIGINT: turn /health to 503 ("draining") and keep answering
  // this long before stopping, so that the BGP speaker withdraws the
  // route before the service address goes away. 0: stop at once. Also
  // the default delay of `popdnsctl drain`.
  int shutdown_drain_seconds = 0;
  // This PoP's name, for answers that vary by PoP; empty: none.
  std::string pop;
  // Client networks; non-empty turns EDNS Client Subnet on (RFC 7871: a
  // query's ECS option is checked and echoed with the answer's scope).
  std::vector<NetworkConfig> networks;
  std::vector<HealthCheckConfig> health_checks;
  GeoIpSection geoip;
  DataplaneSection dataplane;
  ManagementSection management;
  RrlSection rrl;
  CookieSection cookies;
};

// Reads a YAML config. Relative zone file paths are resolved against the
// config file's directory. Errors: NotFound (cannot open), InvalidArgument
// "file:line:col: what" for syntax errors, unknown keys and bad values.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The client networks, GeoIP tables and PoP name as the answer engine
// reads them (dns::AnswerConfig::networks, asns, countries, ...).
struct ClientNetworks {
  zone::NetworkTable table;
  std::vector<uint64_t> selectors;  // by network id
  uint64_t pop_selector = 0;
  std::shared_ptr<const GeoNetworks> countries, asns;  // null: none
  // Sets config->client_subnet (EDNS Client Subnet is on with networks or
  // GeoIP) and points `config` at this object, which must outlive its use.
  void ApplyTo(dns::AnswerConfig* config) const;
};
// From a config LoadConfigFile accepted (its networks build; its GeoIP
// databases are read once per process: SharedGeoNetworks).
ClientNetworks ClientNetworksOf(const Config& config);

// Splits "1.2.3.4:53" / "[::1]:53" / "::1" (port 53 by default).
absl::Status ParseListenAddress(const std::string& text, std::string* host,
                                uint16_t* port);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_CONFIG_H_
