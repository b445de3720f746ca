// libFuzzer target: query bytes + a fixed zone set -> response, through
// dns::Answer (dataplane/dns/answer.h), checked with the independent strict
// parser of tests/testutil/dns_message.h.
//
// The input is the query as received. It is always answered over UDP; bit 0
// of the first byte (part of the ID) also answers it over TCP, and bit 1
// also answers it through the general path alone (use_precompiled=false),
// which must give the same answer as the precompiled blobs it built (same
// header and records; compression may differ, see SameMessage).
//
// Invariants (a violation traps, which libFuzzer reports as a crash):
//  - AnswerBurst (the DPDK worker's entry) writes the same bytes as Answer;
//  - the response is dropped (size 0) or parses strictly;
//  - over UDP it is at most 512 bytes without EDNS, at most the client's
//    EDNS size clamped to [512, 1232] with it (RFC 6891 6.2.3/6.2.5), and
//    nothing in the buffer past max(query size, that limit) is written;
//  - its ID is the query's and QR is set;
//  - a well-formed query (one uncompressed question, QUERY, QR=0) is never
//    dropped and its question is echoed byte for byte (RFC 1035 4.1.2,
//    case kept for 0x20);
//  - a message left to the control side (slow_path) is one that may be:
//    NOTIFY, UPDATE, an AXFR/IXFR query, or ending with a TSIG record; its
//    buffer is not written at all; and answered with AnswerConfig::
//    slow_path off (the kernel sockets without a handler) it gets an
//    answer like any other message;
//  - with bit 2 of the first byte, also answered with DNS cookies and RRL
//    naming on (AnswerConfig::cookies, ::rrl) from a fixed client, and
//    with the longest NSID and edns-tcp-keepalive on (over UDP and, with
//    bit 0, TCP): the same invariants (the COOKIE, NSID and keepalive
//    options fit the client's limit), and the slip of the UDP response
//    (rrl.h SlipResponse: TC=1 or BADCOOKIE) parses strictly and is no
//    larger.
//  - with bit 3 of the first byte, also answered app-aware (client
//    networks, AS and country tables, EDNS Client Subnet on, a PoP name;
//    bit 4: from an IPv6
//    client; bit 5: with endpoints down), over UDP and, with bit 0, TCP:
//    the same invariants (the ECS option echoed within the client's
//    limit), and with bit 1 the general path agrees.
//
// Built by tests/fuzz/meson.build with -Dfuzzers=true and clang; run with
// tests/fuzz/run_fuzzers.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/rrl.h"
#include "dataplane/zone/network_table.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

constexpr size_t kBufSize = 65535;
constexpr size_t kDefaultUdp = 1232;  // AnswerConfig::udp_payload
constexpr uint8_t kCanary = 0xA5;

// Wildcards, empty non-terminals, a wildcard CNAME, a wildcard below a cut
// and a DNAME next to wildcards: the closest-encloser cases the fixture zone
// has only one or two of.
constexpr char kWildZone[] = R"(
$ORIGIN wild.test.
$TTL 300
@            SOA   ns hm 7 3600 600 86400 60
@            NS    ns
@            MX    5 mx.a.b
ns           A     192.0.2.53
*            A     192.0.2.100
*            AAAA  2001:db8::100
*            MX    10 mx.a.b
*.a.b        TXT   "wild under an ENT"
*.a.b        A     192.0.2.101
mx.a.b       A     192.0.2.102
x.y.z.ent    A     192.0.2.103
*.y.z.ent    CNAME x.y.z.ent
*.c          CNAME *.a.b
*.loop       CNAME a.loop
*.out        CNAME www.example.test.
cut          NS    ns.cut
cut          NS    ns.a.b
ns.cut       A     192.0.2.104
*.cut        A     192.0.2.105
d            DNAME a.b.wild.test.
*.d2         DNAME example.test.
_srv._udp.a  SRV   1 1 53 mx.a.b
)";

