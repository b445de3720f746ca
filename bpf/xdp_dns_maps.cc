#include "bpf/xdp_dns_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace popdns::xdp {
namespace {

// libbpf 1.x returns -errno (and sets errno); accept either sign.
absl::Status BpfError(int err, const std::string& what) {
  return absl::ErrnoToStatus(err < 0 ? -err : err, what);
}

// bpf_{prog,map}_info.name: up to BPF_OBJ_NAME_LEN bytes, NUL-padded.
std::string_view InfoName(const char (&name)[BPF_OBJ_NAME_LEN]) {
  return std::string_view(name, strnlen(name, sizeof(name)));
}

using V6Key = std::array<uint8_t, 16>;

V6Key ToKey(const in6_addr& a) {
  V6Key k;
  std::memcpy(k.data(), &a, k.size());
  return k;
}

// Keys of a hash map; collected before deleting (deleting while walking
// with get_next_key can restart the walk).
template <typename Key>
absl::StatusOr<std::vector<Key>> MapKeys(int fd, const char* map) {
  std::vector<Key> keys;
  Key prev{};
  Key next{};
  for (bool first = true;; first = false) {
    // A null previous key asks for the first key.
    int err = bpf_map_get_next_key(fd, first ? nullptr : &prev, &next);
    if (err == -ENOENT) break;  // past the last key
    if (err < 0) return BpfError(err, absl::StrCat("walking ", map));
    keys.push_back(next);
    prev = next;
  }
  return keys;
}

struct MapShape {
  const char* name;
  uint32_t type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t min_entries;
};

absl::Status CheckShape(const bpf_map_info& info, const MapShape& want) {
  if (info.type != want.type || info.key_size != want.key_size ||
      info.value_size != want.value_size ||
      info.max_entries < want.min_entries) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "map %s (id %u) has type %u key %u value %u entries %u; expected "
        "type %u key %u value %u entries >= %u: not the xdp_dns.bpf.o this "
        "popdns was built with",
        want.name, info.id, info.type, info.key_size, info.value_size,
        info.max_entries, want.type, want.key_size, want.value_size,
        want.min_entries));
  }
  return absl::OkStatus();
}

