#include "dataplane/dpdk/dataplane.h"

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>
#include <net/if.h>
#include <poll.h>
#include <sys/prctl.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bpf/xdp_dns_shared.h"
#include "dataplane/dpdk/xdp_sockets.h"
#include "dataplane/zone/huge_page_allocator.h"

namespace popdns::dpdk {
namespace {

constexpr uint16_t kBurst = 32;
constexpr unsigned kPrefetchAhead = 3;
// Idle mode: empty poll rounds in a row before the first sleep (a few
// microseconds of spinning, so that a burst's stragglers are not slept
// on), and the first sleep, doubled after each further empty round up to
// idle_max_sleep_us.
constexpr uint32_t kIdleSpins = 64;
constexpr uint32_t kIdleFirstSleepUs = 1;
// idle: wait: the longest wait in poll(), so that the heartbeat stays well
// within the health check's bound (Health::kWorkerStall, 1 s) and a stop
// is seen soon.
constexpr int kIdleWaitMs = 100;

bool eal_ready = false;

// The XDP program's hand-over of a client to this worker's RRL: the
// xdp_dns_rrl_meta right before the frame (AF_XDP copies the metadata
// there), whose count of the driver's answers is returned, and cleared so
// that a later frame in the same buffer cannot be taken for one. Other
// frames: 0 (the tag is random per start; the PMD's headroom never holds
// it otherwise).
uint32_t TakeXdpRrlMeta(rte_mbuf* m, uint32_t magic) {
  if (m->data_off < sizeof(xdp_dns_rrl_meta)) return 0;
  uint8_t* at = rte_pktmbuf_mtod(m, uint8_t*) - sizeof(xdp_dns_rrl_meta);
  xdp_dns_rrl_meta meta;
  std::memcpy(&meta, at, sizeof(meta));
  if (meta.magic != magic) return 0;
  std::memset(at, 0, sizeof(meta));
  return meta.answered;
}

absl::Status PortError(const std::string& what, int rc) {
  return absl::InternalError(
      absl::StrCat(what, ": ", rte_strerror(rc < 0 ? -rc : rc)));
}

absl::StatusOr<uint16_t> FindPort(const std::string& name) {
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    return absl::NotFoundError("DPDK port '" + name +
                               "' not found (missing --vdev or -a in eal?)");
  }
  return id;
}

// `wait_fds` (idle: wait): per queue, a descriptor that poll() finds
// readable while frames wait in it. net_af_xdp: the queue's AF_XDP
// socket, the one that appeared while the queue was set up (DPDK 22.11
// neither exposes it nor gives the PMD RX interrupts). net_tap: its RX
// interrupt descriptor, which is the queue's own tap descriptor
// (readable while the kernel has frames queued for it, so nothing needs
// draining or re-arming). Other drivers are refused: their interrupts
// need arming before each wait and draining after it, which nothing
// here can test.
absl::Status SetupPort(uint16_t port, uint16_t queues, bool rss,
                       const DataplaneConfig& c, rte_mempool* pool,
                       bool* tx_csum_offload = nullptr,
                       std::vector<int>* wait_fds = nullptr) {
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(port, &info);
  if (rc != 0) return PortError("dev_info_get", rc);
  const std::string driver = info.driver_name ? info.driver_name : "";
  const bool wait_af_xdp = wait_fds != nullptr && driver == "net_af_xdp";
  const bool wait_tap = wait_fds != nullptr && driver == "net_tap";
  if (wait_fds != nullptr && !wait_af_xdp && !wait_tap) {
    return absl::FailedPreconditionError(absl::StrCat(
        "idle: wait: a ", driver, " port cannot wait (net_af_xdp and "
        "net_tap ports can); use idle: sleep"));
  }
  rte_eth_conf conf{};
  if (wait_tap) conf.intr_conf.rxq = 1;
  // RSS over the UDP 4-tuple spreads clients over the worker queues.
  const uint64_t rss_hf = (RTE_ETH_RSS_NONFRAG_IPV4_UDP |
                           RTE_ETH_RSS_NONFRAG_IPV6_UDP | RTE_ETH_RSS_IP) &
                          info.flow_type_rss_offloads;
  if (rss && queues > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
  }
  // Let the NIC verify checksums when it can; the worker checks the flags.
  conf.rxmode.offloads = info.rx_offload_capa &
                         (RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
                          RTE_ETH_RX_OFFLOAD_IPV4_CKSUM);
  // And let it compute the response checksums when it can (both or none:
  // the worker chooses one way per port).
  constexpr uint64_t kTxCsum =
      RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  const bool tx_csum = tx_csum_offload != nullptr &&
                       (info.tx_offload_capa & kTxCsum) == kTxCsum;
  if (tx_csum) conf.txmode.offloads |= kTxCsum;
  if (tx_csum_offload != nullptr) *tx_csum_offload = tx_csum;
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    return absl::InvalidArgumentError(absl::StrCat(
        "port ", port, " has at most ", info.max_rx_queues,
        " RX queues; fewer worker lcores needed"));
  }
  rc = rte_eth_dev_configure(port, queues, queues, &conf);
  if (rc != 0) return PortError("dev_configure", rc);
  uint16_t rxd = c.rx_desc, txd = c.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; q < queues; ++q) {
    const std::set<int> before =
        wait_af_xdp ? XdpSocketFds() : std::set<int>();
    rc = rte_eth_rx_queue_setup(port, q, rxd, socket < 0 ? 0 : socket,
                                nullptr, pool);
    if (rc != 0) return PortError("rx_queue_setup", rc);
    if (wait_af_xdp) {
      std::vector<int> made;
      for (int fd : XdpSocketFds()) {
        if (!before.contains(fd)) made.push_back(fd);
      }
      if (made.size() != 1) {
        return absl::FailedPreconditionError(absl::StrCat(
            "idle: wait: setting up RX queue ", q, " made ", made.size(),
            " AF_XDP sockets, not one"));
      }
      wait_fds->push_back(made[0]);
    }
    rc = rte_eth_tx_queue_setup(port, q, txd, socket < 0 ? 0 : socket,
                                nullptr);
    if (rc != 0) return PortError("tx_queue_setup", rc);
  }
  rc = rte_eth_dev_start(port);
  if (rc != 0) return PortError("dev_start", rc);
  // net_tap installs its RX interrupt vector when it starts.
  for (uint16_t q = 0; wait_tap && q < queues; ++q) {
    const int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port, q);
    if (fd < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "idle: wait: no RX interrupt descriptor for queue ", q));
    }
    wait_fds->push_back(fd);
  }
  // The wire carries frames for the kernel's MAC too (same MAC in bare
  // metal, learned by clients through the exception path otherwise).
  rte_eth_promiscuous_enable(port);
  return absl::OkStatus();
}

