// App-aware answers (issue 16, zone/variant.h): what choosing a variant
// costs per query, and what having client networks costs names without
// variants. One query answered in place per iteration (Answer()), cycling
// through 4096 names of a zone where half the names have variants:
//
//   BM_PlainName/networks:0      a name without variants, no networks
//   BM_PlainName/networks:N      the same with N client prefixes (ECS on,
//                                the query carries ECS): the flag test
//                                and the sender's address copied
//   BM_VariantByAddress/N        a name with variants, chosen by the
//                                sender's address among N prefixes
//   BM_VariantByEcs/N            ... by the query's ECS option (echoed
//                                with the scope)
// Reports ns per query and allocs_per_query (must be 0).
#include <arpa/inet.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_support.h"
#include "benchmark/benchmark.h"
#include "control/answers/network_prefix.h"
#include "dataplane/dns/answer.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

constexpr size_t kNames = 4096;
constexpr size_t kBufSize = 4096;

struct Fixture {
  std::shared_ptr<zone::ZoneSet> zones;
  // The same zone with endpoint 198.51.100.0 down: the variant every
  // client's network has is left with none, the PoP's answers.
  std::shared_ptr<zone::ZoneSet> zones_down;
  zone::NetworkTable table;
  std::vector<uint64_t> selectors;
  std::vector<std::vector<uint8_t>> plain, varied, varied_ecs, plain_ecs;
};

// Networks: N /24s in 10.0.0.0/8 ("net0".."netN-1"); each varied name has
// variants for 4 of them and one for the PoP.
const Fixture& FixtureFor(int64_t networks) {
  static auto* cache = new std::map<int64_t, std::unique_ptr<Fixture>>;
  auto& f = (*cache)[networks];
  if (f) return *f;
  f = std::make_unique<Fixture>();
  std::string text = "@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.53\n";
  for (size_t i = 0; i < kNames; ++i) {
    absl::StrAppend(&text, "p", i, " A 192.0.2.", i % 250, "\n");
    absl::StrAppend(&text, "v", i, " A 192.0.2.", i % 250, "\n");
    for (int k = 0; k < 4; ++k) {
      absl::StrAppend(&text, "v", i, " 30 VARIANT net:net",
                      (i + k * 17) % std::max<int64_t>(networks, 1), " A 198.51.100.",
                      k, "\n");
    }
    absl::StrAppend(&text, "v", i, " 30 VARIANT pop:fra1 A 203.0.113.1\n");
  }
  auto set = testutil::MakeZoneSet({{bench::kApex, text}});
  if (!set.ok()) {
    std::fprintf(stderr, "zone: %s\n", std::string(set.status().message()).c_str());
    std::abort();
  }
  f->zones = *set;
  f->zones_down = std::make_shared<zone::ZoneSet>();
  f->zones_down->set_down_endpoints({zone::FromIpv4(0xc6336400)});
  for (const auto& z : f->zones->zones()) f->zones_down->Add(z);
  std::vector<zone::NetworkTable::Prefix> prefixes;
  for (int64_t n = 0; n < networks; ++n) {
    const std::string p = absl::StrCat("10.", (n >> 8) & 255, ".", n & 255, ".0/24");
    prefixes.push_back(*control::ParseNetworkPrefix(p, static_cast<uint16_t>(n)));
    f->selectors.push_back(zone::NameIndex::Hash(absl::StrCat("net", n)));
  }
  f->table = *zone::NetworkTable::Build(prefixes);
  for (size_t i = 0; i < kNames; ++i) {
    const int64_t net = static_cast<int64_t>(i) % std::max<int64_t>(networks, 1);
    const std::string ecs{'\0', '\1', '\x18', '\0', '\x0a',
                          static_cast<char>(net >> 8), static_cast<char>(net)};
    testutil::QueryOptions o;
    o.edns = true;
    const auto opt = testutil::EdnsOption(kEdnsClientSubnet, ecs);
    testutil::QueryOptions with_ecs = o;
    with_ecs.edns_options.assign(opt.begin(), opt.end());
    const std::string p = absl::StrCat("p", i, ".", bench::kApex);
    const std::string v = absl::StrCat("v", i, ".", bench::kApex);
    f->plain.push_back(testutil::MakeQuery(p, rrtype::kA, o));
    f->plain_ecs.push_back(testutil::MakeQuery(p, rrtype::kA, with_ecs));
    f->varied.push_back(testutil::MakeQuery(v, rrtype::kA, o));
    f->varied_ecs.push_back(testutil::MakeQuery(v, rrtype::kA, with_ecs));
  }
  return *f;
}