// A pre-signed NSEC zone (signatures are placeholders: nobody validates
// here) so that DO=1 queries reach the DNSSEC paths: signatures, NSEC
// lookups in canonical order, DS/NSEC in referrals, wildcard proofs.
constexpr char kSignedZone[] = R"(
$ORIGIN s.test.
$TTL 3600
@ SOA ns hm 1 1 1 1 300
@ RRSIG SOA 13 2 3600 20261225000000 20261125000000 1 s.test. AAAA
@ NS ns
@ RRSIG NS 13 2 3600 20261225000000 20261125000000 1 s.test. AAAA
@ NSEC *.w NS SOA RRSIG NSEC
@ RRSIG NSEC 13 2 300 20261225000000 20261125000000 1 s.test. AAAA
*.w A 192.0.2.3
*.w RRSIG A 13 3 3600 20261225000000 20261125000000 1 s.test. AAAA
*.w NSEC cut A RRSIG NSEC
*.w RRSIG NSEC 13 3 300 20261225000000 20261125000000 1 s.test. AAAA
cut NS ns.cut
cut DS 1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
cut RRSIG DS 13 2 3600 20261225000000 20261125000000 1 s.test. AAAA
cut NSEC ns NS DS RRSIG NSEC
cut RRSIG NSEC 13 2 300 20261225000000 20261125000000 1 s.test. AAAA
ns.cut A 192.0.2.4
ns A 192.0.2.1
ns RRSIG A 13 3 3600 20261225000000 20261125000000 1 s.test. AAAA
ns NSEC s.test. A RRSIG NSEC
ns RRSIG NSEC 13 3 300 20261225000000 20261125000000 1 s.test. AAAA
)";

// App-aware answers (zone/variant.h): network and PoP variants, IPv4 and
// IPv6 endpoints (some down in ZonesWithDown), a TXT variant, and a
// variant under a wildcard (not served).
constexpr char kAppZone[] = R"(
$ORIGIN app.test.
$TTL 300
@    SOA     ns hm 1 3600 600 86400 60
@    NS      ns
ns   A       192.0.2.53
www  A       192.0.2.1
www  30 VARIANT net:lan A 198.51.100.10
www  30 VARIANT net:lan A 198.51.100.11
www  30 VARIANT net:lan A 198.51.100.12
www  30 VARIANT pop:fra1 A 203.0.113.5
www  30 VARIANT asn:64500 A 203.0.113.6
www  30 VARIANT cc:DE A 203.0.113.7
www  30 VARIANT cc:de AAAA 2001:db8::de
www  30 VARIANT net:v6 AAAA 2001:db8::10
www  30 VARIANT net:v6 AAAA 2001:db8::11
txt  TXT     "default"
txt  30 VARIANT pop:fra1 TXT "fra1"
txt  30 VARIANT net:lan TXT "lan"
*.w  A       192.0.2.2
*.w  30 VARIANT net:lan A 198.51.100.20
alias CNAME  www
)";

// An NSEC3 zone (NSEC3PARAM: 1 extra iteration, a salt) so that DO=1
// queries reach the NSEC3 proofs: hashing, matching, covering, the
// closest encloser walk. Owners' hashes need not be right here (nobody
// validates): any order of them exercises the search.
constexpr char kNsec3Zone[] = R"(
$ORIGIN n3.test.
$TTL 3600
@ SOA ns hm 1 1 1 1 300
@ RRSIG SOA 13 2 3600 20261225000000 20261125000000 1 n3.test. AAAA
@ NS ns
@ NSEC3PARAM 1 0 1 aabb
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 1 1 aabb 35mthgpgcu1qg68fab165klnsnk3dpvl NS SOA RRSIG NSEC3PARAM
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom RRSIG NSEC3 13 3 300 20261225000000 20261125000000 1 n3.test. AAAA
35mthgpgcu1qg68fab165klnsnk3dpvl NSEC3 1 1 1 aabb 7nhj5a1f0c2jk3sl1mvob6o6ktgqlfvt A RRSIG
35mthgpgcu1qg68fab165klnsnk3dpvl RRSIG NSEC3 13 3 300 20261225000000 20261125000000 1 n3.test. AAAA
7nhj5a1f0c2jk3sl1mvob6o6ktgqlfvt NSEC3 1 0 1 aabb 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A RRSIG
*.w A 192.0.2.3
*.w RRSIG A 13 3 3600 20261225000000 20261125000000 1 n3.test. AAAA
cut NS ns.cut
ns.cut A 192.0.2.4
ns A 192.0.2.1
ns RRSIG A 13 3 3600 20261225000000 20261125000000 1 n3.test. AAAA
)";

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "answer_fuzzer: cannot read %s\n", path);
    std::abort();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const zone::ZoneSet& Zones() {
  static const std::shared_ptr<zone::ZoneSet> zones = [] {
    auto set = testutil::MakeZoneSet(
        {{"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")},
         {"sub.child.example.test.",
          "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.99\n"},
         {"wild.test.", kWildZone},
         {"s.test.", kSignedZone},
         {"app.test.", kAppZone},
         {"n3.test.", kNsec3Zone}},
        {"pop1.example", "popdns-fuzz"});
    if (!set.ok()) {
      std::fprintf(stderr, "answer_fuzzer: zone: %s\n",
                   std::string(set.status().message()).c_str());
      std::abort();
    }
    return *set;
  }();
  return *zones;
}