// The pool of `count` mbufs. With EAL on 4 KiB pages (`--no-huge`: a
// host without hugepages, the XDP fallback's usual case) EAL's memory is
// a memfd, which gets no transparent huge pages unless the host's
// shmem_enabled allows them (Debian: never), so the frames would be
// spread over thousands of 4 KiB pages, a TLB miss each. The pool then
// goes on an external heap of anonymous memory advised for huge pages,
// which the virtual devices take (net_af_xdp, net_tap, net_pcap); a PCI
// NIC needs hugepages and their IOVAs anyway. Measured: about 7% more
// queries per core on average in alternating replay pairs, most in the
// VM's fast phases (README). `*on_thp` says which; if the heap cannot be
// had, EAL's memory it is.
rte_mempool* CreateMbufPool(unsigned count, bool* on_thp) {
  const char* kName = "popdns_mbufs";
  *on_thp = false;
  auto in_eal_memory = [&] {
    return rte_pktmbuf_pool_create(kName, count, 256, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE,
                                   static_cast<int>(rte_socket_id()));
  };
  if (rte_eal_has_hugepages()) return in_eal_memory();
  const char* kHeap = "popdns_thp";
  // The mbufs with their headers, and the mempool's own memzones.
  const size_t bytes = zone::RoundUpToHugePages(
      size_t{count} * (RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(rte_mbuf) + 256) +
      (size_t{8} << 20));
  void* mem = nullptr;
  try {
    mem = zone::MapHugePages(bytes);
  } catch (const std::bad_alloc&) {
    return in_eal_memory();
  }
  if (rte_malloc_heap_create(kHeap) != 0 ||
      rte_malloc_heap_memory_add(kHeap, mem, bytes, nullptr, 0,
                                 zone::kHugePageSize) != 0) {
    zone::UnmapHugePages(mem, bytes);
    return in_eal_memory();
  }
  rte_mempool* pool = rte_pktmbuf_pool_create(
      kName, count, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
      rte_malloc_heap_get_socket(kHeap));
  if (pool == nullptr) return in_eal_memory();
  *on_thp = true;
  return pool;
}

