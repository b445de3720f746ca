// Applying a change to a large zone (control/build/incremental_builder.h)
// against building it in full (zone_builder.h), on a 1M-name zone shaped
// like issue 11's (bench/zone_load_helper.py gen --shape names: hosts with
// A, some AAAA/TXT/MX, 12% CNAME aliases chained between names, tenant
// labels as empty non-terminals, a wildcard, delegations with glue and
// DS).
//
//   BM_FullBuild/updatable:0|1    BuildZone of the whole zone, without and
//                                 with the state incremental builds need
//   BM_Incremental/records:N      BuildIncremental of a changeset of N
//                                 records (A changes, new and removed
//                                 hosts, AAAA and TXT added, aliases
//                                 pointed elsewhere), each from the
//                                 previous version: the time to a new
//                                 version ready to publish
//   BM_IncrementalSigned/nsec3:0|1/records:N  the same on the zone with
//                                 an NSEC (or NSEC3, NSEC3PARAM) record at
//                                 every authoritative owner, as a signer
//                                 makes them (new hosts get theirs): the
//                                 denial-of-existence chain's share of a
//                                 change. Signatures only on the SOA: the
//                                 chain's cost does not depend on them.
//
// Counters per change: bytes appended to the shared arrays, nodes written,
// answers compiled, index shards copied, full builds (fallbacks; 0 expected).
// Between timed iterations the zone is compacted (RebuildZone) when its
// garbage passes 50% or an array has less than 15% free, as a zone store
// would in the background. Run: build/bench/zone_update_benchmark (about a
// minute; --benchmark_filter=Incremental to skip the full builds).
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "control/build/incremental_builder.h"
#include "control/build/zone_builder.h"
#include "control/xfr/changeset.h"
#include "control/zonefile/rdata_to_text.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/nsec3_hash.h"
#include "dataplane/dns/wire.h"

