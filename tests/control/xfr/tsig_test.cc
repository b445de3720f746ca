// Tests of TSIG (RFC 8945, control/xfr/tsig.h).
//
// Interop with a real implementation, dnspython, both ways:
//  - dnspython -> popdns: tsig_vectors.h holds messages dnspython signed
//    (make_tsig_vectors.py, committed so that this test needs no python):
//    a query, a response, a 3-message stream signed with dnspython's
//    multi-message context and one with its middle message unsigned, for
//    each algorithm. We verify them as a server (the query) and as a client
//    (the responses).
//  - popdns -> dnspython: messages signed here are handed to
//    verify_tsig.py through popen. That runs dnspython itself rather than
//    comparing against committed bytes of our own output, so a change on
//    our side that dnspython would reject cannot be committed along with
//    regenerated "expected" bytes. Without python3-dnspython those tests
//    skip, and fail when the CI environment variable is set (CI must run
//    them).
#include "control/xfr/tsig.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/control/xfr/tsig_vectors.h"

namespace popdns::xfr {
namespace {

using tsig_vectors::kAlgorithmVectors;
using tsig_vectors::kVectorKeyName;
using tsig_vectors::kVectorQueryId;
using tsig_vectors::kVectorSecret;
using tsig_vectors::kVectorTime;
using tsig_vectors::VectorMessage;

using Bytes = std::vector<uint8_t>;

constexpr TsigAlgorithm kAllAlgorithms[] = {
    TsigAlgorithm::kHmacSha1, TsigAlgorithm::kHmacSha256,
    TsigAlgorithm::kHmacSha384, TsigAlgorithm::kHmacSha512};

size_t HashSize(TsigAlgorithm a) {
  switch (a) {
    case TsigAlgorithm::kHmacSha1: return 20;
    case TsigAlgorithm::kHmacSha256: return 32;
    case TsigAlgorithm::kHmacSha384: return 48;
    case TsigAlgorithm::kHmacSha512: return 64;
  }
  return 0;
}

Bytes ToBytes(const VectorMessage& m) { return Bytes(m.data, m.data + m.size); }

std::string Hex(const Bytes& b) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 15]);
  }
  return s;
}

std::string Wire(std::string_view s) { return std::string(s); }
std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

void Put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes* b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
void Put48(Bytes* b, uint64_t v) {
  Put16(b, static_cast<uint16_t>(v >> 32));
  Put32(b, static_cast<uint32_t>(v));
}
void PutStr(Bytes* b, std::string_view s) { b->insert(b->end(), s.begin(), s.end()); }
uint16_t Get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

const std::string kQname("\x07" "example" "\x04" "test" "\x00", 14);

// An AXFR query for example.test. (RFC 5936 2.2), RD set as dnspython's.
Bytes Query(uint16_t id) {
  Bytes m;
  Put16(&m, id);
  Put16(&m, 0x0100);
  Put16(&m, 1);
  Put16(&m, 0);
  Put16(&m, 0);
  Put16(&m, 0);
  PutStr(&m, kQname);
  Put16(&m, 252);  // AXFR
  Put16(&m, 1);
  return m;
}

// A response with `n` A records whose owner points at the question.
Bytes Response(uint16_t id, int n, uint8_t first) {
  Bytes m;
  Put16(&m, id);
  Put16(&m, 0x8400);  // QR AA
  Put16(&m, 1);
  Put16(&m, static_cast<uint16_t>(n));
  Put16(&m, 0);
  Put16(&m, 0);
  PutStr(&m, kQname);
  Put16(&m, 252);
  Put16(&m, 1);
  for (int i = 0; i < n; ++i) {
    Put16(&m, 0xC00C);
    Put16(&m, 1);
    Put16(&m, 1);
    Put32(&m, 3600);
    Put16(&m, 4);
    PutStr(&m, std::string{'\xc0', '\x00', '\x02',
                           static_cast<char>(first + i)});
  }
  return m;
}

// TSIG RDATA (RFC 8945 4.2).
Bytes TsigRdata(std::string_view algorithm, uint64_t time, uint16_t fudge,
                std::string_view mac, uint16_t id, uint16_t error,
                std::string_view other) {
  Bytes r;
  PutStr(&r, algorithm);
  Put48(&r, time);
  Put16(&r, fudge);
  Put16(&r, static_cast<uint16_t>(mac.size()));
  PutStr(&r, mac);
  Put16(&r, id);
  Put16(&r, error);
  Put16(&r, static_cast<uint16_t>(other.size()));
  PutStr(&r, other);
  return r;
}

// Appends a record to the additional section.
void AppendRr(Bytes* m, std::string_view owner, uint16_t type, uint16_t rclass,
              uint32_t ttl, const Bytes& rdata) {
  PutStr(m, owner);
  Put16(m, type);
  Put16(m, rclass);
  Put32(m, ttl);
  Put16(m, static_cast<uint16_t>(rdata.size()));
  m->insert(m->end(), rdata.begin(), rdata.end());
  const uint16_t ar = Get16(*m, 10);
  (*m)[10] = static_cast<uint8_t>((ar + 1) >> 8);
  (*m)[11] = static_cast<uint8_t>(ar + 1);
}

TsigRecord MustFind(const Bytes& m) {
  TsigRecord rec;
  EXPECT_EQ(FindTsig(m.data(), m.size(), &rec), TsigFind::kFound);
  return rec;
}

// The signed message `m` with its TSIG rebuilt around another MAC (and
// optionally another class/TTL), the owner written uncompressed.
Bytes WithMac(const Bytes& m, std::string_view mac, uint16_t rclass = 255,
              uint32_t ttl = 0) {
  const TsigRecord rec = MustFind(m);
  Bytes out(m.begin(), m.begin() + rec.offset);
  out[10] = static_cast<uint8_t>((Get16(m, 10) - 1) >> 8);
  out[11] = static_cast<uint8_t>(Get16(m, 10) - 1);
  AppendRr(&out, rec.key_name, 250, rclass, ttl,
           TsigRdata(rec.algorithm, rec.time_signed, rec.fudge, mac,
                     rec.original_id, rec.error, rec.other));
  return out;
}

