// In-kernel tests of bpf/xdp_dns.bpf.c: the built object is loaded with
// libbpf and run with BPF_PROG_TEST_RUN on frames from packet_builder.h
// (the Cilium bpf/tests and kernel selftests habit). xsks_map stays empty,
// so bpf_redirect_map() falls back to XDP_PASS and every verdict is
// XDP_PASS; the xdp_stats counters say which way each frame went. DNS
// messages the answer engine leaves to the control side (NOTIFY, UPDATE,
// AXFR/IXFR, TSIG) must be passed to the kernel, plain queries redirected.
//
// Also covers bpf/xdp_dns_maps.h: finding the maps by program and by
// ifindex (generic XDP on the loopback of a private network namespace),
// replacing the service sets, the port, and DetachXdp(); and, with a bound
// AF_XDP socket stored at xsks_map[0] as DPDK does, the XDP_REDIRECT verdict.
//
// Needs root (CAP_BPF, CAP_NET_ADMIN) and a kernel with BPF: without them
// the tests skip, or fail when the CI environment variable is set.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "bpf/xdp_dns_maps.h"
#include "bpf/xdp_dns_shared.h"
#include "control/server/xdp_hot_answers.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/rrl.h"
#include "dataplane/net/packet.h"
#include "tests/bpf/packet_builder.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

#ifndef POPDNS_XDP_DNS_OBJ
#error "POPDNS_XDP_DNS_OBJ must name the built xdp_dns.bpf.o"
#endif

namespace popdns::xdp {
namespace {

using testing::DnsSpec;
using testing::Ip4;
using testing::Ip6;
using testing::PacketBuilder;
using testing::ParseIp4;
using testing::ParseIp6;

const Ip4 kClient4 = ParseIp4("198.18.1.1");
const Ip4 kService4 = ParseIp4("198.18.0.1");
const Ip4 kOther4 = ParseIp4("198.18.0.2");
const Ip6 kClient6 = ParseIp6("fd00::100");
const Ip6 kService6 = ParseIp6("fd00::1");
const Ip6 kOther6 = ParseIp6("fd00::2");

// libbpf's messages go to the test log only when something fails to load.
std::string g_libbpf_log;
int CollectLibbpfLog(libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  g_libbpf_log += buf;
  return n;
}

// Why BPF cannot be exercised here, or "" if it can.
std::string BpfUnavailableReason() {
  if (geteuid() != 0) {
    return "not root: loading XDP programs needs CAP_BPF and CAP_NET_ADMIN";
  }
  int probe = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr);
  if (probe == 1) return "";
  if (probe == 0) return "this kernel does not support XDP programs";
  return std::string("the bpf() syscall is unavailable: ") + strerror(-probe);
}

// One loaded object for the whole suite.
struct Loaded {
  bpf_object* obj = nullptr;
  int prog_fd = -1;
};
Loaded* g_loaded = nullptr;
std::string g_unavailable;

class XdpDnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_unavailable = BpfUnavailableReason();
    if (!g_unavailable.empty()) return;
    libbpf_set_print(CollectLibbpfLog);
    bpf_object* obj = bpf_object__open_file(POPDNS_XDP_DNS_OBJ, nullptr);
    if (obj == nullptr) return;  // SetUp() fails with the log
    if (bpf_object__load(obj) != 0) {
      bpf_object__close(obj);
      return;
    }
    // The program DPDK would attach: the first one in the object.
    bpf_program* prog = bpf_object__next_program(obj, nullptr);
    if (prog == nullptr) return;
    g_loaded = new Loaded{obj, bpf_program__fd(prog)};
  }

  static void TearDownTestSuite() {
    if (g_loaded != nullptr) bpf_object__close(g_loaded->obj);
    delete g_loaded;
    g_loaded = nullptr;
  }

  void SetUp() override {
    if (!g_unavailable.empty()) {
      if (std::getenv("CI") != nullptr) {
        FAIL() << "CI is set but BPF cannot run: " << g_unavailable;
      }
      GTEST_SKIP() << g_unavailable;
    }
    // BPF is available: failing to load our own object is a real failure.
    ASSERT_NE(g_loaded, nullptr) << "loading " POPDNS_XDP_DNS_OBJ " failed:\n"
                                 << g_libbpf_log;
    auto maps = XdpDnsMaps::FromProgFd(g_loaded->prog_fd);
    ASSERT_TRUE(maps.ok()) << maps.status();
    maps_.emplace(std::move(*maps));
    in_addr v4;
    std::memcpy(&v4, kService4.data(), 4);
    in6_addr v6;
    std::memcpy(&v6, kService6.data(), 16);
    ASSERT_TRUE(maps_->SetServiceAddresses({&v4, 1}, {&v6, 1}).ok());
    ASSERT_TRUE(maps_->SetServicePort(XDP_DNS_DEFAULT_PORT).ok());
  }

  // Runs the program once on `frame`; checks the verdict is XDP_PASS (the
  // XSKMAP is empty) and that the frame comes out unchanged. Returns the
  // counter deltas.
  XdpDnsStats Run(const std::vector<uint8_t>& frame) {
    XdpDnsStats before = Stats();
    std::vector<uint8_t> out(frame.size() + 256);
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.repeat = 1;
    int err = bpf_prog_test_run_opts(g_loaded->prog_fd, &opts);
    EXPECT_EQ(err, 0) << strerror(-err);
    EXPECT_EQ(opts.retval, static_cast<uint32_t>(XDP_PASS));
    out.resize(opts.data_size_out);
    EXPECT_EQ(out, frame) << "the program must not rewrite frames";
    XdpDnsStats after = Stats();
    XdpDnsStats delta;
    for (int i = 0; i < XDP_DNS_STAT_COUNT; ++i) {
      delta.by_reason[i] = after.by_reason[i] - before.by_reason[i];
    }
    return delta;
  }

  XdpDnsStats Stats() {
    auto s = maps_->ReadStats();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : XdpDnsStats{};
  }

  // Exactly one reason moved, by one (and for a redirect, the no-socket
  // fallback too: the XSKMAP is empty).
  static ::testing::AssertionResult Moved(const XdpDnsStats& d,
                                          xdp_dns_stat want) {
    for (int i = 0; i < XDP_DNS_STAT_COUNT; ++i) {
      uint64_t expect = (i == want) ? 1 : 0;
      if (want == XDP_DNS_STAT_REDIRECT && i == XDP_DNS_STAT_REDIRECT_NO_XSK) {
        expect = 1;
      }
      if (d.by_reason[i] != expect) {
        return ::testing::AssertionFailure()
               << "counter " << XdpDnsStatName(i) << " moved by "
               << d.by_reason[i] << ", expected " << expect << " (wanted "
               << XdpDnsStatName(want) << ")";
      }
    }
    return ::testing::AssertionSuccess();
  }

  // A plain query for www.example.test/A.
  static std::vector<uint8_t> Udp4(Ip4 dst, uint16_t port) {
    return PacketBuilder()
        .Ethernet(testing::kEthIpv4)
        .Ipv4(testing::kProtoUdp, kClient4, dst)
        .Udp(40000, port)
        .DnsMessage()
        .Build();
  }
  static std::vector<uint8_t> Udp6(Ip6 dst, uint16_t port) {
    return PacketBuilder()
        .Ethernet(testing::kEthIpv6)
        .Ipv6(testing::kProtoUdp, kClient6, dst)
        .Udp(40000, port)
        .DnsMessage()
        .Build();
  }

  // How a DNS message reaches the service: the four framings the program
  // parses.
  enum class Framing { kIpv4, kIpv6, kVlanIpv4, kVlanIpv6 };
  static constexpr Framing kFramings[] = {Framing::kIpv4, Framing::kIpv6,
                                          Framing::kVlanIpv4,
                                          Framing::kVlanIpv6};
  static const char* FramingName(Framing f) {
    switch (f) {
      case Framing::kIpv4: return "IPv4";
      case Framing::kIpv6: return "IPv6";
      case Framing::kVlanIpv4: return "VLAN IPv4";
      case Framing::kVlanIpv6: return "VLAN IPv6";
    }
    return "?";
  }
  // Client to service, UDP to port 53, in framing `f`: add the message.
  static PacketBuilder ToService(Framing f) {
    const bool v6 = f == Framing::kIpv6 || f == Framing::kVlanIpv6;
    const uint16_t ether = v6 ? testing::kEthIpv6 : testing::kEthIpv4;
    PacketBuilder b;
    if (f == Framing::kVlanIpv4 || f == Framing::kVlanIpv6) {
      b.Ethernet(testing::kEth8021Q).Vlan(ether);
    } else {
      b.Ethernet(ether);
    }
    if (v6) {
      b.Ipv6(testing::kProtoUdp, kClient6, kService6);
    } else {
      b.Ipv4(testing::kProtoUdp, kClient4, kService4);
    }
    b.Udp(40000, 53);
    return b;
  }
  static std::vector<uint8_t> Dns(Framing f, const DnsSpec& d) {
    return ToService(f).DnsMessage(d).Build();
  }

  std::optional<XdpDnsMaps> maps_;
};

// --- the contract with DPDK net_af_xdp (22.11) ---

