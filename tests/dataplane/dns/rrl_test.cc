// Response rate limiting (dataplane/dns/rrl.h): the token bucket's
// arithmetic, slip, response classes and names, prefix masking, the
// whitelist, log_only, a full table, and what a slipped response looks like
// (TC=1, or BADCOOKIE when the query carried a client cookie, RFC 7873
// 5.2.3), on answers from the real engine.
#include "dataplane/dns/rrl.h"

#include <arpa/inet.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/name_index.h"
#include "gtest/gtest.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

struct Addr {
  uint8_t bytes[16] = {};
  bool v6 = false;
  Client client(uint32_t now = 0) const { return {bytes, v6, now}; }
};
Addr Ip(const char* text) {
  Addr a;
  a.v6 = inet_pton(AF_INET6, text, a.bytes) == 1;
  if (!a.v6) {
    EXPECT_EQ(inet_pton(AF_INET, text, a.bytes), 1) << text;
  }
  return a;
}

RrlSettings Settings(uint32_t rate, uint32_t slip = 2) {
  RrlSettings s;
  s.rate = rate;
  s.slip = slip;
  s.table_size = 1024;
  return s;
}

// How many of `n` responses at time `t` are within the rate.
int Allowed(Rrl& rrl, const Addr& a, int n, uint32_t t,
            RrlClass cls = RrlClass::kAnswer, uint64_t name = 42) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += rrl.Account(a.client(), cls, name, t);
  return ok;
}

// The bucket holds one second's worth (rate) and refills at rate per
// second, continuously (rate per 1000 ms, exact in milli-responses).
TEST(RrlTest, BucketArithmetic) {
  Rrl rrl(Settings(5));
  const Addr a = Ip("192.0.2.1");
  EXPECT_EQ(Allowed(rrl, a, 8, 1000), 5);   // a fresh bucket: rate
  EXPECT_EQ(Allowed(rrl, a, 3, 1100), 0);   // 0.5 tokens after 100 ms
  EXPECT_EQ(Allowed(rrl, a, 3, 1200), 1);   // 0.5 + 0.5 = 1
  EXPECT_EQ(Allowed(rrl, a, 3, 1400), 1);   // one more per 200 ms
  EXPECT_EQ(Allowed(rrl, a, 9, 5000), 5);   // idle: full, never more
  // A steady flood gets the rate: 10 s of 1000 queries every 10 ms.
  int sent = 0;
  for (uint32_t t = 6000; t < 16000; t += 10) sent += Allowed(rrl, a, 10, t);
  EXPECT_GE(sent, 50 - 1);
  EXPECT_LE(sent, 50 + 5);  // the rate, plus the bucket it started with
  // The millisecond clock wraps (49.7 days) without a hiccup.
  EXPECT_EQ(Allowed(rrl, a, 8, 0xFFFFFF00u), 5);
  EXPECT_EQ(Allowed(rrl, a, 3, 0xFFFFFF00u + 400), 2);  // across the wrap
}

// Every slip-th limited response of a bucket slips (BIND's and Knot's
// slip); 1: all; 0: none.
TEST(RrlTest, Slip) {
  for (uint32_t slip : {0u, 1u, 2u, 3u}) {
    Rrl rrl(Settings(1, slip));
    const Addr a = Ip("192.0.2.1");
    ASSERT_TRUE(rrl.Account(a.client(), RrlClass::kAnswer, 1, 0));
    int slipped = 0;
    for (int i = 1; i <= 12; ++i) {
      bool s = false;
      ASSERT_FALSE(rrl.Account(a.client(), RrlClass::kAnswer, 1, 0, &s));
      if (slip != 0) {
        EXPECT_EQ(s, i % slip == 0) << slip << " " << i;
      }
      slipped += s;
    }
    EXPECT_EQ(slipped, slip == 0 ? 0 : 12 / static_cast<int>(slip));
  }
  // The count goes on across limiting episodes (as BIND's slip counter):
  // a client just over the rate, limited once per second, still gets
  // every second limited response as a slip.
  Rrl rrl(Settings(1, 2));
  const Addr a = Ip("192.0.2.1");
  int slipped = 0;
  for (uint32_t t = 0; t < 10000; t += 1000) {
    ASSERT_TRUE(rrl.Account(a.client(), RrlClass::kAnswer, 1, t));
    bool s = false;
    ASSERT_FALSE(rrl.Account(a.client(), RrlClass::kAnswer, 1, t, &s));
    slipped += s;
  }
  EXPECT_EQ(slipped, 5);
}

