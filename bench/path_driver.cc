// path_driver: runs popdns's full per-packet path, minus the NIC, over the
// query frames of a pcap, for counting instructions under callgrind
// (bench/callgrind_compare.sh) or a quick native rate.
//
//   path_driver ZONE_FILE PCAP_FILE COUNT [rx-csum-offload]
//
// Builds the zone (apex bench.test.) from ZONE_FILE through the real parser,
// validator and builder, loads the Ethernet frames of PCAP_FILE (both from
// bench/make_replay_pcap.py), answers every frame once and prints the
// outcome counts (the same on every run, so it cancels out when two runs
// are subtracted), then runs COUNT packets through the path the worker
// lcore runs (dataplane/dpdk/dataplane.cc): copy the frame into the buffer
// (the NIC's part), ClassifyFrame with software UDP checksum verification
// (net_pcap offloads nothing), Answer in place, MakeResponseFrame. With
// COUNT 0 and COUNT N under callgrind, (Ir(N) - Ir(0)) / N is instructions
// per query. With `rx-csum-offload` the UDP checksum of the query is not
// verified in software, as in Dataplane::Run() when the NIC reports
// RTE_MBUF_F_RX_L4_CKSUM_GOOD (the IPv4 header checksum is always checked,
// and the response's checksums are always computed by MakeResponseFrame).
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
  }
  return "?";
}

// One packet, as Dataplane::Run() handles it. Returns the response length
// (0: not answered).
inline size_t PacketPath(const zone::ZoneSet& zones,
                         const dns::AnswerConfig& config,
                         const net::ServiceAddresses& service, uint8_t* frame,
                         size_t len, bool verify_udp, dns::Outcome* outcome) {
  net::DnsFrame f;
  if (net::ClassifyFrame(frame, len, service, verify_udp, &f) !=
      net::FrameVerdict::kDns) {
    return 0;
  }
  const dns::AnswerResult r =
      dns::Answer(zones, config, dns::Transport::kUdp, frame + f.payload,
                  f.payload_len, kBufSize - f.payload);
  *outcome = r.outcome;
  if (r.size == 0) return 0;
  return net::MakeResponseFrame(frame, f, r.size);
}

int Main(int argc, char** argv) {
  const bool offload =
      argc == 5 && std::string(argv[4]) == "rx-csum-offload";
  if (argc != 4 && !offload) {
    std::fprintf(stderr,
                 "usage: path_driver ZONE_FILE PCAP_FILE COUNT "
                 "[rx-csum-offload]\n");
    return 2;
  }
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
  alignas(64) static uint8_t buf[kBufSize];

  // Every frame once: outcome counts (the same for every COUNT).
  long long outcomes[16] = {};
  for (const Frame& q : frames) {
    std::memcpy(buf, q.bytes, q.len);
    dns::Outcome o = dns::Outcome::kDropped;
    if (PacketPath(**zones, config, service, buf, q.len, !offload, &o) == 0) {
      o = dns::Outcome::kDropped;
    }
    ++outcomes[static_cast<int>(o) & 15];
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
  size_t bytes = 0, next = 0;
  for (long long i = 0; i < count; ++i) {
    const Frame& q = frames[next];
    if (++next == frames.size()) next = 0;
    std::memcpy(buf, q.bytes, q.len);
    dns::Outcome o;
    bytes += PacketPath(**zones, config, service, buf, q.len, !offload, &o);
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