TEST_F(XdpDnsTest, ObjectHasWhatNetAfXdpAndPopdnsLookUp) {
  // DPDK attaches bpf_object__next_program(obj, NULL): it must be ours, and
  // alone.
  bpf_program* first = bpf_object__next_program(g_loaded->obj, nullptr);
  ASSERT_NE(first, nullptr);
  EXPECT_STREQ(bpf_program__name(first), XDP_DNS_PROG_NAME);
  EXPECT_EQ(bpf_program__type(first), BPF_PROG_TYPE_XDP);
  EXPECT_EQ(bpf_object__next_program(g_loaded->obj, first), nullptr);

  // DPDK: bpf_object__find_map_by_name(obj, "xsks_map"), then
  // bpf_map_update_elem(fd, &queue_index, &xsk_fd): an XSKMAP keyed by u32.
  bpf_map* xsks = bpf_object__find_map_by_name(g_loaded->obj, XDP_DNS_MAP_XSKS);
  ASSERT_NE(xsks, nullptr);
  EXPECT_EQ(bpf_map__type(xsks), BPF_MAP_TYPE_XSKMAP);
  EXPECT_EQ(bpf_map__key_size(xsks), 4u);
  EXPECT_EQ(bpf_map__value_size(xsks), 4u);
  for (const char* name : {XDP_DNS_MAP_SERVICE_V4, XDP_DNS_MAP_SERVICE_V6,
                           XDP_DNS_MAP_CONFIG, XDP_DNS_MAP_STATS,
                           XDP_DNS_MAP_HOT_RRL}) {
    EXPECT_NE(bpf_object__find_map_by_name(g_loaded->obj, name), nullptr)
        << name;
  }
}

// --- redirected: DNS over UDP to a service address ---

TEST_F(XdpDnsTest, Ipv4UdpToServiceIsRedirected) {
  EXPECT_TRUE(Moved(Run(Udp4(kService4, 53)), XDP_DNS_STAT_REDIRECT));
}

TEST_F(XdpDnsTest, Ipv6UdpToServiceIsRedirected) {
  EXPECT_TRUE(Moved(Run(Udp6(kService6, 53)), XDP_DNS_STAT_REDIRECT));
}

TEST_F(XdpDnsTest, VlanTaggedIsRedirected) {
  for (uint16_t tpid : {testing::kEth8021Q, testing::kEth8021AD}) {
    SCOPED_TRACE(tpid);
    auto v4 = PacketBuilder()
                  .Ethernet(tpid)
                  .Vlan(testing::kEthIpv4)
                  .Ipv4(testing::kProtoUdp, kClient4, kService4)
                  .Udp(40000, 53)
                  .DnsMessage()
                  .Build();
    EXPECT_TRUE(Moved(Run(v4), XDP_DNS_STAT_REDIRECT));
    auto v6 = PacketBuilder()
                  .Ethernet(tpid)
                  .Vlan(testing::kEthIpv6)
                  .Ipv6(testing::kProtoUdp, kClient6, kService6)
                  .Udp(40000, 53)
                  .DnsMessage()
                  .Build();
    EXPECT_TRUE(Moved(Run(v6), XDP_DNS_STAT_REDIRECT));
  }
}

TEST_F(XdpDnsTest, UdpHeaderWithoutPayloadIsStillRedirected) {
  // Judging the DNS message is the worker's job (it counts and drops).
  auto frame = PacketBuilder()
                   .Ethernet(testing::kEthIpv4)
                   .Ipv4(testing::kProtoUdp, kClient4, kService4)
                   .Udp(40000, 53)
                   .Build();
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_REDIRECT));
}

// Plain queries, with and without EDNS, are the worker's: one question,
// no answer or authority records, at most an OPT owned by the root.
TEST_F(XdpDnsTest, PlainQueriesAreRedirected) {
  DnsSpec plain;
  DnsSpec edns;
  edns.arcount = 1;
  edns.records = testing::DnsOptRecord();
  DnsSpec edns_do = edns;
  edns_do.records = testing::DnsOptRecord(/*dnssec_ok=*/true);
  edns_do.qtype = 255;  // ANY is answered by the worker too
  DnsSpec root;
  root.qname = ".";
  root.qtype = 2;  // NS
  // The longest name (255 octets: 3 * 64 + 62 + root) with an OPT.
  DnsSpec longest = edns;
  longest.qname = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                  std::string(63, 'c') + "." + std::string(61, 'd') + ".";
  ASSERT_EQ(testing::DnsName(longest.qname).size(), 255u);
  // A name of 127 one-octet labels (255 octets): the most labels there are.
  DnsSpec many_labels = plain;
  many_labels.qname.clear();
  for (int i = 0; i < 127; ++i) many_labels.qname += "x.";
  ASSERT_EQ(testing::DnsName(many_labels.qname).size(), 255u);
  for (Framing f : kFramings) {
    for (const DnsSpec& d : {plain, edns, edns_do, root, longest, many_labels}) {
      SCOPED_TRACE(std::string(FramingName(f)) + " " + d.qname + " type " +
                   std::to_string(d.qtype));
      EXPECT_TRUE(Moved(Run(Dns(f, d)), XDP_DNS_STAT_REDIRECT));
    }
  }
}

// What the answer engine leaves to the control side reaches the kernel
// sockets (control/server/slow_path.h): NOTIFY (RFC 1996), UPDATE
// (RFC 2136), AXFR (RFC 5936) and IXFR (RFC 1995) queries, TSIG-signed
// messages (RFC 8945), and whatever the program cannot tell from one.
TEST_F(XdpDnsTest, SlowPathMessagesArePassed) {
  const std::vector<uint8_t> opt = testing::DnsOptRecord();
  const std::vector<uint8_t> tsig = testing::DnsTsigRecord();
  std::vector<std::pair<std::string, DnsSpec>> cases;
  auto add = [&](const std::string& what, DnsSpec d) {
    cases.emplace_back(what, std::move(d));
  };
  DnsSpec d;
  d.qname = "example.test.";
  d.qtype = 6;  // SOA
  d.opcode = 4;
  add("NOTIFY", d);
  d.opcode = 5;
  add("UPDATE", d);
  d.opcode = 4;
  d.qdcount = 0;
  add("NOTIFY without a question", d);
  d = DnsSpec{};
  d.qname = "example.test.";
  d.qtype = 252;
  add("AXFR", d);
  d.arcount = 1;
  d.records = opt;
  add("AXFR with OPT", d);
  d = DnsSpec{};
  d.qname = "example.test.";
  d.qtype = 251;
  add("IXFR without authority", d);
  d.nscount = 1;
  d.records = testing::DnsSoaRecord();
  add("IXFR with its SOA", d);
  d = DnsSpec{};
  d.arcount = 2;
  d.records = opt;
  d.records.insert(d.records.end(), tsig.begin(), tsig.end());
  add("query with OPT and TSIG", d);
  d = DnsSpec{};
  d.arcount = 1;
  d.records = tsig;
  add("query with only TSIG", d);
  d = DnsSpec{};
  d.qtype = 6;
  d.qname = "example.test.";
  d.opcode = 4;
  d.arcount = 1;
  d.records = tsig;
  add("signed NOTIFY", d);
  d = DnsSpec{};
  d.opcode = 2;
  add("STATUS (the kernel's NOTIMP)", d);
  d = DnsSpec{};
  d.qdcount = 2;
  add("two questions", d);
  d = DnsSpec{};
  d.ancount = 1;
  d.records = testing::DnsSoaRecord();
  add("an answer record", d);
  d = DnsSpec{};
  d.arcount = 1;
  d.records = testing::DnsSoaRecord();  // owned by a pointer, not root
  add("an additional record that is not an OPT", d);
  d.records = opt;
  d.records[2] = 6;  // owned by root, type SOA
  add("a root-owned additional record that is not an OPT", d);
  for (Framing f : kFramings) {
    for (const auto& [what, spec] : cases) {
      SCOPED_TRACE(std::string(FramingName(f)) + ": " + what);
      EXPECT_TRUE(Moved(Run(Dns(f, spec)), XDP_DNS_STAT_PASS_SLOW_PATH));
    }
  }
}

// Responses and messages too short or malformed to judge are redirected:
// the worker drops them (no header, QR=1) or answers FORMERR, never the
// program's business to forward.
TEST_F(XdpDnsTest, MalformedDnsIsLeftToTheWorker) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> cases;
  DnsSpec response;
  response.qr = true;
  response.opcode = 4;  // even a NOTIFY response: the worker drops QR=1
  cases.emplace_back("NOTIFY response", Dns(Framing::kIpv4, response));
  // Cut inside the header, inside the name, before QTYPE/QCLASS end, and
  // with ARCOUNT 1 but nothing after the question.
  const std::vector<uint8_t> full = Dns(Framing::kIpv4, DnsSpec{});
  const size_t dns = full.size() - (12 + 18 + 4);
  for (size_t keep : {size_t{0}, size_t{11}, size_t{12}, size_t{20},
                      size_t{30}, size_t{33}}) {
    cases.emplace_back("cut after " + std::to_string(keep),
                       std::vector<uint8_t>(full.begin(),
                                            full.begin() + dns + keep));
  }
  DnsSpec no_opt;
  no_opt.arcount = 1;
  cases.emplace_back("ARCOUNT 1, no record", Dns(Framing::kIpv4, no_opt));
  no_opt.records = {0, 0};  // two of the three octets looked at
  cases.emplace_back("ARCOUNT 1, record cut", Dns(Framing::kIpv4, no_opt));
  // A compression pointer and a reserved label type in the question.
  std::vector<uint8_t> pointer = full;
  pointer[dns + 12] = 0xc0;
  cases.emplace_back("pointer in the question", pointer);
  std::vector<uint8_t> reserved = full;
  reserved[dns + 12] = 0x40;
  cases.emplace_back("label type 01", reserved);
  // 256 octets of name (RFC 1035 2.3.4 allows 255).
  DnsSpec too_long;
  too_long.qname = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                   std::string(63, 'c') + "." + std::string(62, 'd') + ".";
  cases.emplace_back("name of 256 octets", Dns(Framing::kIpv4, too_long));
  // A name that never ends: 0x01-labels to the end of the frame.
  std::vector<uint8_t> endless(full.begin(), full.begin() + dns + 12);
  endless.insert(endless.end(), 300, 1);
  cases.emplace_back("name without root label", endless);
  for (auto& [what, frame] : cases) {
    SCOPED_TRACE(what);
    // The builder's lengths describe the whole message; the program reads
    // up to the frame's end, which is what it must respect.
    EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_REDIRECT));
  }
}

