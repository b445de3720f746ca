#include "control/server/xdp_hot_answers.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "dataplane/dns/answer_parsed.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
namespace {

constexpr size_t kBufSize = 2048;

// The zone of ours that `name` is in (the longest apex it ends with on a
// label boundary), or nullptr.
const zone::Zone* ZoneOf(const zone::ZoneSet& zones, std::string_view name) {
  const zone::Zone* best = nullptr;
  for (const auto& z : zones.zones()) {
    const std::string& apex = z->apex;
    if (apex.size() > name.size() ||
        name.substr(name.size() - apex.size()) != apex) {
      continue;
    }
    // On a label boundary: walk the labels of name to that offset.
    size_t off = 0;
    while (off < name.size() - apex.size()) {
      off += 1 + static_cast<uint8_t>(name[off]);
    }
    if (off != name.size() - apex.size()) continue;
    if (best == nullptr || apex.size() > best->apex.size()) best = z.get();
  }
  return best;
}

// {q, IN} with ID 0, no flags, and an OPT of `udp` octets if udp != 0.
size_t WriteQuery(const HotQuestion& q, uint16_t udp, uint8_t* buf) {
  std::memset(buf, 0, dns::kHeaderSize);
  dns::Store16(buf + 4, 1);
  size_t n = dns::kHeaderSize;
  std::memcpy(buf + n, q.name.data(), q.name.size());
  n += q.name.size();
  dns::Store16(buf + n, q.qtype);
  dns::Store16(buf + n + 2, dns::rrclass::kIn);
  n += 4;
  if (udp != 0) {
    dns::Store16(buf + 10, 1);
    std::memset(buf + n, 0, dns::kOptSize);
    dns::Store16(buf + n + 1, dns::rrtype::kOpt);
    dns::Store16(buf + n + 3, udp);
    n += dns::kOptSize;
  }
  return n;
}

struct Response {
  uint8_t buf[kBufSize];
  dns::AnswerResult r;
};

absl::Status Usable(const Response& res) {
  if (res.r.slow_path || res.r.size == 0) {
    return absl::FailedPreconditionError("not answered by the engine");
  }
  if (res.buf[dns::kOffFlags1] & dns::kFlagTc) {
    return absl::FailedPreconditionError("truncated");
  }
  if (res.r.rcode != 0 && res.r.rcode != 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("rcode ", res.r.rcode));
  }
  return absl::OkStatus();
}

// The name as the program holds it: lowercased (HotQuestion's already
// is), zero-padded, as little-endian words.
std::array<uint64_t, XDP_DNS_HOT_NAME_MAX / 8> NameWords(
    const std::string& name) {
  static_assert(std::endian::native == std::endian::little,
                "the program reads the name's words little-endian");
  std::array<uint64_t, XDP_DNS_HOT_NAME_MAX / 8> words{};
  std::memcpy(words.data(), name.data(),
              std::min(name.size(), sizeof(words)));
  return words;
}

}  // namespace

xdp_dns_hot_key HotKey(const HotQuestion& q) {
  xdp_dns_hot_key k;
  std::memset(&k, 0, sizeof(k));
  const auto words = NameWords(q.name);
  const size_t used = std::min<size_t>((q.name.size() + 7) / 8, words.size());
  uint64_t hash = 0;
  for (size_t i = 0; i < used; ++i) {
    hash = xdp_dns_hot_hash_step(hash, words[i]);
  }
  k.name_hash = hash;
  k.qtype = q.qtype;
  k.name_len = static_cast<uint16_t>(q.name.size());
  return k;
}