// The same zones with endpoints down: 198.51.100.10 of three, the PoP's
// only one, one of two IPv6 ones.
const zone::ZoneSet& ZonesWithDown() {
  static const std::shared_ptr<zone::ZoneSet> zones = [] {
    auto set = std::make_shared<zone::ZoneSet>();
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                            0,    0,    0,    0,    0, 0, 0, 0x11};
    std::vector<zone::Address> down = {zone::FromIpv4(0xc6336410),
                                       zone::FromIpv4(0xcb007105),
                                       zone::FromIpv6(v6)};
    std::sort(down.begin(), down.end());
    set->set_down_endpoints(down);
    for (const auto& z : Zones().zones()) set->Add(z);
    set->set_identity(Zones().identity());
    return set;
  }();
  return *zones;
}

// Client networks for app-aware answers: lan 198.51.100.0/24 (where the
// fuzzer's IPv4 client is) and 10.0.0.0/8, v6 2001:db8:1::/48 (its IPv6
// client's), nested inside lan's 2001:db8::/32.
const zone::NetworkTable& Networks() {
  static const zone::NetworkTable* table = [] {
    const uint8_t v6net[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
    const uint8_t lan6[16] = {0x20, 0x01, 0x0d, 0xb8};
    auto t = zone::NetworkTable::Build(
        {{zone::FromIpv4(0xc6336400), zone::kIpv4MappedBits + 24, 0},
         {zone::FromIpv4(0x0a000000), zone::kIpv4MappedBits + 8, 0},
         {zone::FromIpv6(lan6), 32, 0},
         {zone::FromIpv6(v6net), 48, 1}});
    if (!t.ok()) std::abort();
    return new zone::NetworkTable(*std::move(t));
  }();
  return *table;
}

// GeoIP-like tables: AS 64500 holds 198.51.100.0/25 and 10.0.0.0/9, DE
// holds 198.0.0.0/8 and 2001:db8::/32.
const zone::NetworkTable& Asns() {
  static const zone::NetworkTable* table = [] {
    auto t = zone::NetworkTable::Build(
        {{zone::FromIpv4(0xc6336400), zone::kIpv4MappedBits + 25, 0},
         {zone::FromIpv4(0x0a000000), zone::kIpv4MappedBits + 9, 0}});
    if (!t.ok()) std::abort();
    return new zone::NetworkTable(*std::move(t));
  }();
  return *table;
}
const zone::NetworkTable& Countries() {
  static const zone::NetworkTable* table = [] {
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
    auto t = zone::NetworkTable::Build(
        {{zone::FromIpv4(0xc6000000), zone::kIpv4MappedBits + 8, 0},
         {zone::FromIpv6(v6), 32, 0}});
    if (!t.ok()) std::abort();
    return new zone::NetworkTable(*std::move(t));
  }();
  return *table;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "answer_fuzzer: invariant failed: %s\n", what);
    __builtin_trap();
  }
}

// What the query says, read here rather than with testutil::ParseMessage,
// which is a strict parser for responses, not for hostile bytes.
struct QueryFacts {
  bool well_formed = false;  // header + one uncompressed question, QUERY
  bool has_opt = false;      // an OPT record in the additional section
  uint16_t opt_udp_size = 0;
  // What may be the control side's: NOTIFY, UPDATE, a question for AXFR
  // or IXFR, a last record of type TSIG (whether the rest parses or not).
  bool may_be_slow_path = false;
  std::string question;  // qname wire + qtype + qclass, as received
};

uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// Skips a possibly compressed name at `pos`; false if it runs off the end.
bool SkipName(const uint8_t* d, size_t len, size_t* pos) {
  size_t p = *pos;
  while (p < len) {
    const uint8_t l = d[p];
    if ((l & 0xC0) == 0xC0) {
      if (len - p < 2) return false;
      *pos = p + 2;
      return true;
    }
    if (l > 63) return false;
    p += 1u + l;
    if (l == 0) {
      *pos = p;
      return p <= len;
    }
  }
  return false;
}

QueryFacts Inspect(const uint8_t* d, size_t len) {
  QueryFacts f;
  if (len < 12) return f;
  const bool qr = d[2] & 0x80;
  const uint8_t opcode = (d[2] >> 3) & 0x0F;
  f.may_be_slow_path = !qr && (opcode == 4 || opcode == 5);
  // A loose check: the bytes of type TSIG (00 FA) anywhere after the
  // header. The engine's own walk decides whether a TSIG ends the message.
  for (size_t i = 12; i + 2 <= len; ++i) {
    if (!qr && d[i] == 0 && d[i + 1] == 250) f.may_be_slow_path = true;
  }
  if (Get16(d + 4) != 1) return f;
  // RFC 1035 3.1 / 4.1.2: the question name, uncompressed, <= 255 octets.
  size_t p = 12;
  while (true) {
    if (p >= len || p - 12 >= 255) return f;
    const uint8_t l = d[p];
    if (l > 63) return f;
    p += 1u + l;
    if (l == 0) break;
  }
  if (p - 12 > 255 || len < p || len - p < 4) return f;
  const uint16_t qtype = Get16(d + p);
  if (!qr && opcode == 0 && (qtype == 251 || qtype == 252)) {
    f.may_be_slow_path = true;
  }
  p += 4;
  f.well_formed = !qr && opcode == 0;
  f.question.assign(reinterpret_cast<const char*>(d) + 12, p - 12);
  // The EDNS size, if the rest of the message can be walked.
  const uint32_t an_ns = uint32_t{Get16(d + 6)} + Get16(d + 8);
  const uint32_t total = an_ns + Get16(d + 10);
  for (uint32_t i = 0; i < total; ++i) {
    if (!SkipName(d, len, &p) || len - p < 10) return f;
    const size_t rdlen = Get16(d + p + 8);
    const bool opt = Get16(d + p) == 41 && i >= an_ns && !f.has_opt;
    if (opt) {
      f.has_opt = true;
      f.opt_udp_size = Get16(d + p + 2);
    }
    p += 10;
    if (len - p < rdlen) return f;
    // RFC 7314: an SOA query asking EDNS EXPIRE is the control side's (it
    // knows how long a secondary copy has left).
    for (size_t o = p; opt && qtype == 6 && o + 4 <= p + rdlen;
         o += 4 + Get16(d + o + 2)) {
      if (Get16(d + o) == 9 && f.well_formed) f.may_be_slow_path = true;
    }
    p += rdlen;
  }
  return f;
}

size_t UdpLimit(const QueryFacts& f, bool response_has_opt) {
  if (!response_has_opt) return 512;
  if (!f.has_opt) return kDefaultUdp;  // EDNS the test parser did not see
  return std::min<size_t>(std::max<size_t>(f.opt_udp_size, 512), kDefaultUdp);
}

uint8_t* Buffer() {
  static uint8_t* buf = new uint8_t[kBufSize];
  return buf;
}

// Answers data[0, size) in a fresh copy; returns what Answer returned.
// App-aware answering: client networks (ECS on), this PoP's name, the
// client (v4 or v6) and whether endpoints are down.
struct AppAware {
  bool on = false;
  bool ipv6 = false;
  bool down = false;
};