// --- passed to the kernel ---

TEST_F(XdpDnsTest, QinQIsPassedAsNotIp) {
  // At most one tag is parsed: the inner 802.1Q tag is not IP.
  auto frame = PacketBuilder()
                   .Ethernet(testing::kEth8021AD)
                   .Vlan(testing::kEth8021Q)
                   .Vlan(testing::kEthIpv4)
                   .Ipv4(testing::kProtoUdp, kClient4, kService4)
                   .Udp(40000, 53)
                   .Payload(29)
                   .Build();
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_PASS_NOT_IP));
}

TEST_F(XdpDnsTest, Ipv4WithOptionsIsPassed) {
  auto frame = PacketBuilder()
                   .Ethernet(testing::kEthIpv4)
                   .Ipv4(testing::kProtoUdp, kClient4, kService4, /*ihl=*/6)
                   .Udp(40000, 53)
                   .Payload(29)
                   .Build();
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_PASS_IP_OPTIONS));
}

TEST_F(XdpDnsTest, Ipv4FragmentsArePassed) {
  // RFC 791 section 3.1: first fragment (MF), middle (MF + offset), last
  // (offset only). DF alone (0x4000) is not a fragment.
  for (uint16_t frag : {0x2000, 0x2000 | 185, 185, 1}) {
    SCOPED_TRACE(frag);
    auto frame = PacketBuilder()
                     .Ethernet(testing::kEthIpv4)
                     .Ipv4(testing::kProtoUdp, kClient4, kService4, 5, frag)
                     .Udp(40000, 53)
                     .Payload(29)
                     .Build();
    EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_PASS_FRAGMENT));
  }
  auto df = PacketBuilder()
                .Ethernet(testing::kEthIpv4)
                .Ipv4(testing::kProtoUdp, kClient4, kService4, 5, 0x4000)
                .Udp(40000, 53)
                .DnsMessage()
                .Build();
  EXPECT_TRUE(Moved(Run(df), XDP_DNS_STAT_REDIRECT));
}

TEST_F(XdpDnsTest, Ipv6ExtensionHeaderIsPassed) {
  auto frame = PacketBuilder()
                   .Ethernet(testing::kEthIpv6)
                   .Ipv6(testing::kProtoHopByHop, kClient6, kService6)
                   .HopByHop(testing::kProtoUdp)
                   .Udp(40000, 53)
                   .Payload(29)
                   .Build();
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_PASS_EXT_HEADER));
}

TEST_F(XdpDnsTest, TcpToPort53IsPassed) {
  auto v4 = PacketBuilder()
                .Ethernet(testing::kEthIpv4)
                .Ipv4(testing::kProtoTcp, kClient4, kService4)
                .Tcp(40000, 53)
                .Build();
  EXPECT_TRUE(Moved(Run(v4), XDP_DNS_STAT_PASS_NOT_UDP));
  auto v6 = PacketBuilder()
                .Ethernet(testing::kEthIpv6)
                .Ipv6(testing::kProtoTcp, kClient6, kService6)
                .Tcp(40000, 53)
                .Build();
  EXPECT_TRUE(Moved(Run(v6), XDP_DNS_STAT_PASS_NOT_UDP));
}

TEST_F(XdpDnsTest, OtherUdpPortIsPassed) {
  EXPECT_TRUE(Moved(Run(Udp4(kService4, 5353)), XDP_DNS_STAT_PASS_OTHER_PORT));
  EXPECT_TRUE(Moved(Run(Udp6(kService6, 5353)), XDP_DNS_STAT_PASS_OTHER_PORT));
}

TEST_F(XdpDnsTest, OtherAddressIsPassed) {
  EXPECT_TRUE(Moved(Run(Udp4(kOther4, 53)), XDP_DNS_STAT_PASS_OTHER_ADDRESS));
  EXPECT_TRUE(Moved(Run(Udp6(kOther6, 53)), XDP_DNS_STAT_PASS_OTHER_ADDRESS));
}

TEST_F(XdpDnsTest, ArpIsPassed) {
  auto frame = PacketBuilder()
                   .Ethernet(testing::kEthArp)
                   .Arp(kClient4, kService4)
                   .Build();
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_PASS_NOT_IP));
}

TEST_F(XdpDnsTest, IcmpIsPassed) {
  auto v4 = PacketBuilder()
                .Ethernet(testing::kEthIpv4)
                .Ipv4(testing::kProtoIcmp, kClient4, kService4)
                .IcmpEcho(8)
                .Build();
  EXPECT_TRUE(Moved(Run(v4), XDP_DNS_STAT_PASS_NOT_UDP));
  // ICMPv6 (echo here; ND is ICMPv6 too, so it takes the same way).
  auto v6 = PacketBuilder()
                .Ethernet(testing::kEthIpv6)
                .Ipv6(testing::kProtoIcmpv6, kClient6, kService6)
                .IcmpEcho(128)
                .Build();
  EXPECT_TRUE(Moved(Run(v6), XDP_DNS_STAT_PASS_NOT_UDP));
}

TEST_F(XdpDnsTest, VersionMismatchIsPassedAsNotIp) {
  auto frame = Udp4(kService4, 53);
  frame[14] = 0x65;  // EtherType IPv4, version 6
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_PASS_NOT_IP));
}

// Every header cut short: one byte missing, and (where the kernel accepts
// the frame) the header missing entirely. BPF_PROG_TEST_RUN refuses XDP
// frames shorter than ETH_HLEN (EINVAL), so a cut inside the Ethernet
// header cannot reach the program from here (checked separately below).
TEST_F(XdpDnsTest, TruncatedAtEveryHeaderIsPassed) {
  std::vector<PacketBuilder> frames;
  frames.push_back(PacketBuilder()
                       .Ethernet(testing::kEthIpv4)
                       .Ipv4(testing::kProtoUdp, kClient4, kService4)
                       .Udp(40000, 53)
                       .DnsMessage());
  frames.push_back(PacketBuilder()
                       .Ethernet(testing::kEthIpv6)
                       .Ipv6(testing::kProtoUdp, kClient6, kService6)
                       .Udp(40000, 53)
                       .DnsMessage());
  for (uint16_t inner : {testing::kEthIpv4, testing::kEthIpv6}) {
    PacketBuilder b;
    b.Ethernet(testing::kEth8021Q).Vlan(inner);
    if (inner == testing::kEthIpv4) {
      b.Ipv4(testing::kProtoUdp, kClient4, kService4);
    } else {
      b.Ipv6(testing::kProtoUdp, kClient6, kService6);
    }
    frames.push_back(b.Udp(40000, 53).DnsMessage());
  }

  int cuts = 0;
  for (const PacketBuilder& b : frames) {
    const std::vector<uint8_t> full = b.Build();
    ASSERT_TRUE(Moved(Run(full), XDP_DNS_STAT_REDIRECT));
    for (const testing::Layer& layer : b.layers()) {
      // A cut DNS message is the worker's to judge (DnsMessageCutShort).
      if (layer.name == "dns") continue;
      for (size_t len : {layer.end - 1, layer.begin}) {
        if (len < ETH_HLEN) continue;  // refused by the kernel, see above
        SCOPED_TRACE(layer.name + " cut at " + std::to_string(len));
        std::vector<uint8_t> cut(full.begin(), full.begin() + len);
        EXPECT_TRUE(Moved(Run(cut), XDP_DNS_STAT_PASS_TRUNCATED));
        ++cuts;
      }
    }
  }
  EXPECT_GE(cuts, 20);
}

TEST_F(XdpDnsTest, KernelRefusesFramesShorterThanEthernet) {
  std::vector<uint8_t> frame(ETH_HLEN - 1, 0);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<uint32_t>(frame.size());
  opts.repeat = 1;
  EXPECT_EQ(bpf_prog_test_run_opts(g_loaded->prog_fd, &opts), -EINVAL);
}

// --- runtime settings through xdp_dns_maps.h ---

TEST_F(XdpDnsTest, ServicePortComesFromXdpConfig) {
  ASSERT_TRUE(maps_->SetServicePort(5353).ok());
  EXPECT_TRUE(Moved(Run(Udp4(kService4, 5353)), XDP_DNS_STAT_REDIRECT));
  EXPECT_TRUE(Moved(Run(Udp4(kService4, 53)), XDP_DNS_STAT_PASS_OTHER_PORT));
  EXPECT_FALSE(maps_->SetServicePort(0).ok());
}

TEST_F(XdpDnsTest, UnfilledConfigMeansPort53) {
  // What the program sees between DPDK's load and popdns's first fill.
  int fd = bpf_map__fd(
      bpf_object__find_map_by_name(g_loaded->obj, XDP_DNS_MAP_CONFIG));
  const uint32_t key = 0;
  const xdp_dns_config zero{};
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &zero, BPF_ANY), 0);
  EXPECT_TRUE(Moved(Run(Udp4(kService4, 53)), XDP_DNS_STAT_REDIRECT));
}