// The id of the XDP program on `ifindex` in `mode` (0: whichever single
// mode it is attached in), 0 if none.
absl::StatusOr<uint32_t> QueryProgId(int ifindex, int mode) {
  uint32_t id = 0;
  int err = bpf_xdp_query_id(ifindex, mode, &id);
  if (err < 0) {
    return BpfError(err, absl::StrCat("querying XDP on ifindex ", ifindex));
  }
  return id;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

uint64_t XdpDnsStats::packets() const {
  uint64_t n = 0;
  for (int i = XDP_DNS_STAT_REDIRECT; i <= XDP_DNS_STAT_PASS_SLOW_PATH; ++i) {
    n += by_reason[i];
  }
  return n + by_reason[XDP_DNS_STAT_ANSWERED] +
         by_reason[XDP_DNS_STAT_RRL_SLIPPED] +
         by_reason[XDP_DNS_STAT_RRL_DROPPED];
}

std::string_view XdpDnsStatName(int reason) {
  static constexpr std::string_view kNames[XDP_DNS_STAT_COUNT] = {
      "redirect",        "pass_not_ip",     "pass_truncated",
      "pass_ip_options", "pass_fragment",   "pass_ext_header",
      "pass_not_udp",    "pass_other_port", "pass_other_address",
      "pass_slow_path",  "redirect_no_xsk", "answered",
      "redirect_not_hot", "redirect_edns",  "redirect_size",
      "redirect_unusual", "redirect_rrl",    "rrl_slipped",
      "rrl_dropped",     "rrl_logged",
  };
  if (reason < 0 || reason >= XDP_DNS_STAT_COUNT) return "unknown";
  return kNames[reason];
}

absl::StatusOr<XdpDnsMaps> XdpDnsMaps::FromProgFd(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len); err < 0) {
    return BpfError(err, "reading XDP program info");
  }
  if (info.type != BPF_PROG_TYPE_XDP ||
      InfoName(info.name) != XDP_DNS_PROG_NAME) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "BPF program %u is '%s' (type %u), not the popdns XDP program '%s'",
        info.id, std::string(InfoName(info.name)), info.type,
        XDP_DNS_PROG_NAME));
  }

  // Second call: the map ids (the kernel fills at most nr_map_ids).
  std::vector<uint32_t> map_ids(info.nr_map_ids);
  const uint32_t prog_id = info.id;
  info = bpf_prog_info{};
  info.nr_map_ids = static_cast<uint32_t>(map_ids.size());
  info.map_ids = reinterpret_cast<uintptr_t>(map_ids.data());
  len = sizeof(info);
  if (int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len); err < 0) {
    return BpfError(err, "reading XDP program map ids");
  }
  map_ids.resize(std::min<size_t>(map_ids.size(), info.nr_map_ids));

  const MapShape kV4 = {XDP_DNS_MAP_SERVICE_V4, BPF_MAP_TYPE_HASH,
                        sizeof(__be32), sizeof(xdp_dns_service_value), 1};
  const MapShape kV6 = {XDP_DNS_MAP_SERVICE_V6, BPF_MAP_TYPE_HASH,
                        sizeof(xdp_dns_in6), sizeof(xdp_dns_service_value), 1};
  const MapShape kConfig = {XDP_DNS_MAP_CONFIG, BPF_MAP_TYPE_ARRAY,
                            sizeof(__u32), sizeof(xdp_dns_config), 1};
  const MapShape kStats = {XDP_DNS_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY,
                           sizeof(__u32), sizeof(__u64), XDP_DNS_STAT_COUNT};
  const MapShape kHot = {XDP_DNS_MAP_HOT_ANSWERS, BPF_MAP_TYPE_HASH,
                         sizeof(xdp_dns_hot_key), sizeof(xdp_dns_hot_answer),
                         1};
  const MapShape kWhitelist = {XDP_DNS_MAP_RRL_WHITELIST,
                               BPF_MAP_TYPE_LPM_TRIE,
                               sizeof(xdp_dns_rrl_whitelist_key),
                               sizeof(__u8), 1};
  struct Want {
    const MapShape* shape;
    UniqueFd* fd;
    uint32_t* capacity;
  };

  XdpDnsMaps maps;
  maps.prog_id_ = prog_id;
  const Want wants[] = {
      {&kV4, &maps.service_v4_, &maps.service_v4_capacity_},
      {&kV6, &maps.service_v6_, &maps.service_v6_capacity_},
      {&kConfig, &maps.config_, nullptr},
      {&kStats, &maps.stats_, nullptr},
      {&kHot, &maps.hot_answers_, &maps.hot_answers_capacity_},
      {&kWhitelist, &maps.rrl_whitelist_, nullptr},
  };
  for (uint32_t id : map_ids) {
    UniqueFd fd(bpf_map_get_fd_by_id(id));
    if (!fd.valid()) {
      return BpfError(errno, absl::StrCat("opening BPF map id ", id));
    }
    bpf_map_info minfo{};
    uint32_t mlen = sizeof(minfo);
    if (int err = bpf_obj_get_info_by_fd(fd.get(), &minfo, &mlen); err < 0) {
      return BpfError(err, absl::StrCat("reading BPF map ", id, " info"));
    }
    for (const Want& w : wants) {
      if (InfoName(minfo.name) != w.shape->name) continue;
      if (absl::Status s = CheckShape(minfo, *w.shape); !s.ok()) return s;
      if (w.capacity != nullptr) *w.capacity = minfo.max_entries;
      *w.fd = std::move(fd);
      break;
    }
  }
  for (const Want& w : wants) {
    if (!w.fd->valid()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("BPF program %u has no map '%s': not the "
                          "xdp_dns.bpf.o this popdns was built with",
                          prog_id, w.shape->name));
    }
  }
  return maps;
}