absl::StatusOr<xdp_dns_hot_answer> CompileHotAnswer(
    const zone::ZoneSet& zones, const dns::AnswerConfig& config,
    const HotQuestion& q) {
  if (q.name.empty() || q.name.size() > XDP_DNS_HOT_NAME_MAX) {
    return absl::FailedPreconditionError("name longer than a key holds");
  }
  const zone::Zone* z = ZoneOf(zones, q.name);
  if (z == nullptr) return absl::NotFoundError("not in a zone of ours");
  // Answers chosen per client (VARIANT records, zone/variant.h) cannot be
  // one entry. The engine chooses among them only for a question on the
  // very name that has them (dns::AnswerParsed: not for a name a wildcard
  // or a CNAME leads to it from), so only that name stays out of the map.
  if (const zone::Node* n = z->Find(q.name);
      n != nullptr && (n->flags & zone::kHasVariants)) {
    return absl::FailedPreconditionError("name has client-dependent answers");
  }
  const uint16_t udp = std::max<uint16_t>(config.udp_payload, 512);
  Response plain, edns;
  const size_t qlen = WriteQuery(q, 0, plain.buf);
  const size_t question_end = qlen;
  plain.r = dns::Answer(zones, config, dns::Transport::kUdp, plain.buf, qlen,
                        512);
  const size_t elen = WriteQuery(q, udp, edns.buf);
  edns.r = dns::Answer(zones, config, dns::Transport::kUdp, edns.buf, elen,
                       udp);
  const absl::Status plain_ok = Usable(plain);
  const absl::Status edns_ok = Usable(edns);
  if (!plain_ok.ok() && !edns_ok.ok()) return edns_ok;

  // The EDNS response's sections (its OPT is last: no option was asked
  // for) unless only the plain one qualifies.
  const bool from_edns = edns_ok.ok() && edns.r.opt_at != 0 &&
                         edns.r.opt_at - question_end <= XDP_DNS_HOT_ANSWER_MAX;
  const Response& base = from_edns ? edns : plain;
  const size_t end = from_edns ? edns.r.opt_at : plain.r.size;
  if ((!plain_ok.ok() && !from_edns) ||
      end - question_end > XDP_DNS_HOT_ANSWER_MAX) {
    return absl::FailedPreconditionError("answer longer than an entry holds");
  }
  xdp_dns_hot_answer a;
  std::memset(&a, 0, sizeof(a));
  const auto words = NameWords(q.name);
  std::memcpy(a.name, words.data(), sizeof(a.name));
  a.len = static_cast<uint16_t>(end - question_end);
  std::memcpy(a.bytes, base.buf + question_end, a.len);
  a.header_flags1 = base.buf[2];
  a.header_flags2 = base.buf[3];
  a.an = dns::Load16(base.buf + 6);
  a.ns = dns::Load16(base.buf + 8);
  a.ar = static_cast<uint16_t>(dns::Load16(base.buf + 10) -
                               (from_edns ? 1 : 0));
  a.udp_payload = udp;
  if (from_edns) a.flags |= XDP_DNS_HOT_EDNS;
  // The plain response shares the entry when it is the same message.
  if (plain_ok.ok() && plain.r.size == end &&
      std::memcmp(plain.buf + 2, base.buf + 2, 8) == 0 &&
      dns::Load16(plain.buf + 10) == a.ar &&
      std::memcmp(plain.buf + question_end, a.bytes, a.len) == 0) {
    a.flags |= XDP_DNS_HOT_PLAIN;
  }
  if (!(a.flags & (XDP_DNS_HOT_PLAIN | XDP_DNS_HOT_EDNS))) {
    return absl::FailedPreconditionError("no response fits an entry");
  }
  if (z->is_signed) a.flags |= XDP_DNS_HOT_SIGNED;
  uint32_t sum = 0;
  for (size_t i = 0; i < a.len; ++i) {
    const size_t at = question_end + i;
    sum += (at & 1) ? a.bytes[i] : uint32_t{a.bytes[i]} << 8;
  }
  a.sum = sum;
  a.rrl_id = static_cast<uint32_t>(std::hash<std::string>{}(q.name) * 31 +
                                   q.qtype);
  return a;
}