TsigKey MustKey(std::string_view name, TsigAlgorithm algorithm,
                std::string_view secret = kVectorSecret) {
  auto key = MakeTsigKey(name, TsigAlgorithmName(algorithm), secret);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// ---------------------------------------------------------------------------
// dnspython, for the popdns -> dnspython direction.

bool HaveDnspython() {
  static const bool have =
      std::system("/usr/bin/python3 -c 'import dns.tsig' >/dev/null 2>&1") == 0;
  return have;
}

// verify_tsig.py next to this file. Meson compiles it with a path relative
// to the build root, and the binary sits in <build>/tests/control/xfr.
std::string VerifierScript() {
  const std::string file = __FILE__;
  const std::string dir = file.substr(0, file.rfind('/') + 1);
  std::vector<std::string> candidates;
  if (!dir.empty() && dir[0] == '/') {
    candidates.push_back(dir + "verify_tsig.py");
  } else {
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
      std::string exe_dir(exe, static_cast<size_t>(n));
      exe_dir.resize(exe_dir.rfind('/') + 1);
      candidates.push_back(exe_dir + "../../../" + dir + "verify_tsig.py");
    }
    candidates.push_back(dir + "verify_tsig.py");
  }
  for (const std::string& c : candidates) {
    if (access(c.c_str(), R_OK) == 0) return c;
  }
  return {};
}

// Skips without dnspython, except under CI where that is a failure.
#define REQUIRE_DNSPYTHON()                                                 \
  do {                                                                      \
    if (!HaveDnspython()) {                                                 \
      if (std::getenv("CI") != nullptr) {                                   \
        FAIL() << "CI is set but python3-dnspython is missing: "            \
                  "apt-get install python3-dnspython";                      \
      }                                                                     \
      GTEST_SKIP() << "python3-dnspython not installed";                    \
    }                                                                       \
    ASSERT_FALSE(VerifierScript().empty()) << "verify_tsig.py not found";   \
  } while (0)

// Runs verify_tsig.py; returns its output, *ok = exit status 0.
std::string DnspythonVerify(TsigAlgorithm algorithm, uint64_t now,
                            const char* mode, const std::vector<Bytes>& msgs,
                            bool* ok) {
  std::string cmd = "/usr/bin/python3 '" + VerifierScript() +
                    "' --algorithm " + std::string(TsigAlgorithmName(algorithm)) +
                    " --key-name '" + kVectorKeyName + "' --secret '" +
                    kVectorSecret + "' --now " + std::to_string(now) +
                    " --mode " + mode;
  for (const Bytes& m : msgs) absl::StrAppend(&cmd, " ", Hex(m));
  cmd += " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *ok = false;
    return "popen failed";
  }
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int status = pclose(p);
  *ok = status == 0;
  return out;
}

// ---------------------------------------------------------------------------
// Algorithms and keys.

// RFC 8945 6: algorithm names, compared case-insensitively.
TEST(TsigAlgorithm, ParsesNamesCaseInsensitively_Rfc8945Sec6) {
  EXPECT_EQ(*ParseTsigAlgorithm("hmac-sha1"), TsigAlgorithm::kHmacSha1);
  EXPECT_EQ(*ParseTsigAlgorithm("HMAC-SHA256."), TsigAlgorithm::kHmacSha256);
  EXPECT_EQ(*ParseTsigAlgorithm("Hmac-Sha384"), TsigAlgorithm::kHmacSha384);
  EXPECT_EQ(*ParseTsigAlgorithm("hmac-sha512."), TsigAlgorithm::kHmacSha512);
  for (const char* bad : {"", ".", "hmac-md5", "hmac-md5.sig-alg.reg.int.",
                          "hmac-sha224", "hmac-sha256..", "sha256"}) {
    auto a = ParseTsigAlgorithm(bad);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(TsigAlgorithmName(TsigAlgorithm::kHmacSha256), "hmac-sha256");
  EXPECT_EQ(TsigAlgorithmWire(TsigAlgorithm::kHmacSha1),
            Wire(std::string_view("\x09hmac-sha1\x00", 11)));
  EXPECT_EQ(TsigAlgorithmWire(TsigAlgorithm::kHmacSha512),
            Wire(std::string_view("\x0bhmac-sha512\x00", 13)));
}

TEST(MakeTsigKey, LowercasesTheNameAndDecodesBase64Padding) {
  auto key = MakeTsigKey("Xfr-Key.Example.", "HMAC-SHA256", "YQ==");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->name, Wire(std::string_view("\x07xfr-key\x07" "example\x00", 17)));
  EXPECT_EQ(key->name_text, "Xfr-Key.Example.");
  EXPECT_EQ(key->algorithm, TsigAlgorithm::kHmacSha256);
  EXPECT_EQ(key->secret, "a");
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha1", "YWI=")->secret, "ab");
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha1", "YWJj")->secret, "abc");
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha1", " YWJj\nZA==\n")->secret, "abcd");
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha1", "YWJj")->name_text, "k.");
  EXPECT_EQ(MakeTsigKey("a\\.b", "hmac-sha1", "YWJj")->name,
            Wire(std::string_view("\x03" "a.b" "\x00", 5)));
  EXPECT_EQ(MakeTsigKey("\\065b", "hmac-sha1", "YWJj")->name,
            Wire(std::string_view("\x02" "ab" "\x00", 4)));
  auto vector_key = MakeTsigKey(kVectorKeyName, "hmac-sha256", kVectorSecret);
  ASSERT_TRUE(vector_key.ok());
  EXPECT_EQ(vector_key->secret, "popdns tsig test secret, 35 bytes!!");
}

TEST(MakeTsigKey, RejectsBadBase64WithoutEchoingTheSecret) {
  for (const char* bad :
       {"", "   ", "Y", "YQ", "YQ=", "YQ===", "Y===", "====", "Y=Q=", "=YQ=",
        "YQ==YQ==", "YW*j", "YWJj-", "YWJ-", "c2VjcmV0c2VjcmV0!", "\xc3\xa9QQQ"}) {
    auto key = MakeTsigKey("xfr-key.", "hmac-sha256", bad);
    ASSERT_FALSE(key.ok()) << "'" << bad << "'";
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    if (std::string_view(bad).size() >= 4) {
      EXPECT_FALSE(absl::StrContains(key.status().message(), bad))
          << key.status();
    }
    EXPECT_TRUE(absl::StrContains(key.status().message(), "xfr-key."))
        << key.status();
  }
}