absl::StatusOr<XdpDnsMaps> XdpDnsMaps::FromIfindex(int ifindex) {
  absl::StatusOr<uint32_t> id = QueryProgId(ifindex, 0);
  if (!id.ok() && absl::IsInvalidArgument(id.status())) {
    // Programs in both native and generic mode: libbpf wants a mode. The
    // native one sees the NIC's traffic first; DPDK attaches there when the
    // driver supports XDP.
    id = QueryProgId(ifindex, XDP_FLAGS_DRV_MODE);
    if (id.ok() && *id == 0) id = QueryProgId(ifindex, XDP_FLAGS_SKB_MODE);
  }
  if (!id.ok()) return id.status();
  if (*id == 0) {
    return absl::NotFoundError(
        absl::StrCat("no XDP program is attached to ifindex ", ifindex));
  }
  UniqueFd prog(bpf_prog_get_fd_by_id(*id));
  if (!prog.valid()) {
    return BpfError(errno, absl::StrCat("opening XDP program id ", *id));
  }
  return FromProgFd(prog.get());
}

absl::Status XdpDnsMaps::SetServiceAddresses(std::span<const in_addr> v4,
                                             std::span<const in6_addr> v6) {
  if (v4.size() > service_v4_capacity_ || v6.size() > service_v6_capacity_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%u IPv4 and %u IPv6 service addresses; the XDP program holds at "
        "most %u and %u",
        v4.size(), v6.size(), service_v4_capacity_, service_v6_capacity_));
  }
  const xdp_dns_service_value one = 1;

  // IPv4: add every wanted address, then drop the others.
  std::vector<uint32_t> want4;
  for (const in_addr& a : v4) {
    if (int err =
            bpf_map_update_elem(service_v4_.get(), &a.s_addr, &one, BPF_ANY);
        err < 0) {
      return BpfError(err, "adding to " XDP_DNS_MAP_SERVICE_V4);
    }
    want4.push_back(a.s_addr);
  }
  std::sort(want4.begin(), want4.end());
  absl::StatusOr<std::vector<uint32_t>> have4 =
      MapKeys<uint32_t>(service_v4_.get(), XDP_DNS_MAP_SERVICE_V4);
  if (!have4.ok()) return have4.status();
  for (uint32_t k : *have4) {
    if (std::binary_search(want4.begin(), want4.end(), k)) continue;
    int err = bpf_map_delete_elem(service_v4_.get(), &k);
    if (err < 0 && err != -ENOENT) {
      return BpfError(err, "removing from " XDP_DNS_MAP_SERVICE_V4);
    }
  }

  // IPv6, likewise.
  std::vector<V6Key> want6;
  for (const in6_addr& a : v6) {
    V6Key k = ToKey(a);
    if (int err =
            bpf_map_update_elem(service_v6_.get(), k.data(), &one, BPF_ANY);
        err < 0) {
      return BpfError(err, "adding to " XDP_DNS_MAP_SERVICE_V6);
    }
    want6.push_back(k);
  }
  std::sort(want6.begin(), want6.end());
  absl::StatusOr<std::vector<V6Key>> have6 =
      MapKeys<V6Key>(service_v6_.get(), XDP_DNS_MAP_SERVICE_V6);
  if (!have6.ok()) return have6.status();
  for (const V6Key& k : *have6) {
    if (std::binary_search(want6.begin(), want6.end(), k)) continue;
    int err = bpf_map_delete_elem(service_v6_.get(), k.data());
    if (err < 0 && err != -ENOENT) {
      return BpfError(err, "removing from " XDP_DNS_MAP_SERVICE_V6);
    }
  }
  return absl::OkStatus();
}

absl::Status XdpDnsMaps::SetServicePort(uint16_t port) {
  if (port == 0) {
    return absl::InvalidArgumentError("the DNS service port cannot be 0");
  }
  return UpdateConfig([port](xdp_dns_config* c) { c->port = port; });
}

