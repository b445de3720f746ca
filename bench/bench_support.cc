#include "bench/bench_support.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>

#include "absl/strings/str_cat.h"
#include "tests/testutil/zone_fixture.h"

// ---- Allocation counting ---------------------------------------------------
// The flag is only set around a timed loop. The replacement operators live
// in this file together with Start/StopCountingAllocations, which every
// benchmark calls, so the linker always takes them from the archive.

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

namespace popdns::bench {

void StartCountingAllocations() {
  g_allocs = 0;
  g_count_allocs = true;
}

int64_t StopCountingAllocations() {
  g_count_allocs = false;
  return g_allocs;
}

void ReportItemsAndAllocations(benchmark::State& state, int64_t per_iteration,
                               const char* counter) {
  const int64_t allocs = StopCountingAllocations();
  state.SetItemsProcessed(state.iterations() * per_iteration);
  state.counters[counter] = benchmark::Counter(
      static_cast<double>(allocs) / static_cast<double>(per_iteration),
      benchmark::Counter::kAvgIterations);
}

// ---- Generated zones -------------------------------------------------------

namespace {

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

}  // namespace

ZoneShape ShapeFor(int64_t names) {
  ZoneShape s;
  s.cnames = names / 10;
  s.dels = names / 40;
  s.hosts = names - s.cnames - 2 * s.dels;
  return s;
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

}  // namespace popdns::bench
