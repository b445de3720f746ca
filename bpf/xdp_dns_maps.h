// Userspace side of the XDP fallback program (bpf/xdp_dns.bpf.c).
//
// DPDK's net_af_xdp PMD loads and attaches the program itself (devarg
// xdp_prog=), so popdns never holds the bpf_object: it finds the maps of the
// program attached to the interface by their names (xdp_dns_shared.h),
// fills the service addresses and port once DPDK has set the port up, and
// reads the verdict counters for `popdnsctl stats`. DetachXdp() removes a
// program a crashed popdns left attached (DPDK attaches with
// XDP_FLAGS_UPDATE_IF_NOEXIST, so the next start would fail with EBUSY).
//
// Startup order with net_af_xdp (DPDK 22.11 loads and attaches the object
// inside rte_eth_rx_queue_setup() of the first queue, then stores each
// queue's AF_XDP socket in xsks_map):
//   1. DetachXdp(ifindex)               a crashed run's program, if any
//   2. rte_eth_dev_configure, rx/tx queue setup   (DPDK attaches here)
//   3. XdpDnsMaps::FromIfindex(ifindex), SetServicePort, SetServiceAddresses
//   4. rte_eth_dev_start
// Until step 3 the service sets are empty and the program passes every
// packet to the kernel. On rte_eth_dev_close DPDK detaches the program
// itself (bpf_xdp_detach(ifindex, XDP_FLAGS_UPDATE_IF_NOEXIST)).
//
// Control thread only: every call is a syscall and may allocate; errors are
// absl::Status. An XdpDnsMaps is not synchronised: one thread at a time.
#ifndef POPDNS_BPF_XDP_DNS_MAPS_H_
#define POPDNS_BPF_XDP_DNS_MAPS_H_

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bpf/xdp_dns_shared.h"

namespace popdns::xdp {

// Owns one file descriptor (a BPF program or map); closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// xdp_stats summed over all CPUs, indexed by enum xdp_dns_stat.
struct XdpDnsStats {
  std::array<uint64_t, XDP_DNS_STAT_COUNT> by_reason{};

  uint64_t operator[](xdp_dns_stat reason) const { return by_reason[reason]; }
  // Packets the program saw: the sum of the partitioning reasons
  // (everything but XDP_DNS_STAT_REDIRECT_NO_XSK, a subset of REDIRECT).
  uint64_t packets() const;
};

// "redirect", "pass_not_ip", ... for stats output; "unknown" out of range.
std::string_view XdpDnsStatName(int reason);

// The maps of one loaded xdp_dns program.
class XdpDnsMaps {
 public:
  // The program attached to `ifindex` (native or generic mode).
  // Errors: NotFound if no XDP program is attached; FailedPrecondition if
  // the attached program is not xdp_dns or a map has an unexpected shape;
  // otherwise the errno of the failing bpf() call (PermissionDenied without
  // CAP_BPF/CAP_SYS_ADMIN, ...).
  static absl::StatusOr<XdpDnsMaps> FromIfindex(int ifindex);

  // A loaded program, by fd (tests; a loader that keeps the fd). The fd is
  // not taken over. Errors as FromIfindex, minus the attachment lookup.
  static absl::StatusOr<XdpDnsMaps> FromProgFd(int prog_fd);

  XdpDnsMaps(XdpDnsMaps&&) = default;
  XdpDnsMaps& operator=(XdpDnsMaps&&) = default;

  // Makes the service sets exactly `v4` and `v6` (network byte order, as in
  // in_addr/in6_addr). New entries are added before stale ones are removed,
  // so an address present in both old and new sets is never missing.
  // Errors: InvalidArgument if a set exceeds the map's capacity (nothing is
  // changed then); the errno of a failing update or delete otherwise (the
  // maps may then hold a mix of old and new entries: retry).
  absl::Status SetServiceAddresses(std::span<const in_addr> v4,
                                   std::span<const in6_addr> v6);

  // Sets the UDP destination port the program redirects (host byte order).
  // Errors: InvalidArgument for port 0; the errno of the update otherwise.
  absl::Status SetServicePort(uint16_t port);