TEST(MakeTsigKey, RejectsBadNamesAndAlgorithms) {
  for (const char* bad : {"", ".", "a..b", ".a", "a\\", "a\\25", "a\\256",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                          "aaaaaaaaaaaaaa.x"}) {
    EXPECT_EQ(MakeTsigKey(bad, "hmac-sha256", "YWJj").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  auto key = MakeTsigKey("k.", "hmac-md5", "c2VjcmV0c2VjcmV0");
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(absl::StrContains(key.status().message(), "hmac-md5"));
  EXPECT_FALSE(absl::StrContains(key.status().message(), "c2VjcmV0"));
}

TEST(TsigKeyring, RejectsDuplicateKeyNamesCaseInsensitively) {
  TsigKeyring ring;
  ASSERT_TRUE(ring.Add(MustKey("xfr-key.example.", TsigAlgorithm::kHmacSha256)).ok());
  ASSERT_TRUE(ring.Add(MustKey("notify-key", TsigAlgorithm::kHmacSha1)).ok());
  const absl::Status dup =
      ring.Add(MustKey("XFR-Key.Example", TsigAlgorithm::kHmacSha512));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(absl::StrContains(dup.message(), kVectorSecret));
  EXPECT_EQ(ring.size(), 2u);

  const TsigKey* k = ring.Find(std::string_view("\x07XFR-KEY\x07" "example\x00", 17));
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->algorithm, TsigAlgorithm::kHmacSha256);
  EXPECT_EQ(ring.FindByText("Xfr-Key.Example."), k);
  EXPECT_EQ(ring.FindByText("xfr-key.example"), k);
  EXPECT_NE(ring.FindByText("notify-key."), nullptr);
  EXPECT_EQ(ring.FindByText("other-key."), nullptr);
  EXPECT_EQ(ring.FindByText("a..b"), nullptr);
  EXPECT_EQ(ring.Find(std::string_view("\x07xfr-key\x00", 9)), nullptr);
}

// ---------------------------------------------------------------------------
// dnspython -> popdns.

// RFC 8945 4.3.1, 5.2: a query signed by dnspython verifies on the server
// side; its key name (compressed by dnspython against the question,
// mixed case) is found decompressed and lowercased.
TEST(DnspythonInterop, VerifiesSignedQueryAsServer_Rfc8945Sec4_3_1) {
  for (const auto& v : kAlgorithmVectors) {
    SCOPED_TRACE(v.algorithm);
    const TsigAlgorithm alg = *ParseTsigAlgorithm(v.algorithm);
    const Bytes q = ToBytes(v.query);
    TsigRecord rec;
    ASSERT_EQ(FindTsig(q.data(), q.size(), &rec), TsigFind::kFound);
    EXPECT_EQ(rec.key_name,
              Wire(std::string_view("\x07xfr-key\x07" "example\x04test\x00", 22)));
    EXPECT_EQ(rec.algorithm, TsigAlgorithmWire(alg));
    EXPECT_EQ(rec.time_signed, kVectorTime);
    EXPECT_EQ(rec.fudge, 300);
    EXPECT_EQ(rec.original_id, kVectorQueryId);
    EXPECT_EQ(rec.error, kTsigNoError);
    EXPECT_EQ(rec.mac.size(), HashSize(alg));

    TsigKeyring ring;
    ASSERT_TRUE(ring.Add(MustKey("xfr-key.example.test.", alg)).ok());
    const TsigKey* key = ring.Find(rec.key_name);
    ASSERT_NE(key, nullptr);
    TsigContext server(*key);
    EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime),
              kTsigNoError);
    // RFC 8945 5.2.3: inside the fudge, on both sides of the boundary.
    EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime + 300),
              kTsigNoError);
    EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime - 300),
              kTsigNoError);
    EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime + 301),
              kTsigBadTime);
    EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime - 301),
              kTsigBadTime);

    // RFC 8945 5.2.2: another secret is BADSIG.
    const TsigKey wrong = MustKey("xfr-key.example.test.", alg, "d3Jvbmc=");
    TsigContext bad(wrong);
    EXPECT_EQ(bad.VerifyRequest(q.data(), q.size(), rec, kVectorTime),
              kTsigBadSig);
    // A key of another algorithm under that name: BADKEY, never accepted.
    const TsigKey other_alg = MustKey(
        "xfr-key.example.test.", alg == TsigAlgorithm::kHmacSha1
                                     ? TsigAlgorithm::kHmacSha256
                                     : TsigAlgorithm::kHmacSha1);
    TsigContext other(other_alg);
    EXPECT_EQ(other.VerifyRequest(q.data(), q.size(), rec, kVectorTime),
              kTsigBadKey);
  }
}

// RFC 8945 4.3.1 and 4.3.3: signing the same query at the same time with
// the same key gives dnspython's MAC (canonical names in the variables).
TEST(DnspythonInterop, OurRequestMacEqualsDnspythons_Rfc8945Sec4_3_3) {
  for (const auto& v : kAlgorithmVectors) {
    SCOPED_TRACE(v.algorithm);
    const TsigAlgorithm alg = *ParseTsigAlgorithm(v.algorithm);
    const Bytes theirs = ToBytes(v.query);
    const TsigRecord their_rec = MustFind(theirs);
    Bytes ours = theirs;
    StripTsig(&ours, their_rec);
    EXPECT_EQ(ours, Query(kVectorQueryId));
    const TsigKey key = MustKey(kVectorKeyName, alg);
    TsigContext client(key);
    client.SignRequest(&ours, kVectorTime);
    const TsigRecord our_rec = MustFind(ours);
    EXPECT_EQ(Hex(Bytes(our_rec.mac.begin(), our_rec.mac.end())),
              Hex(Bytes(their_rec.mac.begin(), their_rec.mac.end())));
    EXPECT_EQ(our_rec.key_name, their_rec.key_name);
    EXPECT_EQ(our_rec.offset, their_rec.offset);
  }
}

