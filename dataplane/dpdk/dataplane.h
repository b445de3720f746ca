// The DPDK poll-mode dataplane. One worker per lcore polls its own RX queue
// of every wire port, answers DNS queries to the service addresses in place
// in the received mbuf and transmits them on its own TX queue of that port;
// everything else goes unchanged to the kernel through the port's exception
// port (net_tap), and whatever the kernel sends there is transmitted on that
// wire port (worker N drains queue N of every exception port). So do the
// DNS messages the engine leaves to the control side (slow_path: NOTIFY,
// UPDATE, AXFR/IXFR, TSIG-signed), which the kernel-socket server behind
// the exception interface answers.
//
// Shared-nothing: each worker owns its queues, its counters (one cache-aligned
// block) and its RCU reader id; the only shared state is the snapshot
// pointer, read with acquire, and reported quiescent after every burst.
//
// Start/Stop/RenderStats: control thread (the EAL main lcore).
#ifndef POPDNS_DATAPLANE_DPDK_DATAPLANE_H_
#define POPDNS_DATAPLANE_DPDK_DATAPLANE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/counter.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/counter_labels.h"
#include "dataplane/dns/question_sampler.h"
#include "dataplane/dns/rrl.h"
#include "dataplane/dpdk/idle_mode.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "dataplane/net/packet.h"

namespace popdns::dpdk {

struct PortPair {
  std::string wire;  // DPDK device name or PCI address
  // DPDK device name (net_tap). Empty in XDP mode: the kernel keeps the
  // NIC and the XDP program passes it everything but our DNS queries.
  std::string exception;
};

struct DataplaneConfig {
  std::vector<std::string> eal_args;  // without argv[0]
  std::vector<PortPair> ports;        // at least one
  net::ServiceAddresses service;
  dns::AnswerConfig answer;  // its `cookies` pointer is set by Start()
  // Response rate limiting (rrl.rate 0: off): one table per worker.
  dns::RrlSettings rrl;
  // DNS cookies (RFC 7873/9018), when `cookies_enabled`.
  bool cookies_enabled = false;
  dns::CookieSecrets cookies;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t mbufs = 16383;
  // Empty queues: see IdleMode and Dataplane::Run.
  IdleMode idle = IdleMode::kPoll;
  uint32_t idle_max_sleep_us = 200;
  // Answers in the XDP program: each worker samples one answered question
  // in `sample_every` for the control side to count (0: none).
  uint32_t sample_every = 0;
  // Answers in the XDP program under `rrl:`: the tag of the metadata the
  // program puts in front of the query with which it hands a client over
  // to this worker's RRL (xdp_dns_rrl_meta, the count it answered); 0:
  // none is looked for.
  uint32_t xdp_rrl_meta_magic = 0;
};

// Written by its worker once per poll-loop round (a relaxed store of the
// TSC, nothing per packet), read by health checks: a worker that stops
// coming round is stuck.
struct alignas(64) WorkerHeartbeat {
  std::atomic<uint64_t> tsc{0};
};

// One per (wire port, worker queue).
struct alignas(64) QueueCounters {
  Counter rx;           // frames received on the wire queue
  Counter answered;     // DNS responses handed to the wire
  Counter engine_drop;  // DNS payloads the engine drops (short, QR=1)
  Counter malformed;    // for our service but broken (length, checksum)
  Counter to_kernel;    // forwarded to the exception port (XDP mode: no
                        // exception port; such frames are dropped)
  Counter slow_path;    // DNS messages the engine leaves to the control
                        // side (NOTIFY, UPDATE, AXFR/IXFR, TSIG): part of
                        // to_kernel. XDP mode: the program passes them to
                        // the kernel, so any here are dropped.
  Counter from_kernel;  // exception port -> wire
  Counter tx_drop;      // not accepted by a TX queue, freed
  Counter truncated;    // answered with TC=1
  Counter rcode[16];
  // Every DNS message the engine saw, as the kernel-socket paths count
  // them (control/server/stats.h): what the engine did, and the query
  // type (dns::QtypeBucket).
  Counter outcome[dns::kOutcomeCount];
  Counter qtype[dns::kQtypeBuckets];
};

class Dataplane {
 public:
  ~Dataplane();

  // Initialises EAL from config.eal_args (call once per process), sets up
  // both ports, and launches one worker on every EAL worker lcore, each
  // registered as an RCU reader of `snapshots`. Errors name the step.
  static absl::StatusOr<std::unique_ptr<Dataplane>> Start(
      const DataplaneConfig& config, SnapshotManager* snapshots);

