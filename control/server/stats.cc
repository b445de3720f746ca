#include "control/server/stats.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
static_assert(static_cast<size_t>(dns::Outcome::kExpired) + 1 == kOutcomes);

const char* OutcomeName(size_t outcome) { return dns::OutcomeName(outcome); }
const char* RcodeName(size_t rcode) { return dns::RcodeName(rcode); }
const char* QtypeBucketName(size_t bucket) {
  return bucket < kQtypeBuckets ? dns::kQtypeBucketNames[bucket] : "other";
}

void WorkerStats::Count(const dns::AnswerResult& r) {
  received.Add();
  outcome[static_cast<size_t>(r.outcome)].Add();
  if (r.slow_path) {
    // Handed to the control side, which answers (or not) on its own.
    if (r.qtype != 0) qtype[dns::QtypeBucket(r.qtype)].Add();
    return;
  }
  if (r.size == 0) {
    dropped.Add();
    return;
  }
  rcode[r.rcode & 0x0F].Add();
  if (r.truncated) truncated.Add();
  if (r.qtype != 0) qtype[dns::QtypeBucket(r.qtype)].Add();
}

WorkerStats* StatsRegistry::Add(const std::string& transport) {
  std::lock_guard<std::mutex> lock(mu_);
  workers_.emplace_back();
  workers_.back().transport = transport;
  return &workers_.back();
}

std::map<std::string, StatsTotals> StatsRegistry::TotalsByTransport() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, StatsTotals> out;
  for (const WorkerStats& w : workers_) {
    StatsTotals& t = out[w.transport];
    t.received += w.received.Get();
    t.dropped += w.dropped.Get();
    t.truncated += w.truncated.Get();
    for (size_t i = 0; i < kOutcomes; ++i) t.outcome[i] += w.outcome[i].Get();
    for (size_t i = 0; i < 16; ++i) t.rcode[i] += w.rcode[i].Get();
    for (size_t i = 0; i < kQtypeBuckets; ++i) t.qtype[i] += w.qtype[i].Get();
    if (w.rrl_enabled) {
      t.rrl_enabled = true;
      t.rrl.Add(w.rrl);
    }
  }
  return out;
}

std::string StatsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, uint64_t> sums;
  for (const WorkerStats& w : workers_) {
    sums["queries." + w.transport] += w.received.Get();
    sums["queries.total"] += w.received.Get();
    sums["dropped"] += w.dropped.Get();
    sums["truncated"] += w.truncated.Get();
    for (size_t i = 0; i < kOutcomes; ++i) {
      sums[absl::StrCat("outcome.", dns::kOutcomeNames[i])] += w.outcome[i].Get();
    }
    for (size_t i = 0; i < 16; ++i) {
      sums[absl::StrCat("rcode.", dns::kRcodeNames[i])] += w.rcode[i].Get();
    }
    for (size_t i = 0; i < kQtypeBuckets; ++i) {
      sums[absl::StrCat("qtype.", dns::kQtypeBucketNames[i])] += w.qtype[i].Get();
    }
    if (w.rrl_enabled) {
      // Shown even at 0, so that "on and not limiting" reads as such.
      sums["rrl." + w.transport + ".limited"] += w.rrl.limited.Get();
      sums["rrl." + w.transport + ".slipped"] += w.rrl.slipped.Get();
      sums["rrl." + w.transport + ".dropped"] += w.rrl.dropped.Get();
    }
  }
  std::string out;
  for (const auto& [k, v] : sums) {
    if (v != 0 || k.rfind("queries.", 0) == 0 || k.rfind("rrl.", 0) == 0) {
      absl::StrAppend(&out, k, " ", v, "\n");
    }
  }
  return out;
}

}  // namespace popdns::control