// RFC 8945 4.3.2: dnspython's response over our request's MAC verifies on
// the client side.
TEST(DnspythonInterop, VerifiesSignedResponseAsClient_Rfc8945Sec4_3_2) {
  for (const auto& v : kAlgorithmVectors) {
    SCOPED_TRACE(v.algorithm);
    const TsigKey key = MustKey(kVectorKeyName, *ParseTsigAlgorithm(v.algorithm));
    Bytes q = Query(kVectorQueryId);
    TsigContext client(key);
    client.SignRequest(&q, kVectorTime);
    const Bytes r = ToBytes(v.response);
    size_t unsigned_len = 0;
    const absl::Status s =
        client.VerifyResponse(r.data(), r.size(), kVectorTime + 5, &unsigned_len);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(unsigned_len, MustFind(r).offset);
    EXPECT_FALSE(client.expecting_signed());

    // RFC 8945 5.2.3 on the client: out of the fudge is BADTIME.
    TsigContext late(key);
    Bytes q2 = Query(kVectorQueryId);
    late.SignRequest(&q2, kVectorTime);
    const absl::Status t =
        late.VerifyResponse(r.data(), r.size(), kVectorTime + 301, &unsigned_len);
    EXPECT_EQ(t.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_TRUE(absl::StrContains(t.message(), "BADTIME")) << t;

    // One changed byte of the answer: BADSIG.
    Bytes tampered = r;
    tampered[tampered.size() / 3] ^= 0x01;
    TsigContext c3(key);
    Bytes q3 = Query(kVectorQueryId);
    c3.SignRequest(&q3, kVectorTime);
    const absl::Status u = c3.VerifyResponse(tampered.data(), tampered.size(),
                                             kVectorTime, &unsigned_len);
    EXPECT_FALSE(u.ok());
  }
}

// RFC 8945 5.3.1: a multi-message stream dnspython signed with its
// multi-message context verifies in order, and not out of order.
TEST(DnspythonInterop, VerifiesMultiMessageStream_Rfc8945Sec5_3_1) {
  for (const auto& v : kAlgorithmVectors) {
    SCOPED_TRACE(v.algorithm);
    const TsigKey key = MustKey(kVectorKeyName, *ParseTsigAlgorithm(v.algorithm));
    {
      TsigContext client(key);
      Bytes q = Query(kVectorQueryId);
      client.SignRequest(&q, kVectorTime);
      for (int i = 0; i < 3; ++i) {
        const Bytes m = ToBytes(v.stream[i]);
        size_t unsigned_len = 0;
        const absl::Status s =
            client.VerifyResponse(m.data(), m.size(), kVectorTime, &unsigned_len);
        ASSERT_TRUE(s.ok()) << "message " << i << ": " << s;
        EXPECT_EQ(unsigned_len, MustFind(m).offset);
      }
      EXPECT_FALSE(client.expecting_signed());
    }
    {  // The second message first: BADSIG.
      TsigContext client(key);
      Bytes q = Query(kVectorQueryId);
      client.SignRequest(&q, kVectorTime);
      const Bytes m0 = ToBytes(v.stream[0]);
      const Bytes m2 = ToBytes(v.stream[2]);
      size_t unsigned_len = 0;
      ASSERT_TRUE(client.VerifyResponse(m0.data(), m0.size(), kVectorTime,
                                        &unsigned_len).ok());
      const absl::Status s =
          client.VerifyResponse(m2.data(), m2.size(), kVectorTime, &unsigned_len);
      EXPECT_TRUE(absl::StrContains(s.message(), "BADSIG")) << s;
    }
  }
}

// RFC 8945 5.3.1: an unsigned message in the middle is accepted and its
// bytes are part of the next signed message's digest.
TEST(DnspythonInterop, VerifiesStreamWithUnsignedMiddleMessage_Rfc8945Sec5_3_1) {
  for (const auto& v : kAlgorithmVectors) {
    SCOPED_TRACE(v.algorithm);
    const TsigKey key = MustKey(kVectorKeyName, *ParseTsigAlgorithm(v.algorithm));
    TsigContext client(key);
    Bytes q = Query(kVectorQueryId);
    client.SignRequest(&q, kVectorTime);
    size_t unsigned_len = 0;
    const Bytes m0 = ToBytes(v.unsigned_stream[0]);
    const Bytes m1 = ToBytes(v.unsigned_stream[1]);
    const Bytes m2 = ToBytes(v.unsigned_stream[2]);
    EXPECT_EQ(FindTsig(m1.data(), m1.size(), nullptr), TsigFind::kNone);
    ASSERT_TRUE(client.VerifyResponse(m0.data(), m0.size(), kVectorTime,
                                      &unsigned_len).ok());
    ASSERT_TRUE(client.VerifyResponse(m1.data(), m1.size(), kVectorTime,
                                      &unsigned_len).ok());
    EXPECT_EQ(unsigned_len, m1.size());
    EXPECT_TRUE(client.expecting_signed());
    const absl::Status s =
        client.VerifyResponse(m2.data(), m2.size(), kVectorTime, &unsigned_len);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_FALSE(client.expecting_signed());

    // Without the unsigned message the third one does not verify.
    TsigContext skip(key);
    Bytes q2 = Query(kVectorQueryId);
    skip.SignRequest(&q2, kVectorTime);
    ASSERT_TRUE(skip.VerifyResponse(m0.data(), m0.size(), kVectorTime,
                                    &unsigned_len).ok());
    EXPECT_FALSE(skip.VerifyResponse(m2.data(), m2.size(), kVectorTime,
                                     &unsigned_len).ok());
  }
}

// ---------------------------------------------------------------------------
// popdns -> dnspython.

// A signed request and response, both ways through our code, then checked
// by dnspython (RFC 8945 4.3.1, 4.3.2).
TEST(DnspythonVerifies, OurSignedQueryAndResponse_Rfc8945Sec4_3) {
  REQUIRE_DNSPYTHON();
  for (TsigAlgorithm alg : kAllAlgorithms) {
    SCOPED_TRACE(TsigAlgorithmName(alg));
    const TsigKey key = MustKey(kVectorKeyName, alg);
    TsigContext client(key);
    Bytes q = Query(0x4242);
    client.SignRequest(&q, kVectorTime);

    const TsigRecord rec = MustFind(q);
    TsigContext server(key);
    ASSERT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime + 2),
              kTsigNoError);
    Bytes r = Response(0x4242, 3, 1);
    server.SignResponse(&r, kVectorTime + 2, kTsigNoError);
    EXPECT_EQ(MustFind(r).mac.size(), HashSize(alg));  // always the full MAC

    size_t unsigned_len = 0;
    ASSERT_TRUE(client.VerifyResponse(r.data(), r.size(), kVectorTime + 3,
                                      &unsigned_len).ok());
    bool ok = false;
    const std::string out =
        DnspythonVerify(alg, kVectorTime + 3, "single", {q, r}, &ok);
    EXPECT_TRUE(ok) << out;
  }
}