absl::Status XdpDnsMaps::SetHotAnswers(bool on) {
  return UpdateConfig([on](xdp_dns_config* c) {
    c->flags = static_cast<__u16>(on ? c->flags | XDP_DNS_CONFIG_HOT_ANSWERS
                                     : c->flags & ~XDP_DNS_CONFIG_HOT_ANSWERS);
  });
}

absl::Status XdpDnsMaps::SetHotHitsEvery(uint32_t every) {
  if (every == 0 || (every & (every - 1)) != 0) {
    return absl::InvalidArgumentError(
        "hot answer hits: one counted in a power of two");
  }
  return UpdateConfig([every](xdp_dns_config* c) { c->hits_mask = every - 1; });
}

absl::Status XdpDnsMaps::SetHotAnswerRrl(const HotAnswerRrl& rrl) {
  if (rrl.ipv4_prefix > 32 || rrl.ipv6_prefix > 128) {
    return absl::InvalidArgumentError(
        "hot answer RRL: prefix lengths at most 32 and 128");
  }
  return UpdateConfig([&rrl](xdp_dns_config* c) {
    c->rrl_rate = rrl.rate;
    c->rrl_ipv4_prefix = rrl.ipv4_prefix;
    c->rrl_ipv6_prefix = rrl.ipv6_prefix;
    c->rrl_frozen_ms = rrl.frozen_ms;
    c->rrl_meta_magic = rrl.meta_magic;
    c->rrl_slip = rrl.slip;
    c->flags = static_cast<__u16>(
        (c->flags & ~(XDP_DNS_CONFIG_RRL_IN_DRIVER |
                      XDP_DNS_CONFIG_RRL_LOG_ONLY)) |
        (rrl.in_driver ? XDP_DNS_CONFIG_RRL_IN_DRIVER : 0) |
        (rrl.in_driver && rrl.log_only ? XDP_DNS_CONFIG_RRL_LOG_ONLY : 0));
  });
}

absl::Status XdpDnsMaps::SetRrlWhitelist(
    const std::vector<WhitelistPrefix>& prefixes) {
  if (prefixes.size() > XDP_DNS_RRL_WHITELIST_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rrl whitelist: at most ", XDP_DNS_RRL_WHITELIST_MAX, " prefixes"));
  }
  // An LPM trie walks its keys like a hash map: clear, then add.
  absl::StatusOr<std::vector<xdp_dns_rrl_whitelist_key>> have =
      MapKeys<xdp_dns_rrl_whitelist_key>(rrl_whitelist_.get(),
                                         XDP_DNS_MAP_RRL_WHITELIST);
  if (!have.ok()) return have.status();
  for (const xdp_dns_rrl_whitelist_key& k : *have) {
    int err = bpf_map_delete_elem(rrl_whitelist_.get(), &k);
    if (err < 0 && err != -ENOENT) {
      return BpfError(err, "removing from " XDP_DNS_MAP_RRL_WHITELIST);
    }
  }
  const __u8 one = 1;
  for (const WhitelistPrefix& p : prefixes) {
    if (p.length > (p.ipv6 ? 128 : 32)) {
      return absl::InvalidArgumentError("rrl whitelist: prefix too long");
    }
    xdp_dns_rrl_whitelist_key k{};
    k.prefixlen = 8u + p.length;
    k.family = p.ipv6 ? 6 : 4;
    std::memcpy(k.addr, p.addr, p.ipv6 ? 16 : 4);
    if (int err = bpf_map_update_elem(rrl_whitelist_.get(), &k, &one, BPF_ANY);
        err < 0) {
      return BpfError(err, "adding to " XDP_DNS_MAP_RRL_WHITELIST);
    }
  }
  return absl::OkStatus();
}