// The client of query k: in network k mod N (10.n/256.n%256.1), the one
// that query k's name has a variant for.
void SetClient(size_t k, int64_t networks, uint8_t ip[4]) {
  const int64_t n = static_cast<int64_t>(k) % std::max<int64_t>(networks, 1);
  ip[1] = static_cast<uint8_t>(n >> 8);
  ip[2] = static_cast<uint8_t>(n);
}

void Run(benchmark::State& state, bool varied, bool ecs, bool down = false) {
  const int64_t networks = state.range(0);
  const Fixture& f = FixtureFor(networks);
  AnswerConfig config;
  if (networks > 0) {
    config.client_subnet = true;
    config.networks = &f.table;
    config.network_selectors = f.selectors.data();
  }
  config.pop_selector = zone::NameIndex::Hash("fra1");
  const auto& queries = varied ? (ecs ? f.varied_ecs : f.varied)
                               : (ecs ? f.plain_ecs : f.plain);
  const zone::ZoneSet& zones = down ? *f.zones_down : *f.zones;
  alignas(64) static uint8_t buf[kBufSize];
  // Clients spread over the networks (10.0.x.1).
  uint8_t ip[4] = {10, 0, 0, 1};
  Client client;
  client.ip = ip;
  // Each query once, untimed: a varied name must get a variant (a
  // 198.51.100.x address, or the PoP's without networks), a plain one its
  // own address.
  for (size_t k = 0; k < kNames; ++k) {
    const auto& q = queries[k];
    SetClient(k, networks, ip);
    std::memcpy(buf, q.data(), q.size());
    const AnswerResult r = Answer(zones, config, Transport::kUdp, buf,
                                  q.size(), kBufSize, client);
    auto m = testutil::ParseMessage(buf, r.size);
    const bool ok = m.ok() && m->answer.size() == 1 &&
                    static_cast<uint8_t>(m->answer[0].rdata[0]) ==
                        (varied ? (down ? 203 : 198) : 192);
    if (!ok) {
      state.SkipWithError("a query did not get the answer it stands for");
      return;
    }
  }
  size_t i = 0;
  bench::StartCountingAllocations();
  for (auto _ : state) {
    const auto& q = queries[i & (kNames - 1)];
    SetClient(i & (kNames - 1), networks, ip);
    ++i;
    std::memcpy(buf, q.data(), q.size());
    AnswerResult r = Answer(zones, config, Transport::kUdp, buf, q.size(),
                            kBufSize, client);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(buf);
  }
  bench::ReportItemsAndAllocations(state, 1, "allocs_per_query");
}

void BM_PlainName(benchmark::State& s) { Run(s, false, true); }
void BM_VariantByAddress(benchmark::State& s) { Run(s, true, false); }
void BM_VariantByEcs(benchmark::State& s) { Run(s, true, true); }
// Health: the network's variant has no endpoint up, the PoP's answers.
void BM_VariantEndpointDown(benchmark::State& s) { Run(s, true, false, true); }

BENCHMARK(BM_PlainName)->ArgName("networks")->Arg(0)->Arg(256)->Arg(10000);
BENCHMARK(BM_VariantByAddress)->ArgName("networks")->Arg(256)->Arg(10000);
BENCHMARK(BM_VariantByEcs)->ArgName("networks")->Arg(256)->Arg(10000);
BENCHMARK(BM_VariantEndpointDown)->ArgName("networks")->Arg(256)->Arg(10000);

}  // namespace
}  // namespace popdns::dns

BENCHMARK_MAIN();
