// DNS cookies (dataplane/dns/cookie.h, siphash.h) and their handling by the
// answer engine: SipHash-2-4 against the reference vectors, the server
// cookie construction against RFC 9018 Appendix A, verification (lifetime,
// rollover, client address), and RFC 7873 5.2's cases on real queries.
#include "dataplane/dns/cookie.h"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/siphash.h"
#include "dataplane/dns/wire.h"
#include "gtest/gtest.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

std::vector<uint8_t> Hex(std::string_view s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToHex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

struct Addr {
  uint8_t bytes[16];
  bool v6 = false;
};
Addr Ip(const char* text) {
  Addr a;
  a.v6 = inet_pton(AF_INET6, text, a.bytes) == 1;
  if (!a.v6) {
    EXPECT_EQ(inet_pton(AF_INET, text, a.bytes), 1) << text;
  }
  return a;
}

CookieSecrets Secrets(std::string_view current, std::string_view previous = {}) {
  CookieSecrets s;
  const auto c = Hex(current);
  std::copy(c.begin(), c.end(), s.secret);
  if (!previous.empty()) {
    const auto p = Hex(previous);
    std::copy(p.begin(), p.end(), s.previous);
    s.has_previous = true;
  }
  return s;
}

// SipHash paper (Aumasson, Bernstein 2012), Appendix A and the reference
// implementation's vectors.h: key 00..0f, message 00..(n-1).
TEST(SipHashTest, ReferenceVectors) {
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(SipHash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(SipHash24(key, msg, 1), 0x74f839c593dc67fdULL);
  // The paper's worked example: a 15-byte message.
  EXPECT_EQ(SipHash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}

// RFC 9018 Appendix A.1: learning a new server cookie.
TEST(CookieTest, Rfc9018A1NewServerCookie) {
  const CookieSecrets s = Secrets("e5e973e5a6b2a43f48e7dc849e37bfcf");
  const Addr ip = Ip("198.51.100.100");
  const Client c{ip.bytes, false, 1559731985};
  const auto option = Hex("2464c4abcf10c957");
  uint8_t out[16];
  MakeServerCookie(s.secret, option.data(), c, out);
  EXPECT_EQ(ToHex(out, 16), "010000005cf79f111f8130c3eee29480");
  EXPECT_EQ(CheckCookie(s, c, option.data(), option.size(), out),
            CookieState::kClientOnly);
  EXPECT_EQ(ToHex(out, 16), "010000005cf79f111f8130c3eee29480");
}

// RFC 9018 Appendix A.2: the same client 40 minutes later. The cookie is
// still valid (under an hour, 4.3) but older than half an hour, so it is
// renewed.
TEST(CookieTest, Rfc9018A2RenewedCookie) {
  const CookieSecrets s = Secrets("e5e973e5a6b2a43f48e7dc849e37bfcf");
  const Addr ip = Ip("198.51.100.100");
  const Client c{ip.bytes, false, 1559734385};
  const auto option =
      Hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  uint8_t out[16];
  EXPECT_EQ(CheckCookie(s, c, option.data(), option.size(), out),
            CookieState::kValid);
  EXPECT_EQ(ToHex(out, 16), "010000005cf7a871d4a564a1442aca77");
}

// RFC 9018 Appendix A.3: another client, whose cookie carries reserved
// bytes (they are part of the hash) and is 1h52m old: past the one-hour
// lifetime of 4.3, so it is treated as no server cookie (RFC 7873 5.2.4)
// and a fresh one is made.
TEST(CookieTest, Rfc9018A3ExpiredCookieReplaced) {
  const CookieSecrets s = Secrets("e5e973e5a6b2a43f48e7dc849e37bfcf");
  const Addr ip = Ip("203.0.113.203");
  const auto option =
      Hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
  const Client c{ip.bytes, false, 1559734700};
  EXPECT_TRUE(ServerCookieHashMatches(s.secret, option.data(), c));
  uint8_t out[16];
  EXPECT_EQ(CheckCookie(s, c, option.data(), option.size(), out),
            CookieState::kClientOnly);
  EXPECT_EQ(ToHex(out, 16), "010000005cf7a9acf73a7810aca2381e");
  // Within its hour it verifies, reserved bytes and all.
  const Client early{ip.bytes, false, 0x5cf78f71 + 60};
  EXPECT_EQ(CheckCookie(s, early, option.data(), option.size(), out),
            CookieState::kValid);
}

// RFC 9018 Appendix A.4: an IPv6 client after the fleet rolled its secret
// over: the cookie made with the previous secret still verifies, and the
// answer carries one made with the current secret.
TEST(CookieTest, Rfc9018A4RolloverIpv6) {
  const Addr ip = Ip("2001:db8:220:1:59de:d0f4:8769:82b8");
  ASSERT_TRUE(ip.v6);
  const Client c{ip.bytes, true, 1559741961};
  const auto option =
      Hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8");
  uint8_t out[16];
  const CookieSecrets rolled = Secrets("445536bcd2513298075a5d379663c962",
                                       "dd3bdf9344b678b185a6f5cb60fca715");
  EXPECT_EQ(CheckCookie(rolled, c, option.data(), option.size(), out),
            CookieState::kValid);
  EXPECT_EQ(ToHex(out, 16), "010000005cf7c609a6bb79d16625507a");
  // Without the previous secret it is not ours (RFC 7873 5.2.4), and the
  // fresh cookie is the same one.
  const CookieSecrets only_new = Secrets("445536bcd2513298075a5d379663c962");
  EXPECT_EQ(CheckCookie(only_new, c, option.data(), option.size(), out),
            CookieState::kClientOnly);
  EXPECT_EQ(ToHex(out, 16), "010000005cf7c609a6bb79d16625507a");
}

// RFC 9018 4.3: up to five minutes ahead is clock skew, more is invalid;
// a young valid cookie is echoed as received; another address, client
// cookie or version fails.
TEST(CookieTest, Rfc9018LifetimeSkewAndBinding) {
  const CookieSecrets s = Secrets("e5e973e5a6b2a43f48e7dc849e37bfcf");
  const Addr ip = Ip("198.51.100.100");
  const uint32_t t0 = 1559731985;
  auto option = Hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  uint8_t out[16];
  auto check = [&](const Addr& a, uint32_t now) {
    return CheckCookie(s, Client{a.bytes, a.v6, now}, option.data(),
                       option.size(), out);
  };
  EXPECT_EQ(check(ip, t0), CookieState::kValid);
  EXPECT_EQ(ToHex(out, 16), "010000005cf79f111f8130c3eee29480");  // echoed
  EXPECT_EQ(check(ip, t0 + 3600), CookieState::kValid);
  EXPECT_EQ(check(ip, t0 + 3601), CookieState::kClientOnly);
  EXPECT_EQ(check(ip, t0 - 300), CookieState::kValid);
  EXPECT_EQ(check(ip, t0 - 301), CookieState::kClientOnly);
  EXPECT_EQ(check(Ip("198.51.100.101"), t0), CookieState::kClientOnly);
  option[0] ^= 1;  // another client cookie
  EXPECT_EQ(check(ip, t0), CookieState::kClientOnly);
  option[0] ^= 1;
  option[8] = 2;  // a version we do not make
  EXPECT_EQ(check(ip, t0), CookieState::kClientOnly);
}

// ---- The engine -------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A query with EDNS and a COOKIE option of `cookie` (any length).
std::vector<uint8_t> CookieQuery(std::string_view name, uint16_t qtype,
                                 const std::vector<uint8_t>& cookie) {
  testutil::QueryOptions o;
  o.edns = true;
  std::vector<uint8_t> q = testutil::MakeQuery(name, qtype, o);
  // The OPT is last; its RDLENGTH the last two bytes (0 so far).
  const size_t rdlen_at = q.size() - 2;
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(kOptionCookie));
  q.push_back(static_cast<uint8_t>(cookie.size() >> 8));
  q.push_back(static_cast<uint8_t>(cookie.size()));
  q.insert(q.end(), cookie.begin(), cookie.end());
  const size_t rdlen = 4 + cookie.size();
  q[rdlen_at] = static_cast<uint8_t>(rdlen >> 8);
  q[rdlen_at + 1] = static_cast<uint8_t>(rdlen);
  return q;
}

// Skips a (possibly compressed) name at `pos`.
size_t SkipName(const uint8_t* m, size_t len, size_t pos) {
  while (pos < len) {
    if ((m[pos] & 0xC0) == 0xC0) return pos + 2;
    if (m[pos] == 0) return pos + 1;
    pos += 1 + m[pos];
  }
  return len;
}

// The COOKIE option's data in a response, found by walking the message
// (independently of the engine's AnswerResult::opt_at); empty if none.
std::vector<uint8_t> ResponseCookie(const uint8_t* m, size_t len) {
  size_t pos = SkipName(m, len, kHeaderSize) + 4;
  const size_t rrs = size_t{Load16(m + 6)} + Load16(m + 8) + Load16(m + 10);
  for (size_t i = 0; i < rrs && pos < len; ++i) {
    pos = SkipName(m, len, pos);
    const uint16_t type = Load16(m + pos);
    const size_t rdlen = Load16(m + pos + 8);
    const size_t rdata = pos + 10;
    if (type == rrtype::kOpt) {
      for (size_t o = rdata; o + 4 <= rdata + rdlen;) {
        const size_t olen = Load16(m + o + 2);
        if (Load16(m + o) == kOptionCookie) {
          return {m + o + 4, m + o + 4 + olen};
        }
        o += 4 + olen;
      }
    }
    pos = rdata + rdlen;
  }
  return {};
}

class CookieEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = testutil::MakeZoneSet(
        {{"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")}});
    ASSERT_TRUE(set.ok()) << set.status();
    zones_ = *set;
    secrets_ = Secrets("e5e973e5a6b2a43f48e7dc849e37bfcf");
    config_.cookies = &secrets_;
  }
  // Answers `q` from `ip` at `now` (one query, and in a burst: the same).
  AnswerResult Ask(const std::vector<uint8_t>& q, const Addr& ip,
                   uint32_t now) {
    buf_.assign(4096, 0);
    std::copy(q.begin(), q.end(), buf_.begin());
    const Client c{ip.bytes, ip.v6, now};
    const AnswerResult r = Answer(*zones_, config_, Transport::kUdp,
                                  buf_.data(), q.size(), buf_.size(), c);
    std::vector<uint8_t> burst(4096, 0);
    std::copy(q.begin(), q.end(), burst.begin());
    AnswerJob job{burst.data(), q.size(), burst.size(), {}, c};
    AnswerBurst(*zones_, config_, Transport::kUdp, &job, 1);
    EXPECT_EQ(job.result.size, r.size);
    EXPECT_EQ(job.result.cookie, r.cookie);
    EXPECT_TRUE(std::equal(buf_.begin(), buf_.begin() + r.size,
                           burst.begin()));
    return r;
  }
  std::shared_ptr<zone::ZoneSet> zones_;
  CookieSecrets secrets_;
  AnswerConfig config_;
  std::vector<uint8_t> buf_;
};