  // Turns answers from hot_answers in the driver on or off.
  absl::Status SetHotAnswers(bool on);
  // The program counts one answer in `every` in its entry's hits, at
  // random (xdp_dns_config.hits_mask); 1: every answer. Errors:
  // InvalidArgument unless `every` is a power of two.
  absl::Status SetHotHitsEvery(uint32_t every);
  // Rate limiting of hot answers (xdp_dns_config.rrl_*): the worker's
  // token bucket per (client prefix, hot entry), `rate` responses a
  // second; what it cannot pay is limited in the driver (in_driver) or
  // goes to the worker's RRL. rate 0: none. Errors: InvalidArgument for
  // prefixes out of range.
  struct HotAnswerRrl {
    uint32_t rate = 0;
    uint8_t ipv4_prefix = 24;
    uint8_t ipv6_prefix = 56;
    // The tag of the hand-over's metadata (xdp_dns_rrl_meta), the one the
    // worker looks for (DataplaneConfig::xdp_rrl_meta_magic); 0: none.
    uint32_t meta_magic = 0;
    // Limit in the driver (XDP_DNS_CONFIG_RRL_IN_DRIVER), every slip-th
    // limited query slipped, instead of handing over to the worker.
    bool in_driver = false;
    uint8_t slip = 2;
    // With in_driver: count what the bucket cannot pay (RRL_LOGGED) and
    // answer it all the same.
    bool log_only = false;
    // Tests: the buckets' clock stands at this many milliseconds; 0: it
    // follows the kernel's monotonic clock.
    uint64_t frozen_ms = 0;
  };
  absl::Status SetHotAnswerRrl(const HotAnswerRrl& rrl);
  // The clients the driver never limits (rrl_whitelist): replaces the
  // map's prefixes. Errors: InvalidArgument for more than
  // XDP_DNS_RRL_WHITELIST_MAX or a length out of range; the errno of an
  // update otherwise.
  struct WhitelistPrefix {
    bool ipv6 = false;
    uint8_t addr[16] = {};  // network byte order; 4 used for IPv4
    uint8_t length = 0;
  };
  absl::Status SetRrlWhitelist(const std::vector<WhitelistPrefix>& prefixes);
  // Adds or replaces one hot answer (whole: the program sees the old
  // entry or the new one), or removes it (absent: OK). Errors: the errno
  // of the update (E2BIG when the map is full).
  absl::Status PutHotAnswer(const xdp_dns_hot_key& key,
                            const xdp_dns_hot_answer& answer);
  absl::Status DeleteHotAnswer(const xdp_dns_hot_key& key);
  // The entry's hit counter (xdp_dns_hot_answer::hits). Errors: NotFound
  // when there is no such entry; the errno of the lookup otherwise.
  absl::StatusOr<uint32_t> HotAnswerHits(const xdp_dns_hot_key& key) const;
  uint32_t hot_answers_capacity() const { return hot_answers_capacity_; }

  // Reads and sums xdp_stats over all possible CPUs.
  // Errors: the errno of a failing lookup.
  absl::StatusOr<XdpDnsStats> ReadStats() const;

  uint32_t prog_id() const { return prog_id_; }

 private:
  XdpDnsMaps() = default;
  // Read, change and write xdp_config[0].
  template <typename Change>
  absl::Status UpdateConfig(Change change);

  uint32_t prog_id_ = 0;
  UniqueFd service_v4_;
  UniqueFd service_v6_;
  UniqueFd config_;
  UniqueFd stats_;
  UniqueFd hot_answers_;
  UniqueFd rrl_whitelist_;
  uint32_t hot_answers_capacity_ = 0;
  uint32_t service_v4_capacity_ = 0;
  uint32_t service_v6_capacity_ = 0;
};

// Detaches the xdp_dns program from `ifindex` in whichever of native and
// generic mode it is attached, so a start after a crash can attach afresh.
// Only a program named xdp_dns is removed, and only if it is still the one
// inspected (XDP_FLAGS_REPLACE): another tool's program is left alone.
// OK when nothing is attached.
// Errors: FailedPrecondition if a different XDP program is attached; the
// errno of the failing query or detach otherwise.
absl::Status DetachXdp(int ifindex);

}  // namespace popdns::xdp

#endif  // POPDNS_BPF_XDP_DNS_MAPS_H_