TEST_F(XdpDnsTest, SetServiceAddressesReplacesTheSets) {
  in_addr a[2];
  std::memcpy(&a[0], kService4.data(), 4);
  std::memcpy(&a[1], kOther4.data(), 4);
  in6_addr b[2];
  std::memcpy(&b[0], kService6.data(), 16);
  std::memcpy(&b[1], kOther6.data(), 16);
  ASSERT_TRUE(maps_->SetServiceAddresses({a, 2}, {b, 2}).ok());
  EXPECT_TRUE(Moved(Run(Udp4(kOther4, 53)), XDP_DNS_STAT_REDIRECT));
  EXPECT_TRUE(Moved(Run(Udp6(kOther6, 53)), XDP_DNS_STAT_REDIRECT));

  // Now only the second of each: the first is gone.
  ASSERT_TRUE(maps_->SetServiceAddresses({&a[1], 1}, {&b[1], 1}).ok());
  EXPECT_TRUE(Moved(Run(Udp4(kService4, 53)), XDP_DNS_STAT_PASS_OTHER_ADDRESS));
  EXPECT_TRUE(Moved(Run(Udp6(kService6, 53)), XDP_DNS_STAT_PASS_OTHER_ADDRESS));
  EXPECT_TRUE(Moved(Run(Udp4(kOther4, 53)), XDP_DNS_STAT_REDIRECT));

  // Empty sets: nothing is redirected.
  ASSERT_TRUE(maps_->SetServiceAddresses({}, {}).ok());
  EXPECT_TRUE(Moved(Run(Udp4(kOther4, 53)), XDP_DNS_STAT_PASS_OTHER_ADDRESS));

  std::vector<in_addr> too_many(XDP_DNS_MAX_SERVICE_V4 + 1);
  EXPECT_EQ(maps_->SetServiceAddresses(too_many, {}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(XdpDnsStatNameTest, CoversEveryIndex) {
  for (int i = 0; i < XDP_DNS_STAT_COUNT; ++i) {
    EXPECT_NE(XdpDnsStatName(i), "unknown") << i;
  }
  EXPECT_EQ(XdpDnsStatName(XDP_DNS_STAT_REDIRECT), "redirect");
  EXPECT_EQ(XdpDnsStatName(XDP_DNS_STAT_PASS_OTHER_ADDRESS),
            "pass_other_address");
  EXPECT_EQ(XdpDnsStatName(XDP_DNS_STAT_PASS_SLOW_PATH), "pass_slow_path");
  EXPECT_EQ(XdpDnsStatName(XDP_DNS_STAT_REDIRECT_NO_XSK), "redirect_no_xsk");
}

TEST_F(XdpDnsTest, FromProgFdRejectsAnotherProgram) {
  const bpf_insn ret_pass[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},  // r0 = XDP_PASS
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int fd =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "other", "GPL", ret_pass, 2, nullptr);
  ASSERT_GE(fd, 0) << strerror(-fd);
  auto maps = XdpDnsMaps::FromProgFd(fd);
  EXPECT_EQ(maps.status().code(), absl::StatusCode::kFailedPrecondition)
      << maps.status();
  close(fd);
}

// --- attached to an interface: the path popdns takes after DPDK attached
// the program. Generic XDP on the loopback of a private network namespace
// (one thread's namespace, gone when the thread ends). ---

bool SetLinkUp(const char* ifname) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return false;
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  close(s);
  return ok;
}

// A bound AF_XDP socket on (ifindex, queue 0), as DPDK creates one per
// queue: UMEM, fill/completion/RX rings, bind in copy mode. Nothing is
// mmapped or posted to the fill ring, so frames redirected to it are
// dropped by the kernel; what matters is that the program redirects.
struct XskSocket {
  int fd = -1;
  void* umem = MAP_FAILED;
  static constexpr size_t kUmemSize = 16 * 4096;

  bool Open(int ifindex) {
    fd = socket(AF_XDP, SOCK_RAW, 0);
    if (fd < 0) return false;
    umem = mmap(nullptr, kUmemSize, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (umem == MAP_FAILED) return false;
    xdp_umem_reg reg{};
    reg.addr = reinterpret_cast<uintptr_t>(umem);
    reg.len = kUmemSize;
    reg.chunk_size = 4096;
    const int ring = 64;
    sockaddr_xdp addr{};
    addr.sxdp_family = AF_XDP;
    addr.sxdp_flags = XDP_COPY;
    addr.sxdp_ifindex = static_cast<uint32_t>(ifindex);
    addr.sxdp_queue_id = 0;
    return setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) == 0 &&
           setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ==
               0 &&
           setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring,
                      sizeof(ring)) == 0 &&
           setsockopt(fd, SOL_XDP, XDP_RX_RING, &ring, sizeof(ring)) == 0 &&
           bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) ==
               0;
  }
  ~XskSocket() {
    if (fd >= 0) close(fd);
    if (umem != MAP_FAILED) munmap(umem, kUmemSize);
  }
};

