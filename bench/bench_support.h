// Shared by the Google Benchmark binaries in bench/: allocation counting
// (a global operator new that counts while a timed loop runs, so that a hot
// path can report allocs_per_query = 0) and the generated benchmark zones.
// Benchmarks run on one thread.
#ifndef POPDNS_BENCH_BENCH_SUPPORT_H_
#define POPDNS_BENCH_BENCH_SUPPORT_H_

#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::bench {

inline constexpr char kApex[] = "bench.test.";

// Counts operator new calls between Start and Stop; Stop returns the count.
void StartCountingAllocations();
int64_t StopCountingAllocations();

// Stops counting and reports, for a loop that handled `per_iteration`
// items (queries or packets) per iteration: items processed (so the rate
// is per item) and `counter` (allocs_per_query/_packet) per item.
void ReportItemsAndAllocations(benchmark::State& state, int64_t per_iteration,
                               const char* counter);

// Of every 20 names: 16 `hostN A` (every 4th of them also AAAA),
// 2 `cnameN CNAME hostM`, and one delegation `delN NS ns.delN` with its glue
// `ns.delN A` (two names). Plus the apex and `*.wild A`.
struct ZoneShape {
  int64_t hosts = 0, cnames = 0, dels = 0;
};
ZoneShape ShapeFor(int64_t names);

// The zone of `names` names under kApex, built once per size and cached.
const zone::ZoneSet& ZonesFor(int64_t names);

}  // namespace popdns::bench

#endif  // POPDNS_BENCH_BENCH_SUPPORT_H_