// RFC 7873 5.2.3: only a client cookie: a normal answer with the client
// cookie and a fresh server cookie; 5.2.5: a second query presenting that
// server cookie is valid and gets the same cookie back (RFC 9018 4.3: it is
// younger than half an hour).
TEST_F(CookieEngineTest, Rfc7873ClientCookieThenValidServerCookie) {
  const Addr ip = Ip("198.51.100.100");
  const auto client = Hex("2464c4abcf10c957");
  AnswerResult r =
      Ask(CookieQuery("www.example.test.", rrtype::kA, client), ip,
          1559731985);
  EXPECT_EQ(r.cookie, CookieState::kClientOnly);
  auto m = testutil::ParseMessage(buf_.data(), r.size);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rcode, 0);
  EXPECT_EQ(m->answer.size(), 2u);
  const std::vector<uint8_t> cookie = ResponseCookie(buf_.data(), r.size);
  ASSERT_EQ(cookie.size(), 24u);
  EXPECT_EQ(ToHex(cookie.data(), 24),
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480");

  r = Ask(CookieQuery("www.example.test.", rrtype::kA, cookie), ip,
          1559731985 + 10);
  EXPECT_EQ(r.cookie, CookieState::kValid);
  EXPECT_EQ(ResponseCookie(buf_.data(), r.size), cookie);
  // The same cookie from another address is not ours (RFC 9018 4.4: the
  // hash covers the client address).
  r = Ask(CookieQuery("www.example.test.", rrtype::kA, cookie),
          Ip("198.51.100.7"), 1559731985 + 10);
  EXPECT_EQ(r.cookie, CookieState::kClientOnly);
  // Every response to a query with a cookie carries one, negative ones too.
  r = Ask(CookieQuery("nope.example.test.", rrtype::kA, client), ip,
          1559731985);
  EXPECT_EQ(r.outcome, Outcome::kNxDomain);
  EXPECT_EQ(ResponseCookie(buf_.data(), r.size).size(), 24u);
}