std::vector<HotQuestion> EveryQuestion(const zone::ZoneSet& zones,
                                       size_t limit) {
  // Smallest zones first: under the limit, a zone is in whole or not at
  // all but for the last one taken.
  std::vector<const zone::Zone*> order;
  for (const auto& zp : zones.zones()) order.push_back(zp.get());
  std::stable_sort(order.begin(), order.end(),
                   [](const zone::Zone* a, const zone::Zone* b) {
                     return a->index.bytes() < b->index.bytes();
                   });
  std::vector<HotQuestion> out;
  for (const zone::Zone* zp : order) {
    const zone::Zone& z = *zp;
    std::vector<HotQuestion> of_zone;
    z.index.ForEachNode([&](uint32_t i) {
      const zone::Node& n = z.nodes[i];
      if (n.name.size() > XDP_DNS_HOT_NAME_MAX) return;
      for (uint32_t r = 0; r < n.rrset_count; ++r) {
        const uint16_t type = z.rrsets[n.rrset_begin + r].type;
        if (type == dns::rrtype::kRrsig) continue;
        of_zone.push_back({std::string(n.name), type});
      }
    });
    std::sort(of_zone.begin(), of_zone.end());
    of_zone.erase(std::unique(of_zone.begin(), of_zone.end()), of_zone.end());
    for (HotQuestion& q : of_zone) {
      if (out.size() >= limit) return out;
      out.push_back(std::move(q));
    }
  }
  return out;
}

HotAnswers::HotAnswers(Options options, const dns::AnswerConfig& config,
                       Sink sink)
    : options_(std::move(options)), config_(config), sink_(std::move(sink)) {}

xdp_dns_hot_key HotAnswers::KeyOf(const HotQuestion& q) const {
  return options_.key_of ? options_.key_of(q) : HotKey(q);
}

absl::Status HotAnswers::Refresh(std::shared_ptr<const zone::ZoneSet> zones) {
  std::lock_guard<std::mutex> lock(mu_);
  // The previous version stays alive until every entry has been compared:
  // Installed::zone is only compared while its zone cannot have been
  // freed (and its address reused by a new version).
  std::shared_ptr<const zone::ZoneSet> previous = std::move(zones_);
  zones_ = std::move(zones);
  ++refreshes_;
  return InstallLocked(false);
}

void HotAnswers::Observe(const HotQuestion& q) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[q];
}