// RFC 8945 5.3.1: a stream signed by our server, checked by dnspython's
// multi-message reader and by our client.
TEST(DnspythonVerifies, OurMultiMessageStream_Rfc8945Sec5_3_1) {
  REQUIRE_DNSPYTHON();
  for (TsigAlgorithm alg : kAllAlgorithms) {
    SCOPED_TRACE(TsigAlgorithmName(alg));
    const TsigKey key = MustKey(kVectorKeyName, alg);
    TsigContext client(key);
    Bytes q = Query(0x0101);
    client.SignRequest(&q, kVectorTime);
    TsigContext server(key);
    ASSERT_EQ(server.VerifyRequest(q.data(), q.size(), MustFind(q), kVectorTime),
              kTsigNoError);
    std::vector<Bytes> msgs = {q};
    for (int i = 0; i < 3; ++i) {
      Bytes r = Response(0x0101, 2 + i, static_cast<uint8_t>(10 * i));
      server.SignResponse(&r, kVectorTime + i, kTsigNoError);
      size_t unsigned_len = 0;
      const absl::Status s =
          client.VerifyResponse(r.data(), r.size(), kVectorTime + 1, &unsigned_len);
      ASSERT_TRUE(s.ok()) << i << ": " << s;
      msgs.push_back(std::move(r));
    }
    bool ok = false;
    const std::string out = DnspythonVerify(alg, kVectorTime + 1, "multi", msgs, &ok);
    EXPECT_TRUE(ok) << out;
    // And dnspython notices a reordering.
    std::swap(msgs[2], msgs[3]);
    DnspythonVerify(alg, kVectorTime + 1, "multi", msgs, &ok);
    EXPECT_FALSE(ok);
  }
}

// RFC 8945 5.2.3: a request outside the fudge gets a signed BADTIME
// response that echoes the request's Time Signed and carries the server's
// time (6 bytes) in Other Data; dnspython checks its MAC.
TEST(DnspythonVerifies, OurSignedBadtimeResponse_Rfc8945Sec5_2_3) {
  REQUIRE_DNSPYTHON();
  for (TsigAlgorithm alg : kAllAlgorithms) {
    SCOPED_TRACE(TsigAlgorithmName(alg));
    const TsigKey key = MustKey(kVectorKeyName, alg);
    const uint64_t server_now = kVectorTime + 1000;
    TsigContext client(key);
    Bytes q = Query(0x7777);
    client.SignRequest(&q, kVectorTime);
    TsigContext server(key);
    ASSERT_EQ(server.VerifyRequest(q.data(), q.size(), MustFind(q), server_now),
              kTsigBadTime);
    Bytes r = Response(0x7777, 0, 0);
    r[3] = 9;  // NOTAUTH
    server.SignResponse(&r, server_now, kTsigBadTime);
    const TsigRecord rec = MustFind(r);
    EXPECT_EQ(rec.error, kTsigBadTime);
    EXPECT_EQ(rec.time_signed, kVectorTime);
    EXPECT_EQ(rec.mac.size(), HashSize(alg));
    Bytes other;
    Put48(&other, server_now);
    EXPECT_EQ(rec.other, Str(other));

    bool ok = false;
    const std::string out = DnspythonVerify(alg, server_now, "badtime", {q, r}, &ok);
    EXPECT_TRUE(ok) << out;

    size_t unsigned_len = 0;
    const absl::Status s =
        client.VerifyResponse(r.data(), r.size(), kVectorTime, &unsigned_len);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_TRUE(absl::StrContains(s.message(), "BADTIME")) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), std::to_string(server_now))) << s;
  }
}

// ---------------------------------------------------------------------------
// Errors.

// RFC 8945 5.2.2 and 5.3.2: a wrong MAC is BADSIG, answered unsigned (MAC
// size 0) with the request's timers; the client reports it.
TEST(TsigServer, WrongSecretIsBadsigAnsweredUnsigned_Rfc8945Sec5_3_2) {
  const TsigKey client_key = MustKey("xfr-key.", TsigAlgorithm::kHmacSha256);
  const TsigKey server_key =
      MustKey("xfr-key.", TsigAlgorithm::kHmacSha256, "c2VydmVyIHNpZGU=");
  TsigContext client(client_key);
  Bytes q = Query(0x1111);
  client.SignRequest(&q, kVectorTime);
  TsigContext server(server_key);
  ASSERT_EQ(server.VerifyRequest(q.data(), q.size(), MustFind(q), kVectorTime),
            kTsigBadSig);
  Bytes r = Response(0x1111, 0, 0);
  r[3] = 9;
  server.SignResponse(&r, kVectorTime + 50, kTsigBadSig);
  const TsigRecord rec = MustFind(r);
  EXPECT_EQ(rec.error, kTsigBadSig);
  EXPECT_TRUE(rec.mac.empty());
  EXPECT_EQ(rec.time_signed, kVectorTime);
  EXPECT_EQ(rec.fudge, 300);
  EXPECT_EQ(rec.original_id, 0x1111);
  size_t unsigned_len = 0;
  const absl::Status s =
      client.VerifyResponse(r.data(), r.size(), kVectorTime, &unsigned_len);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(s.message(), "BADSIG")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "c2VydmVyIHNpZGU=")) << s;
}