  // Workers needed: call after EAL init to size SnapshotManager.
  static unsigned WorkerLcores();
  // EAL only (no ports), for sizing before Start: the caller passes the
  // same config to Start afterwards.
  static absl::Status InitEal(const std::vector<std::string>& eal_args);

  void Stop();
  std::string RenderStats() const;
  // The counters of each (wire port, queue), read from any thread (a
  // /metrics scrape). Worker N serves queue N of every wire port.
  size_t port_count() const { return ports_.size(); }
  unsigned worker_count() const { return workers_; }
  const QueueCounters& queue_counters(size_t port, unsigned queue) const {
    return Counters(port, queue);
  }
  bool tx_checksum_offload() const { return tx_csum_offload_; }
  // Whether the mbufs live on memory advised for transparent huge pages
  // (EAL without hugepages), not in EAL's own.
  bool mbufs_on_thp() const { return mbufs_on_thp_; }
  // Whether rate limiting is on, and the workers' counters summed. Any
  // thread.
  bool rrl_enabled() const { return !rrl_.empty(); }
  // Control thread: the questions the workers sampled since the last call
  // (f(name wire lowercased, qtype)).
  template <typename F>
  size_t DrainSamples(F f) {
    size_t n = 0;
    for (auto& s : samplers_) n += s->Drain(f);
    return n;
  }
  dns::RrlTotals RrlTotals() const {
    dns::RrlTotals t;
    for (const auto& r : rrl_) t.Add(r->counters());
    return t;
  }
  // CPUs the worker lcores are pinned to.
  std::vector<unsigned> WorkerCpus() const;
  // MAC address of wire port `port` ("02:00:..."), for its exception
  // interface.
  std::string WireMac(size_t port) const;
  // Seconds since each worker last went round its poll loop (health).
  // Any thread.
  std::vector<double> WorkerPollAges() const;
  // Wire ports whose link is down, one line each ("wire port net_tap0:
  // link down"); empty when all are up. Reads the link without waiting
  // (rte_eth_link_get_nowait); a net_tap whose interface was moved to
  // another namespace is not checked (not observable from here). Slow
  // path; one caller at a time.
  std::vector<std::string> LinkProblems() const;

 private:
  // A started wire port and its exception port.
  struct Port {
    uint16_t wire = 0, exception = 0;
    bool has_exception = false;
    bool tx_csum_offload = false;  // the wire port computes our checksums
    // IdleMode::kWait: per queue, the descriptor that becomes readable
    // when a frame is there (SetupPort), of the wire port and of the
    // exception port.
    std::vector<int> wait_fds, exception_wait_fds;
  };

  Dataplane() = default;
  static int WorkerMain(void* arg);
  // The poll loop; kIdle: what a worker does when its queues are empty
  // (busy-poll, back off with sleeps, or wait in poll(); chosen once, at
  // launch).
  template <IdleMode kIdle>
  void Run(unsigned index);
  // One burst from queue `queue` of `port`; counters `c`. Returns the
  // number of frames received.
  uint16_t ServeBurst(const Port& port, uint16_t queue, QueueCounters& c,
                      dns::Rrl* rrl, dns::QuestionSampler* sampler);
  // Stops and closes the first `count` ports.
  void StopPorts(size_t count);
  QueueCounters& Counters(size_t port, unsigned queue) const {
    return counters_[port * workers_ + queue];
  }

  DataplaneConfig config_;
  SnapshotManager* snapshots_ = nullptr;
  std::vector<Port> ports_;
  bool tx_csum_offload_ = false;  // every wire port computes our checksums
  bool mbufs_on_thp_ = false;
  unsigned workers_ = 0;
  std::vector<unsigned> lcores_;
  std::vector<uint32_t> readers_;
  std::unique_ptr<QueueCounters[]> counters_;
  std::vector<std::unique_ptr<dns::Rrl>> rrl_;  // one per worker, or none
  // One per worker, or none (DataplaneConfig::sample_every).
  std::vector<std::unique_ptr<dns::QuestionSampler>> samplers_;
  std::unique_ptr<WorkerHeartbeat[]> heartbeats_;  // one per worker
  std::atomic<bool> quit_{false};
  bool stopped_ = false;
};

}  // namespace popdns::dpdk

#endif  // POPDNS_DATAPLANE_DPDK_DATAPLANE_H_
