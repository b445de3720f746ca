// Micro-benchmarks of the answer engine (dataplane/dns/answer.h): one query
// answered in place per iteration, on generated zones of 1k, 100k and 1M
// names, with the queried name cycling through 4096 random names so that the
// lookup is not one hot cache line.
//
// Reports ns per query (the time column), queries/s per core
// (items_per_second) and allocs_per_query, counted by the global operator
// new below while a benchmark loop runs; every hot path must show 0.
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
#include "benchmark/benchmark.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/wire.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

// ---- Allocation counting ---------------------------------------------------
// Benchmarks run on one thread; the flag is only set around a timed loop.

namespace {
bool g_count_allocs = false;
int64_t g_allocs = 0;

void* CountedAlloc(std::size_t n) {
  if (g_count_allocs) ++g_allocs;
  if (n == 0) n = 1;
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}
void* CountedAlignedAlloc(std::size_t n, std::align_val_t al) {
  if (g_count_allocs) ++g_allocs;
  const std::size_t a = static_cast<std::size_t>(al);
  n = (n + a - 1) / a * a;
  if (n == 0) n = a;
  if (void* p = std::aligned_alloc(a, n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return CountedAlloc(n); }
void* operator new[](std::size_t n) { return CountedAlloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al) {
  return CountedAlignedAlloc(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al) {
  return CountedAlignedAlloc(n, al);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace popdns::dns {
namespace {

constexpr char kApex[] = "bench.test.";
constexpr size_t kQueries = 4096;  // power of two: the index is masked
constexpr size_t kBufSize = 4096;

// ---- Generated zones -------------------------------------------------------
//
// Of every 20 names: 16 `hostN A` (every 4th of them also AAAA),
// 2 `cnameN CNAME hostM`, and one delegation `delN NS ns.delN` with its glue
// `ns.delN A` (two names). Plus the apex and `*.wild A`.
struct ZoneShape {
  int64_t hosts = 0, cnames = 0, dels = 0;
};

ZoneShape ShapeFor(int64_t names) {
  ZoneShape s;
  s.cnames = names / 10;
  s.dels = names / 40;
  s.hosts = names - s.cnames - 2 * s.dels;
  return s;
}

std::string Ip4(int64_t i) {
  return absl::StrCat("10.", (i >> 16) & 0xff, ".", (i >> 8) & 0xff, ".",
                      i & 0xff);
}

std::string ZoneText(int64_t names) {
  const ZoneShape s = ShapeFor(names);
  std::string t;
  t.reserve(static_cast<size_t>(names) * 32);
  absl::StrAppend(&t, "$TTL 3600\n",
                  "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n",
                  "@ NS ns1\n@ NS ns2\n", "ns1 A 192.0.2.1\n",
                  "ns2 A 192.0.2.2\n", "*.wild A 192.0.2.5\n");
  for (int64_t i = 0; i < s.hosts; ++i) {
    absl::StrAppend(&t, "host", i, " A ", Ip4(i), "\n");
    if (i % 4 == 3) {
      absl::StrAppend(&t, "host", i, " AAAA 2001:db8::", absl::Hex(i & 0xffff),
                      "\n");
    }
  }
  for (int64_t i = 0; i < s.cnames; ++i) {
    absl::StrAppend(&t, "cname", i, " CNAME host", (i * 7919) % s.hosts, "\n");
  }
  for (int64_t i = 0; i < s.dels; ++i) {
    absl::StrAppend(&t, "del", i, " NS ns.del", i, "\n", "ns.del", i, " A ",
                    Ip4(i + 1), "\n");
  }
  return t;
}

const zone::ZoneSet& ZonesFor(int64_t names) {
  static auto* cache = new std::map<int64_t, std::shared_ptr<zone::ZoneSet>>;
  auto it = cache->find(names);
  if (it == cache->end()) {
    auto set = testutil::MakeZoneSet({{kApex, ZoneText(names)}});
    if (!set.ok()) {
      std::fprintf(stderr, "building the %lld-name zone: %s\n",
                   static_cast<long long>(names),
                   std::string(set.status().message()).c_str());
      std::abort();
    }
    it = cache->emplace(names, *set).first;
  }
  return *it->second;
}

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
  g_allocs = 0;
  g_count_allocs = true;
  for (auto _ : state) {
    const QueryBuf& q = queries[i++ & (kQueries - 1)];
    std::memcpy(buf, q.bytes, q.len);
    AnswerResult r =
        Answer(zones, config, Transport::kUdp, buf, q.len, kBufSize);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(buf);
  }
  g_count_allocs = false;
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_query"] = benchmark::Counter(
      static_cast<double>(g_allocs), benchmark::Counter::kAvgIterations);
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

}  // namespace
}  // namespace popdns::dns

BENCHMARK_MAIN();