// RFC 8945 5.2.1 and 5.3.2: an unknown key or algorithm is the caller's
// BADKEY; the unsigned error RR echoes the request's key, algorithm and
// timers. Checked byte for byte.
TEST(TsigServer, UnknownKeyOrAlgorithmAnswersBadkey_Rfc8945Sec5_2_1) {
  TsigKeyring ring;
  ASSERT_TRUE(ring.Add(MustKey("xfr-key.", TsigAlgorithm::kHmacSha256)).ok());

  // A key we do not have.
  const TsigKey stranger = MustKey("Other-Key.", TsigAlgorithm::kHmacSha512);
  TsigContext client(stranger);
  Bytes q = Query(0x2222);
  client.SignRequest(&q, kVectorTime);
  TsigRecord rec = MustFind(q);
  EXPECT_EQ(ring.Find(rec.key_name), nullptr);
  Bytes r = Response(0x2222, 0, 0);
  r[3] = 9;  // NOTAUTH
  const size_t before = r.size();
  AppendTsigError(&r, rec, kTsigBadKey);
  Bytes expected_rr;
  PutStr(&expected_rr, std::string_view("\x09other-key\x00", 11));
  Put16(&expected_rr, 250);
  Put16(&expected_rr, 255);
  Put32(&expected_rr, 0);
  const Bytes rdata = TsigRdata(std::string_view("\x0bhmac-sha512\x00", 13),
                                kVectorTime, 300, {}, 0x2222, 17, {});
  Put16(&expected_rr, static_cast<uint16_t>(rdata.size()));
  expected_rr.insert(expected_rr.end(), rdata.begin(), rdata.end());
  EXPECT_EQ(Hex(Bytes(r.begin() + before, r.end())), Hex(expected_rr));
  EXPECT_EQ(Get16(r, 10), 1);  // ARCOUNT
  size_t unsigned_len = 0;
  const absl::Status s =
      client.VerifyResponse(r.data(), r.size(), kVectorTime, &unsigned_len);
  EXPECT_TRUE(absl::StrContains(s.message(), "BADKEY")) << s;

  // An algorithm we do not implement (hmac-md5), under a known key name.
  Bytes q2 = Query(0x3333);
  const std::string md5("\x08hmac-md5\x07sig-alg\x03reg\x03int\x00", 26);
  AppendRr(&q2, std::string_view("\x07xfr-key\x00", 9), 250, 255, 0,
           TsigRdata(md5, kVectorTime, 300, std::string(16, 'm'), 0x3333, 0, {}));
  TsigRecord rec2;
  ASSERT_EQ(FindTsig(q2.data(), q2.size(), &rec2), TsigFind::kFound);
  const TsigKey* known = ring.Find(rec2.key_name);
  ASSERT_NE(known, nullptr);
  EXPECT_NE(rec2.algorithm, TsigAlgorithmWire(known->algorithm));  // BADKEY
  TsigContext server(*known);
  EXPECT_EQ(server.VerifyRequest(q2.data(), q2.size(), rec2, kVectorTime),
            kTsigBadKey);
  Bytes r2 = Response(0x3333, 0, 0);
  const size_t before2 = r2.size();
  AppendTsigError(&r2, rec2, kTsigBadKey);
  Bytes expected2;
  PutStr(&expected2, std::string_view("\x07xfr-key\x00", 9));
  Put16(&expected2, 250);
  Put16(&expected2, 255);
  Put32(&expected2, 0);
  const Bytes rdata2 = TsigRdata(md5, kVectorTime, 300, {}, 0x3333, 17, {});
  Put16(&expected2, static_cast<uint16_t>(rdata2.size()));
  expected2.insert(expected2.end(), rdata2.begin(), rdata2.end());
  EXPECT_EQ(Hex(Bytes(r2.begin() + before2, r2.end())), Hex(expected2));
}

// RFC 8945 5.2.2.1: a MAC may be truncated down to max(10, hash length / 2)
// octets; longer than the hash or shorter than that minimum is malformed
// (FORMERR, rules 1 and 3), an empty MAC too unless the RR carries an
// error. A truncated MAC that is wrong is BADSIG.
TEST(TsigTruncation, AcceptsMacsDownToTheMinimum_Rfc8945Sec5_2_2_1) {
  for (TsigAlgorithm alg : kAllAlgorithms) {
    SCOPED_TRACE(TsigAlgorithmName(alg));
    const size_t full = HashSize(alg);
    const size_t min = std::max<size_t>(10, full / 2);
    const TsigKey key = MustKey("xfr-key.", alg);
    TsigContext client(key);
    Bytes q = Query(0x5555);
    client.SignRequest(&q, kVectorTime);
    const std::string mac = MustFind(q).mac;
    ASSERT_EQ(mac.size(), full);
    for (size_t n = 0; n <= full + 1; ++n) {
      SCOPED_TRACE(n);
      const std::string m = n <= full ? mac.substr(0, n) : mac + "x";
      const Bytes t = WithMac(q, m);
      TsigRecord rec;
      const TsigFind found = FindTsig(t.data(), t.size(), &rec);
      if (n < min || n > full) {
        EXPECT_EQ(found, TsigFind::kMalformed);
        continue;
      }
      ASSERT_EQ(found, TsigFind::kFound);
      TsigContext server(key);
      EXPECT_EQ(server.VerifyRequest(t.data(), t.size(), rec, kVectorTime),
                kTsigNoError);
      std::string wrong = m;
      wrong.back() ^= 0x40;
      const Bytes w = WithMac(q, wrong);
      EXPECT_EQ(server.VerifyRequest(w.data(), w.size(), MustFind(w), kVectorTime),
                kTsigBadSig);
    }
    // A record not from FindTsig with a short or empty MAC never verifies.
    TsigRecord rec = MustFind(q);
    TsigContext server(key);
    for (size_t n : {size_t{0}, size_t{1}, min - 1}) {
      rec.mac = mac.substr(0, n);
      EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime),
                kTsigBadSig);
    }
    // An empty MAC is malformed without an error; with one it is an
    // unsigned error response (5.3.2), well-formed but never accepted.
    const Bytes e = WithMac(q, {});
    EXPECT_EQ(FindTsig(e.data(), e.size(), nullptr), TsigFind::kMalformed);
    Bytes with_error(q.begin(), q.begin() + MustFind(q).offset);
    with_error[11] = 0;
    AppendRr(&with_error, key.name, 250, 255, 0,
             TsigRdata(TsigAlgorithmWire(alg), kVectorTime, 300, {}, 0x5555,
                       kTsigBadTime, {}));
    TsigRecord erec;
    ASSERT_EQ(FindTsig(with_error.data(), with_error.size(), &erec),
              TsigFind::kFound);
    EXPECT_EQ(server.VerifyRequest(with_error.data(), with_error.size(), erec,
                                   kVectorTime),
              kTsigBadSig);
  }
}