// Sends what it can, frees the rest.
void SendOrFree(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n,
                Counter& drops) {
  if (n == 0) return;
  const uint16_t sent = rte_eth_tx_burst(port, queue, pkts, n);
  if (sent < n) {
    drops.Add(n - sent);
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
}

}  // namespace

absl::Status Dataplane::InitEal(const std::vector<std::string>& eal_args) {
  if (eal_ready) return absl::OkStatus();
  std::vector<std::string> args = {"popdns"};
  args.insert(args.end(), eal_args.begin(), eal_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    return absl::InternalError(
        absl::StrCat("EAL init failed: ", rte_strerror(rte_errno)));
  }
  eal_ready = true;
  return absl::OkStatus();
}

unsigned Dataplane::WorkerLcores() { return rte_lcore_count() - 1; }

absl::StatusOr<std::unique_ptr<Dataplane>> Dataplane::Start(
    const DataplaneConfig& config, SnapshotManager* snapshots) {
  if (absl::Status s = InitEal(config.eal_args); !s.ok()) return s;
  std::unique_ptr<Dataplane> dp(new Dataplane());
  dp->config_ = config;
  dp->config_.answer.cookies =
      config.cookies_enabled ? &dp->config_.cookies : nullptr;
  dp->config_.answer.rrl = config.rrl.rate != 0;
  dp->snapshots_ = snapshots;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) { dp->lcores_.push_back(lcore); }
  dp->workers_ = static_cast<unsigned>(dp->lcores_.size());
  if (dp->workers_ == 0) {
    return absl::InvalidArgumentError(
        "no EAL worker lcore: give eal at least two lcores (-l 0-1)");
  }
  if (config.ports.empty()) {
    return absl::InvalidArgumentError("no wire port configured");
  }
  for (const PortPair& pair : config.ports) {
    Port port;
    auto wire = FindPort(pair.wire);
    if (!wire.ok()) return wire.status();
    port.wire = *wire;
    port.has_exception = !pair.exception.empty();
    if (port.has_exception) {
      auto exc = FindPort(pair.exception);
      if (!exc.ok()) return exc.status();
      port.exception = *exc;
    }
    dp->ports_.push_back(port);
  }
  rte_mempool* pool = CreateMbufPool(config.mbufs, &dp->mbufs_on_thp_);
  if (pool == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("mbuf pool: ", rte_strerror(rte_errno)));
  }
  // On an error below, ~Dataplane stops and closes what was set up.
  const uint16_t q = static_cast<uint16_t>(dp->workers_);
  dp->tx_csum_offload_ = true;
  for (size_t i = 0; i < dp->ports_.size(); ++i) {
    Port& port = dp->ports_[i];
    const PortPair& pair = config.ports[i];
    const bool wait = config.idle == IdleMode::kWait;
    if (absl::Status s = SetupPort(port.wire, q, true, config, pool,
                                   &port.tx_csum_offload,
                                   wait ? &port.wait_fds : nullptr);
        !s.ok()) {
      return absl::InternalError(
          absl::StrCat("wire port ", pair.wire, ": ", s.message()));
    }
    dp->tx_csum_offload_ &= port.tx_csum_offload;
    // One RX and one TX queue per worker, as on the wire port.
    if (absl::Status s =
            port.has_exception
                ? SetupPort(port.exception, q, false, config, pool, nullptr,
                            wait ? &port.exception_wait_fds : nullptr)
                : absl::OkStatus();
        !s.ok()) {
      return absl::InternalError(
          absl::StrCat("exception port ", pair.exception, ": ", s.message()));
    }
  }
  dp->counters_ =
      std::make_unique<QueueCounters[]>(dp->ports_.size() * dp->workers_);
  dp->heartbeats_ = std::make_unique<WorkerHeartbeat[]>(dp->workers_);
  if (config.rrl.rate != 0) {
    for (unsigned i = 0; i < dp->workers_; ++i) {
      dp->rrl_.push_back(std::make_unique<dns::Rrl>(config.rrl));
    }
  }
  if (config.sample_every != 0) {
    for (unsigned i = 0; i < dp->workers_; ++i) {
      dp->samplers_.push_back(
          std::make_unique<dns::QuestionSampler>(config.sample_every));
    }
  }
  for (unsigned i = 0; i < dp->workers_; ++i) {
    dp->heartbeats_[i].tsc.store(rte_get_tsc_cycles(),
                                 std::memory_order_relaxed);
  }
  for (unsigned i = 0; i < dp->workers_; ++i) {
    dp->readers_.push_back(snapshots->RegisterReader());
  }
  for (unsigned i = 0; i < dp->workers_; ++i) {
    // One heap cell per worker holding (this, index); freed by the worker.
    auto* arg = new std::pair<Dataplane*, unsigned>(dp.get(), i);
    const int rc = rte_eal_remote_launch(&Dataplane::WorkerMain, arg,
                                         dp->lcores_[i]);
    if (rc != 0) {
      delete arg;
      dp->Stop();
      return PortError("remote_launch", rc);
    }
  }
  return dp;
}