AnswerResult AnswerCopy(const uint8_t* data, size_t size, Transport transport,
                        bool precompiled, bool slow_path = true,
                        bool cookies = false, AppAware app = {}) {
  static const CookieSecrets secrets = [] {
    CookieSecrets s;
    for (int i = 0; i < 16; ++i) s.secret[i] = static_cast<uint8_t>(i * 17);
    return s;
  }();
  static const uint8_t client_ip[4] = {198, 51, 100, 100};
  uint8_t* buf = Buffer();
  std::memcpy(buf, data, size);
  const size_t canary = std::min(kBufSize - size, size_t{4096});
  std::memset(buf + size, kCanary, canary);
  AnswerConfig config;
  config.use_precompiled = precompiled;
  config.slow_path = slow_path;
  Client client;
  if (cookies) {
    config.cookies = &secrets;
    config.rrl = true;
    client = {client_ip, false, 1559731985};
    // The longest NSID: with the other options, responses must still keep
    // to the client's limit.
    static const std::string nsid(kMaxNsidSize, 'n');
    Check(SetNsid(&config, nsid), "SetNsid refused kMaxNsidSize octets");
    config.tcp_keepalive = true;
    config.tcp_keepalive_timeout = 100;
  }
  static const uint64_t selectors[2] = {zone::NameIndex::Hash("lan"),
                                        zone::NameIndex::Hash("v6")};
  static const uint8_t client_ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                                         0,    0,    0,    0,    0, 0, 0, 7};
  if (app.on) {
    config.client_subnet = true;
    config.networks = &Networks();
    config.network_selectors = selectors;
    config.pop_selector = zone::NameIndex::Hash("fra1");
    static const uint64_t asn[1] = {
        zone::VariantSelectorHash(zone::VariantKind::kAsn, "64500")};
    static const uint64_t country[1] = {
        zone::VariantSelectorHash(zone::VariantKind::kCountry, "DE")};
    config.asns = &Asns();
    config.asn_selectors = asn;
    config.countries = &Countries();
    config.country_selectors = country;
    if (!cookies) client = {app.ipv6 ? client_ip6 : client_ip, app.ipv6, 0};
  }
  const AnswerResult r = Answer(app.down ? ZonesWithDown() : Zones(), config,
                                transport, buf, size, kBufSize, client);
  Check(r.size <= kBufSize, "response larger than the buffer");
  if (r.slow_path) {
    Check(slow_path, "slow_path although AnswerConfig::slow_path is off");
    Check(r.size == 0 && r.outcome == Outcome::kSlowPath,
          "slow_path with a response");
    Check(std::memcmp(buf, data, size) == 0,
          "the engine wrote into a slow-path query");
    for (size_t i = size; i < size + canary; ++i) {
      Check(buf[i] == kCanary, "the engine wrote past a slow-path query");
    }
  }
  return r;
}

void Dump(const char* what, const uint8_t* p, size_t n);

// AnswerBurst writes what Answer wrote (now in Buffer(), `size` bytes) for
// the same query, also when it shares the burst with another query.
void CheckBurstMatches(const uint8_t* query, size_t query_size, size_t size,
                       bool slow_path) {
  static std::vector<uint8_t>* bufs[2] = {
      new std::vector<uint8_t>(kBufSize), new std::vector<uint8_t>(kBufSize)};
  AnswerJob jobs[2];
  for (int k = 0; k < 2; ++k) {
    std::memcpy(bufs[k]->data(), query, query_size);
    jobs[k] = {bufs[k]->data(), query_size, kBufSize, {}, {}};
  }
  AnswerBurst(Zones(), AnswerConfig{}, Transport::kUdp, jobs, 2);
  for (const AnswerJob& j : jobs) {
    Check(j.result.slow_path == slow_path,
          "AnswerBurst and Answer disagree on slow_path");
    Check(!slow_path || std::memcmp(j.buf, query, query_size) == 0,
          "AnswerBurst wrote into a slow-path query");
    if (j.result.size != size || std::memcmp(j.buf, Buffer(), size) != 0) {
      std::fprintf(stderr, "answer_fuzzer: AnswerBurst (%zu bytes) and "
                   "Answer (%zu bytes) differ\n", j.result.size, size);
      Dump("burst", j.buf, j.result.size);
      Dump("single", Buffer(), size);
      __builtin_trap();
    }
  }
}