// Classes and names are separate buckets: exhausting the answers for one
// name leaves other names, and other classes, untouched.
TEST(RrlTest, ClassesAndNamesAreSeparateBuckets) {
  Rrl rrl(Settings(2));
  const Addr a = Ip("192.0.2.1");
  EXPECT_EQ(Allowed(rrl, a, 5, 0, RrlClass::kAnswer, 1), 2);
  EXPECT_EQ(Allowed(rrl, a, 5, 0, RrlClass::kAnswer, 2), 2);
  for (RrlClass c : {RrlClass::kNxDomain, RrlClass::kNoData,
                     RrlClass::kReferral, RrlClass::kError}) {
    EXPECT_EQ(Allowed(rrl, a, 5, 0, c, 1), 2) << static_cast<int>(c);
  }
}

// ClassOf: what the engine did -> BIND's response classes.
TEST(RrlTest, ClassOfOutcomes) {
  AnswerResult r;
  auto cls = [&r](Outcome o) {
    r.outcome = o;
    return ClassOf(r);
  };
  EXPECT_EQ(cls(Outcome::kAnswer), RrlClass::kAnswer);
  EXPECT_EQ(cls(Outcome::kChaos), RrlClass::kAnswer);
  EXPECT_EQ(cls(Outcome::kNxDomain), RrlClass::kNxDomain);
  EXPECT_EQ(cls(Outcome::kNoData), RrlClass::kNoData);
  EXPECT_EQ(cls(Outcome::kReferral), RrlClass::kReferral);
  for (Outcome o : {Outcome::kFormErr, Outcome::kNotImp, Outcome::kBadVers,
                    Outcome::kRefused, Outcome::kExpired}) {
    EXPECT_EQ(cls(o), RrlClass::kError);
  }
  EXPECT_EQ(cls(Outcome::kDropped), RrlClass::kNone);
  EXPECT_EQ(cls(Outcome::kSlowPath), RrlClass::kNone);
}

// The client address is masked to ipv4_prefix / ipv6_prefix: addresses
// inside one prefix share buckets, others do not.
TEST(RrlTest, PrefixMasking) {
  RrlSettings s = Settings(3);
  s.ipv4_prefix = 24;
  s.ipv6_prefix = 56;
  Rrl rrl(s);
  EXPECT_EQ(Allowed(rrl, Ip("192.0.2.1"), 2, 0), 2);
  EXPECT_EQ(Allowed(rrl, Ip("192.0.2.200"), 2, 0), 1);  // same /24
  EXPECT_EQ(Allowed(rrl, Ip("192.0.3.1"), 5, 0), 3);    // another /24
  EXPECT_EQ(Allowed(rrl, Ip("2001:db8:0:100::1"), 2, 0), 2);
  EXPECT_EQ(Allowed(rrl, Ip("2001:db8:0:1ff:ffff::9"), 2, 0), 1);  // /56
  EXPECT_EQ(Allowed(rrl, Ip("2001:db8:0:200::1"), 5, 0), 3);
  // An IPv4 address and the IPv6 address with the same leading bytes are
  // different clients.
  EXPECT_EQ(Allowed(rrl, Ip("c000:200::"), 5, 0), 3);

  s.ipv4_prefix = 32;
  s.ipv6_prefix = 128;
  Rrl hosts(s);
  EXPECT_EQ(Allowed(hosts, Ip("192.0.2.1"), 5, 0), 3);
  EXPECT_EQ(Allowed(hosts, Ip("192.0.2.2"), 5, 0), 3);
  EXPECT_EQ(Allowed(hosts, Ip("2001:db8::1"), 5, 0), 3);
  EXPECT_EQ(Allowed(hosts, Ip("2001:db8::2"), 5, 0), 3);
  s.ipv4_prefix = 0;  // everyone is one client
  Rrl all(s);
  EXPECT_EQ(Allowed(all, Ip("192.0.2.1"), 2, 0), 2);
  EXPECT_EQ(Allowed(all, Ip("203.0.113.9"), 2, 0), 1);
}