int Dataplane::WorkerMain(void* arg) {
  auto* p = static_cast<std::pair<Dataplane*, unsigned>*>(arg);
  Dataplane* dp = p->first;
  const unsigned index = p->second;
  delete p;
  switch (dp->config_.idle) {
    case IdleMode::kPoll:
      dp->Run<IdleMode::kPoll>(index);
      break;
    case IdleMode::kSleep:
      dp->Run<IdleMode::kSleep>(index);
      break;
    case IdleMode::kWait:
      dp->Run<IdleMode::kWait>(index);
      break;
  }
  return 0;
}

template <IdleMode kIdle>
void Dataplane::Run(unsigned index) {
  constexpr bool kIdleSleep = kIdle != IdleMode::kPoll;
  const uint16_t queue = static_cast<uint16_t>(index);
  const uint32_t reader = readers_[index];
  dns::Rrl* const rrl = rrl_.empty() ? nullptr : rrl_[index].get();
  dns::QuestionSampler* const sampler =
      samplers_.empty() ? nullptr : samplers_[index].get();
  std::atomic<uint64_t>& heartbeat = heartbeats_[index].tsc;
  rte_mbuf* from_kernel[kBurst];
  uint32_t loops = 0;
  [[maybe_unused]] uint32_t empty_rounds = 0, sleep_us = 0;
  // idle: wait: this worker's queue of every wire and exception port.
  std::vector<pollfd> wait_fds;
  for (const Port& port : ports_) {
    for (const std::vector<int>* fds :
         {&port.wait_fds, &port.exception_wait_fds}) {
      if (queue < fds->size()) wait_fds.push_back({(*fds)[queue], POLLIN, 0});
    }
  }
  if constexpr (kIdleSleep) {
    // nanosleep may overshoot by the timer slack (50 us by default): keep
    // it small, so that a sleep lasts about what it asks for.
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  }
  snapshots_->Online(reader);
  while (!quit_.load(std::memory_order_relaxed)) {
    // Our own cache line; relaxed: the reader only wants a recent value.
    heartbeat.store(rte_get_tsc_cycles(), std::memory_order_relaxed);
    bool busy = false;
    [[maybe_unused]] uint32_t received = 0;  // frames this round (idle mode)
    for (size_t p = 0; p < ports_.size(); ++p) {
      const uint16_t n = ServeBurst(ports_[p], queue, Counters(p, index), rrl,
                                    sampler);
      busy |= n == kBurst;
      received |= n;
    }
    // The kernel's frames (ARP, ND, ICMP, TCP replies) are few, and a
    // net_tap read is a system call: while the wire keeps full bursts
    // coming, look at the exception queues every 16th round only. The
    // kernel spreads its frames over all queues of a multi-queue tap, so
    // each worker drains its own queue of every exception port.
    if (!busy || (++loops & 15) == 0) {
      for (size_t p = 0; p < ports_.size(); ++p) {
        const Port& port = ports_[p];
        if (!port.has_exception) continue;
        const uint16_t k =
            rte_eth_rx_burst(port.exception, queue, from_kernel, kBurst);
        received |= k;
        if (k != 0) {
          QueueCounters& c = Counters(p, index);
          c.from_kernel.Add(k);
          SendOrFree(port.wire, queue, from_kernel, k, c.tx_drop);
        }
      }
    }
    // Nothing read from the snapshot before this point is used after it.
    snapshots_->Quiescent(reader);
    if constexpr (kIdleSleep) {
      // l3fwd-power's back-off: spin a little, then sleep longer and
      // longer while nothing comes; the first frame resets it. A sleeping
      // worker has just reported quiescent, so it delays a grace period
      // by one sleep at most.
      if (received != 0) {
        empty_rounds = 0;
        sleep_us = 0;
      } else if (++empty_rounds > kIdleSpins) {
        if constexpr (kIdle == IdleMode::kWait) {
          // poll() sees a frame that came after the last empty burst (the
          // RX ring is not empty), so none is slept on. Offline for RCU:
          // grace periods do not wait for a worker that reads nothing.
          snapshots_->Offline(reader);
          poll(wait_fds.data(), wait_fds.size(), kIdleWaitMs);
          snapshots_->Online(reader);
        } else {
          sleep_us = sleep_us == 0
                         ? kIdleFirstSleepUs
                         : std::min(sleep_us * 2, config_.idle_max_sleep_us);
          rte_delay_us_sleep(sleep_us);
        }
      }
    }
  }
  snapshots_->Offline(reader);
}