TEST_F(XdpDnsTest, AttachedToLoopbackFindFillCountDetach) {
  std::thread t([&] {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
    ASSERT_TRUE(SetLinkUp("lo"));
    const int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_GT(lo, 0);

    EXPECT_EQ(XdpDnsMaps::FromIfindex(lo).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_TRUE(DetachXdp(lo).ok());  // nothing attached: fine

    // Attach as DPDK 22.11 does: no mode flag (lo has no native XDP, so
    // the kernel picks generic), XDP_FLAGS_UPDATE_IF_NOEXIST.
    ASSERT_EQ(bpf_xdp_attach(lo, g_loaded->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST,
                             nullptr),
              0);
    auto maps = XdpDnsMaps::FromIfindex(lo);
    ASSERT_TRUE(maps.ok()) << maps.status();
    in_addr loopback{htonl(INADDR_LOOPBACK)};
    ASSERT_TRUE(maps->SetServiceAddresses({&loopback, 1}, {}).ok());
    ASSERT_TRUE(maps->SetServicePort(53).ok());
    auto before = maps->ReadStats();
    ASSERT_TRUE(before.ok());

    // A real datagram to 127.0.0.1:53 crosses lo and the program.
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(53);
    to.sin_addr = loopback;
    const std::vector<uint8_t> frame_with_query =
        PacketBuilder().DnsMessage().Build();  // a plain query, no headers
    ASSERT_EQ(sendto(s, frame_with_query.data(), frame_with_query.size(), 0,
                     reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(frame_with_query.size()));
    close(s);
    auto after = maps->ReadStats();
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(
        (*after)[XDP_DNS_STAT_REDIRECT] - (*before)[XDP_DNS_STAT_REDIRECT], 1u);
    EXPECT_EQ((*after)[XDP_DNS_STAT_REDIRECT_NO_XSK] -
                  (*before)[XDP_DNS_STAT_REDIRECT_NO_XSK],
              1u);

    // With a socket at xsks_map[queue 0], as DPDK stores it, the same
    // frame is redirected (BPF_PROG_TEST_RUN runs with rx_queue_index 0):
    // XDP_REDIRECT, and no fallback counted.
    {
      XskSocket xsk;
      ASSERT_TRUE(xsk.Open(lo)) << strerror(errno);
      const int xsks = bpf_map__fd(
          bpf_object__find_map_by_name(g_loaded->obj, XDP_DNS_MAP_XSKS));
      const uint32_t queue = 0;
      ASSERT_EQ(bpf_map_update_elem(xsks, &queue, &xsk.fd, BPF_ANY), 0);
      auto frame = PacketBuilder()
                       .Ethernet(testing::kEthIpv4)
                       .Ipv4(testing::kProtoUdp, kClient4,
                             testing::ParseIp4("127.0.0.1"))
                       .Udp(40000, 53)
                       .DnsMessage()
                       .Build();
      bpf_test_run_opts opts{};
      opts.sz = sizeof(opts);
      opts.data_in = frame.data();
      opts.data_size_in = static_cast<uint32_t>(frame.size());
      opts.repeat = 1;
      auto s0 = maps->ReadStats();
      ASSERT_EQ(bpf_prog_test_run_opts(g_loaded->prog_fd, &opts), 0);
      EXPECT_EQ(opts.retval, static_cast<uint32_t>(XDP_REDIRECT));
      auto s1 = maps->ReadStats();
      ASSERT_TRUE(s0.ok() && s1.ok());
      EXPECT_EQ((*s1)[XDP_DNS_STAT_REDIRECT] - (*s0)[XDP_DNS_STAT_REDIRECT],
                1u);
      EXPECT_EQ((*s1)[XDP_DNS_STAT_REDIRECT_NO_XSK] -
                    (*s0)[XDP_DNS_STAT_REDIRECT_NO_XSK],
                0u);
      EXPECT_EQ(bpf_map_delete_elem(xsks, &queue), 0);
    }

    // A second start after a crash: NOEXIST refuses, DetachXdp clears.
    EXPECT_EQ(bpf_xdp_attach(lo, g_loaded->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST,
                             nullptr),
              -EBUSY);
    EXPECT_TRUE(DetachXdp(lo).ok());
    uint32_t id = 1;
    EXPECT_EQ(bpf_xdp_query_id(lo, 0, &id), 0);
    EXPECT_EQ(id, 0u);

    // Someone else's program is left alone.
    const bpf_insn ret_pass[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int other =
        bpf_prog_load(BPF_PROG_TYPE_XDP, "other", "GPL", ret_pass, 2, nullptr);
    ASSERT_GE(other, 0);
    ASSERT_EQ(bpf_xdp_attach(lo, other, XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr),
              0);
    EXPECT_EQ(DetachXdp(lo).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(bpf_xdp_detach(lo, 0, nullptr), 0);
    close(other);
  });
  t.join();
}


// --- answers in the driver (issue 17) ---
//
// The engine's unit-test zones (tests/testdata) with every (name, type)
// they hold, plus types the names lack (NODATA) and names that do not
// exist (NXDOMAIN), compiled by control/server/xdp_hot_answers.h into
// hot_answers. Each question goes through the program in every framing
// and several query shapes; a frame the program answers (XDP_TX) must be
// byte for byte the frame the AF_XDP worker sends for the same query (the
// engine's answer, then net::MakeResponseFrame with software checksums,
// as the worker does on net_af_xdp), and one it does not answer must
// leave unchanged.

std::string ReadTestdata(const std::string& name) {
  FILE* f = std::fopen((std::string(POPDNS_TESTDATA "/") + name).c_str(), "r");
  std::string s;
  if (f == nullptr) return s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

std::string Presentation(std::string_view wire) {
  std::string out;
  for (size_t i = 0; i < wire.size() && wire[i] != 0;) {
    const size_t len = static_cast<uint8_t>(wire[i]);
    out.append(wire.substr(i + 1, len));
    out.push_back('.');
    i += 1 + len;
  }
  return out.empty() ? "." : out;
}

// The query shapes: how clients ask.
struct Shape {
  const char* what;
  testutil::QueryOptions options;
  bool mixed_case = false;
};

std::vector<Shape> Shapes() {
  std::vector<Shape> s;
  s.push_back({"plain", {}});
  testutil::QueryOptions rd;
  rd.rd = true;
  rd.id = 0xbeef;
  s.push_back({"plain RD 0x20", rd, true});
  testutil::QueryOptions edns;
  edns.edns = true;
  s.push_back({"EDNS 1232", edns});
  testutil::QueryOptions edns_do = edns;
  edns_do.dnssec_ok = true;
  edns_do.id = 7;
  s.push_back({"EDNS DO 0x20", edns_do, true});
  testutil::QueryOptions small = edns;
  small.udp_size = 512;
  s.push_back({"EDNS 512", small});
  testutil::QueryOptions large = edns;
  large.udp_size = 4096;  // more than ours: ours is the limit
  s.push_back({"EDNS 4096", large});
  testutil::QueryOptions tiny = edns;
  tiny.udp_size = 100;  // RFC 6891 6.2.5: counts as 512
  s.push_back({"EDNS 100", tiny});
  return s;
}

class XdpHotAnswersTest : public XdpDnsTest {
 protected:
  void SetUp() override {
    XdpDnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto set = testutil::MakeZoneSet(
        {{"example.test.", ReadTestdata("example.test.zone")},
         {"example.com.", ReadTestdata("zones/company.example.zone")},
         {"signed.example.", ReadTestdata("zones/signed.example.zone")},
         // An answer of 490 octets: more than a plain response holds
         // (RFC 1035 4.2.1), less than an entry does.
         {"hot.test.", "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\n"
                       "big TXT \"" + std::string(238, 'a') + "\" \"" +
                       std::string(238, 'b') + "\"\n"}});
    ASSERT_TRUE(set.ok()) << set.status();
    zones_ = *set;
    ASSERT_TRUE(maps_->SetHotAnswers(true).ok());
  }
  void TearDown() override {
    if (!maps_) return;
    for (const xdp_dns_hot_key& k : keys_) {
      EXPECT_TRUE(maps_->DeleteHotAnswer(k).ok());
    }
    EXPECT_TRUE(maps_->SetHotAnswers(false).ok());
    EXPECT_TRUE(maps_->SetHotAnswerRrl({}).ok());
    EXPECT_TRUE(maps_->SetRrlWhitelist({}).ok());
    EXPECT_TRUE(maps_->SetHotHitsEvery(1).ok());
  }

  bool Install(const control::HotQuestion& q) {
    auto a = control::CompileHotAnswer(*zones_, config_, q);
    if (!a.ok()) return false;
    const xdp_dns_hot_key k = control::HotKey(q);
    EXPECT_TRUE(maps_->PutHotAnswer(k, *a).ok());
    keys_.push_back(k);
    return true;
  }

  struct Ran {
    uint32_t verdict = 0;
    std::vector<uint8_t> frame;
  };

  // A moment for the RRL buckets' frozen clock (HotAnswerRrl::frozen_ms)
  // far from every earlier one: the pairs of earlier tests, still in
  // hot_rrl, have refilled whole by then.
  static uint64_t FreshRrlClock() {
    static uint64_t next = uint64_t{1} << 40;
    next += uint64_t{1} << 24;
    return next;
  }
  // A plain IPv4 query for `q` from `client`.
  std::vector<uint8_t> QueryFrom(Ip4 client, const control::HotQuestion& q) {
    PacketBuilder b;
    b.Ethernet(testing::kEthIpv4).Ipv4(testing::kProtoUdp, client, kService4);
    return b.Udp(40000, 53).DnsBytes(Query(q, Shapes()[0])).Build();
  }
  Ran RunProgram(const std::vector<uint8_t>& frame) {
    Ran r;
    r.frame.resize(frame.size() + 1024);
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = r.frame.data();
    opts.data_size_out = static_cast<uint32_t>(r.frame.size());
    opts.repeat = 1;
    const int err = bpf_prog_test_run_opts(g_loaded->prog_fd, &opts);
    EXPECT_EQ(err, 0) << strerror(-err);
    r.verdict = opts.retval;
    r.frame.resize(opts.data_size_out);
    return r;
  }

  // What the AF_XDP worker sends for `frame` (dpdk/dataplane.cc
  // ServeBurst with software checksums).
  static net::ServiceAddresses Service() {
    net::ServiceAddresses service;
    std::memcpy(&service.v4[0], kService4.data(), 4);
    service.v4_count = 1;
    std::memcpy(service.v6[0], kService6.data(), 16);
    service.v6_count = 1;
    return service;
  }

  // The UDP checksum made right again after a test changed the message.
  static void FixUdpChecksum(std::vector<uint8_t>& frame) {
    net::DnsFrame f;
    if (net::ClassifyFrame(frame.data(), frame.size(), Service(),
                           {.ipv4_header = false, .udp = false},
                           &f) != net::FrameVerdict::kDns) {
      return;
    }
    frame[f.l4 + 6] = frame[f.l4 + 7] = 0;
    const uint16_t c = net::UdpChecksum(frame.data(), f, 8 + f.payload_len);
    frame[f.l4 + 6] = static_cast<uint8_t>(c >> 8);
    frame[f.l4 + 7] = static_cast<uint8_t>(c);
  }

  // `frame` run n times: 'A' for each run the program answered with the
  // worker's full response, '-' for any other outcome.
  std::string AnswersTo(const std::vector<uint8_t>& frame, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      const Ran ran = RunProgram(frame);
      out += ran.verdict == XDP_TX && ran.frame == WorkerResponse(frame) ? 'A'
                                                                         : '-';
    }
    return out;
  }

  // The worker checks both checksums: net_af_xdp reports no offload.
  // `slip`: what its RRL sends instead when it limits the response and
  // slips it (dns::SlipResponse).
  std::vector<uint8_t> WorkerResponse(const std::vector<uint8_t>& frame,
                                      bool slip = false) {
    net::DnsFrame f;
    if (net::ClassifyFrame(frame.data(), frame.size(), Service(),
                           {.ipv4_header = true, .udp = true},
                           &f) != net::FrameVerdict::kDns) {
      return {};  // counted as malformed and dropped, or the kernel's
    }
    std::vector<uint8_t> buf = frame;
    buf.resize(f.payload + 2048);
    dns::Client client{buf.data() + f.l3 + (f.ipv6 ? 8 : 12), f.ipv6, 0};
    dns::AnswerResult r =
        dns::Answer(*zones_, config_, dns::Transport::kUdp,
                    buf.data() + f.payload, f.payload_len, 2048, client);
    if (r.size == 0) return {};
    if (slip) dns::SlipResponse(buf.data() + f.payload, r);
    buf.resize(net::MakeResponseFrame(buf.data(), f, r.size, false));
    return buf;
  }

  static std::vector<uint8_t> Frame(Framing framing,
                                    const std::vector<uint8_t>& message) {
    return ToService(framing).DnsBytes(message).Build();
  }

  static std::vector<uint8_t> Query(const control::HotQuestion& q,
                                    const Shape& s) {
    std::vector<uint8_t> m =
        testutil::MakeQuery(Presentation(q.name), q.qtype, s.options);
    if (s.mixed_case) {
      // Every other letter upper case (0x20, the question as resolvers
      // send it): the response must echo it.
      bool up = true;
      for (size_t i = 12; i < 12 + q.name.size(); ++i) {
        if (m[i] >= 'a' && m[i] <= 'z') {
          if (up) m[i] = static_cast<uint8_t>(m[i] - 0x20);
          up = !up;
        }
      }
    }
    return m;
  }

  std::shared_ptr<const zone::ZoneSet> zones_;
  dns::AnswerConfig config_;
  std::vector<xdp_dns_hot_key> keys_;
};

TEST_F(XdpHotAnswersTest, DriverAnswersAreTheWorkersFrames) {
  std::vector<control::HotQuestion> questions =
      control::EveryQuestion(*zones_, 100000);
  // Types the names lack (NODATA, CNAME chains from them) and names that
  // do not exist (NXDOMAIN, wildcards of the zones).
  std::vector<control::HotQuestion> more;
  for (const control::HotQuestion& q : questions) {
    for (uint16_t t : {1, 28, 15, 16}) more.push_back({q.name, t});
  }
  for (const char* nx : {"\x05nope1\x07" "example\x04test", "\x02nx\x07" "example\x03" "com",
                         "\x04none\x06signed\x07" "example"}) {
    more.push_back({std::string(nx, std::strlen(nx) + 1), 1});
  }
  questions.insert(questions.end(), more.begin(), more.end());
  std::sort(questions.begin(), questions.end());
  questions.erase(std::unique(questions.begin(), questions.end()),
                  questions.end());

  size_t installed = 0, answered = 0, redirected = 0, compared = 0;
  const XdpDnsStats before = Stats();
  for (const control::HotQuestion& q : questions) {
    if (!Install(q)) continue;
    ++installed;
    const xdp_dns_hot_answer a =
        *control::CompileHotAnswer(*zones_, config_, q);
    for (const Shape& shape : Shapes()) {
      for (Framing framing : kFramings) {
        const std::vector<uint8_t> frame = Frame(framing, Query(q, shape));
        const Ran ran = RunProgram(frame);
        SCOPED_TRACE(Presentation(q.name) + " type " +
                     std::to_string(q.qtype) + ", " + shape.what + ", " +
                     FramingName(framing));
        if (ran.verdict == XDP_TX) {
          ++answered;
          const std::vector<uint8_t> want = WorkerResponse(frame);
          EXPECT_EQ(ran.frame, want);
          ++compared;
        } else {
          ++redirected;
          EXPECT_EQ(ran.verdict, static_cast<uint32_t>(XDP_PASS));
          EXPECT_EQ(ran.frame, frame) << "a redirected frame is unchanged";
          // What must be answered in the driver: a plain query whose
          // entry holds its answer, an EDNS one without DO for a zone
          // that fits 1232.
          if (!shape.options.edns) {
            EXPECT_FALSE(a.flags & XDP_DNS_HOT_PLAIN);
          } else if (shape.options.udp_size == 1232 &&
                     !shape.options.dnssec_ok) {
            EXPECT_FALSE(a.flags & XDP_DNS_HOT_EDNS);
          }
        }
      }
    }
  }
  const XdpDnsStats after = Stats();
  EXPECT_GT(installed, 100u);
  EXPECT_GT(compared, 2000u);
  EXPECT_EQ(after[XDP_DNS_STAT_ANSWERED] - before[XDP_DNS_STAT_ANSWERED],
            answered);
  EXPECT_EQ(after[XDP_DNS_STAT_REDIRECT] - before[XDP_DNS_STAT_REDIRECT],
            redirected);
  std::printf("%zu questions installed; %zu frames answered in the driver "
              "(each equal to the worker's), %zu redirected\n",
              installed, answered, redirected);
}

// Differential check of the program's parser: the queries of the test
// above with one to three random octets of the DNS message (or the UDP
// length) changed, the UDP checksum mostly made right again. Whatever
// the program answers itself must be exactly
// what the worker would send for that frame; whatever it does not answer
// must leave unchanged. (The program's own fuzzing: libFuzzer cannot
// drive BPF, BPF_PROG_TEST_RUN can.)
TEST_F(XdpHotAnswersTest, MutatedQueriesAreAnsweredAsTheWorkerWouldOrLeft) {
  std::vector<control::HotQuestion> questions =
      control::EveryQuestion(*zones_, 100000);
  std::vector<std::vector<uint8_t>> frames;
  for (const control::HotQuestion& q : questions) {
    if (!Install(q)) continue;
    for (const Shape& shape : Shapes()) {
      frames.push_back(Frame(Framing::kIpv4, Query(q, shape)));
      frames.push_back(Frame(Framing::kVlanIpv6, Query(q, shape)));
    }
  }
  ASSERT_FALSE(frames.empty());
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  size_t answered = 0, left = 0;
  for (int round = 0; round < 100000; ++round) {
    std::vector<uint8_t> frame = frames[next() % frames.size()];
    const bool v6 = frame[12] == 0x81;  // the VLAN frames are the IPv6 ones
    const size_t udp = v6 ? 18 + 40 : 14 + 20;
    const int changes = 1 + static_cast<int>(next() % 3);
    for (int c = 0; c < changes; ++c) {
      // The UDP length (octets 4-5 of its header) or the DNS message.
      const size_t at = next() % 8 == 0 ? udp + 4 + next() % 2
                                        : udp + 8 + next() % (frame.size() - udp - 8);
      frame[at] = static_cast<uint8_t>(next());
    }
    // Mostly a message with a right checksum (the parser is under test);
    // one in eight keeps the stale one, which the worker would count as
    // malformed: the driver must not answer it.
    if (next() % 8 != 0) FixUdpChecksum(frame);
    const Ran ran = RunProgram(frame);
    if (ran.verdict == XDP_TX) {
      ++answered;
      const std::vector<uint8_t> want = WorkerResponse(frame);
      ASSERT_EQ(ran.frame, want) << "round " << round;
    } else {
      ++left;
      ASSERT_EQ(ran.frame, frame) << "round " << round;
    }
  }
  EXPECT_GT(answered, 2000u);
  EXPECT_GT(left, 2000u);
  std::printf("mutated frames: %zu answered in the driver (each equal to the "
              "worker's), %zu left to the worker or the kernel\n",
              answered, left);
}

// The key holds the name's hash only (xdp_dns_hot_key): an entry found
// under a question's key but made for another name (a hash both share)
// is not that question's answer. Built here by installing mail's answer
// under www's key; the control side never installs two such names.
TEST_F(XdpHotAnswersTest, AnEntryForAnotherNameIsNotAnswered) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  const control::HotQuestion mail{std::string("\x04mail\x07" "example\x04test", 19), 1};
  auto a = control::CompileHotAnswer(*zones_, config_, mail);
  ASSERT_TRUE(a.ok()) << a.status();
  // Same length as www's name: only the words compared tell them apart.
  const control::HotQuestion wwx{std::string("\x03wwx\x07" "example\x04test", 18), 1};
  auto b = control::CompileHotAnswer(*zones_, config_, www);
  ASSERT_TRUE(b.ok()) << b.status();
  const auto words = [](const xdp_dns_hot_answer& e) {
    return std::vector<uint64_t>(std::begin(e.name), std::end(e.name));
  };
  xdp_dns_hot_answer www_answer_wwx_name = *b;
  auto c = control::CompileHotAnswer(*zones_, config_, wwx);
  // wwx.example.test does not exist: the NXDOMAIN is an entry too.
  ASSERT_TRUE(c.ok()) << c.status();
  std::memcpy(www_answer_wwx_name.name, c->name, sizeof(c->name));
  ASSERT_NE(words(www_answer_wwx_name), words(*b));
  const xdp_dns_hot_key k = control::HotKey(www);
  keys_.push_back(k);
  const std::vector<uint8_t> frame =
      Frame(Framing::kIpv4, Query(www, Shapes()[0]));
  for (const xdp_dns_hot_answer& wrong : {*a, www_answer_wwx_name}) {
    ASSERT_TRUE(maps_->PutHotAnswer(k, wrong).ok());
    const XdpDnsStats s0 = Stats();
    const Ran ran = RunProgram(frame);
    EXPECT_EQ(ran.verdict, static_cast<uint32_t>(XDP_PASS));
    EXPECT_EQ(ran.frame, frame);
    EXPECT_EQ(Stats()[XDP_DNS_STAT_REDIRECT_NOT_HOT] -
                  s0[XDP_DNS_STAT_REDIRECT_NOT_HOT],
              1u);
  }
  // Its own entry under its key is answered.
  ASSERT_TRUE(maps_->PutHotAnswer(k, *b).ok());
  EXPECT_EQ(RunProgram(frame).verdict, static_cast<uint32_t>(XDP_TX));
}

TEST_F(XdpHotAnswersTest, WhatTheDriverLeavesToTheWorker) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  ASSERT_TRUE(Install(www));
  const control::HotQuestion signed_a{
      std::string("\x06signed\x07" "example", 16), 6};
  ASSERT_TRUE(Install(signed_a));

  auto expect = [&](const std::vector<uint8_t>& message, xdp_dns_stat why) {
    std::string hex;
    for (uint8_t b : message) hex += absl::StrFormat("%02x", b);
    SCOPED_TRACE(hex);
    const XdpDnsStats s0 = Stats();
    const std::vector<uint8_t> frame = Frame(Framing::kIpv4, message);
    const Ran ran = RunProgram(frame);
    EXPECT_EQ(ran.verdict, static_cast<uint32_t>(XDP_PASS));
    EXPECT_EQ(ran.frame, frame);
    const XdpDnsStats s1 = Stats();
    EXPECT_EQ(s1[why] - s0[why], 1u) << XdpDnsStatName(why);
    EXPECT_EQ(s1[XDP_DNS_STAT_REDIRECT] - s0[XDP_DNS_STAT_REDIRECT], 1u);
  };
  // The plain query is answered: the cases below differ in one thing.
  EXPECT_EQ(RunProgram(Frame(Framing::kIpv4, Query(www, Shapes()[0]))).verdict,
            static_cast<uint32_t>(XDP_TX));
  // ... and counted on its entry, for the control side's hot set.
  auto hits = maps_->HotAnswerHits(control::HotKey(www));
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(*hits, 1u);
  // Not in the map.
  expect(testutil::MakeQuery("mail.example.test.", 1), XDP_DNS_STAT_REDIRECT_NOT_HOT);
  expect(testutil::MakeQuery("www.example.test.", 28), XDP_DNS_STAT_REDIRECT_NOT_HOT);
  // RFC 6891 6.1.3 version 1: BADVERS is the engine's.
  testutil::QueryOptions v1;
  v1.edns = true;
  v1.edns_version = 1;
  expect(testutil::MakeQuery("www.example.test.", 1, v1), XDP_DNS_STAT_REDIRECT_EDNS);
  // Any option (a client cookie, RFC 7873 4.1).
  testutil::QueryOptions cookie;
  cookie.edns = true;
  cookie.edns_options = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
  expect(testutil::MakeQuery("www.example.test.", 1, cookie), XDP_DNS_STAT_REDIRECT_EDNS);
  // DO=1 for a signed zone wants signatures (RFC 4035 3.2.1).
  testutil::QueryOptions dnssec;
  dnssec.edns = true;
  dnssec.dnssec_ok = true;
  expect(testutil::MakeQuery("signed.example.", 6, dnssec), XDP_DNS_STAT_REDIRECT_EDNS);
  // Class CH (version.bind and friends are the engine's).
  testutil::QueryOptions chaos;
  chaos.qclass = 3;
  expect(testutil::MakeQuery("www.example.test.", 1, chaos), XDP_DNS_STAT_REDIRECT_UNUSUAL);
  // Bytes after the question.
  std::vector<uint8_t> trailing = testutil::MakeQuery("www.example.test.", 1);
  trailing.push_back(0);
  expect(trailing, XDP_DNS_STAT_REDIRECT_UNUSUAL);
  // A wrong UDP checksum, and IPv6 without one (RFC 8200 8.1): the
  // worker counts such frames as malformed; the driver leaves them to it.
  for (Framing f : {Framing::kIpv4, Framing::kIpv6}) {
    std::vector<uint8_t> bad = Frame(f, Query(www, Shapes()[0]));
    const size_t check = (f == Framing::kIpv6 ? 14 + 40 : 14 + 20) + 6;
    for (bool zero : {false, true}) {
      if (zero && f == Framing::kIpv4) continue;  // IPv4: 0 means none
      bad[check] = zero ? 0 : bad[check] ^ 0x5a;
      bad[check + 1] = zero ? 0 : bad[check + 1];
      const XdpDnsStats s0 = Stats();
      const Ran ran = RunProgram(bad);
      EXPECT_EQ(ran.verdict, static_cast<uint32_t>(XDP_PASS));
      EXPECT_EQ(Stats()[XDP_DNS_STAT_REDIRECT_UNUSUAL] -
                    s0[XDP_DNS_STAT_REDIRECT_UNUSUAL], 1u)
          << FramingName(f) << (zero ? " zero" : " wrong") << " checksum";
    }
  }
  // IPv4 without a UDP checksum is answered (RFC 768).
  std::vector<uint8_t> none = Frame(Framing::kIpv4, Query(www, Shapes()[0]));
  none[14 + 20 + 6] = none[14 + 20 + 7] = 0;
  EXPECT_EQ(RunProgram(none).verdict, static_cast<uint32_t>(XDP_TX));
  // Hot answers off: plain redirect, no reason counted.
  ASSERT_TRUE(maps_->SetHotAnswers(false).ok());
  const std::vector<uint8_t> frame = Frame(Framing::kIpv4, Query(www, Shapes()[0]));
  EXPECT_TRUE(Moved(Run(frame), XDP_DNS_STAT_REDIRECT));
}

// Response rate limiting with hot answers on (issue 14 on the driver
// path), log_only: a (client prefix, answer) whose token bucket is empty
// goes to the worker, whose RRL decides, until the driver's bucket has
// refilled whole (a second with nothing to pay). Other prefixes and other
// answers are answered in the driver meanwhile.
TEST_F(XdpHotAnswersTest, OverTheRrlRateGoesToTheWorker) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  const control::HotQuestion apex_ns{std::string("\x07" "example\x04test", 14), 2};
  ASSERT_TRUE(Install(www));
  ASSERT_TRUE(Install(apex_ns));
  constexpr uint32_t kRate = 3;
  const uint64_t t0 = FreshRrlClock();
  auto at = [&](uint64_t ms) {
    ASSERT_TRUE(maps_->SetHotAnswerRrl({.rate = kRate, .ipv4_prefix = 24,
                                        .ipv6_prefix = 56,
                                        .frozen_ms = t0 + ms})
                    .ok());
  };
  auto from = [this](Ip4 client, const control::HotQuestion& q) {
    return QueryFrom(client, q);
  };
  auto verdicts = [&](const std::vector<std::vector<uint8_t>>& frames) {
    std::string out;
    for (const auto& f : frames) {
      const uint32_t v = RunProgram(f).verdict;
      out += v == XDP_TX ? 'T' : v == XDP_PASS ? 'W' : '?';
    }
    return out;
  };
  const Ip4 client = kClient4;
  const Ip4 same_24 = ParseIp4("198.18.1.77");
  const Ip4 other_24 = ParseIp4("198.18.2.1");
  at(0);
  const XdpDnsStats s0 = Stats();
  // The 4th query from 198.18.1.0/24 for www goes to the worker; another
  // /24 and another answer are still the driver's.
  EXPECT_EQ(verdicts({from(client, www), from(same_24, www), from(client, www),
                      from(same_24, www), from(other_24, www),
                      from(client, apex_ns)}),
            "TTTWTT");
  EXPECT_EQ(Stats()[XDP_DNS_STAT_REDIRECT_RRL] - s0[XDP_DNS_STAT_REDIRECT_RRL],
            1u);
  // The worker's while the bucket refills (kRate responses a second),
  // though it holds enough for an answer after a third of a second and
  // for all but the last 3 of a second's 3,000 tokens at 999 ms.
  at(400);
  EXPECT_EQ(verdicts({from(client, www), from(client, www)}), "WW");
  at(999);
  EXPECT_EQ(verdicts({from(client, www)}), "W");
  // Full again a second after it emptied: the driver's, for a second's
  // worth.
  at(1000);
  EXPECT_EQ(verdicts({from(client, www), from(client, www), from(client, www),
                      from(client, www)}),
            "TTTW");
}

// The query that takes a (client prefix, answer) over the driver's rate
// hands it to the worker with the second's worth the driver answered it,
// in the frame's XDP metadata (xdp_dns_rrl_meta: the tag, then the
// rate), so that the worker's RRL bucket does not start full
// (dpdk/dataplane.cc TakeXdpRrlMeta, Rrl::ApplyBurst). Only that query
// carries it: after it the worker's bucket keeps the count. Without a tag
// configured no frame gets metadata (the test above).
TEST_F(XdpHotAnswersTest, TheHandOverToTheWorkerSaysWhatTheDriverAnswered) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  ASSERT_TRUE(Install(www));
  constexpr uint32_t kRate = 3;
  constexpr uint32_t kMagic = 0x5eed1235;
  ASSERT_TRUE(maps_->SetHotAnswerRrl({.rate = kRate, .ipv4_prefix = 24,
                                      .ipv6_prefix = 56,
                                      .meta_magic = kMagic,
                                      .frozen_ms = FreshRrlClock()})
                  .ok());
  const std::vector<uint8_t> frame = QueryFrom(kClient4, www);
  std::vector<Ran> ran;
  for (int i = 0; i < 6; ++i) ran.push_back(RunProgram(frame));
  std::vector<uint8_t> meta(sizeof(xdp_dns_rrl_meta));
  const xdp_dns_rrl_meta told{kMagic, kRate};
  std::memcpy(meta.data(), &told, sizeof(told));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(ran[i].verdict, static_cast<uint32_t>(i < 3 ? XDP_TX : XDP_PASS))
        << "query " << i;
  }
  std::vector<uint8_t> handed = meta;
  handed.insert(handed.end(), frame.begin(), frame.end());
  EXPECT_EQ(ran[3].frame, handed) << "the hand-over: metadata, then the query";
  EXPECT_EQ(ran[4].frame, frame) << "after it: the query alone";
  EXPECT_EQ(ran[5].frame, frame);
}