// A table smaller than the keys in use (rrl.h: how a full table degrades):
// new keys take the buckets that are not limiting, so a key that is being
// limited keeps its bucket (and its limit) while 100 others pass through
// a table of four; nothing fails or grows.
TEST(RrlTest, FullTableKeepsLimitingBuckets) {
  RrlSettings s = Settings(2);
  s.table_size = 4;  // one set of four
  Rrl rrl(s);
  ASSERT_EQ(rrl.buckets(), 4u);
  const Addr hot = Ip("192.0.2.1");
  EXPECT_EQ(Allowed(rrl, hot, 5, 0), 2);  // limited from here on
  for (int i = 0; i < 100; ++i) {
    Addr other = Ip("198.18.0.0");
    other.bytes[1] = static_cast<uint8_t>(i);  // 198.x: another /24 each
    EXPECT_TRUE(rrl.Account(other.client(), RrlClass::kAnswer, 42, 1));
    // The busy key keeps its bucket and stays limited.
    EXPECT_FALSE(rrl.Account(hot.client(), RrlClass::kAnswer, 42, 1)) << i;
  }
  // A key whose bucket was taken starts again; one taken from a key seen
  // within the last second starts at half (Knot's slow start): rate 2 ->
  // one response.
  RrlSettings big = Settings(4);
  big.table_size = 4;
  Rrl small(big);
  for (int i = 0; i < 4; ++i) {
    Addr a = Ip("198.18.0.0");
    a.bytes[1] = static_cast<uint8_t>(i);
    EXPECT_EQ(Allowed(small, a, 1, 10), 1);
  }
  EXPECT_EQ(Allowed(small, Ip("203.0.113.1"), 9, 20), 2);  // busy victim
  EXPECT_EQ(Allowed(small, Ip("203.0.114.1"), 9, 5000), 4);  // idle one
}

// ---- Apply: whitelist, log_only, slips on real responses --------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RrlEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = testutil::MakeZoneSet(
        {{"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")}});
    ASSERT_TRUE(set.ok()) << set.status();
    zones_ = *set;
    config_.rrl = true;
    secrets_.secret[0] = 1;
  }
  AnswerResult Answer1(const std::vector<uint8_t>& q, const Addr& a,
                       uint32_t now = 1700000000) {
    buf_.assign(4096, 0);
    std::copy(q.begin(), q.end(), buf_.begin());
    AnswerJob job{buf_.data(), q.size(), buf_.size(), {}, a.client(now)};
    AnswerBurst(*zones_, config_, Transport::kUdp, &job, 1);
    return job.result;
  }
  uint64_t NameOf(std::string_view name, uint16_t type) {
    return Answer1(testutil::MakeQuery(name, type), Ip("192.0.2.1"))
        .rrl_name;
  }
  std::shared_ptr<zone::ZoneSet> zones_;
  AnswerConfig config_;
  CookieSecrets secrets_;
  std::vector<uint8_t> buf_;
};