// RFC 8945 4.3.1: the digest uses the Original ID, so a message whose ID
// was rewritten in transit still verifies.
TEST(TsigServer, VerifiesWithOriginalIdAfterIdChange_Rfc8945Sec4_3_1) {
  const TsigKey key = MustKey("xfr-key.", TsigAlgorithm::kHmacSha256);
  TsigContext client(key);
  Bytes q = Query(0x1234);
  client.SignRequest(&q, kVectorTime);
  q[0] = 0xBE;
  q[1] = 0xEF;
  const TsigRecord rec = MustFind(q);
  EXPECT_EQ(rec.original_id, 0x1234);
  TsigContext server(key);
  EXPECT_EQ(server.VerifyRequest(q.data(), q.size(), rec, kVectorTime),
            kTsigNoError);
}

// RFC 8945 5.1 and 4.2: the TSIG RR is the last record of the additional
// section, class ANY, TTL 0, well-formed; anything else is FORMERR.
TEST(FindTsig, TsigNotLastOrOddIsMalformed_Rfc8945Sec5_1) {
  const TsigKey key = MustKey("xfr-key.", TsigAlgorithm::kHmacSha256);
  TsigContext client(key);
  Bytes q = Query(0x6666);
  EXPECT_EQ(FindTsig(q.data(), q.size(), nullptr), TsigFind::kNone);
  Bytes header_only(q.begin(), q.begin() + 12);
  header_only[5] = 0;  // QDCOUNT 0
  EXPECT_EQ(FindTsig(header_only.data(), header_only.size(), nullptr),
            TsigFind::kNone);
  EXPECT_EQ(FindTsig(q.data(), 11, nullptr), TsigFind::kMalformed);
  EXPECT_EQ(FindTsig(nullptr, 0, nullptr), TsigFind::kMalformed);
  client.SignRequest(&q, kVectorTime);
  ASSERT_EQ(FindTsig(q.data(), q.size(), nullptr), TsigFind::kFound);

  {  // A record after the TSIG.
    Bytes m = q;
    AppendRr(&m, std::string_view("\0", 1), 1, 1, 60, Bytes{192, 0, 2, 1});
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
  }
  {  // Two TSIG records.
    Bytes m = q;
    const TsigRecord rec = MustFind(q);
    AppendRr(&m, rec.key_name, 250, 255, 0,
             TsigRdata(rec.algorithm, rec.time_signed, rec.fudge, rec.mac,
                       rec.original_id, 0, {}));
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
  }
  {  // The TSIG in the answer section.
    Bytes m = q;
    m[7] = 1;   // ANCOUNT
    m[11] = 0;  // ARCOUNT
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
  }
  {  // Class IN, TTL 1.
    const std::string mac = MustFind(q).mac;
    Bytes in = WithMac(q, mac, 1, 0);
    EXPECT_EQ(FindTsig(in.data(), in.size(), nullptr), TsigFind::kMalformed);
    Bytes ttl = WithMac(q, mac, 255, 1);
    EXPECT_EQ(FindTsig(ttl.data(), ttl.size(), nullptr), TsigFind::kMalformed);
    Bytes same = WithMac(q, mac, 255, 0);
    EXPECT_EQ(same, q);
  }
  {  // A byte after the message.
    Bytes m = q;
    m.push_back(0);
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
  }
  {  // A compressed algorithm name (RFC 8945 4.2: MUST NOT be compressed).
    Bytes m = Query(0x6666);
    Bytes rdata = {0xC0, 0x0C};  // points at the question name
    Put48(&rdata, kVectorTime);
    Put16(&rdata, 300);
    Put16(&rdata, 0);
    Put16(&rdata, 0x6666);
    Put16(&rdata, 17);
    Put16(&rdata, 0);
    AppendRr(&m, std::string_view("\x07xfr-key\x00", 9), 250, 255, 0, rdata);
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
  }
  {  // RDATA with a byte too many or too few.
    const TsigRecord rec = MustFind(q);
    Bytes rdata = TsigRdata(rec.algorithm, rec.time_signed, rec.fudge, rec.mac,
                            rec.original_id, 0, {});
    rdata.push_back(0);
    Bytes m(q.begin(), q.begin() + rec.offset);
    m[11] = 0;
    AppendRr(&m, rec.key_name, 250, 255, 0, rdata);
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
    rdata.resize(rdata.size() - 2);
    Bytes m2(q.begin(), q.begin() + rec.offset);
    m2[11] = 0;
    AppendRr(&m2, rec.key_name, 250, 255, 0, rdata);
    EXPECT_EQ(FindTsig(m2.data(), m2.size(), nullptr), TsigFind::kMalformed);
  }
  {  // A forward compression pointer as the owner name.
    Bytes m = Query(0x6666);
    AppendRr(&m, std::string_view("\xC0\xFF", 2), 250, 255, 0,
             TsigRdata(TsigAlgorithmWire(TsigAlgorithm::kHmacSha256), 0, 300,
                       std::string(32, 'x'), 0x6666, 0, {}));
    EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
  }
}

