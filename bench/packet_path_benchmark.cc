// Micro-benchmarks of the full packet path a worker lcore runs per query,
// minus the NIC: Ethernet/IPv4/UDP classification with IPv4 header and UDP
// checksum verification (dataplane/net/packet.h, as with net_pcap or any
// NIC without checksum offload), the answer engine rewriting the DNS payload
// in place (dataplane/dns/answer.h), and the in-place response frame
// (addresses swapped, lengths, IPv4 header and UDP checksums).
//
// Each iteration copies one prebuilt query frame into the buffer (what the
// NIC's DMA would have done) and turns it into its response. Queries cycle
// through 4096 frames whose names are spread over the zone, on generated
// zones of 10k and 1M names (the shape of bench/answer_benchmark.cc and
// bench/make_replay_pcap.py). BM_PacketPath_Mix uses the replay benchmark's
// mix: 70% A/AAAA hits, 10% NXDOMAIN, 10% wildcard, 5% CNAME, 5% referral.
//
// Reports ns per packet (time), packets/s per core (items_per_second) and
// allocs_per_packet, counted (bench/bench_support.cc) while a benchmark
// loop runs; the hot path must show 0.
//
// Before timing, every frame is answered once and checked: the outcome the
// benchmark is named after, a response that parses, and valid IPv4 header
// and UDP checksums computed here independently of dataplane/net.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_support.h"
#include "bench/burst_path.h"
#include "benchmark/benchmark.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/wire.h"
#include "dataplane/net/packet.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns {
namespace {

using bench::kApex;
using bench::ShapeFor;
using bench::ZoneShape;
using bench::ZonesFor;

constexpr size_t kFrames = 4096;  // power of two: the index is masked
constexpr size_t kBufSize = 2048;  // an mbuf's data room
constexpr uint8_t kService[4] = {198, 18, 0, 1};

// ---- Frames ----------------------------------------------------------------

// RFC 1071 sum, written here so that the checks do not trust dataplane/net.
uint16_t Fold(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t UdpSum(const uint8_t* ip, const uint8_t* udp, size_t udp_len) {
  uint8_t pseudo[12];
  std::memcpy(pseudo, ip + 12, 8);  // source and destination address
  pseudo[8] = 0;
  pseudo[9] = 17;
  pseudo[10] = static_cast<uint8_t>(udp_len >> 8);
  pseudo[11] = static_cast<uint8_t>(udp_len);
  uint32_t sum = static_cast<uint16_t>(~Fold(pseudo, 12));
  return Fold(udp, udp_len, sum);
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

struct alignas(64) Frame {
  uint8_t bytes[128];
  uint16_t len = 0;
  dns::Outcome expected = dns::Outcome::kDropped;
};

// Ethernet/IPv4/UDP around `dns` from 198.19.x.y:port (or `src`) to
// 198.18.0.1:53.
Frame MakeFrame(const std::vector<uint8_t>& dns, std::mt19937_64& rng,
                const uint8_t* src_given = nullptr) {
  Frame f;
  const size_t udp_len = 8 + dns.size();
  f.len = static_cast<uint16_t>(14 + 20 + udp_len);
  if (f.len > sizeof(f.bytes)) std::abort();
  uint8_t* e = f.bytes;
  const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  std::memcpy(e, macs, 12);
  Put16(e + 12, 0x0800);
  uint8_t* ip = e + 14;
  ip[0] = 0x45;
  ip[1] = 0;
  Put16(ip + 2, static_cast<uint16_t>(20 + udp_len));
  Put16(ip + 4, static_cast<uint16_t>(rng()));
  Put16(ip + 6, 0x4000);
  ip[8] = 64;
  ip[9] = 17;
  Put16(ip + 10, 0);
  const uint8_t src[4] = {198, 19, static_cast<uint8_t>(rng()),
                          static_cast<uint8_t>(1 + rng() % 254)};
  std::memcpy(ip + 12, src_given != nullptr ? src_given : src, 4);
  std::memcpy(ip + 16, kService, 4);
  Put16(ip + 10, Fold(ip, 20));
  uint8_t* udp = ip + 20;
  Put16(udp, static_cast<uint16_t>(1024 + rng() % 64512));
  Put16(udp + 2, 53);
  Put16(udp + 4, static_cast<uint16_t>(udp_len));
  Put16(udp + 6, 0);
  std::memcpy(udp + 8, dns.data(), dns.size());
  const uint16_t c = UdpSum(ip, udp, udp_len);
  Put16(udp + 6, c == 0 ? 0xFFFF : c);
  return f;
}

enum class Case { kExact, kWildcard, kNxdomain, kReferral, kCname, kMix };

std::vector<Frame> MakeFrames(Case c, int64_t names) {
  const ZoneShape s = ShapeFor(names);
  std::mt19937_64 rng(0x7061636b6574 + static_cast<int>(c));
  auto pick = [&rng](int64_t n) {
    return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
  };
  testutil::QueryOptions o;
  o.edns = true;  // as most resolvers send them
  std::vector<Frame> out;
  out.reserve(kFrames);
  for (size_t i = 0; i < kFrames; ++i) {
    Case k = c;
    if (c == Case::kMix) {
      const int64_t r = pick(100);  // 70 / 10 / 10 / 5 / 5
      k = r < 70   ? Case::kExact
          : r < 80 ? Case::kNxdomain
          : r < 90 ? Case::kWildcard
          : r < 95 ? Case::kCname
                   : Case::kReferral;
    }
    std::string name;
    uint16_t qtype = dns::rrtype::kA;
    dns::Outcome expected = dns::Outcome::kAnswer;
    switch (k) {
      case Case::kExact:
        if (c == Case::kMix && pick(4) == 0) {  // AAAA on a host with one
          name = absl::StrCat("host", pick(s.hosts / 4) * 4 + 3);
          qtype = dns::rrtype::kAaaa;
        } else {
          name = absl::StrCat("host", pick(s.hosts));
        }
        break;
      case Case::kWildcard:
        name = absl::StrCat("w", rng() % 1000000, ".wild");
        break;
      case Case::kNxdomain:
        name = absl::StrCat("nx", pick(names));
        expected = dns::Outcome::kNxDomain;
        break;
      case Case::kReferral:
        name = absl::StrCat("www", i, ".del", pick(s.dels));
        expected = dns::Outcome::kReferral;
        break;
      case Case::kCname:
        name = absl::StrCat("cname", pick(s.cnames));
        break;
      case Case::kMix:
        break;
    }
    o.id = static_cast<uint16_t>(rng());
    Frame f = MakeFrame(
        testutil::MakeQuery(absl::StrCat(name, ".", kApex), qtype, o), rng);
    f.expected = expected;
    out.push_back(f);
  }
  return out;
}

const std::vector<Frame>& FramesFor(Case c, int64_t names) {
  static auto* cache =
      new std::map<std::pair<Case, int64_t>, std::vector<Frame>>;
  auto it = cache->find({c, names});
  if (it == cache->end()) {
    it = cache->emplace(std::make_pair(c, names), MakeFrames(c, names)).first;
  }
  return it->second;
}

// ---- The loop --------------------------------------------------------------

// One packet through the worker's per-frame code (dataplane/dpdk/dataplane.cc
// Run(), without the mbuf bookkeeping). Returns the response frame length,
// 0 when the frame would not be answered.
struct PathResult {
  size_t len = 0;
  dns::Outcome outcome = dns::Outcome::kDropped;
};

inline PathResult PacketPath(const zone::ZoneSet& zones,
                             const dns::AnswerConfig& config,
                             const net::ServiceAddresses& service,
                             uint8_t* frame, size_t len) {
  net::DnsFrame f;
  // No checksum offload: verify the UDP checksum in software.
  if (net::ClassifyFrame(frame, len, service, {}, &f) !=
      net::FrameVerdict::kDns) {
    return {};
  }
  const dns::AnswerResult r =
      dns::Answer(zones, config, dns::Transport::kUdp, frame + f.payload,
                  f.payload_len, kBufSize - f.payload);
  if (r.size == 0) return {};
  return {net::MakeResponseFrame(frame, f, r.size), r.outcome};
}

net::ServiceAddresses Service() {
  net::ServiceAddresses s;
  std::memcpy(&s.v4[0], kService, 4);
  s.v4_count = 1;
  return s;
}

// The response frame must be well formed, independently of dataplane/net.
bool ResponseOk(const Frame& q, const uint8_t* r, size_t len, Case c,
                dns::Outcome outcome) {
  if (outcome != q.expected || len < 42) return false;
  const uint8_t* ip = r + 14;
  const size_t udp_len = static_cast<size_t>(ip[24] << 8 | ip[25]);
  if (Fold(ip, 20) != 0 || 14 + 20 + udp_len != len) return false;
  if (UdpSum(ip, ip + 20, udp_len) != 0) return false;
  // Addresses and ports swapped: back to the client, from the service.
  if (std::memcmp(ip + 12, kService, 4) != 0 ||
      std::memcmp(ip + 16, q.bytes + 26, 4) != 0 ||
      std::memcmp(ip + 22, q.bytes + 34, 2) != 0) {
    return false;
  }
  auto m = testutil::ParseMessage(ip + 28, udp_len - 8);
  if (!m.ok() || !m->qr) return false;
  // A CNAME is followed to its in-zone target (RFC 1034 4.3.2 step 3a).
  if (c == Case::kCname && m->answer.size() != 2) return false;
  return true;
}

void RunPacketPath(benchmark::State& state, Case c) {
  const int64_t names = state.range(0);
  const zone::ZoneSet& zones = ZonesFor(names);
  const std::vector<Frame>& frames = FramesFor(c, names);
  const net::ServiceAddresses service = Service();
  const dns::AnswerConfig config;
  alignas(64) static uint8_t buf[kBufSize];

  for (const Frame& q : frames) {
    std::memcpy(buf, q.bytes, q.len);
    const PathResult r = PacketPath(zones, config, service, buf, q.len);
    if (!ResponseOk(q, buf, r.len, c, r.outcome)) {
      state.SkipWithError("unexpected response for a benchmark frame");
      return;
    }
  }

  size_t i = 0;
  bench::StartCountingAllocations();
  for (auto _ : state) {
    const Frame& q = frames[i++ & (kFrames - 1)];
    std::memcpy(buf, q.bytes, q.len);
    PathResult r = PacketPath(zones, config, service, buf, q.len);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(buf);
  }
  bench::ReportItemsAndAllocations(state, 1, "allocs_per_packet");
}

// The timed loop of the burst benchmarks: the frames through
// bench::BurstPath kMaxBurst at a time, first once to check every
// response (with `check`), then timed. Returns the responses sent (a
// non-zero length) in the timed loop; -1 after SkipWithError.
int64_t TimeBursts(benchmark::State& state, const zone::ZoneSet& zones,
                   const std::vector<Frame>& frames, Case c,
                   const dns::AnswerConfig& config,
                   const bench::BurstOptions& options, bool check,
                   const std::function<void()>& after_burst = {}) {
  const net::ServiceAddresses service = Service();
  constexpr size_t kBurst = bench::kMaxBurst;
  alignas(64) static uint8_t bufs[kBurst][kBufSize];
  uint8_t* ptrs[kBurst];
  for (size_t k = 0; k < kBurst; ++k) ptrs[k] = bufs[k];
  size_t lens[kBurst];
  dns::Outcome outcomes[kBurst];
  auto fill = [&](size_t first) {
    for (size_t k = 0; k < kBurst; ++k) {
      const Frame& q = frames[(first + k) & (kFrames - 1)];
      std::memcpy(bufs[k], q.bytes, q.len);
      lens[k] = q.len;
    }
  };
  for (size_t i = 0; check && i < kFrames; i += kBurst) {
    fill(i);
    bench::BurstPath(zones, config, service, ptrs, lens, outcomes, kBurst,
                     kBufSize, options);
    for (size_t k = 0; k < kBurst; ++k) {
      if (!ResponseOk(frames[i + k], bufs[k], lens[k], c, outcomes[k])) {
        state.SkipWithError("unexpected response for a benchmark frame");
        return -1;
      }
    }
  }
  size_t i = 0;
  int64_t sent = 0;
  bench::StartCountingAllocations();
  for (auto _ : state) {
    fill(i);
    i += kBurst;
    bench::BurstPath(zones, config, service, ptrs, lens, outcomes, kBurst,
                     kBufSize, options);
    for (size_t k = 0; k < kBurst; ++k) sent += lens[k] != 0;
    benchmark::DoNotOptimize(lens);
    benchmark::DoNotOptimize(bufs);
    if (after_burst) after_burst();
  }
  bench::ReportItemsAndAllocations(state, kBurst, "allocs_per_packet");
  return sent;
}

// As RunPacketPath, 32 frames per iteration through bench::BurstPath (the
// worker's burst: classify all, AnswerBurst, response frames); time is per
// burst, items (and the table's ns/packet) per frame.
void RunPacketBurst(benchmark::State& state, Case c) {
  const int64_t names = state.range(0);
  TimeBursts(state, ZonesFor(names), FramesFor(c, names), c,
             dns::AnswerConfig(), {}, /*check=*/true);
}

// ---- Rate limiting and DNS cookies (issue 14) --------------------------
//
// The burst path of RunPacketBurst on exact A hits, with what a worker adds
// when `rrl:` and `cookies:` are on: per response, the RRL bucket (one
// cache line of a 65536-bucket table, 1 MiB) and, for queries with a
// COOKIE option, SipHash-2-4 once (a client cookie: a fresh server cookie;
// a valid server cookie: verified and echoed, RRL bypassed).
//   Off          RRL and cookies off (the baseline: RunPacketBurst);
//   OnUnlimited  rrl.rate high enough that nothing is limited;
//   OnLimiting   rrl.rate 1, slip 2: every response over the rate, half
//                of them slipped (rewritten to TC=1), half dropped;
//   CookieClient cookies and RRL on, queries with a client cookie only;
//   CookieValid  cookies and RRL on, queries with a valid server cookie.
enum class Abuse { kOff, kOnUnlimited, kOnLimiting, kCookieClient,
                   kCookieValid };

constexpr uint32_t kCookieNow = 1559731985;
const dns::CookieSecrets& BenchSecrets() {
  static const dns::CookieSecrets s = [] {
    dns::CookieSecrets c;
    for (int i = 0; i < 16; ++i) c.secret[i] = static_cast<uint8_t>(i * 7);
    return c;
  }();
  return s;
}

// Exact A hits whose queries carry a COOKIE option: the client cookie, and
// with `valid` the server cookie we would have given the frame's source.
std::vector<Frame> MakeCookieFrames(bool valid, int64_t names) {
  const ZoneShape s = ShapeFor(names);
  std::mt19937_64 rng(0x636f6f6b6965 + valid);
  testutil::QueryOptions o;
  o.edns = true;
  std::vector<Frame> out;
  out.reserve(kFrames);
  for (size_t i = 0; i < kFrames; ++i) {
    o.id = static_cast<uint16_t>(rng());
    std::vector<uint8_t> q = testutil::MakeQuery(
        absl::StrCat("host", static_cast<int64_t>(rng() % s.hosts), ".",
                     kApex),
        dns::rrtype::kA, o);
    const uint8_t src[4] = {198, 19, static_cast<uint8_t>(rng()),
                            static_cast<uint8_t>(1 + rng() % 254)};
    uint8_t cookie[24];
    for (int k = 0; k < 8; ++k) cookie[k] = static_cast<uint8_t>(rng());
    size_t len = 8;
    if (valid) {
      dns::MakeServerCookie(BenchSecrets().secret, cookie,
                            {src, false, kCookieNow}, cookie + 8);
      len = 24;
    }
    // The OPT ends the query: append the option, fix its RDLENGTH.
    q.insert(q.end(), {0, 10, 0, static_cast<uint8_t>(len)});
    q.insert(q.end(), cookie, cookie + len);
    q[q.size() - len - 5] = static_cast<uint8_t>(4 + len);  // low byte
    Frame f = MakeFrame(q, rng, src);
    f.expected = dns::Outcome::kAnswer;
    out.push_back(f);
  }
  return out;
}

void RunAbuseBurst(benchmark::State& state, Abuse a) {
  const int64_t names = state.range(0);
  const zone::ZoneSet& zones = ZonesFor(names);
  static auto* cookie_frames = new std::map<std::pair<bool, int64_t>,
                                            std::vector<Frame>>;
  const bool cookies = a == Abuse::kCookieClient || a == Abuse::kCookieValid;
  if (cookies && !cookie_frames->count({a == Abuse::kCookieValid, names})) {
    (*cookie_frames)[{a == Abuse::kCookieValid, names}] =
        MakeCookieFrames(a == Abuse::kCookieValid, names);
  }
  const std::vector<Frame>& frames =
      cookies ? (*cookie_frames)[{a == Abuse::kCookieValid, names}]
              : FramesFor(Case::kExact, names);
  dns::AnswerConfig config;
  std::unique_ptr<dns::Rrl> rrl;
  if (a != Abuse::kOff) {
    dns::RrlSettings s;
    s.rate = a == Abuse::kOnLimiting ? 1 : 1000000;
    s.slip = 2;
    rrl = std::make_unique<dns::Rrl>(s);
    config.rrl = true;
  }
  if (cookies) config.cookies = &BenchSecrets();
  bench::BurstOptions options;
  options.rrl = rrl.get();
  options.unix_now = kCookieNow;
  options.now_ms = 1000;
  // Every frame answered and well formed (nothing limited yet, or at all).
  const int64_t sent =
      TimeBursts(state, zones, frames, Case::kExact, config, options,
                 /*check=*/a != Abuse::kOnLimiting);
  if (sent < 0) return;
  state.counters["sent_per_packet"] = benchmark::Counter(
      static_cast<double>(sent) /
      static_cast<double>(state.iterations() * bench::kMaxBurst));
  if (rrl) {
    state.counters["limited_per_packet"] = benchmark::Counter(
        static_cast<double>(rrl->counters().limited.Get()) /
        static_cast<double>(state.iterations() * bench::kMaxBurst));
  }
}

void BM_PacketBurst_RrlOff(benchmark::State& s) {
  RunAbuseBurst(s, Abuse::kOff);
}
void BM_PacketBurst_RrlOnUnlimited(benchmark::State& s) {
  RunAbuseBurst(s, Abuse::kOnUnlimited);
}
void BM_PacketBurst_RrlOnLimiting(benchmark::State& s) {
  RunAbuseBurst(s, Abuse::kOnLimiting);
}
void BM_PacketBurst_CookieClient(benchmark::State& s) {
  RunAbuseBurst(s, Abuse::kCookieClient);
}
void BM_PacketBurst_CookieValid(benchmark::State& s) {
  RunAbuseBurst(s, Abuse::kCookieValid);
}

// The XDP mode's question sampling (hot_answers.sample_every, default
// 64) on the worker's burst: against BM_PacketBurst_RrlOff, what it costs
// a packet. The control side drains the ring here as often as a refresh
// would see it fill.
void BM_PacketBurst_Sampled(benchmark::State& state) {
  const int64_t names = state.range(0);
  const zone::ZoneSet& zones = ZonesFor(names);
  const std::vector<Frame>& frames = FramesFor(Case::kExact, names);
  const uint32_t every = static_cast<uint32_t>(state.range(1));
  dns::QuestionSampler sampler(every);
  bench::BurstOptions options;
  options.sampler = &sampler;
  // Drained (untimed) when about half the ring is used, so that every
  // sample is copied: the worker's cost while the ring has room. (Between
  // two refreshes at full speed it fills and the rest costs a decrement.)
  const uint64_t drain_every =
      std::max<uint64_t>(1, uint64_t{dns::QuestionSampler::kSlots} / 2 *
                                every / bench::kMaxBurst);
  uint64_t bursts = 0, samples = 0;
  auto drain = [&] {
    if (++bursts % drain_every != 0) return;
    state.PauseTiming();
    samples += sampler.Drain([](std::string_view, uint16_t) {});
    state.ResumeTiming();
  };
  if (TimeBursts(state, zones, frames, Case::kExact, dns::AnswerConfig{},
                 options, /*check=*/true, drain) < 0) {
    return;
  }
  samples += sampler.Drain([](std::string_view, uint16_t) {});
  state.counters["samples_per_packet"] = benchmark::Counter(
      static_cast<double>(samples) /
      static_cast<double>(state.iterations() * bench::kMaxBurst));
}

void BM_PacketPath_ExactA(benchmark::State& s) {
  RunPacketPath(s, Case::kExact);
}
void BM_PacketPath_Wildcard(benchmark::State& s) {
  RunPacketPath(s, Case::kWildcard);
}
void BM_PacketPath_Nxdomain(benchmark::State& s) {
  RunPacketPath(s, Case::kNxdomain);
}
void BM_PacketPath_Referral(benchmark::State& s) {
  RunPacketPath(s, Case::kReferral);
}
void BM_PacketPath_Cname(benchmark::State& s) {
  RunPacketPath(s, Case::kCname);
}
void BM_PacketPath_Mix(benchmark::State& s) { RunPacketPath(s, Case::kMix); }
void BM_PacketBurst_ExactA(benchmark::State& s) {
  RunPacketBurst(s, Case::kExact);
}
void BM_PacketBurst_Mix(benchmark::State& s) { RunPacketBurst(s, Case::kMix); }

void ZoneSizes(benchmark::internal::Benchmark* b) {
  b->ArgName("names")->Arg(10000)->Arg(1000000);
}

BENCHMARK(BM_PacketPath_ExactA)->Apply(ZoneSizes);
BENCHMARK(BM_PacketPath_Wildcard)->Apply(ZoneSizes);
BENCHMARK(BM_PacketPath_Nxdomain)->Apply(ZoneSizes);
BENCHMARK(BM_PacketPath_Referral)->Apply(ZoneSizes);
BENCHMARK(BM_PacketPath_Cname)->Apply(ZoneSizes);
BENCHMARK(BM_PacketPath_Mix)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_ExactA)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_Mix)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_RrlOff)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_Sampled)
    ->ArgNames({"names", "every"})
    ->Args({10000, 64})
    ->Args({1000000, 64})
    ->Args({10000, 1});
BENCHMARK(BM_PacketBurst_RrlOnUnlimited)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_RrlOnLimiting)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_CookieClient)->Apply(ZoneSizes);
BENCHMARK(BM_PacketBurst_CookieValid)->Apply(ZoneSizes);

}  // namespace
}  // namespace popdns

BENCHMARK_MAIN();