template <typename Change>
absl::Status XdpDnsMaps::UpdateConfig(Change change) {
  const uint32_t key = 0;
  xdp_dns_config cfg{};
  if (int err = bpf_map_lookup_elem(config_.get(), &key, &cfg); err < 0) {
    return BpfError(err, "reading " XDP_DNS_MAP_CONFIG);
  }
  change(&cfg);
  if (int err = bpf_map_update_elem(config_.get(), &key, &cfg, BPF_ANY);
      err < 0) {
    return BpfError(err, "setting " XDP_DNS_MAP_CONFIG);
  }
  return absl::OkStatus();
}

absl::Status XdpDnsMaps::PutHotAnswer(const xdp_dns_hot_key& key,
                                      const xdp_dns_hot_answer& answer) {
  if (int err = bpf_map_update_elem(hot_answers_.get(), &key, &answer,
                                    BPF_ANY);
      err < 0) {
    return BpfError(err, "adding to " XDP_DNS_MAP_HOT_ANSWERS);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> XdpDnsMaps::HotAnswerHits(
    const xdp_dns_hot_key& key) const {
  xdp_dns_hot_answer a;
  if (int err = bpf_map_lookup_elem(hot_answers_.get(), &key, &a); err < 0) {
    return BpfError(err, "reading " XDP_DNS_MAP_HOT_ANSWERS);
  }
  return a.hits;
}

absl::Status XdpDnsMaps::DeleteHotAnswer(const xdp_dns_hot_key& key) {
  int err = bpf_map_delete_elem(hot_answers_.get(), &key);
  if (err < 0 && err != -ENOENT) {
    return BpfError(err, "removing from " XDP_DNS_MAP_HOT_ANSWERS);
  }
  return absl::OkStatus();
}

absl::StatusOr<XdpDnsStats> XdpDnsMaps::ReadStats() const {
  const int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return BpfError(ncpus, "counting possible CPUs");
  // A per-CPU lookup returns one 8-byte-aligned value per possible CPU.
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  XdpDnsStats stats;
  for (uint32_t key = 0; key < XDP_DNS_STAT_COUNT; ++key) {
    if (int err = bpf_map_lookup_elem(stats_.get(), &key, per_cpu.data());
        err < 0) {
      return BpfError(err, "reading " XDP_DNS_MAP_STATS);
    }
    for (uint64_t v : per_cpu) stats.by_reason[key] += v;
  }
  return stats;
}

absl::Status DetachXdp(int ifindex) {
  // DPDK attaches without a mode flag, so the kernel picked native mode if
  // the driver has it and generic mode otherwise: look at both.
  for (int mode : {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE}) {
    absl::StatusOr<uint32_t> id = QueryProgId(ifindex, mode);
    if (!id.ok()) return id.status();
    if (*id == 0) continue;
    UniqueFd prog(bpf_prog_get_fd_by_id(*id));
    if (!prog.valid()) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return BpfError(errno, absl::StrCat("opening XDP program id ", *id));
    }
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (int err = bpf_obj_get_info_by_fd(prog.get(), &info, &len); err < 0) {
      return BpfError(err, "reading XDP program info");
    }
    const char* mode_name = mode == XDP_FLAGS_DRV_MODE ? "native" : "generic";
    if (InfoName(info.name) != XDP_DNS_PROG_NAME) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "ifindex %d has XDP program %u '%s' in %s mode, not popdns's '%s'; "
          "not detaching it (ip link set dev <if> xdp off does)",
          ifindex, *id, std::string(InfoName(info.name)), mode_name,
          XDP_DNS_PROG_NAME));
    }
    // XDP_FLAGS_REPLACE + old_prog_fd: detach only if it is still the
    // program inspected above.
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof(opts);
    opts.old_prog_fd = prog.get();
    if (int err = bpf_xdp_detach(ifindex, mode | XDP_FLAGS_REPLACE, &opts);
        err < 0) {
      return BpfError(err, absl::StrFormat("detaching XDP program %u (%s) "
                                           "from ifindex %d",
                                           *id, mode_name, ifindex));
    }
  }
  return absl::OkStatus();
}

}  // namespace popdns::xdp
