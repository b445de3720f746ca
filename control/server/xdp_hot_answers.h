// Answers inside the XDP program (issue 17): the control side of the
// hot_answers map (bpf/xdp_dns_shared.h). For each hot (name, type) it
// asks the answer engine itself what it would send, for a query without
// EDNS and one with an OPT, and installs those bytes; the program then
// answers such queries in the driver (bpf/xdp_dns.bpf.c answer_hot).
//
// Which questions are hot: the config's pinned ones, every name of every
// zone (`every_name`, for tests and small deployments), and the ones the
// workers see most (HotSampler, counted here by Observe/TakeTop).
//
// Consistency: ZoneStore calls Refresh with every new ZoneSet before it
// publishes it to the workers, so once a reload, transfer or update has
// returned, no entry in the map comes from an older version (an entry
// whose answer changed is replaced whole; one that no longer qualifies is
// removed).
//
// Thread-safe: Refresh comes from whichever thread publishes, Retarget
// from the control thread's timer.
#ifndef POPDNS_CONTROL_SERVER_XDP_HOT_ANSWERS_H_
#define POPDNS_CONTROL_SERVER_XDP_HOT_ANSWERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "bpf/xdp_dns_shared.h"
#include "dataplane/dns/answer.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::control {

// A question: the name in wire format, lowercased, and the type.
struct HotQuestion {
  std::string name;
  uint16_t qtype = 0;
  bool operator<(const HotQuestion& o) const {
    return qtype != o.qtype ? qtype < o.qtype : name < o.name;
  }
  bool operator==(const HotQuestion& o) const = default;
};

xdp_dns_hot_key HotKey(const HotQuestion& q);

// The map entry for `q`: the engine's responses to {q, class IN, RD 0}
// without EDNS and with an OPT of our payload size, or why there is none
// (FailedPrecondition: the name is too long, the answer too big, it
// depends on the client (a name with VARIANT records), the engine leaves
// it to the control side, or truncates it; NotFound: no zone of ours).
absl::StatusOr<xdp_dns_hot_answer> CompileHotAnswer(
    const zone::ZoneSet& zones, const dns::AnswerConfig& config,
    const HotQuestion& q);

// Every name of every zone with each type it has, smallest zones first,
// at most `limit`.
std::vector<HotQuestion> EveryQuestion(const zone::ZoneSet& zones,
                                       size_t limit);

class HotAnswers {
 public:
  // Where entries go: the BPF map (XdpMode), or a test's map.
  struct Sink {
    std::function<absl::Status(const xdp_dns_hot_key&,
                               const xdp_dns_hot_answer&)>
        put;
    std::function<absl::Status(const xdp_dns_hot_key&)> remove;
    // How often the program answered from an entry (may be empty: no
    // counts, tests).
    std::function<absl::StatusOr<uint32_t>(const xdp_dns_hot_key&)> hits;
  };
  struct Options {
    size_t entries = 1024;            // map entries used, at most
    std::vector<HotQuestion> pinned;  // always wanted
    bool every_name = false;
    // The workers' sampling rate: an answer in the driver counts as
    // 1/sample_every of a sample.
    uint32_t sample_every = 64;
    // The program counts one answer in this many in an entry's hits
    // (XdpDnsMaps::SetHotHitsEvery): a hit is worth this many answers.
    uint32_t driver_hits_every = 1;
    // The map key of a question; empty: HotKey. Tests give one under
    // which two names share a key, which HotKey's 64-bit hash makes too
    // rare to find.
    std::function<xdp_dns_hot_key(const HotQuestion&)> key_of;
  };

  HotAnswers(Options options, const dns::AnswerConfig& config, Sink sink);

  // The zones about to be published: every wanted question's entry is
  // compiled afresh from them where its zone changed (and removed where
  // it no longer qualifies). Errors: the sink's first error (the rest is
  // still attempted).
  absl::Status Refresh(std::shared_ptr<const zone::ZoneSet> zones);

  // Samples from the workers: one query each.
  void Observe(const HotQuestion& q);
  // Makes the wanted set pinned + (every name) + the most observed since
  // the last call, up to `entries`, and installs it against the zones of
  // the last Refresh. Questions answered in the driver meanwhile count by
  // their entries' hits (they no longer reach the workers). Counts decay
  // by half each call.
  absl::Status Retarget();

  size_t installed() const;
  // For `popdnsctl stats`: installed entries, refreshes, compile refusals.
  std::string RenderStats() const;

 private:
  struct Installed {
    xdp_dns_hot_key key;
    xdp_dns_hot_answer answer;
    const zone::Zone* zone = nullptr;  // of the version compiled from
    bool expired = false;
    uint32_t hits = 0;  // the entry's counter when last read
    bool always = false;  // pinned or every_name: its hits are not read
  };
  struct Wanted {
    HotQuestion question;
    bool always = false;  // pinned or every_name, not sampled
  };
  absl::Status InstallLocked(bool all);
  std::vector<Wanted> WantedLocked() const;

  xdp_dns_hot_key KeyOf(const HotQuestion& q) const;

  const Options options_;
  const dns::AnswerConfig config_;
  const Sink sink_;
  mutable std::mutex mu_;
  std::shared_ptr<const zone::ZoneSet> zones_;
  std::vector<HotQuestion> sampled_;  // chosen by the last Retarget
  std::map<HotQuestion, uint64_t> counts_;
  std::map<HotQuestion, Installed> installed_;
  uint64_t refreshes_ = 0;
  uint64_t refused_ = 0;
  bool install_failed_ = false;  // the sink refused a change: try again
  size_t always_wanted_ = 0;  // pinned and every_name questions wanted
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_XDP_HOT_ANSWERS_H_