// RFC 7873 5.2.2: a COOKIE option shorter than 8, between 9 and 15, or
// longer than 40 bytes is FORMERR.
TEST_F(CookieEngineTest, Rfc7873MalformedCookieIsFormErr) {
  const Addr ip = Ip("198.51.100.100");
  for (size_t len : {0, 5, 9, 15, 41}) {
    const AnswerResult r =
        Ask(CookieQuery("www.example.test.", rrtype::kA,
                        std::vector<uint8_t>(len, 0xAB)),
            ip, 1559731985);
    EXPECT_EQ(r.outcome, Outcome::kFormErr) << len;
    EXPECT_EQ(r.rcode, 1) << len;
  }
  for (size_t len : {8, 16, 24, 40}) {
    const AnswerResult r =
        Ask(CookieQuery("www.example.test.", rrtype::kA,
                        std::vector<uint8_t>(len, 0xAB)),
            ip, 1559731985);
    EXPECT_EQ(r.outcome, Outcome::kAnswer) << len;
    // 16..40 bytes that are not our cookie: RFC 7873 5.2.4, as client only.
    EXPECT_EQ(r.cookie, CookieState::kClientOnly) << len;
  }
}

// Without secrets the option is ignored (RFC 7873 5.1: a server that does
// not implement cookies answers as if there were none).
TEST_F(CookieEngineTest, CookiesOffIgnoresOption) {
  config_.cookies = nullptr;
  const Addr ip = Ip("198.51.100.100");
  const AnswerResult r = Ask(
      CookieQuery("www.example.test.", rrtype::kA, Hex("2464c4abcf10c957")),
      ip, 1559731985);
  EXPECT_EQ(r.outcome, Outcome::kAnswer);
  EXPECT_EQ(r.cookie, CookieState::kNone);
  EXPECT_TRUE(ResponseCookie(buf_.data(), r.size).empty());
}

// The cookie option counts against the client's UDP size (RFC 6891 7): a
// response that no longer fits is truncated, and still carries the cookie.
TEST_F(CookieEngineTest, CookieCountsAgainstUdpLimit) {
  const Addr ip = Ip("198.51.100.100");
  auto q = CookieQuery("big.example.test.", rrtype::kTxt,
                       Hex("2464c4abcf10c957"));
  // EDNS size 512: the six 100-byte TXT records do not fit.
  const size_t opt = q.size() - 4 - 8 - 11;
  q[opt + 3] = 0x02;
  q[opt + 4] = 0x00;
  const AnswerResult r = Ask(q, ip, 1559731985);
  EXPECT_TRUE(r.truncated);
  EXPECT_LE(r.size, 512u);
  EXPECT_EQ(ResponseCookie(buf_.data(), r.size).size(), 24u);
}

}  // namespace
}  // namespace popdns::dns