namespace popdns::bench {
namespace {

using control::ZoneRecord;

constexpr int64_t kNames = 1000000;
constexpr char kApexText[] = "load.test";

const char* const kWords[] = {"www",  "api",    "mail", "cdn",  "app",
                              "db",   "vpn",    "git",  "shop", "blog",
                              "img",  "static", "auth", "m",    "dev",
                              "stage", "edge",  "ws",   "mx",   "portal"};

uint32_t Mix(uint64_t i, uint64_t salt = 0) {
  uint32_t x = static_cast<uint32_t>(i * 0x9E3779B1u + salt * 0x85EBCA77u);
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

std::string B36(uint64_t n) {
  static const char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[n % 36]);
    n /= 36;
  } while (n != 0);
  return s;
}

// "a.b" (relative to the apex; "@" for the apex) in wire format.
std::string Wire(std::string_view relative) {
  std::string out;
  if (relative != "@") {
    size_t start = 0;
    while (start <= relative.size()) {
      size_t dot = relative.find('.', start);
      if (dot == std::string_view::npos) dot = relative.size();
      out.push_back(static_cast<char>(dot - start));
      out.append(relative.substr(start, dot - start));
      start = dot + 1;
    }
  }
  out.push_back(4);
  out.append("load");
  out.push_back(4);
  out.append("test");
  out.push_back(0);
  return out;
}

ZoneRecord Record(std::string_view owner, uint16_t type, std::string rdata,
                  uint32_t ttl = 3600) {
  ZoneRecord r;
  r.owner = Wire(owner);
  r.type = type;
  r.ttl = ttl;
  r.rdata = std::move(rdata);
  return r;
}

std::string A(uint32_t x) {
  return {static_cast<char>(10), static_cast<char>(x >> 16),
          static_cast<char>(x >> 8), static_cast<char>(x)};
}
std::string Aaaa(uint32_t x) {
  std::string r(16, '\0');
  r[0] = 0x20, r[1] = 0x01, r[2] = 0x0d, r[3] = static_cast<char>(0xb8);
  for (int k = 0; k < 4; ++k) r[12 + k] = static_cast<char>(x >> (8 * k));
  return r;
}
std::string Txt(std::string_view text) {
  std::string r(1, static_cast<char>(text.size()));
  r.append(text);
  return r;
}
std::string Mx(uint16_t pref, std::string_view target) {
  std::string r = {static_cast<char>(pref >> 8), static_cast<char>(pref)};
  r += Wire(target);
  return r;
}

std::string Soa(uint32_t serial) {
  std::string r = Wire("ns1") + Wire("hostmaster");
  for (uint32_t v : {serial, 7200u, 3600u, 1209600u, 300u}) {
    char b[4];
    dns::Store32(reinterpret_cast<uint8_t*>(b), v);
    r.append(b, 4);
  }
  return r;
}

// The zone and what a change may touch.
struct Shape {
  int64_t hosts = 0, aliases = 0, tenants = 0, delegations = 0;
  std::string Host(int64_t i) const {
    std::string name = absl::StrCat(kWords[Mix(i, 1) % 20], "-", B36(i));
    if (i & 1) absl::StrAppend(&name, ".t", B36(Mix(i, 2) % tenants));
    return name;
  }
  std::string Alias(int64_t j) const { return absl::StrCat("alias-", B36(j)); }
};

Shape ShapeOf(int64_t n) {
  Shape s;
  s.delegations = std::max<int64_t>(1, n / 5000);
  s.aliases = n * 12 / 100;
  s.hosts = n - s.aliases - 3 * s.delegations - 5;
  s.tenants = std::max<int64_t>(1, s.hosts / 500);
  return s;
}

std::vector<ZoneRecord> Generate(const Shape& s, uint32_t serial) {
  std::vector<ZoneRecord> r;
  r.reserve(static_cast<size_t>(s.hosts * 5 / 4 + s.aliases + 16));
  r.push_back(Record("@", dns::rrtype::kSoa, Soa(serial)));
  r.push_back(Record("@", dns::rrtype::kNs, Wire("ns1")));
  r.push_back(Record("@", dns::rrtype::kNs, Wire("ns2")));
  r.push_back(Record("@", dns::rrtype::kMx, Mx(10, "mail")));
  r.push_back(Record("ns1", dns::rrtype::kA, A(53)));
  r.push_back(Record("ns2", dns::rrtype::kA, A(54)));
  r.push_back(Record("mail", dns::rrtype::kA, A(25)));
  r.push_back(Record("*.w", dns::rrtype::kA, A(80)));
  for (int64_t i = 0; i < s.hosts; ++i) {
    const std::string h = s.Host(i);
    const uint32_t x = Mix(i, 3);
    r.push_back(Record(h, dns::rrtype::kA, A(x)));
    if (x % 10 == 0) r.push_back(Record(h, dns::rrtype::kA, A(x ^ 0xFFFFFF)));
    const uint32_t y = Mix(i, 4) % 100;
    if (y < 22) r.push_back(Record(h, dns::rrtype::kAaaa, Aaaa(x)));
    if (y >= 50 && y < 56) {
      r.push_back(Record(h, dns::rrtype::kTxt,
                         Txt(absl::StrCat("site-verification=", Mix(i, 6)))));
    }
    if (y >= 90 && y < 94) {
      r.push_back(Record(h, dns::rrtype::kMx, Mx(10 * (1 + (i & 3)), "mail")));
    }
  }
  for (int64_t j = 0; j < s.aliases; ++j) {
    const std::string target = j % 3 == 0 && j > 0
                                   ? s.Alias(Mix(j, 12) % j)
                                   : s.Host(Mix(j, 10) % s.hosts);
    r.push_back(Record(s.Alias(j), dns::rrtype::kCname, Wire(target)));
  }
  for (int64_t j = 0; j < s.delegations; ++j) {
    const std::string d = absl::StrCat("d", B36(j));
    r.push_back(Record(d, dns::rrtype::kNs, Wire("ns1." + d)));
    r.push_back(Record("ns1." + d, dns::rrtype::kA, A(Mix(j, 11))));
    std::string ds = {static_cast<char>(j >> 8), static_cast<char>(j), 13, 2};
    for (int k = 0; k < 32; ++k) ds.push_back(static_cast<char>(Mix(j, k)));
    r.push_back(Record(d, dns::rrtype::kDs, ds));
  }
  return r;
}

// What a signer adds for denial of existence (RFC 4034 4, RFC 5155 3):
// NSEC or NSEC3 records (SHA-1, no salt, no extra iterations as RFC 9276
// asks) over every authoritative owner, plus one RRSIG (on the SOA) so
// that the zone counts as signed. Type bitmaps in window 0 (every type
// here is below 256).
enum class Denial { kNone, kNsec, kNsec3 };

std::string TypeBitmap(std::vector<uint16_t> types) {
  std::sort(types.begin(), types.end());
  std::string bits(types.back() / 8 + 1, '\0');
  for (uint16_t t : types) bits[t / 8] |= static_cast<char>(0x80 >> (t % 8));
  return std::string{0, static_cast<char>(bits.size())} + bits;
}

// A hash as an owner's first label: base32hex, lowercase as names are kept.
std::string HashLabel(const dns::Nsec3Digest& h) {
  std::string text = control::Base32Hex(
      std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  return std::string(1, static_cast<char>(text.size())) +
         absl::AsciiStrToLower(text);
}

std::string Nsec3Rdata(const dns::Nsec3Digest& next,
                       const std::vector<uint16_t>& types) {
  std::string r = {1, 0, 0, 0, 0, static_cast<char>(next.size())};
  r.append(reinterpret_cast<const char*>(next.data()), next.size());
  if (!types.empty()) r += TypeBitmap(types);
  return r;
}

dns::Nsec3Digest HashOf(std::string_view wire) {
  const zone::Zone::Nsec3Chain unsalted;  // iterations 0, no salt
  return dns::Nsec3Hash(unsalted, wire);
}

// One owner's denial record, its chain successor not known yet: NSEC3
// owners need only their own hash, and the change benchmark links a new
// name to itself (the builder does not walk the chain).
void AddDenial(std::vector<ZoneRecord>* r, Denial d) {
  if (d == Denial::kNone) return;
  std::string apex = Wire("@");
  // Types per owner, and which owners are delegations (their glue is not
  // authoritative: no NSEC there).
  absl::flat_hash_map<std::string, std::vector<uint16_t>> types;
  absl::flat_hash_set<std::string> cuts;
  for (const ZoneRecord& rr : *r) {
    types[rr.owner].push_back(rr.type);
    if (rr.type == dns::rrtype::kNs && rr.owner != apex) cuts.insert(rr.owner);
  }
  std::vector<std::pair<std::string, std::string>> owners;  // key, wire
  uint8_t key[dns::kMaxNameSize + 1];
  for (auto& [owner, t] : types) {
    const std::string parent = owner.substr(1 + static_cast<uint8_t>(owner[0]));
    if (cuts.contains(parent)) continue;  // glue
    const size_t len = dns::CanonicalKey(owner, key);
    owners.emplace_back(std::string(reinterpret_cast<char*>(key), len), owner);
  }
  if (d == Denial::kNsec) {
    std::sort(owners.begin(), owners.end());
    for (size_t i = 0; i < owners.size(); ++i) {
      const std::string& owner = owners[i].second;
      std::vector<uint16_t> t = types[owner];
      t.push_back(dns::rrtype::kRrsig);
      t.push_back(dns::rrtype::kNsec);
      std::string rdata = owners[(i + 1) % owners.size()].second;
      rdata += TypeBitmap(t);
      r->push_back(Record("", dns::rrtype::kNsec, std::move(rdata), 300));
      r->back().owner = owner;
    }
  } else {
    std::vector<std::pair<dns::Nsec3Digest, std::string>> hashed;
    for (auto& [k, owner] : owners) hashed.emplace_back(HashOf(owner), owner);
    std::sort(hashed.begin(), hashed.end());
    for (size_t i = 0; i < hashed.size(); ++i) {
      std::vector<uint16_t> t = types[hashed[i].second];
      t.push_back(dns::rrtype::kRrsig);
      ZoneRecord n3 = Record("", dns::rrtype::kNsec3,
                             Nsec3Rdata(hashed[(i + 1) % hashed.size()].first, t),
                             300);
      n3.owner = HashLabel(hashed[i].first) + apex;
      r->push_back(std::move(n3));
    }
    r->push_back(Record("@", dns::rrtype::kNsec3Param,
                        std::string{1, 0, 0, 0, 0}));
  }
  // RRSIG SOA: algorithm 13, labels 2, signer the apex, a dummy signature.
  std::string sig = {0, static_cast<char>(dns::rrtype::kSoa), 13, 2};
  for (uint32_t v : {3600u, 2000000000u, 1700000000u}) {
    char b[4];
    dns::Store32(reinterpret_cast<uint8_t*>(b), v);
    sig.append(b, 4);
  }
  sig += std::string{0x30, 0x39} + apex + std::string(64, 'Z');
  r->push_back(Record("@", dns::rrtype::kRrsig, std::move(sig)));
}

// The denial record a signer adds with a new name (see AddDenial).
ZoneRecord DenialOf(const ZoneRecord& added, Denial d) {
  const std::vector<uint16_t> t = {added.type, dns::rrtype::kRrsig};
  if (d == Denial::kNsec) {
    std::vector<uint16_t> with_nsec = t;
    with_nsec.push_back(dns::rrtype::kNsec);
    ZoneRecord n = Record("", dns::rrtype::kNsec,
                          added.owner + TypeBitmap(with_nsec), 300);
    n.owner = added.owner;
    return n;
  }
  const dns::Nsec3Digest h = HashOf(added.owner);
  ZoneRecord n3 = Record("", dns::rrtype::kNsec3, Nsec3Rdata(h, t), 300);
  n3.owner = HashLabel(h) + Wire("@");
  return n3;
}

// The zone's current version and what the generator knows of its records.
struct Current {
  Shape shape;
  uint32_t serial = 2026112501;
  std::shared_ptr<const zone::Zone> zone;
  std::vector<uint32_t> host_a;   // each host's first A (x), 0: gone
  std::vector<int64_t> alias_to;  // host index, or -1 - alias index
  int64_t new_hosts = 0;
  std::mt19937_64 rng{7};
  Denial denial = Denial::kNone;
};

Current* NewState(Denial denial) {
  auto* c = new Current;
  c->denial = denial;
  c->shape = ShapeOf(kNames);
  control::BuildOptions options;
  options.updatable = true;
  std::vector<ZoneRecord> records = Generate(c->shape, c->serial);
  AddDenial(&records, denial);
  auto z = control::BuildZone(Wire("@"), std::move(records), options);
  if (!z.ok()) std::abort();
  c->zone = *z;
  malloc_trim(0);
  c->host_a.resize(c->shape.hosts);
  for (int64_t i = 0; i < c->shape.hosts; ++i) c->host_a[i] = Mix(i, 3);
  c->alias_to.resize(c->shape.aliases);
  for (int64_t j = 0; j < c->shape.aliases; ++j) {
    c->alias_to[j] = j % 3 == 0 && j > 0 ? -1 - (Mix(j, 12) % j)
                                         : Mix(j, 10) % c->shape.hosts;
  }
  return c;
}

// One lineage per kind of zone, built on first use and kept (the
// benchmarks run one after the other).
Current& State(Denial denial = Denial::kNone) {
  static Current* states[3] = {};
  Current*& c = states[static_cast<int>(denial)];
  if (c == nullptr) c = NewState(denial);
  return *c;
}

// A changeset of `n` records (each added or removed record counts).
xfr::Changeset MakeChange(Current& c, int64_t n) {
  xfr::Changeset cs;
  cs.soa_from = Record("@", dns::rrtype::kSoa, Soa(c.serial));
  cs.soa_to = Record("@", dns::rrtype::kSoa, Soa(++c.serial));
  const Shape& s = c.shape;
  int64_t count = 0;
  // A name changes once per changeset (removals apply before additions).
  absl::flat_hash_set<int64_t> seen_hosts, seen_aliases;
  auto fresh = [](absl::flat_hash_set<int64_t>& seen, int64_t k) {
    return seen.insert(k).second;
  };
  auto target_name = [&](int64_t t) {
    return t >= 0 ? s.Host(t) : s.Alias(-1 - t);
  };
  while (count < n) {
    const int64_t i = static_cast<int64_t>(c.rng() % s.hosts);
    const int op = static_cast<int>(c.rng() % 10);
    if (!fresh(seen_hosts, i)) continue;
    const bool pair_ok = n - count >= 2;
    if (op < 4 && pair_ok && c.host_a[i] != 0) {  // an address changes
      cs.removed.push_back(Record(s.Host(i), dns::rrtype::kA, A(c.host_a[i])));
      c.host_a[i] = static_cast<uint32_t>(c.rng()) | 1;
      cs.added.push_back(Record(s.Host(i), dns::rrtype::kA, A(c.host_a[i])));
      count += 2;
    } else if (op < 6) {  // a new host
      cs.added.push_back(Record(absl::StrCat("new-", B36(c.new_hosts++)),
                                dns::rrtype::kA, A(c.rng())));
      if (c.denial != Denial::kNone) {
        cs.added.push_back(DenialOf(cs.added.back(), c.denial));
      }
      count += 1;
    } else if (op < 7 && c.host_a[i] != 0 && Mix(i, 3) % 10 != 0) {
      // A host goes (its only A; an AAAA, TXT or MX may keep it).
      cs.removed.push_back(Record(s.Host(i), dns::rrtype::kA, A(c.host_a[i])));
      c.host_a[i] = 0;
      count += 1;
    } else if (op < 8) {
      cs.added.push_back(Record(s.Host(i), dns::rrtype::kAaaa,
                                Aaaa(static_cast<uint32_t>(c.rng()))));
      count += 1;
    } else if (op < 9 && pair_ok) {  // an alias points elsewhere
      const int64_t j = static_cast<int64_t>(c.rng() % s.aliases);
      if (!fresh(seen_aliases, j)) continue;
      cs.removed.push_back(Record(s.Alias(j), dns::rrtype::kCname,
                                  Wire(target_name(c.alias_to[j]))));
      c.alias_to[j] = static_cast<int64_t>(c.rng() % s.hosts);
      cs.added.push_back(Record(s.Alias(j), dns::rrtype::kCname,
                                Wire(target_name(c.alias_to[j]))));
      count += 2;
    } else {
      cs.added.push_back(Record(
          s.Host(i), dns::rrtype::kTxt,
          Txt(absl::StrCat("v=", static_cast<uint32_t>(c.rng())))));
      count += 1;
    }
  }
  return cs;
}

void BM_FullBuild(benchmark::State& state) {
  const Shape shape = ShapeOf(kNames);
  control::BuildOptions options;
  options.updatable = state.range(0) != 0;
  double records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<ZoneRecord> zone = Generate(shape, 1);
    records = static_cast<double>(zone.size());
    state.ResumeTiming();
    auto z = control::BuildZone(Wire("@"), std::move(zone), options);
    state.PauseTiming();
    if (!z.ok()) std::abort();
    state.counters["zone_MiB"] =
        static_cast<double>((*z)->heaps->bytes()) / (1 << 20);
    // The heap besides the zone's arrays: with `updatable`, mostly the
    // incremental state (child lists, answer dependencies).
    state.counters["malloc_MiB"] =
        static_cast<double>(mallinfo2().uordblks) / (1 << 20);
    z->reset();
    malloc_trim(0);
    state.ResumeTiming();
  }
  state.counters["records"] = records;
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  state.counters["peak_rss_MiB"] = static_cast<double>(ru.ru_maxrss) / 1024;
}
BENCHMARK(BM_FullBuild)
    ->ArgName("updatable")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

// The smallest share of free room of the lineage's arrays.
double FreeShare(const zone::ZoneHeaps& h) {
  auto share = [](const auto& a) {
    return a.capacity() == 0
               ? 1.0
               : static_cast<double>(a.capacity() - a.size()) / a.capacity();
  };
  return std::min({share(h.names), share(h.arena), share(h.nodes),
                   share(h.rrsets), share(h.typed_blobs), share(h.slots),
                   share(h.relocs), share(h.cuts), share(h.blobs)});
}

void RunIncremental(benchmark::State& state, Current& c, int64_t n) {
  double bytes = 0, nodes = 0, answers = 0, shards = 0, full = 0,
         compactions = 0;
  for (auto _ : state) {
    state.PauseTiming();
    if (control::GarbageRatio(*c.zone) > 0.5 ||
        FreeShare(*c.zone->heaps) < 0.15) {
      auto z = control::RebuildZone(*c.zone);
      if (!z.ok()) std::abort();
      c.zone = *z;
      ++compactions;
    }
    const std::vector<xfr::Changeset> changes = {MakeChange(c, n)};
    state.ResumeTiming();
    control::IncrementalStats stats;
    auto z = control::BuildIncremental(c.zone, changes, nullptr, &stats);
    state.PauseTiming();
    if (!z.ok()) {
      state.SkipWithError(std::string(z.status().message()).c_str());
      break;
    }
    c.zone = *z;  // the previous version goes (after its RCU grace period)
    bytes += stats.bytes_appended;
    nodes += stats.nodes_written;
    answers += stats.answers_compiled;
    shards += stats.shards_copied;
    full += stats.full_build;
    state.ResumeTiming();
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["appended_KiB"] = bytes / it / 1024;
  state.counters["nodes"] = nodes / it;
  state.counters["answers"] = answers / it;
  state.counters["shards"] = shards / it;
  state.counters["full_builds"] = full;
  state.counters["compactions"] = compactions;
  state.counters["garbage_pct"] = control::GarbageRatio(*c.zone) * 100;
}

void BM_Incremental(benchmark::State& state) {
  RunIncremental(state, State(), state.range(0));
}
BENCHMARK(BM_Incremental)
    ->ArgName("records")
    ->Arg(1)
    ->Arg(100)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_IncrementalSigned(benchmark::State& state) {
  RunIncremental(state,
                 State(state.range(0) != 0 ? Denial::kNsec3 : Denial::kNsec),
                 state.range(1));
}
BENCHMARK(BM_IncrementalSigned)
    ->ArgNames({"nsec3", "records"})
    ->ArgsProduct({{0, 1}, {1, 100}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace popdns::bench

BENCHMARK_MAIN();
