// One burst of query frames through the path a DPDK worker runs
// (Dataplane::ServeBurst in dataplane/dpdk/dataplane.cc), minus the NIC:
// classify every frame, answer the DNS ones together with AnswerBurst, write
// their response frames in place. Shared by bench/path_driver.cc (callgrind)
// and bench/packet_path_benchmark.cc.
#ifndef POPDNS_BENCH_BURST_PATH_H_
#define POPDNS_BENCH_BURST_PATH_H_

#include <cstddef>
#include <cstdint>

#include "dataplane/dns/answer.h"
#include "dataplane/dns/question_sampler.h"
#include "dataplane/dns/rrl.h"
#include "dataplane/net/packet.h"

namespace popdns::bench {

inline constexpr size_t kMaxBurst = 32;

struct BurstOptions {
  net::ChecksumChecks checks;     // what the "NIC" left to software
  bool tx_checksum_offload = false;
  // Response rate limiting (the worker's table), and the clocks the worker
  // reads once per burst: Unix seconds (cookies), milliseconds (RRL).
  dns::Rrl* rrl = nullptr;
  uint32_t unix_now = 0;
  uint32_t now_ms = 0;
  // The hot-answer sampling of the XDP mode's workers (one question in
  // `every` copied for the control side), or none.
  dns::QuestionSampler* sampler = nullptr;
};

// frames[i] holds lens[i] bytes in a buffer of buf_size; n <= kMaxBurst.
// On return lens[i] is the response frame's length, 0 if not answered, and
// outcomes[i] what the engine did (kDropped if not answered, kSlowPath if
// left to the control side: the worker would hand it to the kernel).
inline void BurstPath(const zone::ZoneSet& zones,
                      const dns::AnswerConfig& config,
                      const net::ServiceAddresses& service, uint8_t** frames,
                      size_t* lens, dns::Outcome* outcomes, size_t n,
                      size_t buf_size, const BurstOptions& options) {
  net::DnsFrame parsed[kMaxBurst];
  dns::AnswerJob jobs[kMaxBurst];
  size_t owner[kMaxBurst];
  size_t nd = 0;
  for (size_t i = 0; i < n; ++i) {
    net::DnsFrame& f = parsed[nd];
    outcomes[i] = dns::Outcome::kDropped;
    if (net::ClassifyFrame(frames[i], lens[i], service, options.checks, &f) !=
        net::FrameVerdict::kDns) {
      lens[i] = 0;
      continue;
    }
    jobs[nd] = {frames[i] + f.payload, f.payload_len, buf_size - f.payload,
                {},
                {frames[i] + f.l3 + (f.ipv6 ? 8 : 12), f.ipv6,
                 options.unix_now}};
    owner[nd++] = i;
  }
  dns::AnswerBurst(zones, config, dns::Transport::kUdp, jobs, nd);
  dns::RrlAction actions[kMaxBurst];
  if (options.rrl != nullptr) {
    options.rrl->ApplyBurst(jobs, nd, options.now_ms, actions);
  }
  for (size_t k = 0; k < nd; ++k) {
    const size_t i = owner[k];
    const dns::AnswerResult& r = jobs[k].result;
    if (options.rrl != nullptr && actions[k] == dns::RrlAction::kDrop) {
      lens[i] = 0;
      continue;
    }
    if (options.sampler != nullptr && r.size != 0) {
      options.sampler->Offer(jobs[k].buf, r.question_end, r.qtype);
    }
    lens[i] = r.size == 0 ? 0
                          : net::MakeResponseFrame(frames[i], parsed[k], r.size,
                                                   options.tx_checksum_offload);
    if (r.size != 0 || r.slow_path) outcomes[i] = r.outcome;
  }
}

}  // namespace popdns::bench

#endif  // POPDNS_BENCH_BURST_PATH_H_
