// Micro-benchmarks of the answer engine (dataplane/dns/answer.h): one query
// answered in place per iteration, on generated zones of 1k, 100k and 1M
// names, with the queried name cycling through 4096 random names so that the
// lookup is not one hot cache line.
//
// BM_Answer* answer one query at a time (Answer(): the latency of one query,
// every cache miss waited for in turn); BM_Burst* answer bursts of 32
// (AnswerBurst(), as the DPDK workers call it: the misses of a burst
// overlap). Both report ns per query in the time column for single
// queries; for bursts the time column is per burst of 32 and ns_per_query
// is the per-query figure.
//
// Reports queries/s per core (items_per_second) and allocs_per_query, counted (bench/bench_support.cc)
// while a benchmark loop runs; every hot path must show 0.
//
// Each benchmark first answers all of its queries once outside the timed
// loop and checks the outcome, so that a typo in the generated zone cannot
// silently turn, say, the referral case into an NXDOMAIN benchmark.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_support.h"
#include "benchmark/benchmark.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/wire.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

using bench::kApex;
using bench::ShapeFor;
using bench::ZoneShape;
using bench::ZonesFor;

constexpr size_t kQueries = 4096;  // power of two: the index is masked
constexpr size_t kBufSize = 4096;

// ---- Query sets ------------------------------------------------------------

struct QueryBuf {
  uint8_t bytes[96];
  size_t len;
};

enum class Case { kExact, kWildcard, kCname, kNxdomain, kNodata, kReferral };

std::vector<QueryBuf> MakeQueries(Case c, int64_t names) {
  const ZoneShape s = ShapeFor(names);
  std::mt19937_64 rng(0x706f70646e73 + static_cast<int>(c));
  auto pick = [&rng](int64_t n) {
    return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
  };
  testutil::QueryOptions o;
  o.edns = true;  // as most resolvers send them
  std::vector<QueryBuf> out(kQueries);
  for (size_t i = 0; i < kQueries; ++i) {
    std::string name;
    uint16_t qtype = rrtype::kA;
    switch (c) {
      case Case::kExact:
        name = absl::StrCat("host", pick(s.hosts));
        break;
      case Case::kWildcard:
        name = absl::StrCat("w", rng() % 1000000, ".wild");
        break;
      case Case::kCname:
        name = absl::StrCat("cname", pick(s.cnames));
        break;
      case Case::kNxdomain:
        name = absl::StrCat("nx", pick(names));
        break;
      case Case::kNodata:
        name = absl::StrCat("host", pick(s.hosts));
        qtype = rrtype::kTxt;
        break;
      case Case::kReferral:
        name = absl::StrCat("www", i, ".del", pick(s.dels));
        break;
    }
    o.id = static_cast<uint16_t>(i);
    const std::vector<uint8_t> q =
        testutil::MakeQuery(absl::StrCat(name, ".", kApex), qtype, o);
    if (q.size() > sizeof(out[i].bytes)) std::abort();
    std::memcpy(out[i].bytes, q.data(), q.size());
    out[i].len = q.size();
  }
  return out;
}

const std::vector<QueryBuf>& QueriesFor(Case c, int64_t names) {
  static auto* cache =
      new std::map<std::pair<Case, int64_t>, std::vector<QueryBuf>>;
  auto it = cache->find({c, names});
  if (it == cache->end()) {
    it = cache->emplace(std::make_pair(c, names), MakeQueries(c, names)).first;
  }
  return it->second;
}

Outcome Expected(Case c) {
  switch (c) {
    case Case::kExact:
    case Case::kWildcard:
    case Case::kCname:
      return Outcome::kAnswer;
    case Case::kNxdomain:
      return Outcome::kNxDomain;
    case Case::kNodata:
      return Outcome::kNoData;
    case Case::kReferral:
      return Outcome::kReferral;
  }
  return Outcome::kDropped;
}

// ---- The loop --------------------------------------------------------------

void RunAnswer(benchmark::State& state, Case c, bool precompiled) {
  const int64_t names = state.range(0);
  const zone::ZoneSet& zones = ZonesFor(names);
  const std::vector<QueryBuf>& queries = QueriesFor(c, names);
  AnswerConfig config;
  config.use_precompiled = precompiled;
  alignas(64) static uint8_t buf[kBufSize];

  // Every query must give the outcome the benchmark is named after, and a
  // CNAME must be followed to its A record (RFC 1034 4.3.2 step 3a).
  for (const QueryBuf& q : queries) {
    std::memcpy(buf, q.bytes, q.len);
    const AnswerResult r =
        Answer(zones, config, Transport::kUdp, buf, q.len, kBufSize);
    auto m = testutil::ParseMessage(buf, r.size);
    if (r.outcome != Expected(c) || !m.ok() ||
        (c == Case::kCname && m->answer.size() != 2)) {
      state.SkipWithError("unexpected answer for a benchmark query");
      return;
    }
  }

  size_t i = 0;
  bench::StartCountingAllocations();
  for (auto _ : state) {
    const QueryBuf& q = queries[i++ & (kQueries - 1)];
    std::memcpy(buf, q.bytes, q.len);
    AnswerResult r =
        Answer(zones, config, Transport::kUdp, buf, q.len, kBufSize);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(buf);
  }
  bench::ReportItemsAndAllocations(state, 1, "allocs_per_query");
}