uint16_t Dataplane::ServeBurst(const Port& port, uint16_t queue,
                               QueueCounters& c, dns::Rrl* rrl,
                               dns::QuestionSampler* sampler) {
  const net::ServiceAddresses& service = config_.service;
  const dns::AnswerConfig& answer_config = config_.answer;
  rte_mbuf* rx[kBurst];
  rte_mbuf* answers[kBurst];
  rte_mbuf* kernel[kBurst];
  rte_mbuf* dns_mbufs[kBurst];
  net::DnsFrame frames[kBurst];
  dns::AnswerJob jobs[kBurst];
  const uint16_t n = rte_eth_rx_burst(port.wire, queue, rx, kBurst);
  if (n == 0) return 0;
  c.rx.Add(n);
  const bool tx_csum_offload = port.tx_csum_offload;
  const uint32_t xdp_rrl_meta_magic = config_.xdp_rrl_meta_magic;
  uint16_t na = 0, nk = 0, nd = 0;
  // Once per burst, for cookies (Unix seconds, RFC 9018 4.3) and rate
  // limiting (milliseconds): vDSO reads of the kernel's clocks, no system
  // call; the coarse clocks tick every few ms, which is all either needs.
  uint32_t unix_now = 0, now_ms = 0;
  if (answer_config.cookies != nullptr || rrl != nullptr) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    unix_now = static_cast<uint32_t>(ts.tv_sec);
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    now_ms = static_cast<uint32_t>(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  }
  for (unsigned i = 0; i < n && i < kPrefetchAhead; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
  }
  // Sort the burst: DNS queries for us, the kernel's, and broken ones.
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) {
      rte_prefetch0(rte_pktmbuf_mtod(rx[i + kPrefetchAhead], void*));
    }
    rte_mbuf* m = rx[i];
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    net::DnsFrame& f = frames[nd];
    const uint64_t l3 = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    net::FrameVerdict v =
        m->nb_segs != 1
            ? net::FrameVerdict::kToKernel
            : net::ClassifyFrame(
                  frame, m->data_len, service,
                  {.ipv4_header = l3 != RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                   .udp = l4 != RTE_MBUF_F_RX_L4_CKSUM_GOOD},
                  &f);
    if (v == net::FrameVerdict::kDns && (l3 == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
                                         l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)) {
      v = net::FrameVerdict::kMalformed;
    }
    if (v == net::FrameVerdict::kToKernel) {
      kernel[nk++] = m;
    } else if (v == net::FrameVerdict::kMalformed) {
      c.malformed.Add();
      rte_pktmbuf_free(m);
    } else {
      // The source address stays in the frame until MakeResponseFrame.
      jobs[nd] = {frame + f.payload, f.payload_len,
                  static_cast<size_t>(m->buf_len - m->data_off - f.payload),
                  {},
                  {frame + f.l3 + (f.ipv6 ? 8 : 12), f.ipv6, unix_now}};
      if (xdp_rrl_meta_magic != 0) {
        jobs[nd].rrl_charge = TakeXdpRrlMeta(m, xdp_rrl_meta_magic);
      }
      dns_mbufs[nd++] = m;
    }
  }
  // Answer them together: the engine overlaps their zone lookups.
  const zone::ZoneSet& zones = *snapshots_->Current();
  dns::AnswerBurst(zones, answer_config, dns::Transport::kUdp, jobs, nd);
  // Rate limiting (rrl.h) may drop responses or rewrite them into slips;
  // it counts both itself.
  dns::RrlAction rrl_actions[kBurst];
  if (rrl != nullptr) rrl->ApplyBurst(jobs, nd, now_ms, rrl_actions);
  for (uint16_t i = 0; i < nd; ++i) {
    rte_mbuf* m = dns_mbufs[i];
    const net::DnsFrame& f = frames[i];
    const dns::AnswerResult& r = jobs[i].result;
    c.outcome[static_cast<size_t>(r.outcome)].Add();
    if (r.qtype != 0) c.qtype[dns::QtypeBucket(r.qtype)].Add();
    if (r.slow_path) {
      // The control side's (NOTIFY, UPDATE, AXFR/IXFR, TSIG): to the kernel
      // as received. Nothing has written to the frame: ClassifyFrame and
      // the engine only read it when they do not answer. Without an
      // exception port (XDP mode) it is dropped below, counted; the XDP
      // program passes such messages to the kernel itself.
      c.slow_path.Add();
      kernel[nk++] = m;
      continue;
    }
    if (r.size == 0) {
      c.engine_drop.Add();
      rte_pktmbuf_free(m);
      continue;
    }
    if (rrl != nullptr && rrl_actions[i] == dns::RrlAction::kDrop) {
      rte_pktmbuf_free(m);
      continue;
    }
    c.rcode[r.rcode & 0x0F].Add();
    if (r.truncated) c.truncated.Add();
    if (sampler != nullptr) sampler->Offer(jobs[i].buf, r.question_end, r.qtype);
    const size_t len = net::MakeResponseFrame(rte_pktmbuf_mtod(m, uint8_t*),
                                              f, r.size, tx_csum_offload);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = static_cast<uint32_t>(len);
    if (tx_csum_offload) {
      m->l2_len = f.l3;
      m->l3_len = static_cast<uint16_t>(f.l4 - f.l3);
      m->ol_flags = f.ipv6 ? (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM)
                           : (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
                              RTE_MBUF_F_TX_UDP_CKSUM);
    } else {
      m->ol_flags = 0;
    }
    answers[na++] = m;
  }
  c.answered.Add(na);
  SendOrFree(port.wire, queue, answers, na, c.tx_drop);
  c.to_kernel.Add(nk);
  if (port.has_exception) {
    SendOrFree(port.exception, queue, kernel, nk, c.tx_drop);
  } else if (nk != 0) {
    rte_pktmbuf_free_bulk(kernel, nk);
  }
  return n;
}