// The names of BIND's "identical responses" (AnswerResult::rrl_name).
TEST_F(RrlEngineTest, EngineNamesResponsesAsBindDoes) {
  // Answers: per name and type.
  EXPECT_NE(NameOf("www.example.test.", rrtype::kA),
            NameOf("mail.example.test.", rrtype::kA));
  EXPECT_NE(NameOf("ns1.example.test.", rrtype::kA),
            NameOf("ns1.example.test.", rrtype::kAaaa));
  EXPECT_EQ(NameOf("www.example.test.", rrtype::kA),
            NameOf("WWW.Example.TEST.", rrtype::kA));  // case (0x20) folded
  // Wildcard answers: per wildcard, whatever name it synthesized.
  EXPECT_EQ(NameOf("a.wild.example.test.", rrtype::kA),
            NameOf("b.wild.example.test.", rrtype::kA));
  EXPECT_NE(NameOf("a.wild.example.test.", rrtype::kA),
            NameOf("a.wild.example.test.", rrtype::kTxt));
  // NXDOMAIN and NODATA: per zone.
  EXPECT_EQ(NameOf("nx1.example.test.", rrtype::kA),
            NameOf("nx2.example.test.", rrtype::kA));
  EXPECT_EQ(NameOf("www.example.test.", rrtype::kMx),
            NameOf("mail.example.test.", rrtype::kTxt));
  // Referrals: per delegation.
  EXPECT_EQ(NameOf("a.child.example.test.", rrtype::kA),
            NameOf("b.c.child.example.test.", rrtype::kAaaa));
  EXPECT_NE(NameOf("a.child.example.test.", rrtype::kA), 0u);
  // Errors: no name (REFUSED for a zone we do not serve).
  EXPECT_EQ(NameOf("www.elsewhere.test.", rrtype::kA), 0u);
  // And off without AnswerConfig::rrl.
  config_.rrl = false;
  EXPECT_EQ(NameOf("www.example.test.", rrtype::kA), 0u);
}

// Over the rate with slip 2: the second limited response slips as TC=1
// with the question and no records; the first is dropped.
TEST_F(RrlEngineTest, SlipIsTruncatedEmptyResponse) {
  Rrl rrl(Settings(1, 2));
  const Addr a = Ip("192.0.2.1");
  testutil::QueryOptions o;
  o.edns = true;
  const auto q = testutil::MakeQuery("www.example.test.", rrtype::kA, o);
  AnswerResult r = Answer1(q, a);
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
  EXPECT_FALSE(r.truncated);
  r = Answer1(q, a);
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kDrop);
  r = Answer1(q, a);
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
  EXPECT_TRUE(r.truncated);
  auto m = testutil::ParseMessage(buf_.data(), r.size);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->qr);
  EXPECT_TRUE(m->tc);
  EXPECT_EQ(m->rcode, 0);
  EXPECT_EQ(m->qname, "www.example.test.");
  EXPECT_TRUE(m->answer.empty() && m->authority.empty() &&
              m->additional.empty());
  EXPECT_TRUE(m->has_opt);
  EXPECT_EQ(rrl.counters().limited.Get(), 2u);
  EXPECT_EQ(rrl.counters().slipped.Get(), 1u);
  EXPECT_EQ(rrl.counters().dropped.Get(), 1u);
  // Without EDNS too.
  const auto plain = testutil::MakeQuery("www.example.test.", rrtype::kA);
  for (int i = 0; i < 2; ++i) {
    r = Answer1(plain, a);
    (void)rrl.Apply(buf_.data(), r, a.client(), 0);
  }
  m = testutil::ParseMessage(buf_.data(), r.size);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->tc);
  EXPECT_FALSE(m->has_opt);
}

std::vector<uint8_t> WithCookie(std::vector<uint8_t> q,
                                const std::vector<uint8_t>& cookie) {
  const size_t rdlen_at = q.size() - 2;
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(kOptionCookie));
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(cookie.size()));
  q.insert(q.end(), cookie.begin(), cookie.end());
  q[rdlen_at + 1] = static_cast<uint8_t>(4 + cookie.size());
  return q;
}