// With RRL in the driver (XDP_DNS_CONFIG_RRL_IN_DRIVER: no log_only, no
// whitelist) the program limits hot answers itself: what a (client
// prefix, answer)'s bucket pays is answered, and of the rest every
// slip-th gets the slip the worker's RRL would send (dns::SlipResponse:
// TC=1, the question, the OPT with EDE "RRL" when it fits), byte for
// byte, and the others nothing (XDP_DROP). Every question of the zones,
// every shape and framing.
TEST_F(XdpHotAnswersTest, TheDriverLimitsAsTheWorkersRrlWould) {
  const std::vector<control::HotQuestion> questions =
      control::EveryQuestion(*zones_, 100000);
  size_t answered = 0, slipped = 0, with_ede = 0;
  // rate 1, slip 1, the clock still: after a pair's first answer, every
  // query slips.
  ASSERT_TRUE(maps_->SetHotAnswerRrl({.rate = 1, .ipv4_prefix = 24,
                                      .ipv6_prefix = 56,
                                      .in_driver = true, .slip = 1,
                                      .frozen_ms = FreshRrlClock()})
                  .ok());
  const XdpDnsStats s0 = Stats();
  std::set<std::pair<control::HotQuestion, bool>> seen;
  for (const control::HotQuestion& q : questions) {
    if (!Install(q)) continue;
    for (const Shape& shape : Shapes()) {
      for (Framing framing : kFramings) {
        const std::vector<uint8_t> frame = Frame(framing, Query(q, shape));
        const Ran ran = RunProgram(frame);
        if (ran.verdict != XDP_TX) continue;
        SCOPED_TRACE(Presentation(q.name) + " type " +
                     std::to_string(q.qtype) + ", " + shape.what + ", " +
                     FramingName(framing));
        const bool v6 = framing == Framing::kIpv6 ||
                        framing == Framing::kVlanIpv6;
        const bool first = seen.insert({q, v6}).second;
        EXPECT_EQ(ran.frame, WorkerResponse(frame, /*slip=*/!first));
        (first ? answered : slipped)++;
        if (!first && shape.options.edns && ran.frame.size() > frame.size()) {
          ++with_ede;
        }
      }
    }
  }
  const XdpDnsStats s1 = Stats();
  EXPECT_EQ(s1[XDP_DNS_STAT_ANSWERED] - s0[XDP_DNS_STAT_ANSWERED], answered);
  EXPECT_EQ(s1[XDP_DNS_STAT_RRL_SLIPPED] - s0[XDP_DNS_STAT_RRL_SLIPPED],
            slipped);
  EXPECT_GT(answered, 100u);
  EXPECT_GT(slipped, 1000u);
  EXPECT_GT(with_ede, 100u);
  // slip 2: of the limited queries, every second slips, the others are
  // dropped in the driver.
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  ASSERT_TRUE(maps_->SetHotAnswerRrl({.rate = 1, .ipv4_prefix = 24,
                                      .ipv6_prefix = 56,
                                      .in_driver = true, .slip = 2,
                                      .frozen_ms = FreshRrlClock()})
                  .ok());
  const std::vector<uint8_t> frame = QueryFrom(ParseIp4("198.18.9.9"), www);
  const XdpDnsStats s2 = Stats();
  std::string verdicts;
  for (int i = 0; i < 5; ++i) {
    const uint32_t v = RunProgram(frame).verdict;
    verdicts += v == XDP_TX ? 'T' : v == XDP_DROP ? 'D' : '?';
  }
  EXPECT_EQ(verdicts, "TDTDT");
  EXPECT_EQ(Stats()[XDP_DNS_STAT_RRL_DROPPED] - s2[XDP_DNS_STAT_RRL_DROPPED],
            2u);
  EXPECT_EQ(Stats()[XDP_DNS_STAT_RRL_SLIPPED] - s2[XDP_DNS_STAT_RRL_SLIPPED],
            2u);
  // `rrl: whitelist` (rrl_whitelist): its clients are answered whatever
  // their rate, the others still limited (BIND's exempt-clients).
  XdpDnsMaps::WhitelistPrefix net{.ipv6 = false, .addr = {198, 18, 9, 0},
                                  .length = 24};
  XdpDnsMaps::WhitelistPrefix host6{.ipv6 = true, .addr = {0xfd}, .length = 8};
  ASSERT_TRUE(maps_->SetRrlWhitelist({net, host6}).ok());
  auto answered_of = [&](const std::vector<uint8_t>& f) {
    return AnswersTo(f, 4);
  };
  EXPECT_EQ(answered_of(frame), "AAAA");
  EXPECT_EQ(answered_of(QueryFrom(ParseIp4("198.18.10.1"), www)), "A---");
  EXPECT_EQ(answered_of(Frame(Framing::kIpv6, Query(www, Shapes()[0]))),
            "AAAA") << "fd00::/8";
  // Replaced whole: an empty list leaves nobody exempt.
  ASSERT_TRUE(maps_->SetRrlWhitelist({}).ok());
  EXPECT_EQ(answered_of(frame), "----");
}