void Dataplane::StopPorts(size_t count) {
  for (size_t i = 0; i < count && i < ports_.size(); ++i) {
    rte_eth_dev_stop(ports_[i].wire);
    rte_eth_dev_close(ports_[i].wire);
    if (ports_[i].has_exception) {
      rte_eth_dev_stop(ports_[i].exception);
      rte_eth_dev_close(ports_[i].exception);
    }
  }
}

void Dataplane::Stop() {
  if (stopped_) return;
  stopped_ = true;
  quit_.store(true);
  rte_eal_mp_wait_lcore();
  StopPorts(ports_.size());
}
Dataplane::~Dataplane() { Stop(); }

std::vector<unsigned> Dataplane::WorkerCpus() const {
  std::vector<unsigned> cpus;
  for (unsigned lcore : lcores_) {
    rte_cpuset_t set = rte_lcore_cpuset(lcore);
    for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  return cpus;
}

std::string Dataplane::WireMac(size_t port) const {
  rte_ether_addr mac;
  rte_eth_macaddr_get(ports_[port].wire, &mac);
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac.addr_bytes[0],
                         mac.addr_bytes[1], mac.addr_bytes[2],
                         mac.addr_bytes[3], mac.addr_bytes[4],
                         mac.addr_bytes[5]);
}