// A slip to a query with a client cookie is BADCOOKIE (RCODE 23: 7 in the
// header, 1 in the OPT) with a fresh server cookie (RFC 7873 5.2.3); the
// client retrying with it has a valid server cookie and is not limited
// (5.2.5), however fast it asks.
TEST_F(RrlEngineTest, Rfc7873SlipIsBadCookieAndValidCookieBypasses) {
  config_.cookies = &secrets_;
  Rrl rrl(Settings(1, 1));
  const Addr a = Ip("192.0.2.1");
  testutil::QueryOptions o;
  o.edns = true;
  const auto q = WithCookie(
      testutil::MakeQuery("www.example.test.", rrtype::kA, o),
      {1, 2, 3, 4, 5, 6, 7, 8});
  AnswerResult r = Answer1(q, a);
  EXPECT_EQ(r.cookie, CookieState::kClientOnly);
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
  r = Answer1(q, a);
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
  auto m = testutil::ParseMessage(buf_.data(), r.size);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->tc);
  EXPECT_EQ(m->rcode, 7);
  EXPECT_EQ(m->opt_ext_rcode, 1);  // 1 << 4 | 7 = 23 = BADCOOKIE
  EXPECT_TRUE(m->answer.empty());
  // The last 24 bytes are the cookie option's data: client + server.
  ASSERT_GE(r.size, 24u);
  const std::vector<uint8_t> cookie(buf_.begin() + r.size - 24,
                                    buf_.begin() + r.size);
  EXPECT_EQ(cookie[0], 1);
  EXPECT_EQ(cookie[8], 1);  // RFC 9018 version
  const auto with_server = WithCookie(
      testutil::MakeQuery("www.example.test.", rrtype::kA, o), cookie);
  for (int i = 0; i < 50; ++i) {
    r = Answer1(with_server, a);
    ASSERT_EQ(r.cookie, CookieState::kValid);
    ASSERT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
    ASSERT_FALSE(r.truncated);
    ASSERT_EQ(r.rcode, 0);
  }
}

// A slip says why with an EDE (RFC 8914): 0 "Other Error" and the
// EXTRA-TEXT "RRL" (4.1; the registry has no code for rate limiting), when
// it fits in the size of the response it replaces; no NSID (RFC 5001 2.2
// leaves honouring a request to the server); the BADCOOKIE slip keeps the
// cookie.
TEST_F(RrlEngineTest, SlipCarriesAnEdeAndNoNsid) {
  ASSERT_TRUE(SetNsid(&config_, "pop1"));
  config_.cookies = &secrets_;
  const Addr a = Ip("192.0.2.1");
  for (bool cookie : {false, true}) {
    SCOPED_TRACE(cookie ? "with a client cookie" : "without a cookie");
    Rrl rrl(Settings(1, 1));
    testutil::QueryOptions o;
    o.edns = true;
    o.edns_options = testutil::EdnsOption(kOptionNsid);
    if (cookie) {
      const auto c = testutil::EdnsOption(kOptionCookie, "\1\2\3\4\5\6\7\10");
      o.edns_options.insert(o.edns_options.end(), c.begin(), c.end());
    }
    const auto query = testutil::MakeQuery("www.example.test.", rrtype::kA, o);
    AnswerResult r = Answer1(query, a);
    auto full = testutil::ParseMessage(buf_.data(), r.size);
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_EQ(full->opt_options.size(), cookie ? 2u : 1u);
    EXPECT_EQ(full->opt_options[0].first, kOptionNsid);
    EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
    r = Answer1(query, a);
    const size_t replaced = r.size;
    EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
    EXPECT_LE(r.size, replaced);
    auto m = testutil::ParseMessage(buf_.data(), r.size);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->tc, !cookie);
    ASSERT_TRUE(m->has_opt);
    ASSERT_EQ(m->opt_options.size(), cookie ? 2u : 1u);
    EXPECT_EQ(m->opt_options[0].first, 15);  // EDE
    EXPECT_EQ(m->opt_options[0].second, std::string("\0\0RRL", 5));
    if (cookie) {
      EXPECT_EQ(m->opt_options[1].first, kOptionCookie);
    }
  }
}