constexpr size_t kBurst = 32;

void RunBurst(benchmark::State& state, Case c) {
  const int64_t names = state.range(0);
  const zone::ZoneSet& zones = ZonesFor(names);
  const std::vector<QueryBuf>& queries = QueriesFor(c, names);
  AnswerConfig config;
  alignas(64) static uint8_t bufs[kBurst][1232];
  AnswerJob jobs[kBurst];
  // As RunAnswer: every query must give the outcome the benchmark is named
  // after (checked on the burst path itself).
  for (size_t i = 0; i < kQueries; i += kBurst) {
    for (size_t k = 0; k < kBurst; ++k) {
      const QueryBuf& q = queries[i + k];
      std::memcpy(bufs[k], q.bytes, q.len);
      jobs[k] = {bufs[k], q.len, sizeof(bufs[k]), {}, {}};
    }
    AnswerBurst(zones, config, Transport::kUdp, jobs, kBurst);
    for (const AnswerJob& j : jobs) {
      if (j.result.outcome != Expected(c) ||
          !testutil::ParseMessage(j.buf, j.result.size).ok()) {
        state.SkipWithError("unexpected answer for a benchmark query");
        return;
      }
    }
  }

  size_t i = 0;
  bench::StartCountingAllocations();
  for (auto _ : state) {
    for (size_t k = 0; k < kBurst; ++k) {
      const QueryBuf& q = queries[(i + k) & (kQueries - 1)];
      std::memcpy(bufs[k], q.bytes, q.len);
      jobs[k].query_len = q.len;
    }
    i += kBurst;
    AnswerBurst(zones, config, Transport::kUdp, jobs, kBurst);
    benchmark::DoNotOptimize(jobs);
    benchmark::DoNotOptimize(bufs);
  }
  bench::ReportItemsAndAllocations(state, kBurst, "allocs_per_query");
  state.counters["ns_per_query"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_AnswerExactHit(benchmark::State& s) {
  RunAnswer(s, Case::kExact, true);
}
void BM_AnswerExactHitGeneralPath(benchmark::State& s) {
  RunAnswer(s, Case::kExact, false);
}
void BM_AnswerWildcardHit(benchmark::State& s) {
  RunAnswer(s, Case::kWildcard, true);
}
void BM_AnswerCname(benchmark::State& s) { RunAnswer(s, Case::kCname, true); }
void BM_AnswerNxdomain(benchmark::State& s) {
  RunAnswer(s, Case::kNxdomain, true);
}
void BM_AnswerNodata(benchmark::State& s) { RunAnswer(s, Case::kNodata, true); }
void BM_AnswerReferral(benchmark::State& s) {
  RunAnswer(s, Case::kReferral, true);
}

void BM_BurstExactHit(benchmark::State& s) { RunBurst(s, Case::kExact); }
void BM_BurstWildcardHit(benchmark::State& s) {
  RunBurst(s, Case::kWildcard);
}
void BM_BurstCname(benchmark::State& s) { RunBurst(s, Case::kCname); }
void BM_BurstNxdomain(benchmark::State& s) { RunBurst(s, Case::kNxdomain); }
void BM_BurstNodata(benchmark::State& s) { RunBurst(s, Case::kNodata); }
void BM_BurstReferral(benchmark::State& s) { RunBurst(s, Case::kReferral); }

void ZoneSizes(benchmark::internal::Benchmark* b) {
  b->ArgName("names")->Arg(1000)->Arg(100000)->Arg(1000000);
}

BENCHMARK(BM_AnswerExactHit)->Apply(ZoneSizes);
BENCHMARK(BM_AnswerExactHitGeneralPath)->Apply(ZoneSizes);
BENCHMARK(BM_AnswerWildcardHit)->Apply(ZoneSizes);
BENCHMARK(BM_AnswerCname)->Apply(ZoneSizes);
BENCHMARK(BM_AnswerNxdomain)->Apply(ZoneSizes);
BENCHMARK(BM_AnswerNodata)->Apply(ZoneSizes);
BENCHMARK(BM_AnswerReferral)->Apply(ZoneSizes);
BENCHMARK(BM_BurstExactHit)->Apply(ZoneSizes);
BENCHMARK(BM_BurstWildcardHit)->Apply(ZoneSizes);
BENCHMARK(BM_BurstCname)->Apply(ZoneSizes);
BENCHMARK(BM_BurstNxdomain)->Apply(ZoneSizes);
BENCHMARK(BM_BurstNodata)->Apply(ZoneSizes);
BENCHMARK(BM_BurstReferral)->Apply(ZoneSizes);

}  // namespace
}  // namespace popdns::dns

BENCHMARK_MAIN();