std::vector<double> Dataplane::WorkerPollAges() const {
  const uint64_t now = rte_get_tsc_cycles();
  const double hz = static_cast<double>(rte_get_tsc_hz());
  std::vector<double> ages;
  for (unsigned i = 0; i < workers_; ++i) {
    const uint64_t last = heartbeats_[i].tsc.load(std::memory_order_relaxed);
    ages.push_back(now > last ? static_cast<double>(now - last) / hz : 0.0);
  }
  return ages;
}

std::vector<std::string> Dataplane::LinkProblems() const {
  std::vector<std::string> problems;
  for (size_t i = 0; i < ports_.size(); ++i) {
    // A kernel-backed port (net_tap, net_af_xdp) whose interface is no
    // longer in our network namespace (the software-NIC topology moves
    // the wire tap to the peer's) cannot be looked at from here: the PMD
    // would read its flags by name and call it down. Not checked.
    rte_eth_dev_info info;
    char ifname[IF_NAMESIZE];
    if (rte_eth_dev_info_get(ports_[i].wire, &info) == 0 &&
        info.if_index != 0 &&
        if_indextoname(info.if_index, ifname) == nullptr) {
      continue;
    }
    rte_eth_link link{};
    const int rc = rte_eth_link_get_nowait(ports_[i].wire, &link);
    if (rc != 0) {
      problems.push_back(absl::StrCat("wire port ", config_.ports[i].wire,
                                      ": link state unknown: ",
                                      rte_strerror(-rc)));
    } else if (link.link_status != RTE_ETH_LINK_UP) {
      problems.push_back(
          absl::StrCat("wire port ", config_.ports[i].wire, ": link down"));
    }
  }
  return problems;
}

std::string Dataplane::RenderStats() const {
  std::string out;
  for (size_t i = 0; i < ports_.size() * workers_; ++i) {
    const QueueCounters& c = counters_[i];
    const std::string p =
        absl::StrCat("dpdk.p", i / workers_, ".q", i % workers_, ".");
    absl::StrAppend(&out, p, "rx ", c.rx.Get(), "\n", p, "answered ",
                    c.answered.Get(), "\n", p, "engine_drop ",
                    c.engine_drop.Get(), "\n", p, "malformed ",
                    c.malformed.Get(), "\n", p, "to_kernel ",
                    c.to_kernel.Get(), "\n", p, "slow_path ",
                    c.slow_path.Get(), "\n", p, "from_kernel ",
                    c.from_kernel.Get(), "\n", p, "tx_drop ", c.tx_drop.Get(),
                    "\n", p, "truncated ", c.truncated.Get(), "\n");
    for (int r = 0; r < 16; ++r) {
      if (c.rcode[r].Get() == 0) continue;
      absl::StrAppend(&out, p, "rcode.", dns::RcodeName(r), " ",
                      c.rcode[r].Get(), "\n");
    }
    for (size_t o = 0; o < dns::kOutcomeCount; ++o) {
      if (c.outcome[o].Get() == 0) continue;
      absl::StrAppend(&out, p, "outcome.", dns::OutcomeName(o), " ",
                      c.outcome[o].Get(), "\n");
    }
    for (size_t q = 0; q < dns::kQtypeBuckets; ++q) {
      if (c.qtype[q].Get() == 0) continue;
      absl::StrAppend(&out, p, "qtype.", dns::kQtypeBucketNames[q], " ",
                      c.qtype[q].Get(), "\n");
    }
  }
  return out;
}

}  // namespace popdns::dpdk