// A slip is never larger than what it replaces: a REFUSED (its own EDE is
// 6 octets) slips without the 9-octet one.
TEST_F(RrlEngineTest, SlipNeverGrowsTheResponse) {
  Rrl rrl(Settings(1, 1));
  const Addr a = Ip("192.0.2.1");
  testutil::QueryOptions o;
  o.edns = true;
  const auto query = testutil::MakeQuery("www.example.org.", rrtype::kA, o);
  AnswerResult r = Answer1(query, a);
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
  r = Answer1(query, a);
  const size_t replaced = r.size;
  EXPECT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
  EXPECT_LE(r.size, replaced);
  auto m = testutil::ParseMessage(buf_.data(), r.size);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->tc);
  EXPECT_TRUE(m->opt_options.empty());
}

// The whitelist: its prefixes are never limited; log_only counts what
// would be limited and limits nothing.
TEST_F(RrlEngineTest, WhitelistAndLogOnly) {
  RrlSettings s = Settings(1, 1);
  RrlPrefix p;
  p.length = 24;
  ASSERT_EQ(inet_pton(AF_INET, "192.0.2.0", p.addr), 1);
  s.whitelist.push_back(p);
  RrlPrefix p6;
  p6.ipv6 = true;
  p6.length = 32;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::", p6.addr), 1);
  s.whitelist.push_back(p6);
  Rrl rrl(s);
  const auto q = testutil::MakeQuery("www.example.test.", rrtype::kA);
  for (const char* ip : {"192.0.2.77", "2001:db8:1::1"}) {
    const Addr a = Ip(ip);
    EXPECT_TRUE(rrl.Whitelisted(a.client()));
    for (int i = 0; i < 20; ++i) {
      AnswerResult r = Answer1(q, a);
      ASSERT_EQ(rrl.Apply(buf_.data(), r, a.client(), 0), RrlAction::kSend);
      ASSERT_FALSE(r.truncated);
    }
  }
  EXPECT_FALSE(rrl.Whitelisted(Ip("192.0.3.1").client()));
  EXPECT_FALSE(rrl.Whitelisted(Ip("2001:db9::1").client()));
  EXPECT_EQ(rrl.counters().limited.Get(), 0u);

  RrlSettings lo = Settings(1, 1);
  lo.log_only = true;
  Rrl log_only(lo);
  const Addr a = Ip("198.51.100.1");
  for (int i = 0; i < 10; ++i) {
    AnswerResult r = Answer1(q, a);
    ASSERT_EQ(log_only.Apply(buf_.data(), r, a.client(), 0),
              RrlAction::kSend);
    ASSERT_FALSE(r.truncated);
  }
  EXPECT_EQ(log_only.counters().limited.Get(), 9u);
  EXPECT_EQ(log_only.counters().slipped.Get(), 0u);
  EXPECT_EQ(log_only.counters().dropped.Get(), 0u);
}

