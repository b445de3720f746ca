// path_driver: runs popdns's full per-packet path, minus the NIC, over the
// query frames of a pcap, for counting instructions under callgrind
// (bench/callgrind_compare.sh) or a quick native rate.
//
//   path_driver ZONE_FILE PCAP_FILE COUNT [rx-csum-offload|csum-offload]
//
// Builds the zone (apex bench.test.) from ZONE_FILE through the real parser,
// validator and builder, loads the Ethernet frames of PCAP_FILE (both from
// bench/make_replay_pcap.py), answers every frame once and prints the
// outcome counts (the same on every run, so it cancels out when two runs
// are subtracted), then runs COUNT packets through the path the worker
// lcore runs (dataplane/dpdk/dataplane.cc), in bursts of 32: copy the
// frames into the buffers (the NIC's part), ClassifyFrame with software UDP
// checksum verification (net_pcap offloads nothing), AnswerBurst in place,
// MakeResponseFrame. With COUNT 0 and COUNT N under callgrind,
// (Ir(N) - Ir(0)) / N is instructions per query. With `rx-csum-offload` the
// IPv4 header and UDP checksums of the query are not verified in software,
// as in the worker when the NIC reports RTE_MBUF_F_RX_IP_CKSUM_GOOD and
// RTE_MBUF_F_RX_L4_CKSUM_GOOD; with `csum-offload` the response's IPv4 and
// UDP checksums are left to the NIC too (only the pseudo-header sum is
// written), as the worker does on a port that offers both offloads.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/dns/answer.h"
#include "bench/burst_path.h"
#include "dataplane/net/packet.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns {
namespace {

constexpr size_t kBufSize = 2048;  // an mbuf's data room

struct alignas(64) Frame {
  uint8_t bytes[192];
  uint16_t len = 0;
};

bool ReadFile(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

// Classic pcap, little-endian, LINKTYPE_ETHERNET (what the generator writes).
bool ReadPcap(const std::string& s, std::vector<Frame>* frames) {
  if (s.size() < 24 || Le32(s, 0) != 0xa1b2c3d4 || Le32(s, 20) != 1) {
    return false;
  }
  size_t at = 24;
  while (at + 16 <= s.size()) {
    const uint32_t caplen = Le32(s, at + 8);
    at += 16;
    if (caplen > sizeof(Frame::bytes) || at + caplen > s.size()) return false;
    Frame f;
    std::memcpy(f.bytes, s.data() + at, caplen);
    f.len = static_cast<uint16_t>(caplen);
    frames->push_back(f);
    at += caplen;
  }
  return !frames->empty();
}

const char* OutcomeName(dns::Outcome o) {
  switch (o) {
    case dns::Outcome::kDropped: return "dropped";
    case dns::Outcome::kFormErr: return "formerr";
    case dns::Outcome::kNotImp: return "notimp";
    case dns::Outcome::kBadVers: return "badvers";
    case dns::Outcome::kRefused: return "refused";
    case dns::Outcome::kAnswer: return "answer";
    case dns::Outcome::kNoData: return "nodata";
    case dns::Outcome::kNxDomain: return "nxdomain";
    case dns::Outcome::kReferral: return "referral";
    case dns::Outcome::kChaos: return "chaos";
    case dns::Outcome::kSlowPath: return "slow_path";
    case dns::Outcome::kExpired: return "expired";
  }
  return "?";
}

constexpr size_t kBurst = bench::kMaxBurst;

int Main(int argc, char** argv) {
  const std::string mode = argc == 5 ? argv[4] : "";
  if ((argc != 4 && argc != 5) ||
      (argc == 5 && mode != "rx-csum-offload" && mode != "csum-offload")) {
    std::fprintf(stderr,
                 "usage: path_driver ZONE_FILE PCAP_FILE COUNT "
                 "[rx-csum-offload|csum-offload]\n");
    return 2;
  }
  bench::BurstOptions options;
  options.checks.ipv4_header = options.checks.udp = mode.empty();
  options.tx_checksum_offload = mode == "csum-offload";
  const long long count = std::atoll(argv[3]);
  std::string zone_text, pcap;
  if (!ReadFile(argv[1], &zone_text)) {
    std::fprintf(stderr, "path_driver: cannot read %s\n", argv[1]);
    return 1;
  }
  if (!ReadFile(argv[2], &pcap)) {
    std::fprintf(stderr, "path_driver: cannot read %s\n", argv[2]);
    return 1;
  }
  auto zones = testutil::MakeZoneSet({{"bench.test.", zone_text}});
  if (!zones.ok()) {
    std::fprintf(stderr, "path_driver: zone: %s\n",
                 std::string(zones.status().message()).c_str());
    return 1;
  }
  zone_text.clear();
  zone_text.shrink_to_fit();
  std::vector<Frame> frames;
  if (!ReadPcap(pcap, &frames)) {
    std::fprintf(stderr, "path_driver: %s: not an Ethernet pcap\n", argv[2]);
    return 1;
  }
  net::ServiceAddresses service;
  const uint8_t addr[4] = {198, 18, 0, 1};
  std::memcpy(&service.v4[0], addr, 4);
  service.v4_count = 1;
  const dns::AnswerConfig config;
  alignas(64) static uint8_t bufs[kBurst][kBufSize];
  uint8_t* frame_ptrs[kBurst];
  for (size_t k = 0; k < kBurst; ++k) frame_ptrs[k] = bufs[k];
  size_t lens[kBurst];
  dns::Outcome burst_outcomes[kBurst];
  // Fills the burst buffers with the next frames of the pcap (the NIC's
  // part: a copy into the mbuf).
  size_t next = 0;
  auto fill = [&](size_t n) {
    for (size_t k = 0; k < n; ++k) {
      const Frame& q = frames[next];
      if (++next == frames.size()) next = 0;
      std::memcpy(bufs[k], q.bytes, q.len);
      lens[k] = q.len;
    }
  };

  // Every frame once: outcome counts (the same for every COUNT).
  long long outcomes[16] = {};
  for (size_t done = 0; done < frames.size(); done += kBurst) {
    const size_t n = std::min(kBurst, frames.size() - done);
    fill(n);
    bench::BurstPath(**zones, config, service, frame_ptrs, lens,
                     burst_outcomes, n, kBufSize, options);
    for (size_t k = 0; k < n; ++k) {
      ++outcomes[static_cast<int>(burst_outcomes[k]) & 15];
    }
  }
  std::fprintf(stderr, "path_driver: %zu frames:", frames.size());
  for (int i = 0; i < 16; ++i) {
    if (outcomes[i] != 0) {
      std::fprintf(stderr, " %s=%lld",
                   OutcomeName(static_cast<dns::Outcome>(i)), outcomes[i]);
    }
  }
  std::fprintf(stderr, "\n");

  const auto t0 = std::chrono::steady_clock::now();
  size_t bytes = 0;
  next = 0;

  for (long long done = 0; done < count; done += kBurst) {
    const size_t n =
        static_cast<size_t>(std::min<long long>(kBurst, count - done));
    fill(n);
    bench::BurstPath(**zones, config, service, frame_ptrs, lens,
                     burst_outcomes, n, kBufSize, options);
    for (size_t k = 0; k < n; ++k) bytes += lens[k];
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("packets %lld response_bytes %zu seconds %.3f mpps %.3f\n",
              count, bytes, secs, secs > 0 ? count / secs / 1e6 : 0.0);
  return 0;
}

}  // namespace
}  // namespace popdns

int main(int argc, char** argv) { return popdns::Main(argc, argv); }
