// Tests for control/config.h and the exception-interface address plan
// (control/exception_interface.h): the dataplane section's one-port and
// multi-port forms, errors with file:line:col, and the EAL arguments.
#include "control/config.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/server/exception_interface.h"

namespace popdns::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Writes `text` to a temporary config file and loads it.
absl::StatusOr<Config> Load(const std::string& text) {
  char path[] = "/tmp/popdns-config-test-XXXXXX.yaml";
  const int fd = mkstemps(path, 5);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  auto config = LoadConfigFile(path);
  std::remove(path);
  return config;
}

std::string ErrorOf(const std::string& text) {
  auto config = Load(text);
  if (config.ok()) return "no error";
  const std::string message(config.status().message());
  // Drop the temporary file name, keep ":line:col: what".
  return message.substr(message.find(".yaml") + 5);
}

TEST(DataplaneConfig, OnePortShorthand) {
  auto c = Load(
      "dataplane:\n"
      "  eal: [--no-huge]\n"
      "  wire_port: net_tap0\n"
      "  exception_port: net_tap1\n"
      "  exception_interface: pdexc0\n"
      "  service_addresses: [198.18.0.1/24]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  const DataplaneSection& d = c->dataplane;
  EXPECT_TRUE(d.enabled);
  ASSERT_EQ(d.ports.size(), 1u);
  EXPECT_EQ(d.ports[0].wire, "net_tap0");
  EXPECT_EQ(d.ports[0].exception, "net_tap1");
  EXPECT_EQ(d.ports[0].exception_interface, "pdexc0");
}

TEST(DataplaneConfig, SeveralWirePorts) {
  auto c = Load(
      "dataplane:\n"
      "  ports:\n"
      "    - wire: net_tap0\n"
      "      exception: net_tap1\n"
      "      exception_interface: pdexc0\n"
      "    - wire: 0000:03:00.1\n"
      "      exception: net_tap2\n"
      "      exception_interface: pdexc1\n"
      "      addresses: [198.18.1.1/24]\n"
      "  service_addresses: [198.18.0.1/24, fd00:53::1/64]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  const DataplaneSection& d = c->dataplane;
  ASSERT_EQ(d.ports.size(), 2u);
  EXPECT_EQ(d.ports[1].wire, "0000:03:00.1");
  EXPECT_EQ(d.ports[1].exception, "net_tap2");
  EXPECT_THAT(d.ports[1].addresses, ElementsAre("198.18.1.1/24"));
  // The first port's kernel side owns the service prefixes; the others
  // accept the service addresses but route by their own links.
  EXPECT_THAT(ExceptionAddresses(d, 0),
              ElementsAre("198.18.0.1/24", "fd00:53::1/64"));
  EXPECT_THAT(ExceptionAddresses(d, 1),
              ElementsAre("198.18.1.1/24", "198.18.0.1/32", "fd00:53::1/128"));
}

TEST(DataplaneConfig, XdpNamesItsOwnWirePort) {
  auto c = Load(
      "dataplane:\n"
      "  xdp: {interface: eth0}\n"
      "  service_addresses: [198.18.0.1/24]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->dataplane.ports.size(), 1u);
  EXPECT_EQ(c->dataplane.ports[0].wire, "net_af_xdp0");
  EXPECT_TRUE(c->dataplane.ports[0].exception.empty());
}

// Whether a port can wait is its driver's, known once EAL has probed it:
// Dataplane::Start refuses the others (softnic_integration).
TEST(DataplaneConfig, IdleModes) {
  for (const std::string mode : {"wait", "sleep", "poll"}) {
    for (const std::string port :
         {"  xdp: {interface: eth0}\n", "  wire_port: net_tap0\n"}) {
      auto c = Load("dataplane:\n" + port + "  idle: " + mode +
                    "\n"
                    "  service_addresses: [198.18.0.1/24]\n");
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ(c->dataplane.idle, mode == "wait"    ? dpdk::IdleMode::kWait
                                   : mode == "sleep" ? dpdk::IdleMode::kSleep
                                                     : dpdk::IdleMode::kPoll);
    }
  }
  EXPECT_THAT(ErrorOf("dataplane:\n"
                      "  xdp: {interface: eth0}\n"
                      "  idle: nap\n"
                      "  service_addresses: [198.18.0.1/24]\n"),
              HasSubstr("expected 'poll', 'sleep' or 'wait', got 'nap'"));
}

TEST(DataplaneConfig, ErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("dataplane:\n"
                    "  service_addresses: [198.18.0.1/24]\n"),
            ":2:3: dataplane: 'wire_port' or 'ports' is required");
  EXPECT_EQ(ErrorOf("dataplane:\n"
                    "  wire_port: net_tap0\n"
                    "  ports: [{wire: net_tap2}]\n"
                    "  service_addresses: [198.18.0.1/24]\n"),
            ":2:3: dataplane: give either 'wire_port' (one port) or 'ports'");
  EXPECT_EQ(ErrorOf("dataplane:\n"
                    "  ports:\n"
                    "    - wire: net_tap0\n"
                    "      exception: net_tap1\n"
                    "  service_addresses: [198.18.0.1/24]\n"),
            ":3:7: ports: 'exception' needs 'exception_interface'");
  EXPECT_EQ(ErrorOf("dataplane:\n"
                    "  ports:\n"
                    "    - {wire: net_tap0, queue: 3}\n"
                    "  service_addresses: [198.18.0.1/24]\n"),
            ":3:24: ports: unknown key 'queue'");
  EXPECT_EQ(ErrorOf("dataplane:\n"
                    "  ports: []\n"
                    "  service_addresses: [198.18.0.1/24]\n"),
            ":2:10: ports: expected a non-empty list");
  EXPECT_EQ(ErrorOf("dataplane:\n"
                    "  wire_port: net_tap0\n"),
            ":2:3: dataplane: 'service_addresses' is required");
  EXPECT_THAT(ErrorOf("dataplane:\n"
                      "  xdp: {interface: eth0}\n"
                      "  wire_port: net_tap0\n"
                      "  service_addresses: [198.18.0.1/24]\n"),
              HasSubstr("'xdp' replaces"));
}

// DPDK 22.11's EAL refuses --in-memory next to --no-huge; popdns takes
// `--no-huge --in-memory` (what operators are told to use without
// hugepages) and gives EAL --no-shconf, which keeps it off the disk.
TEST(EalArgs, InMemoryWithoutHugepagesBecomesNoShconf) {
  EXPECT_THAT(EffectiveEalArgs({"--no-huge", "--in-memory", "-l", "0-1"}),
              ElementsAre("--no-huge", "--no-shconf", "-l", "0-1"));
  EXPECT_THAT(EffectiveEalArgs({"--in-memory", "-l", "0-1"}),
              ElementsAre("--in-memory", "-l", "0-1"));
  EXPECT_THAT(EffectiveEalArgs({"--no-huge", "--no-shconf"}),
              ElementsAre("--no-huge", "--no-shconf"));
}

// The replication keys of issue 11: keys, and per zone primaries, key,
// storage, notify, allow_transfer and the SOA timer overrides.
TEST(ReplicationConfig, SecondaryZoneWithKeys) {
  auto c = Load(
      "keys:\n"
      "  - {name: xfr-key, algorithm: hmac-sha256, secret: \"c2VjcmV0\"}\n"
      "zones:\n"
      "  - name: example.test\n"
      "    primaries: [\"192.0.2.1:53\", \"[2001:db8::1]:5300\", 192.0.2.2]\n"
      "    key: xfr-key\n"
      "    storage: /var/lib/popdns/zones\n"
      "    notify: [\"192.0.2.10:53\"]\n"
      "    allow_transfer: [\"192.0.2.10/32\", \"2001:db8::/64\"]\n"
      "    refresh: 60\n"
      "    retry: 5\n"
      "    expire: 600\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->keys.size(), 1u);
  EXPECT_EQ(c->keys[0].name, "xfr-key");
  EXPECT_EQ(c->keys[0].algorithm, "hmac-sha256");
  ASSERT_EQ(c->zones.size(), 1u);
  const ZoneConfig& z = c->zones[0];
  EXPECT_EQ(z.name, "example.test.");
  EXPECT_TRUE(z.file.empty());
  EXPECT_TRUE(z.secondary());
  EXPECT_THAT(z.primaries, ElementsAre("192.0.2.1:53", "[2001:db8::1]:5300",
                                       "192.0.2.2"));
  EXPECT_EQ(z.key, "xfr-key");
  EXPECT_EQ(z.storage, "/var/lib/popdns/zones");
  EXPECT_THAT(z.notify, ElementsAre("192.0.2.10:53"));
  EXPECT_THAT(z.allow_transfer, ElementsAre("192.0.2.10/32", "2001:db8::/64"));
  EXPECT_EQ(z.refresh, 60u);
  EXPECT_EQ(z.retry, 5u);
  EXPECT_EQ(z.expire, 600u);
}

TEST(ReplicationConfig, KeysFromASeparateFile) {
  char path[] = "/tmp/popdns-keys-test-XXXXXX.yaml";
  const int fd = mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "keys:\n  - {name: k1, algorithm: hmac-sha512, "
                         "secret: \"c2VjcmV0\"}\n";
  auto c = Load(std::string("keys_file: ") + path +
                "\nzones:\n  - {name: a.test, primaries: [192.0.2.1], "
                "key: k1}\n");
  std::remove(path);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->keys.size(), 1u);
  EXPECT_EQ(c->keys[0].algorithm, "hmac-sha512");
}

TEST(ReplicationConfig, ErrorsSayWhereAndWhat) {
  EXPECT_THAT(ErrorOf("zones:\n  - {name: a.test}\n"),
              HasSubstr("needs 'name' and 'file' or 'primaries'"));
  EXPECT_THAT(ErrorOf("zones:\n  - {name: a.test, primaries: [192.0.2.1],"
                      " key: nope}\n"),
              HasSubstr("unknown key 'nope'"));
  EXPECT_THAT(ErrorOf("keys:\n  - {name: k, algorithm: hmac-md5, secret: "
                      "\"c2VjcmV0\"}\n"),
              HasSubstr("unknown algorithm 'hmac-md5'"));
  EXPECT_THAT(ErrorOf("keys:\n  - {name: k, algorithm: hmac-sha1, secret: a}\n"
                      "  - {name: k., algorithm: hmac-sha1, secret: a}\n"),
              HasSubstr("defined twice"));
  EXPECT_THAT(ErrorOf("zones:\n  - {name: a.test, primaries: [not-an-ip]}\n"),
              HasSubstr(":2:32: primaries: bad address"));
  EXPECT_THAT(ErrorOf("zones:\n  - {name: a.test, file: f, "
                      "allow_transfer: [192.0.2.0/33]}\n"),
              HasSubstr("bad prefix '192.0.2.0/33'"));
  EXPECT_THAT(ErrorOf("zones:\n  - {name: a.test, file: f, refresh: 0}\n"),
              HasSubstr("refresh: must be in"));
  // The secret never shows up in an error.
  EXPECT_THAT(ErrorOf("keys:\n  - {name: k, algorithm: nope, secret: "
                      "\"TOPSECRET\"}\n"),
              ::testing::Not(HasSubstr("TOPSECRET")));
}

// yaml-cpp says only "bad conversion"; the message names the key.
TEST(ConfigErrors, ListWhereAValueBelongsNamesTheKey) {
  const std::string single =
      ": expected a single value (string or number), not a list or mapping";
  EXPECT_EQ(ErrorOf("identity: [a, b]\n"), ":1:11: identity" + single);
  EXPECT_EQ(ErrorOf("zones:\n  - name: x\n    file: {a: b}\n"),
            ":3:11: zones[0].file" + single);
  EXPECT_EQ(ErrorOf("dataplane:\n  eal: [a, [b]]\n"),
            ":2:12: dataplane.eal[1]" + single);
  EXPECT_EQ(ErrorOf("zones: [\n"),
            ":2:1: YAML syntax: end of sequence flow not found");
}

// `rrl:` and `cookies:` (issue 14): values, defaults, and errors that say
// where and what, without ever showing a secret.
TEST(AbuseConfig, RrlAndCookies) {
  auto c = Load(
      "rrl:\n"
      "  rate: 20\n"
      "  slip: 3\n"
      "  ipv4_prefix: 22\n"
      "  ipv6_prefix: 48\n"
      "  table_size: 1024\n"
      "  whitelist: [\"192.0.2.77/24\", \"2001:db8::1\"]\n"
      "  log_only: true\n"
      "cookies:\n"
      "  secret: \"E5E973E5A6B2A43F48E7DC849E37BFCF\"\n"
      "  secret_previous: 445536bcd2513298075a5d379663c962\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rrl.rate, 20u);
  EXPECT_EQ(c->rrl.slip, 3u);
  EXPECT_TRUE(c->rrl.log_only);
  const dns::RrlSettings s = RrlSettingsOf(c->rrl);
  EXPECT_EQ(s.ipv4_prefix, 22);
  EXPECT_EQ(s.ipv6_prefix, 48);
  EXPECT_EQ(s.table_size, 1024u);
  ASSERT_EQ(s.whitelist.size(), 2u);
  // The host bits of a whitelist entry are cleared.
  EXPECT_EQ(s.whitelist[0].addr[3], 0);
  EXPECT_EQ(s.whitelist[0].length, 24);
  EXPECT_TRUE(s.whitelist[1].ipv6);
  EXPECT_EQ(s.whitelist[1].length, 128);
  ASSERT_TRUE(c->cookies.enabled);
  EXPECT_EQ(c->cookies.secret[0], 0xE5);
  EXPECT_EQ(c->cookies.secret[15], 0xCF);
  EXPECT_TRUE(c->cookies.has_previous);
  EXPECT_EQ(CookieSecretsOf(c->cookies).previous[0], 0x44);

  auto defaults = Load("listen: [\"127.0.0.1:53\"]\n");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->rrl.rate, 0u);  // off
  EXPECT_EQ(defaults->rrl.slip, 2u);
  EXPECT_EQ(defaults->rrl.ipv4_prefix, 24);
  EXPECT_EQ(defaults->rrl.ipv6_prefix, 56);
  EXPECT_EQ(defaults->rrl.table_size, 65536u);
  EXPECT_FALSE(defaults->cookies.enabled);

  EXPECT_EQ(ErrorOf("rrl:\n  rate: -1\n"),
            ":2:9: rrl.rate: must be in [0, 1000000]");
  EXPECT_EQ(ErrorOf("rrl:\n  ipv4_prefix: 33\n"),
            ":2:16: rrl.ipv4_prefix: must be in [0, 32]");
  EXPECT_EQ(ErrorOf("rrl:\n  whitelist: [192.0.2.0/33]\n"),
            ":2:15: rrl.whitelist: bad prefix '192.0.2.0/33' (expected "
            "ADDR/LEN or ADDR)");
  EXPECT_EQ(ErrorOf("rrl:\n  log_only: maybe\n"),
            ":2:13: rrl.log_only: expected true or false");
  EXPECT_EQ(ErrorOf("rrl:\n  rates: 5\n"), ":2:3: rrl: unknown key 'rates'");
  EXPECT_EQ(ErrorOf("cookies:\n  secret_previous: "
                    "445536bcd2513298075a5d379663c962\n"),
            ":2:3: cookies: 'secret' is required");
  // A secret of the wrong length or with a non-hex digit: the error says
  // so and never shows it.
  for (const char* bad : {"TOPSECRET", "e5e973e5a6b2a43f48e7dc849e37bfcg",
                          "e5e973e5a6b2a43f48e7dc849e37bfcf00"}) {
    const std::string e =
        ErrorOf(std::string("cookies:\n  secret: ") + bad + "\n");
    EXPECT_THAT(e, HasSubstr("cookies.secret: expected 32 hex digits"));
    EXPECT_THAT(e, ::testing::Not(HasSubstr(bad)));
  }
}

// `nsid:` (RFC 5001) as Knot's server.nsid: text, or hex after "0x";
// at most dns::kMaxNsidSize octets; empty or absent: none.
// Issue 16: this PoP's name and the client networks (which turn EDNS
// Client Subnet on).
TEST(NetworksConfig, NamesAndPrefixes) {
  auto c = Load(
      "pop: fra1\n"
      "networks:\n"
      "  - {name: eu, prefixes: [\"192.0.2.0/24\", \"2001:db8::/32\"]}\n"
      "  - {name: fra-office, prefixes: [\"192.0.2.128/25\", \"198.51.100.7\"]}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pop, "fra1");
  ASSERT_EQ(c->networks.size(), 2u);
  EXPECT_EQ(c->networks[0].name, "eu");
  EXPECT_EQ(c->networks[0].prefixes,
            (std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32"}));
  EXPECT_EQ(c->networks[1].prefixes.size(), 2u);
  auto none = Load("listen: [\"127.0.0.1:53\"]\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->networks.empty());
  EXPECT_EQ(none->pop, "");
}

TEST(NetworksConfig, ErrorsSayWhereAndWhat) {
  EXPECT_EQ(ErrorOf("networks:\n  - {name: eu, prefixes: [\"192.0.2.1/24\"]}\n"),
            ":2:27: network eu: '192.0.2.1/24': address bits set beyond /24");
  EXPECT_EQ(ErrorOf("networks:\n  - {name: eu, prefixes: [\"10.0.0.0/40\"]}\n"),
            ":2:27: network eu: '10.0.0.0/40': prefix length must be 0..32");
  EXPECT_EQ(ErrorOf("networks:\n  - {name: eu}\n"),
            ":2:5: network: needs 'name' and 'prefixes'");
  EXPECT_EQ(ErrorOf("networks:\n  - {name: eu, prefixes: []}\n"),
            ":2:26: network eu: prefixes: expected a non-empty list");
  EXPECT_EQ(ErrorOf("networks:\n  - {name: eu, prefixes: [\"10.0.0.0/8\"], x: 1}\n"),
            ":2:42: network: unknown key 'x'");
  EXPECT_EQ(ErrorOf("networks:\n  - {name: a, prefixes: [\"10.0.0.0/8\"]}\n"
                    "  - {name: a, prefixes: [\"11.0.0.0/8\"]}\n"),
            ":3:12: network a defined twice");
  EXPECT_EQ(ErrorOf("networks:\n  - {name: a, prefixes: [\"10.0.0.0/8\"]}\n"
                    "  - {name: b, prefixes: [\"10.0.0.0/8\"]}\n"),
            ":2:3: networks: the same prefix is in two networks");
}

TEST(HealthChecksConfig, TcpAndHttpWithDefaults) {
  auto c = Load(
      "health_checks:\n"
      "  - {endpoint: 192.0.2.10, type: tcp, port: 443}\n"
      "  - {endpoint: \"2001:db8::10\", type: http, path: /healthz,\n"
      "     host: app.example.test, interval_ms: 1000, timeout_ms: 300,\n"
      "     rise: 3, fall: 1}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->health_checks.size(), 2u);
  const HealthCheckConfig& tcp = c->health_checks[0];
  EXPECT_EQ(tcp.endpoint, "192.0.2.10");
  EXPECT_EQ(tcp.type, "tcp");
  EXPECT_EQ(tcp.port, 443);
  EXPECT_EQ(tcp.interval_ms, 5000);
  EXPECT_EQ(tcp.timeout_ms, 2000);
  EXPECT_EQ(tcp.rise, 2);
  EXPECT_EQ(tcp.fall, 2);
  const HealthCheckConfig& http = c->health_checks[1];
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.path, "/healthz");
  EXPECT_EQ(http.host, "app.example.test");
  EXPECT_EQ(http.interval_ms, 1000);
  EXPECT_EQ(http.timeout_ms, 300);
  EXPECT_EQ(http.rise, 3);
  EXPECT_EQ(http.fall, 1);
}

TEST(HealthChecksConfig, ErrorsSayWhereAndWhat) {
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: www, type: tcp, port: 1}\n"),
            ":2:16: health check: endpoint 'www' is not an IPv4 or IPv6 address");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: icmp}\n"),
            ":2:33: health check: type must be tcp or http");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: tcp}\n"),
            ":2:5: health check: tcp needs 'port'");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: tcp, "
                    "port: 1, path: /x}\n"),
            ":2:47: health check: unknown key 'path' for type tcp");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: http, "
                    "path: x}\n"),
            ":2:45: health check: path must start with /");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: http, "
                    "interval_ms: 500, timeout_ms: 600}\n"),
            ":2:5: health check: timeout_ms must not exceed interval_ms");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: http, "
                    "rise: 0}\n"),
            ":2:45: rise: must be in [1, 100]");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {endpoint: 192.0.2.1, type: http}\n"
                    "  - {endpoint: 192.0.2.1, type: tcp, port: 9}\n"),
            ":3:16: health check of 192.0.2.1 defined twice");
  EXPECT_EQ(ErrorOf("health_checks:\n  - {type: http}\n"),
            ":2:5: health check: needs 'endpoint' and 'type'");
}