// ApplyBurst (the workers' entry: buckets prefetched for the whole burst)
// decides as Apply one response after another does, also past 32 jobs.
TEST_F(RrlEngineTest, ApplyBurstMatchesApply) {
  Rrl one(Settings(5, 2)), burst(Settings(5, 2));
  const Addr a = Ip("192.0.2.1");
  const Addr b = Ip("198.51.100.1");
  constexpr size_t kJobs = 40;
  std::vector<std::vector<uint8_t>> bufs(kJobs);
  std::vector<AnswerJob> jobs(kJobs);
  for (size_t i = 0; i < kJobs; ++i) {
    const auto q = testutil::MakeQuery(
        i % 3 == 0 ? "nx.example.test." : "www.example.test.", rrtype::kA);
    bufs[i].assign(4096, 0);
    std::copy(q.begin(), q.end(), bufs[i].begin());
    jobs[i] = {bufs[i].data(), q.size(), 4096, {},
               (i % 5 == 0 ? b : a).client(1700000000)};
  }
  AnswerBurst(*zones_, config_, Transport::kUdp, jobs.data(), kJobs);
  std::vector<AnswerJob> copy = jobs;
  std::vector<std::vector<uint8_t>> copy_bufs = bufs;
  for (size_t i = 0; i < kJobs; ++i) copy[i].buf = copy_bufs[i].data();
  RrlAction actions[kJobs];
  burst.ApplyBurst(jobs.data(), kJobs, 0, actions);
  int dropped = 0;
  for (size_t i = 0; i < kJobs; ++i) {
    const RrlAction want = one.Apply(copy[i].buf, copy[i].result,
                                     copy[i].client, 0);
    EXPECT_EQ(actions[i], want) << i;
    EXPECT_EQ(jobs[i].result.size, copy[i].result.size) << i;
    EXPECT_EQ(jobs[i].result.truncated, copy[i].result.truncated) << i;
    dropped += actions[i] == RrlAction::kDrop;
  }
  EXPECT_GT(dropped, 5);
  EXPECT_EQ(burst.counters().limited.Get(), one.counters().limited.Get());
}

// A job's rrl_charge (what the XDP program answered the client in the
// driver before handing it over) comes out of its bucket first: a fresh
// bucket charged the rate limits the job itself and the rest of the
// second, as if the worker had sent those responses; the bucket refills
// as usual afterwards, and a charge never takes more than the bucket
// holds. Other clients' buckets are untouched.
TEST_F(RrlEngineTest, ApplyBurstPaysTheDriversAnswersFirst) {
  constexpr uint32_t kRate = 5;
  Rrl rrl(Settings(kRate, 0));
  const Addr a = Ip("192.0.2.1");
  const Addr b = Ip("198.51.100.1");
  auto run = [&](const Addr& who, uint32_t charge, uint32_t now_ms) {
    const auto q = testutil::MakeQuery("www.example.test.", rrtype::kA);
    std::vector<uint8_t> buf(4096, 0);
    std::copy(q.begin(), q.end(), buf.begin());
    AnswerJob job{buf.data(), q.size(), buf.size(), {}, who.client(1700000000)};
    job.rrl_charge = charge;
    AnswerBurst(*zones_, config_, Transport::kUdp, &job, 1);
    RrlAction action;
    rrl.ApplyBurst(&job, 1, now_ms, &action);
    return action;
  };
  // The hand-over: the driver answered the rate; nothing left.
  EXPECT_EQ(run(a, kRate, 1000), RrlAction::kDrop);
  EXPECT_EQ(run(a, 0, 1001), RrlAction::kDrop);
  EXPECT_EQ(run(b, 0, 1001), RrlAction::kSend);  // another client
  // One response's worth after 1000 / rate ms, as for any bucket.
  EXPECT_EQ(run(a, 0, 1000 + 1000 / kRate), RrlAction::kSend);
  EXPECT_EQ(run(a, 0, 1000 + 1000 / kRate), RrlAction::kDrop);
  // A charge larger than the bucket empties it, no more: refilled after a
  // second of quiet.
  EXPECT_EQ(run(a, 1000, 5000), RrlAction::kDrop);
  EXPECT_EQ(run(a, 0, 5000 + 1000 / kRate), RrlAction::kSend);
  // A smaller charge leaves the rest.
  EXPECT_EQ(run(b, kRate - 2, 9000), RrlAction::kSend);
  EXPECT_EQ(run(b, 0, 9000), RrlAction::kSend);
  EXPECT_EQ(run(b, 0, 9000), RrlAction::kDrop);
}

}  // namespace
}  // namespace popdns::dns