// With hits_mask the program counts one answer in 16 on its entry, at
// random, so that the CPUs answering one hot name do not all write the
// line they read it from: 1,600 answers leave about 100 hits (binomial,
// sd about 10; the bounds are more than 5 sd away).
TEST_F(XdpHotAnswersTest, HitsCountOneAnswerInSixteen) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  ASSERT_TRUE(Install(www));
  EXPECT_EQ(maps_->SetHotHitsEvery(12).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(maps_->SetHotHitsEvery(0).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(maps_->SetHotHitsEvery(16).ok());
  const std::vector<uint8_t> frame = QueryFrom(kClient4, www);
  for (int i = 0; i < 1600; ++i) {
    ASSERT_EQ(RunProgram(frame).verdict, static_cast<uint32_t>(XDP_TX));
  }
  auto hits = maps_->HotAnswerHits(control::HotKey(www));
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_GE(*hits, 45u);
  EXPECT_LE(*hits, 155u);
}

// rrl.log_only in the driver (XDP_DNS_CONFIG_RRL_LOG_ONLY): what the
// bucket cannot pay is answered all the same, byte for byte as within the
// rate, and counted in RRL_LOGGED (as the worker's log_only counts it in
// `limited`), except for a client in rrl_whitelist; nothing slips, drops
// or goes to the worker.
TEST_F(XdpHotAnswersTest, LogOnlyInTheDriverAnswersAndCounts) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  ASSERT_TRUE(Install(www));
  ASSERT_TRUE(maps_->SetHotAnswerRrl({.rate = 2, .ipv4_prefix = 24,
                                      .ipv6_prefix = 56, .in_driver = true,
                                      .slip = 1, .log_only = true,
                                      .frozen_ms = FreshRrlClock()})
                  .ok());
  XdpDnsMaps::WhitelistPrefix exempt{.ipv6 = false, .addr = {198, 18, 7, 0},
                                     .length = 24};
  ASSERT_TRUE(maps_->SetRrlWhitelist({exempt}).ok());
  auto run = [&](const char* client, int n) {
    return AnswersTo(QueryFrom(ParseIp4(client), www), n);
  };
  const XdpDnsStats s0 = Stats();
  EXPECT_EQ(run("198.18.6.1", 6), "AAAAAA");
  const XdpDnsStats s1 = Stats();
  EXPECT_EQ(s1[XDP_DNS_STAT_ANSWERED] - s0[XDP_DNS_STAT_ANSWERED], 6u);
  EXPECT_EQ(s1[XDP_DNS_STAT_RRL_LOGGED] - s0[XDP_DNS_STAT_RRL_LOGGED], 4u);
  EXPECT_EQ(s1[XDP_DNS_STAT_RRL_SLIPPED] + s1[XDP_DNS_STAT_RRL_DROPPED] +
                s1[XDP_DNS_STAT_REDIRECT_RRL],
            s0[XDP_DNS_STAT_RRL_SLIPPED] + s0[XDP_DNS_STAT_RRL_DROPPED] +
                s0[XDP_DNS_STAT_REDIRECT_RRL]);
  // Whitelisted: answered, never counted.
  EXPECT_EQ(run("198.18.7.1", 6), "AAAAAA");
  EXPECT_EQ(Stats()[XDP_DNS_STAT_RRL_LOGGED], s1[XDP_DNS_STAT_RRL_LOGGED]);
}