absl::Status HotAnswers::Retarget() {
  std::lock_guard<std::mutex> lock(mu_);
  if (sink_.hits) {
    const uint32_t every = std::max<uint32_t>(options_.sample_every, 1);
    for (auto& [q, in] : installed_) {
      // In the map whatever its count: not worth a read of its entry.
      if (in.always) continue;
      absl::StatusOr<uint32_t> hits = sink_.hits(in.key);
      if (!hits.ok()) continue;
      // A replaced entry starts again from 0.
      const uint32_t fresh = *hits >= in.hits ? *hits - in.hits : *hits;
      in.hits = *hits;
      const uint64_t answers = uint64_t{fresh} * options_.driver_hits_every;
      if (answers >= every) counts_[q] += answers / every;
    }
  }
  std::vector<std::pair<uint64_t, HotQuestion>> by_count;
  by_count.reserve(counts_.size());
  for (auto it = counts_.begin(); it != counts_.end();) {
    // A pinned (or every_name) question is in the map anyway: it takes
    // none of the room left for sampled ones.
    auto in = installed_.find(it->first);
    if (in == installed_.end() || !in->second.always) {
      by_count.emplace_back(it->second, it->first);
    }
    it->second /= 2;  // decay: a name must stay hot to stay
    it = it->second == 0 ? counts_.erase(it) : std::next(it);
  }
  // The most counted, in the room the pinned ones leave...
  const size_t room = options_.entries - std::min(options_.entries,
                                                  always_wanted_);
  if (by_count.size() > room) {
    std::partial_sort(by_count.begin(), by_count.begin() + room,
                      by_count.end(), [](const auto& a, const auto& b) {
                        return a.first > b.first;
                      });
    by_count.resize(room);
  }
  // ...in the questions' order, so that a set whose counts moved is still
  // the same set.
  std::sort(by_count.begin(), by_count.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<HotQuestion> sampled;
  sampled.reserve(by_count.size());
  for (auto& [n, q] : by_count) sampled.push_back(std::move(q));
  // The same wanted set against the same zones: nothing to install (the
  // zones change only through Refresh, which installs). With thousands of
  // entries the comparison of each against the map is most of what a
  // refresh would cost.
  if (sampled == sampled_ && !install_failed_) return absl::OkStatus();
  sampled_ = std::move(sampled);
  return InstallLocked(false);
}

std::vector<HotAnswers::Wanted> HotAnswers::WantedLocked() const {
  std::vector<HotQuestion> want = options_.pinned;
  if (options_.every_name && zones_) {
    std::vector<HotQuestion> all = EveryQuestion(*zones_, options_.entries);
    want.insert(want.end(), all.begin(), all.end());
  }
  const size_t always = want.size();
  want.insert(want.end(), sampled_.begin(), sampled_.end());
  // Pinned first, then every name, then the sampled ones, up to entries.
  std::vector<Wanted> out;
  std::map<HotQuestion, bool> seen;
  for (size_t i = 0; i < want.size(); ++i) {
    if (out.size() >= options_.entries) break;
    if (seen.emplace(want[i], true).second) {
      out.push_back({std::move(want[i]), i < always});
    }
  }
  return out;
}

absl::Status HotAnswers::InstallLocked(bool all) {
  if (!zones_) return absl::OkStatus();
  absl::Status first;
  auto note = [&](absl::Status s) {
    if (!s.ok() && first.ok()) first = std::move(s);
  };
  // Two questions whose keys are equal (their names share a hash) cannot
  // both have an entry: the first wanted keeps it, the other stays with
  // the workers.
  std::vector<std::tuple<HotQuestion, xdp_dns_hot_key, bool>> want;
  std::set<std::tuple<uint64_t, uint16_t, uint16_t>> keys;
  std::vector<Wanted> wanted_now = WantedLocked();
  // Counted as WantedLocked caps them, a pinned question that does not
  // qualify (a name with variants) included: the sampled ones get the
  // rest.
  always_wanted_ = static_cast<size_t>(std::count_if(
      wanted_now.begin(), wanted_now.end(),
      [](const Wanted& w) { return w.always; }));
  for (Wanted& w : wanted_now) {
    const xdp_dns_hot_key k = KeyOf(w.question);
    if (keys.emplace(k.name_hash, k.qtype, k.name_len).second) {
      want.emplace_back(std::move(w.question), k, w.always);
    } else {
      ++refused_;
    }
  }
  std::map<HotQuestion, bool> wanted;
  for (const auto& [q, k, always] : want) wanted.emplace(q, true);
  // Gone from the wanted set: out of the map.
  for (auto it = installed_.begin(); it != installed_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    note(sink_.remove(it->second.key));
    it = installed_.erase(it);
  }
  for (const auto& [q, key, always] : want) {
    const zone::Zone* z = ZoneOf(*zones_, q.name);
    const bool expired = z != nullptr && zones_->IsExpired(z);
    auto it = installed_.find(q);
    // Compiled from this very version: nothing can have changed. (A
    // question that did not qualify is tried again each time.)
    if (!all && it != installed_.end() && it->second.zone == z &&
        it->second.expired == expired && z != nullptr) {
      it->second.always = always;
      continue;
    }
    absl::StatusOr<xdp_dns_hot_answer> a =
        expired ? absl::FailedPreconditionError("zone expired")
                : CompileHotAnswer(*zones_, config_, q);
    if (!a.ok()) {
      ++refused_;
      if (it != installed_.end()) {
        note(sink_.remove(it->second.key));
        installed_.erase(it);
      }
      continue;
    }
    uint32_t hits = it != installed_.end() ? it->second.hits : 0;
    if (it == installed_.end() ||
        std::memcmp(&it->second.answer, &*a, sizeof(*a)) != 0) {
      absl::Status s = sink_.put(key, *a);
      if (!s.ok()) {
        note(std::move(s));
        continue;
      }
      hits = 0;
    }
    installed_[q] = {key, *a, z, expired, hits, always};
  }
  install_failed_ = !first.ok();
  return first;
}

size_t HotAnswers::installed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return installed_.size();
}

std::string HotAnswers::RenderStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return absl::StrCat("xdp.hot.installed ", installed_.size(),
                      "\nxdp.hot.refreshes ", refreshes_,
                      "\nxdp.hot.not_eligible ", refused_, "\n");
}

}  // namespace popdns::control
