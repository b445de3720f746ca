#include "control/server/xdp_mode.h"

#include <net/if.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "bpf/xdp_dns_shared.h"

#ifdef POPDNS_HAVE_XDP
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bpf/xdp_dns_maps.h"
#include "control/server/xdp_hot_answers.h"
#endif

namespace popdns::control {

bool RrlInDriver(const RrlSection& rrl) {
  return rrl.rate != 0 && rrl.slip <= 255 &&
         rrl.whitelist.size() <= XDP_DNS_RRL_WHITELIST_MAX;
}

#ifdef POPDNS_HAVE_XDP

namespace {

// The program built next to this binary when it runs from its build tree
// (developers, tests); otherwise the installed one: an installed binary
// must not pick up whatever a build tree at its build path holds now.
std::string DefaultProgram() {
  const std::filesystem::path built = POPDNS_XDP_PROG_BUILD;
  const std::string build_root =
      built.parent_path().parent_path().string() + "/";
  std::error_code ec;
  const std::string exe =
      std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const bool from_build_tree = !ec && exe.rfind(build_root, 0) == 0;
  if (from_build_tree && std::filesystem::exists(built)) return built;
  if (std::filesystem::exists(POPDNS_XDP_PROG_INSTALL)) {
    return POPDNS_XDP_PROG_INSTALL;
  }
  return built;  // reported as not found below
}

}  // namespace

struct XdpMode::Impl {
  int ifindex = 0;
  std::unique_ptr<xdp::XdpDnsMaps> maps;
  std::unique_ptr<HotAnswers> hot;
  std::thread sampling;
  std::mutex mu;
  std::condition_variable wake;
  bool stop = false;
};

XdpMode::XdpMode() : impl_(std::make_unique<Impl>()) {}
XdpMode::~XdpMode() { StopHotAnswers(); }

absl::Status XdpMode::StartHotAnswers(const HotAnswersSection& config,
                                      const RrlSection& rrl,
                                      uint32_t rrl_meta_magic,
                                      const dns::AnswerConfig& answer,
                                      DrainFn drain) {
  if (!impl_->maps) return absl::FailedPreconditionError("xdp: not active");
  xdp::XdpDnsMaps* maps = impl_->maps.get();
  HotAnswers::Options options;
  options.entries = std::min<size_t>(config.entries,
                                     maps->hot_answers_capacity());
  for (const auto& [name, type] : config.pinned) {
    options.pinned.push_back({name, type});
  }
  options.every_name = config.every_name;
  options.sample_every = static_cast<uint32_t>(config.sample_every);
  // The driver's hits sampled about as the workers sample (the largest
  // power of two not above sample_every): a hit then weighs as a sample.
  options.driver_hits_every =
      std::bit_floor(std::max(options.sample_every, 1u));
  if (absl::Status s = maps->SetHotHitsEvery(options.driver_hits_every);
      !s.ok()) {
    return s;
  }
  impl_->hot = std::make_unique<HotAnswers>(
      std::move(options), answer,
      HotAnswers::Sink{
          [maps](const xdp_dns_hot_key& k, const xdp_dns_hot_answer& a) {
            return maps->PutHotAnswer(k, a);
          },
          [maps](const xdp_dns_hot_key& k) {
            return maps->DeleteHotAnswer(k);
          },
          [maps](const xdp_dns_hot_key& k) {
            return maps->HotAnswerHits(k);
          }});
  if (absl::Status s = maps->SetHotAnswerRrl(
          {.rate = rrl.rate,
           .ipv4_prefix = static_cast<uint8_t>(rrl.ipv4_prefix),
           .ipv6_prefix = static_cast<uint8_t>(rrl.ipv6_prefix),
           .meta_magic = rrl_meta_magic,
           .in_driver = RrlInDriver(rrl),
           .slip = static_cast<uint8_t>(std::min<uint32_t>(rrl.slip, 255)),
           .log_only = rrl.log_only});
      !s.ok()) {
    return s;
  }
  if (RrlInDriver(rrl)) {
    std::vector<xdp::XdpDnsMaps::WhitelistPrefix> whitelist;
    for (const dns::RrlPrefix& p : RrlSettingsOf(rrl).whitelist) {
      xdp::XdpDnsMaps::WhitelistPrefix w;
      w.ipv6 = p.ipv6;
      std::memcpy(w.addr, p.addr, sizeof(w.addr));
      w.length = p.length;
      whitelist.push_back(w);
    }
    if (absl::Status s = maps->SetRrlWhitelist(whitelist); !s.ok()) return s;
  }
  if (absl::Status s = maps->SetHotAnswers(true); !s.ok()) return s;
  if (config.sample_every == 0) return absl::OkStatus();
  HotAnswers* hot = impl_->hot.get();
  const auto period = std::chrono::milliseconds(config.refresh_ms);
  impl_->sampling = std::thread([this, hot, period, drain = std::move(drain)] {
    std::unique_lock<std::mutex> lock(impl_->mu);
    while (!impl_->wake.wait_for(lock, period, [this] { return impl_->stop; })) {
      lock.unlock();
      drain([hot](std::string_view name, uint16_t qtype) {
        hot->Observe({std::string(name), qtype});
      });
      if (absl::Status s = hot->Retarget(); !s.ok()) {
        std::fprintf(stderr, "popdns: xdp.hot_answers: %s\n",
                     std::string(s.message()).c_str());
      }
      lock.lock();
    }
  });
  return absl::OkStatus();
}

void XdpMode::Refresh(std::shared_ptr<const zone::ZoneSet> zones) {
  if (!impl_->hot) return;
  if (absl::Status s = impl_->hot->Refresh(std::move(zones)); !s.ok()) {
    std::fprintf(stderr, "popdns: xdp.hot_answers: %s\n",
                 std::string(s.message()).c_str());
  }
}

void XdpMode::StopHotAnswers() {
  if (!impl_ || !impl_->sampling.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  impl_->sampling.join();
}

absl::StatusOr<std::unique_ptr<XdpMode>> XdpMode::Prepare(
    const XdpSection& config, std::vector<std::string>* eal_args) {
  std::unique_ptr<XdpMode> mode(new XdpMode());
  mode->impl_->ifindex =
      static_cast<int>(if_nametoindex(config.interface.c_str()));
  if (mode->impl_->ifindex == 0) {
    return absl::NotFoundError("xdp: no interface " + config.interface);
  }
  std::string program = config.program;
  if (program.empty()) program = DefaultProgram();
  if (!std::filesystem::exists(program)) {
    return absl::NotFoundError("xdp: program " + program + " not found");
  }
  // DPDK attaches only if no program is there: replace a crashed run's.
  if (absl::Status s = xdp::DetachXdp(mode->impl_->ifindex); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("xdp: ", config.interface, ": ", s.message()));
  }
  eal_args->push_back("--vdev");
  eal_args->push_back(absl::StrCat("net_af_xdp0,iface=", config.interface,
                                   ",start_queue=0,queue_count=",
                                   config.queues, ",xdp_prog=", program));
  return mode;
}

absl::Status XdpMode::Activate(const net::ServiceAddresses& service) {
  auto maps = xdp::XdpDnsMaps::FromIfindex(impl_->ifindex);
  if (!maps.ok()) return maps.status();
  impl_->maps = std::make_unique<xdp::XdpDnsMaps>(std::move(*maps));
  std::vector<in_addr> v4(service.v4_count);
  for (size_t i = 0; i < service.v4_count; ++i) v4[i].s_addr = service.v4[i];
  std::vector<in6_addr> v6(service.v6_count);
  for (size_t i = 0; i < service.v6_count; ++i) {
    std::memcpy(&v6[i], service.v6[i], 16);
  }
  if (absl::Status s = impl_->maps->SetServicePort(service.port); !s.ok()) {
    return s;
  }
  return impl_->maps->SetServiceAddresses(v4, v6);
}

std::string XdpMode::RenderStats() const {
  if (!impl_->maps) return "";
  auto stats = impl_->maps->ReadStats();
  if (!stats.ok()) return "";
  std::string out;
  for (int i = 0; i < XDP_DNS_STAT_COUNT; ++i) {
    absl::StrAppend(&out, "xdp.", std::string(xdp::XdpDnsStatName(i)), " ",
                    stats->by_reason[i], "\n");
  }
  if (impl_->hot) out += impl_->hot->RenderStats();
  return out;
}

dns::RrlTotals XdpMode::DriverRrlTotals() const {
  dns::RrlTotals t;
  if (!impl_->maps) return t;
  auto stats = impl_->maps->ReadStats();
  if (!stats.ok()) return t;
  t.slipped = (*stats)[XDP_DNS_STAT_RRL_SLIPPED];
  t.dropped = (*stats)[XDP_DNS_STAT_RRL_DROPPED];
  t.limited = t.slipped + t.dropped + (*stats)[XDP_DNS_STAT_RRL_LOGGED];
  return t;
}

std::vector<std::pair<std::string, uint64_t>> XdpMode::Verdicts() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  if (!impl_->maps) return out;
  auto stats = impl_->maps->ReadStats();
  if (!stats.ok()) return out;
  for (int i = 0; i < XDP_DNS_STAT_COUNT; ++i) {
    out.emplace_back(std::string(xdp::XdpDnsStatName(i)), stats->by_reason[i]);
  }
  return out;
}

#else  // !POPDNS_HAVE_XDP

struct XdpMode::Impl {};
XdpMode::XdpMode() = default;
XdpMode::~XdpMode() = default;

absl::StatusOr<std::unique_ptr<XdpMode>> XdpMode::Prepare(
    const XdpSection&, std::vector<std::string>*) {
  return absl::UnimplementedError(
      "xdp: this popdns was built without XDP (-Dxdp=disabled, or no "
      "clang/libbpf)");
}
absl::Status XdpMode::Activate(const net::ServiceAddresses&) {
  return absl::UnimplementedError("xdp: not built");
}
std::string XdpMode::RenderStats() const { return ""; }
absl::Status XdpMode::StartHotAnswers(const HotAnswersSection&,
                                      const RrlSection&, uint32_t,
                                      const dns::AnswerConfig&, DrainFn) {
  return absl::UnimplementedError("xdp: not built");
}
void XdpMode::Refresh(std::shared_ptr<const zone::ZoneSet>) {}
void XdpMode::StopHotAnswers() {}
std::vector<std::pair<std::string, uint64_t>> XdpMode::Verdicts() const {
  return {};
}
dns::RrlTotals XdpMode::DriverRrlTotals() const { return {}; }

#endif

}  // namespace popdns::control