// The driver's bucket is the worker's (dns::Rrl, the token bucket of
// every other path): a random sequence of queries from clients of two
// /24s for two answers, at random moments (several in one millisecond,
// pauses up to 1.2 s), gets the same answers, slips and drops from the
// XDP program as from Rrl::Account with the same settings.
TEST_F(XdpHotAnswersTest, TheDriversBucketIsTheWorkers) {
  const control::HotQuestion www{std::string("\x03www\x07" "example\x04test", 18), 1};
  const control::HotQuestion apex_ns{std::string("\x07" "example\x04test", 14), 2};
  ASSERT_TRUE(Install(www));
  ASSERT_TRUE(Install(apex_ns));
  constexpr uint32_t kRate = 4, kSlip = 3;
  dns::RrlSettings settings;
  settings.rate = kRate;
  settings.slip = kSlip;
  dns::Rrl worker(settings);
  const Ip4 clients[] = {ParseIp4("198.18.1.1"), ParseIp4("198.18.1.200"),
                         ParseIp4("198.18.2.3")};
  const control::HotQuestion* questions[] = {&www, &apex_ns};
  const uint64_t driver_t0 = FreshRrlClock();
  const uint32_t worker_t0 = 7'000'000;
  std::mt19937 rng(20261205);
  uint64_t ms = 0;
  std::string driver, want;
  for (int i = 0; i < 600; ++i) {
    const uint32_t pause = rng() % 8;
    ms += pause < 6 ? 0 : pause < 7 ? rng() % 200 : rng() % 1200;
    const Ip4& client = clients[rng() % 3];
    const size_t which = rng() % 2;
    ASSERT_TRUE(maps_->SetHotAnswerRrl({.rate = kRate, .ipv4_prefix = 24,
                                        .ipv6_prefix = 56, .in_driver = true,
                                        .slip = kSlip,
                                        .frozen_ms = driver_t0 + ms})
                    .ok());
    const std::vector<uint8_t> frame = QueryFrom(client, *questions[which]);
    const Ran ran = RunProgram(frame);
    driver += ran.verdict == XDP_DROP                     ? 'D'
              : ran.frame == WorkerResponse(frame)        ? 'A'
              : ran.frame == WorkerResponse(frame, true)  ? 'S'
                                                          : '?';
    bool slip = false;
    const dns::Client c{.ip = client.data(), .ipv6 = false};
    want += worker.Account(c, dns::RrlClass::kAnswer, which + 1,
                           worker_t0 + static_cast<uint32_t>(ms), &slip)
                ? 'A'
                : slip ? 'S' : 'D';
  }
  EXPECT_EQ(driver, want);
  // The sequence limits, slips and refills.
  EXPECT_GT(std::count(want.begin(), want.end(), 'A'), 100);
  EXPECT_GT(std::count(want.begin(), want.end(), 'S'), 30);
  EXPECT_GT(std::count(want.begin(), want.end(), 'D'), 60);
}

TEST_F(XdpHotAnswersTest, AnEntryTooBigForTheClientIsLeftToTheWorker) {
  // hot.test's big TXT: a plain query would be truncated by the engine,
  // so the entry answers only EDNS queries, and only those that allow its
  // size (RFC 6891 6.2.5: a 512-octet client gets TC from the engine).
  const control::HotQuestion big{std::string("\x03" "big\x03hot\x04test", 14), 16};
  auto a = control::CompileHotAnswer(*zones_, config_, big);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(Install(big));
  EXPECT_FALSE(a->flags & XDP_DNS_HOT_PLAIN);
  EXPECT_TRUE(a->flags & XDP_DNS_HOT_EDNS);
  for (uint16_t size : {512, 1232}) {
    testutil::QueryOptions o;
    o.edns = true;
    o.udp_size = size;
    const std::vector<uint8_t> frame =
        Frame(Framing::kIpv6, testutil::MakeQuery("big.hot.test.", 16, o));
    const XdpDnsStats s0 = Stats();
    const Ran ran = RunProgram(frame);
    if (size == 512) {
      EXPECT_EQ(ran.verdict, static_cast<uint32_t>(XDP_PASS));
      EXPECT_EQ(Stats()[XDP_DNS_STAT_REDIRECT_SIZE] -
                    s0[XDP_DNS_STAT_REDIRECT_SIZE], 1u);
    } else {
      EXPECT_EQ(ran.verdict, static_cast<uint32_t>(XDP_TX));
      EXPECT_EQ(ran.frame, WorkerResponse(frame));
    }
  }
  const Ran plain = RunProgram(
      Frame(Framing::kIpv4, testutil::MakeQuery("big.hot.test.", 16)));
  EXPECT_EQ(plain.verdict, static_cast<uint32_t>(XDP_PASS));
}

}  // namespace
}  // namespace popdns::xdp