// Found by tsig_fuzzer (tests/fuzz/corpus/tsig/regress-name-runs-into-tsig.bin):
// an answer owner is a pointer to a name in the SOA RDATA whose labels run
// on past the start of the TSIG RR. The whole message parses, the signed
// part (RFC 8945 4.3.1: the message without its TSIG) does not: malformed.
TEST(FindTsig, SignedPartMustParseByItself_Rfc8945Sec4_3_1) {
  const std::string hex =
      "2a5c8500000100040000000107657861746573740000fc0001c00c0006000100"
      "000e100026026e73c00c0a686f73746d61738e9a8d3f0c78a3f17500000e1000"
      "000258000151800000003cc00c0002000100000e100002c02ac02a0001000100"
      "000e100004c0000230026d78c00c0001000100000e100004c000021907586672"
      "2d4b6579c00c00fa00ff00000000002f09686d61632d736861310000006553f1"
      "00012c00143a473b3b4efdbe7a7d7e63e3450043b7214461b92a5c00000000";
  Bytes m;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    m.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  EXPECT_EQ(FindTsig(m.data(), m.size(), nullptr), TsigFind::kMalformed);
}

// No prefix of a signed message is accepted, and none reads outside its
// exactly-sized buffer (run under ASan too). RFC 8945 5.1.
TEST(FindTsig, EveryTruncationIsRejected) {
  for (const auto& v : kAlgorithmVectors) {
    SCOPED_TRACE(v.algorithm);
    const TsigKey key = MustKey(kVectorKeyName, *ParseTsigAlgorithm(v.algorithm));
    const Bytes q = ToBytes(v.query);
    for (size_t n = 0; n < q.size(); ++n) {
      const Bytes prefix(q.begin(), q.begin() + n);
      TsigRecord rec;
      const TsigFind f = FindTsig(prefix.data(), prefix.size(), &rec);
      EXPECT_NE(f, TsigFind::kFound) << n;
      if (f == TsigFind::kFound) {
        TsigContext server(key);
        EXPECT_NE(server.VerifyRequest(prefix.data(), prefix.size(), rec,
                                       kVectorTime),
                  kTsigNoError);
      }
    }
    const VectorMessage responses[] = {v.response, v.stream[0]};
    for (const VectorMessage& vm : responses) {
      const Bytes r = ToBytes(vm);
      for (size_t n = 0; n < r.size(); ++n) {
        const Bytes prefix(r.begin(), r.begin() + n);
        TsigContext client(key);
        Bytes req = Query(kVectorQueryId);
        client.SignRequest(&req, kVectorTime);
        size_t unsigned_len = 0;
        EXPECT_FALSE(client.VerifyResponse(prefix.data(), prefix.size(),
                                           kVectorTime, &unsigned_len).ok())
            << n;
      }
    }
  }
}

// Any one changed bit outside the ID (which the Original ID stands in for,
// RFC 8945 4.3.1) makes a signed query fail: malformed, BADSIG or BADKEY.
TEST(TsigServer, EveryBitFlipIsRejected_Rfc8945Sec5_2) {
  const TsigKey key = MustKey(kVectorKeyName, TsigAlgorithm::kHmacSha256);
  const Bytes q = ToBytes(kAlgorithmVectors[1].query);
  ASSERT_STREQ(kAlgorithmVectors[1].algorithm, "hmac-sha256");
  for (size_t i = 2; i < q.size(); ++i) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      Bytes m = q;
      m[i] ^= bit;
      TsigRecord rec;
      if (FindTsig(m.data(), m.size(), &rec) != TsigFind::kFound) continue;
      TsigContext server(key);
      EXPECT_NE(server.VerifyRequest(m.data(), m.size(), rec, kVectorTime),
                kTsigNoError)
          << "byte " << i << " bit " << int{bit};
    }
  }
}

// RFC 8945 5.3.1: the first response must be signed, and at most 99 in a
// row after it may go unsigned.
TEST(TsigClient, UnsignedResponsesAreLimited_Rfc8945Sec5_3_1) {
  const TsigKey key = MustKey("xfr-key.", TsigAlgorithm::kHmacSha256);
  TsigContext client(key);
  Bytes q = Query(0x0909);
  client.SignRequest(&q, kVectorTime);
  const Bytes plain = Response(0x0909, 1, 7);
  size_t unsigned_len = 0;
  absl::Status s =
      client.VerifyResponse(plain.data(), plain.size(), kVectorTime, &unsigned_len);
  EXPECT_TRUE(absl::StrContains(s.message(), "unsigned response")) << s;

  TsigContext server(key);
  ASSERT_EQ(server.VerifyRequest(q.data(), q.size(), MustFind(q), kVectorTime),
            kTsigNoError);
  Bytes first = Response(0x0909, 1, 1);
  server.SignResponse(&first, kVectorTime, kTsigNoError);
  ASSERT_TRUE(client.VerifyResponse(first.data(), first.size(), kVectorTime,
                                    &unsigned_len).ok());
  for (int i = 0; i < 99; ++i) {
    ASSERT_TRUE(client.VerifyResponse(plain.data(), plain.size(), kVectorTime,
                                      &unsigned_len).ok())
        << i;
    EXPECT_EQ(unsigned_len, plain.size());
    EXPECT_TRUE(client.expecting_signed());
  }
  s = client.VerifyResponse(plain.data(), plain.size(), kVectorTime,
                            &unsigned_len);
  EXPECT_TRUE(absl::StrContains(s.message(), "unsigned response")) << s;
}

// What the answer engine gets for a verified query.
TEST(StripTsig, RemovesTheRecordAndLowersArcount) {
  const TsigKey key = MustKey("xfr-key.", TsigAlgorithm::kHmacSha1);
  TsigContext client(key);
  const Bytes plain = Query(0x4444);
  Bytes q = plain;
  client.SignRequest(&q, kVectorTime);
  EXPECT_EQ(Get16(q, 10), 1);
  StripTsig(&q, MustFind(q));
  EXPECT_EQ(q, plain);
}

}  // namespace
}  // namespace popdns::xfr
