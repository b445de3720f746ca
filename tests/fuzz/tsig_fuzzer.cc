// libFuzzer target for TSIG (control/xfr/tsig.h, RFC 8945): arbitrary
// bytes as a signed request and as a signed response, never a crash nor a
// read outside the input.
//
// The key is the one of tests/control/xfr/tsig_vectors.h (dnspython's test
// vectors), with the algorithm the record names, and the clock is theirs,
// so the seeds (tests/fuzz/corpus/tsig/, written by
// make_tsig_vectors.py --seeds) verify and mutations start from messages
// that reach the MAC and time checks.
//
// Per input:
//  - FindTsig; a found record lies inside the message (12 <= offset < size);
//  - server side: VerifyRequest, then StripTsig + SignResponse with its
//    verdict, and the result must again hold a TSIG that FindTsig finds;
//    AppendTsigError on a copy likewise;
//  - client side: after signing dnspython's query, VerifyResponse on the
//    input as the first response, then again as a next message of a
//    stream (prior-MAC and unsigned-message paths).
// Built by tests/fuzz/meson.build with -Dfuzzers=true and clang; run with
// tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "control/xfr/tsig.h"
#include "tests/control/xfr/tsig_vectors.h"

namespace popdns::xfr {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tsig_fuzzer: invariant failed: %s\n", what);
    __builtin_trap();
  }
}

constexpr TsigAlgorithm kAlgorithms[] = {
    TsigAlgorithm::kHmacSha1, TsigAlgorithm::kHmacSha256,
    TsigAlgorithm::kHmacSha384, TsigAlgorithm::kHmacSha512};

const TsigKey& Key(TsigAlgorithm a) {
  static const std::vector<TsigKey>* keys = [] {
    auto* k = new std::vector<TsigKey>;
    for (TsigAlgorithm alg : kAlgorithms) {
      auto key = MakeTsigKey(tsig_vectors::kVectorKeyName,
                             TsigAlgorithmName(alg), tsig_vectors::kVectorSecret);
      Check(key.ok(), "fixed key");
      k->push_back(*std::move(key));
    }
    return k;
  }();
  return (*keys)[static_cast<size_t>(a)];
}

// The key for the record's algorithm, hmac-sha256 when it names another
// (then every check is BADKEY, also a path worth running).
const TsigKey& KeyFor(const TsigRecord& rec) {
  for (TsigAlgorithm a : kAlgorithms) {
    if (rec.algorithm == TsigAlgorithmWire(a)) return Key(a);
  }
  return Key(TsigAlgorithm::kHmacSha256);
}

// dnspython's query for `a`, without its TSIG: signed again here it gets
// the very MAC dnspython's responses were computed over.
std::vector<uint8_t> PlainQuery(TsigAlgorithm a) {
  const auto& v = tsig_vectors::kAlgorithmVectors[static_cast<size_t>(a)];
  std::vector<uint8_t> q(v.query.data, v.query.data + v.query.size);
  TsigRecord rec;
  Check(FindTsig(q.data(), q.size(), &rec) == TsigFind::kFound, "seed query");
  StripTsig(&q, rec);
  return q;
}

void Server(const uint8_t* data, size_t size, const TsigRecord& rec) {
  TsigContext server(KeyFor(rec));
  const uint16_t error =
      server.VerifyRequest(data, size, rec, tsig_vectors::kVectorTime);
  Check(error == kTsigNoError || error == kTsigBadSig ||
            error == kTsigBadTime || error == kTsigBadKey,
        "VerifyRequest verdict");
  std::vector<uint8_t> response(data, data + size);
  StripTsig(&response, rec);
  Check(response.size() == rec.offset, "StripTsig size");
  server.SignResponse(&response, tsig_vectors::kVectorTime + 1, error);
  Check(response.size() > rec.offset, "SignResponse appended a TSIG");
  Check(FindTsig(response.data(), response.size(), nullptr) == TsigFind::kFound,
        "signed response has a findable TSIG");
  std::vector<uint8_t> badkey(data, data + rec.offset);
  AppendTsigError(&badkey, rec, kTsigBadKey);
}

void Client(const uint8_t* data, size_t size, TsigAlgorithm a) {
  TsigContext client(Key(a));
  std::vector<uint8_t> q = PlainQuery(a);
  client.SignRequest(&q, tsig_vectors::kVectorTime);
  size_t unsigned_len = 0;
  const bool first_ok =
      client.VerifyResponse(data, size, tsig_vectors::kVectorTime,
                            &unsigned_len).ok();
  if (first_ok) Check(unsigned_len <= size, "unsigned_len within input");
  // As the next message of a stream (or, when the first failed, once more
  // as a first message).
  unsigned_len = 0;
  if (client.VerifyResponse(data, size, tsig_vectors::kVectorTime,
                            &unsigned_len).ok()) {
    Check(unsigned_len <= size, "unsigned_len within input");
  }
}

}  // namespace
}  // namespace popdns::xfr

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace popdns::xfr;
  TsigRecord rec;
  const TsigFind found = FindTsig(data, size, &rec);
  TsigAlgorithm client_alg = TsigAlgorithm::kHmacSha256;
  if (found == TsigFind::kFound) {
    Check(rec.offset >= 12 && rec.offset < size, "TSIG offset inside");
    Server(data, size, rec);
    client_alg = KeyFor(rec).algorithm;
  }
  Client(data, size, client_alg);
  return 0;
}