TEST(GeoIpConfig, DatabasesLoadIntoTheAnswerConfig) {
  auto c = Load(std::string("geoip:\n  country_database: ") + GEO_TEST_DB +
                "\n  asn_database: " + GEO_TEST_DB + "\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->geoip.country_database, GEO_TEST_DB);
  const ClientNetworks n = ClientNetworksOf(*c);
  ASSERT_NE(n.countries, nullptr);
  ASSERT_NE(n.asns, nullptr);
  dns::AnswerConfig answer;
  n.ApplyTo(&answer);
  EXPECT_TRUE(answer.client_subnet);  // ECS on without `networks:`
  EXPECT_EQ(answer.countries, &n.countries->table);
  EXPECT_EQ(answer.asns, &n.asns->table);
  EXPECT_EQ(answer.networks, nullptr);
  // Nothing configured: ECS stays off.
  dns::AnswerConfig plain;
  ClientNetworksOf(*Load("listen: [\"127.0.0.1:53\"]\n")).ApplyTo(&plain);
  EXPECT_FALSE(plain.client_subnet);
  EXPECT_EQ(plain.countries, nullptr);

  EXPECT_EQ(ErrorOf("geoip:\n  country_database: /nonexistent.mmdb\n"),
            ":2:21: geoip: country_database: GeoIP database "
            "/nonexistent.mmdb: No such file or directory");
  EXPECT_EQ(ErrorOf("geoip:\n  city_database: x\n"),
            ":2:3: geoip: unknown key 'city_database'");
}

TEST(NsidConfig, TextOrHex) {
  auto text = Load("nsid: \"pop1.ams\"\n");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->nsid, "pop1.ams");
  auto hex = Load("nsid: 0x00FF7a\n");
  ASSERT_TRUE(hex.ok()) << hex.status();
  EXPECT_EQ(hex->nsid, std::string("\x00\xff\x7a", 3));
  auto none = Load("listen: [\"127.0.0.1:53\"]\n");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->nsid, "");
  auto empty = Load("nsid: \"\"\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->nsid, "");
  auto longest = Load("nsid: " + std::string(dns::kMaxNsidSize, 'n') + "\n");
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->nsid.size(), dns::kMaxNsidSize);

  EXPECT_EQ(ErrorOf("nsid: 0xabc\n"),
            ":1:7: nsid: expected an even number of hex digits after 0x");
  EXPECT_EQ(ErrorOf("nsid: 0x\n"),
            ":1:7: nsid: expected an even number of hex digits after 0x");
  EXPECT_EQ(ErrorOf("nsid: 0x0g\n"),
            ":1:7: nsid: '0g' is not a hex digit pair");
  EXPECT_EQ(ErrorOf("nsid: " + std::string(dns::kMaxNsidSize + 1, 'n') +
                    "\n"),
            ":1:7: nsid: at most 128 octets, got 129");
  EXPECT_EQ(ErrorOf("nsid: [a]\n"),
            ":1:7: nsid: expected a string (text, or 0x and hex)");
}

}  // namespace
}  // namespace popdns::control