void CheckResponse(const uint8_t* query, size_t query_size, const QueryFacts& f,
                   Transport transport, const AnswerResult& r) {
  const uint8_t* buf = Buffer();
  const size_t size = r.size;
  if (r.slow_path) {
    Check(f.may_be_slow_path, "slow_path for a message that is not one");
    return;
  }
  if (size == 0) {
    Check(!f.well_formed, "well-formed query dropped");
    return;
  }
  auto m = testutil::ParseMessage(buf, size);
  if (!m.ok()) {
    std::fprintf(stderr, "answer_fuzzer: response does not parse: %s\n",
                 std::string(m.status().message()).c_str());
    __builtin_trap();
  }
  Check(m->size == size, "parsed size differs");
  Check(query_size >= 2 && m->id == ((query[0] << 8) | query[1]),
        "ID not echoed");
  Check(m->qr, "QR not set");
  if (transport == Transport::kUdp) {
    const size_t limit = UdpLimit(f, m->has_opt);
    Check(size <= limit, "UDP response over the client's limit");
    Check(size <= kDefaultUdp, "UDP response over 1232");
    const size_t untouched = std::max(query_size, limit);
    const size_t end =
        query_size + std::min(kBufSize - query_size, size_t{4096});
    for (size_t i = untouched; i < end; ++i) {
      Check(buf[i] == kCanary, "UDP answer wrote past its limit");
    }
  }
  if (f.well_formed) {
    Check(m->qdcount == 1, "question not echoed");
    Check(f.question.size() == m->qname_wire.size() + 4,
          "question name length differs");
    Check(size >= 12 + f.question.size() &&
              std::memcmp(buf + 12, f.question.data(), f.question.size()) == 0,
          "question bytes differ from the query's");
  }
}

bool SameRecords(const std::vector<testutil::Record>& a,
                 const std::vector<testutil::Record>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].owner != b[i].owner || a[i].type != b[i].type ||
        a[i].rclass != b[i].rclass || a[i].ttl != b[i].ttl ||
        a[i].rdata != b[i].rdata) {
      return false;
    }
  }
  return true;
}

// The same message once names are decompressed. Not byte equality: a
// referral blob is compiled for the cut, so it cannot compress an NS target
// or glue owner against a question that happens to be that very name, while
// the general path can (tests/fuzz/crashes/README.md).
bool SameMessage(const uint8_t* a, size_t a_size, const uint8_t* b,
                 size_t b_size) {
  if (a_size == 0 || b_size == 0) return a_size == b_size;
  auto ma = testutil::ParseMessage(a, a_size);
  auto mb = testutil::ParseMessage(b, b_size);
  if (!ma.ok() || !mb.ok()) return false;
  return ma->flags1 == mb->flags1 && ma->flags2 == mb->flags2 &&
         ma->qdcount == mb->qdcount && ma->qname_wire == mb->qname_wire &&
         ma->qtype == mb->qtype && ma->qclass == mb->qclass &&
         ma->has_opt == mb->has_opt && ma->opt_udp_size == mb->opt_udp_size &&
         ma->opt_ext_rcode == mb->opt_ext_rcode && ma->opt_do == mb->opt_do &&
         SameRecords(ma->answer, mb->answer) &&
         SameRecords(ma->authority, mb->authority) &&
         SameRecords(ma->additional, mb->additional);
}

