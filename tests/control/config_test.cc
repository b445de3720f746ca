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

}  // namespace
}  // namespace popdns::control