void Dump(const char* what, const uint8_t* p, size_t n) {
  std::fprintf(stderr, "%s:", what);
  for (size_t i = 0; i < n; ++i) std::fprintf(stderr, " %02x", p[i]);
  std::fprintf(stderr, "\n");
  auto m = testutil::ParseMessage(p, n);
  if (!m.ok()) return;
  std::fprintf(stderr, "  rcode=%u aa=%d tc=%d\n", m->rcode, m->aa, m->tc);
  const std::vector<testutil::Record>* sections[] = {&m->answer, &m->authority,
                                                     &m->additional};
  for (const auto* sec : sections) {
    for (const auto& r : *sec) {
      std::fprintf(stderr, "  %s\n", r.ToString().c_str());
    }
    std::fprintf(stderr, "  --\n");
  }
}

}  // namespace
}  // namespace popdns::dns

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace popdns::dns;
  if (size > kBufSize) return 0;
  const QueryFacts f = Inspect(data, size);
  const bool tcp = size > 0 && (data[0] & 0x01);
  const bool differential = size > 0 && (data[0] & 0x02);

  const AnswerResult udp_result = AnswerCopy(data, size, Transport::kUdp, true);
  const size_t udp = udp_result.size;
  CheckResponse(data, size, f, Transport::kUdp, udp_result);
  CheckBurstMatches(data, size, udp, udp_result.slow_path);
  if (udp_result.slow_path) {
    // What the kernel sockets without a SlowPathHandler answer.
    const AnswerResult local =
        AnswerCopy(data, size, Transport::kUdp, true, /*slow_path=*/false);
    CheckResponse(data, size, f, Transport::kUdp, local);
  }
  if (differential) {
    const std::string fast(reinterpret_cast<const char*>(Buffer()), udp);
    const AnswerResult general_result =
        AnswerCopy(data, size, Transport::kUdp, false);
    const size_t general = general_result.size;
    CheckResponse(data, size, f, Transport::kUdp, general_result);
    if (!SameMessage(reinterpret_cast<const uint8_t*>(fast.data()), udp,
                     Buffer(), general)) {
      std::fprintf(stderr,
                   "answer_fuzzer: precompiled (%zu bytes) and general path "
                   "(%zu bytes) answers differ\n",
                   udp, general);
      Dump("precompiled", reinterpret_cast<const uint8_t*>(fast.data()), udp);
      Dump("general", Buffer(), general);
      __builtin_trap();
    }
  }
  if (tcp) {
    const AnswerResult t = AnswerCopy(data, size, Transport::kTcp, true);
    CheckResponse(data, size, f, Transport::kTcp, t);
  }
  if (size > 0 && (data[0] & 0x08)) {
    // App-aware: the ECS option checked and echoed within the limits, a
    // variant chosen by it or by the sender, endpoints down or not.
    const AppAware app{true, (data[0] & 0x10) != 0, (data[0] & 0x20) != 0};
    const AnswerResult a = AnswerCopy(data, size, Transport::kUdp, true,
                                      /*slow_path=*/true, /*cookies=*/false,
                                      app);
    CheckResponse(data, size, f, Transport::kUdp, a);
    // Before TCP, which overwrites Buffer().
    if (differential) {
      const std::string fast(reinterpret_cast<const char*>(Buffer()), a.size);
      const AnswerResult general = AnswerCopy(
          data, size, Transport::kUdp, false, true, false, app);
      CheckResponse(data, size, f, Transport::kUdp, general);
      if (!SameMessage(reinterpret_cast<const uint8_t*>(fast.data()), a.size,
                       Buffer(), general.size)) {
        std::fprintf(stderr, "answer_fuzzer: app-aware: precompiled and "
                     "general path answers differ\n");
        Dump("precompiled", reinterpret_cast<const uint8_t*>(fast.data()),
             a.size);
        Dump("general", Buffer(), general.size);
        __builtin_trap();
      }
    }
    if (tcp) {
      const AnswerResult t = AnswerCopy(data, size, Transport::kTcp, true,
                                        /*slow_path=*/true,
                                        /*cookies=*/false, app);
      CheckResponse(data, size, f, Transport::kTcp, t);
    }
  }
  if (size > 0 && (data[0] & 0x04)) {
    const AnswerResult c = AnswerCopy(data, size, Transport::kUdp, true,
                                      /*slow_path=*/true, /*cookies=*/true);
    CheckResponse(data, size, f, Transport::kUdp, c);
    if (c.size != 0) {
      AnswerResult slipped = c;
      SlipResponse(Buffer(), slipped);
      Check(slipped.size <= c.size, "a slip larger than the response");
      Check(popdns::testutil::ParseMessage(Buffer(), slipped.size).ok(),
            "a slipped response that does not parse");
    }
    if (tcp) {
      const AnswerResult t = AnswerCopy(data, size, Transport::kTcp, true,
                                        /*slow_path=*/true, /*cookies=*/true);
      CheckResponse(data, size, f, Transport::kTcp, t);
    }
  }
  return 0;
}
