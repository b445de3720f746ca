#include "control/xfr/replicator.h"

#include <sys/random.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "control/xfr/journal.h"
#include "control/xfr/notify.h"
#include "control/zonefile/name_text.h"

namespace popdns::xfr {
namespace {

// SOA timers when the zone has no SOA yet (nothing transferred).
constexpr uint32_t kDefaultRetry = 10;
constexpr uint32_t kDefaultRefresh = 3600;
constexpr uint32_t kDefaultExpire = 7 * 86400;

struct SoaTimers {
  uint32_t refresh, retry, expire;
};

SoaTimers TimersOf(const control::ZoneConfig& c,
                   const std::optional<ZoneRecord>& soa) {
  SoaTimers t{kDefaultRefresh, kDefaultRetry, kDefaultExpire};
  if (soa && soa->rdata.size() >= 20) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(soa->rdata.data()) +
                       soa->rdata.size() - 16;
    t.refresh = dns::Load32(p);
    t.retry = dns::Load32(p + 4);
    t.expire = dns::Load32(p + 8);
  }
  if (c.refresh) t.refresh = c.refresh;
  if (c.retry) t.retry = c.retry;
  if (c.expire) t.expire = c.expire;
  if (t.refresh == 0) t.refresh = 1;
  if (t.retry == 0) t.retry = 1;
  return t;
}

// +-10%: many PoPs restarted together must not ask their primary at the
// same second forever after.
std::chrono::milliseconds Jitter(uint32_t seconds) {
  uint32_t r = 0;
  if (getrandom(&r, sizeof(r), 0) != sizeof(r)) r = 0;
  const double f = 0.9 + 0.2 * (r / 4294967296.0);
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0 * f));
}

}  // namespace

Replicator::Replicator(control::ZoneStore* store, const TsigKeyring* keys)
    : store_(store), keys_(keys) {}

Replicator::~Replicator() { Stop(); }

const TsigKey* Replicator::KeyOf(const control::ZoneConfig& config) const {
  if (config.key.empty() || !keys_) return nullptr;
  return keys_->FindByText(config.key);
}

void Replicator::Start() {
  for (const control::ZoneConfig& c : store_->configs()) {
    auto apex = control::NameFromText(c.name, "");
    if (!apex.ok()) continue;
    ZoneState z;
    z.apex = control::NameToLower(*apex);
    z.config = c;
    z.next = Clock::now();
    if (c.secondary()) {
      // Expiry counts from the last successful refresh, across restarts.
      const auto soa = store_->CurrentSoa(z.apex);
      if (soa) {
        std::time_t last = LoadLastRefresh(z);
        if (last == 0) last = std::time(nullptr);
        z.status.last_refresh = last;
        z.status.expires_at = last + TimersOf(c, soa).expire;
      }
    }
    zones_.push_back(std::move(z));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = true;
  }
  thread_ = std::thread(&Replicator::Run, this);
}

void Replicator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Replicator::Notify(const std::string& apex) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_.push_back(apex);
  }
  wake_.notify_all();
}

void Replicator::RefreshNow(const std::string& apex) {
  if (apex.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      refresh_all_ = true;
    }
    wake_.notify_all();
    return;
  }
  Notify(apex);
}

void Replicator::NotifySecondaries(const std::string& apex) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notify_out_.push_back(apex);
  }
  wake_.notify_all();
}

std::time_t Replicator::LoadLastRefresh(const ZoneState& z) const {
  if (z.config.storage.empty()) return 0;
  std::ifstream in(std::filesystem::path(z.config.storage) /
                   (StorageStem(z.config.name) + ".refreshed"));
  long long t = 0;
  if (in >> t) return static_cast<std::time_t>(t);
  return 0;
}

void Replicator::SaveLastRefresh(const ZoneState& z) const {
  if (z.config.storage.empty()) return;
  // Written to the side and renamed: a crash leaves the old or the new.
  const auto dir = std::filesystem::path(z.config.storage);
  const auto path = dir / (StorageStem(z.config.name) + ".refreshed");
  const auto tmp = dir / (StorageStem(z.config.name) + ".refreshed.tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;
    out << static_cast<long long>(z.status.last_refresh) << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

void Replicator::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (running_) {
    // Take what other threads asked for.
    for (const std::string& apex : notified_) {
      for (ZoneState& z : zones_) {
        if (z.apex == apex && z.config.secondary()) z.due = true;
      }
    }
    notified_.clear();
    if (refresh_all_) {
      for (ZoneState& z : zones_) z.due = z.config.secondary();
      refresh_all_ = false;
    }
    std::deque<std::string> outbound;
    outbound.swap(notify_out_);
    const auto now = Clock::now();
    ZoneState* todo = nullptr;
    auto next_wake = now + std::chrono::seconds(60);
    for (ZoneState& z : zones_) {
      if (!z.config.secondary()) continue;
      if (z.due || z.next <= now) {
        todo = &z;
        break;
      }
      next_wake = std::min(next_wake, z.next);
      if (z.status.expires_at != 0 && !z.status.expired) {
        const auto until_expiry = std::chrono::seconds(
            std::max<std::time_t>(0, z.status.expires_at - std::time(nullptr)));
        next_wake = std::min(next_wake, now + until_expiry);
      }
    }
    // Expiry is checked on every turn, not only after a failed refresh.
    std::vector<std::pair<std::string, control::RefreshStatus>> expired;
    for (ZoneState& z : zones_) {
      if (z.config.secondary() && z.status.expires_at != 0 &&
          !z.status.expired && std::time(nullptr) >= z.status.expires_at) {
        z.status.expired = true;
        expired.emplace_back(z.apex, z.status);
      }
    }
    if (!todo && outbound.empty() && expired.empty()) {
      wake_.wait_until(lock, next_wake);
      continue;
    }
    lock.unlock();
    for (auto& [apex, status] : expired) {
      std::fprintf(stderr,
                   "popdns: zone %s expired: no primary answered since %ld; "
                   "answering SERVFAIL until a transfer succeeds\n",
                   control::NameToText(apex).c_str(),
                   static_cast<long>(status.last_refresh));
      store_->SetRefreshStatus(apex, status);
    }
    for (const std::string& apex : outbound) SendNotifies(apex);
    if (todo) {
      todo->due = false;
      Refresh(*todo);
    }
    lock.lock();
  }
}

absl::StatusOr<std::string> Replicator::RefreshFrom(ZoneState& z,
                                                    const Remote& primary,
                                                    const TsigKey* key) {
  const auto soa = store_->CurrentSoa(z.apex);
  auto serial = QuerySerial(primary, z.apex, key, timeouts_);
  if (!serial.ok()) {
    return absl::Status(serial.status().code(),
                        absl::StrCat("SOA query to ", primary.text, ": ",
                                     serial.status().message()));
  }
  if (soa && !SerialLess(Changeset::SerialOf(*soa), *serial)) {
    return absl::StrCat("ok: serial ", Changeset::SerialOf(*soa),
                        " is current (", primary.text, " has ", *serial, ")");
  }
  const auto started = Clock::now();
  // A zone kept on disk has its AXFR encoded for the journal as it
  // arrives: storing it is then one write after validation.
  const bool encode = !z.config.storage.empty();
  auto result = Transfer(primary, z.apex, key, soa, timeouts_, encode);
  std::string how = soa ? "IXFR" : "AXFR";
  auto retry_axfr = [&](const absl::Status& why) {
    std::fprintf(stderr,
                 "popdns: zone %s: IXFR from %s failed (%s); trying AXFR\n",
                 z.config.name.c_str(), primary.text.c_str(),
                 std::string(why.message()).c_str());
    how = "AXFR";
    return Transfer(primary, z.apex, key, std::nullopt, timeouts_, encode);
  };
  if (!result.ok() && soa && !absl::IsUnavailable(result.status()) &&
      !absl::IsDeadlineExceeded(result.status()) &&
      !absl::IsPermissionDenied(result.status())) {
    result = retry_axfr(result.status());
  }
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(how, " from ", primary.text, ": ",
                                     result.status().message()));
  }
  if (result->kind == TransferStream::Kind::kFull && soa) how = "AXFR-style IXFR";
  const std::string origin = absl::StrCat(how, " from ", primary.text);
  absl::Status commit =
      store_->CommitTransfer(z.apex, result->kind, std::move(result->full),
                             std::move(result->changes), origin,
                             std::move(result->full_copy));
  if (!commit.ok() && absl::IsFailedPrecondition(commit) &&
      result->kind == TransferStream::Kind::kIncremental) {
    result = retry_axfr(commit);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat("AXFR from ", primary.text, ": ",
                                       result.status().message()));
    }
    commit = store_->CommitTransfer(z.apex, result->kind,
                                    std::move(result->full),
                                    std::move(result->changes),
                                    "AXFR from " + primary.text,
                                    std::move(result->full_copy));
  }
  if (!commit.ok()) {
    return absl::Status(commit.code(), absl::StrCat(how, " from ", primary.text,
                                                    " not applied: ",
                                                    commit.message()));
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      Clock::now() - started)
                      .count();
  std::string what = absl::StrCat(
      "ok: ", how, " from ", primary.text, ": serial ",
      soa ? absl::StrCat(Changeset::SerialOf(*soa), " -> ") : std::string(),
      result->serial, ", ", result->messages, " message(s), ",
      result->records, " records, ", ms, " ms");
  std::fprintf(stderr, "popdns: zone %s: %s\n", z.config.name.c_str(),
               what.c_str() + 4);
  SendNotifies(z.apex);
  return what;
}

void Replicator::Refresh(ZoneState& z) {
  const TsigKey* key = KeyOf(z.config);
  absl::Status last_error = absl::UnavailableError("no primary");
  std::string ok_result;
  for (const std::string& p : z.config.primaries) {
    auto remote = ParseRemote(p);
    if (!remote.ok()) {
      last_error = remote.status();
      continue;
    }
    auto r = RefreshFrom(z, *remote, key);
    if (r.ok()) {
      ok_result = *r;
      break;
    }
    last_error = r.status();
  }
  const std::time_t now = std::time(nullptr);
  const SoaTimers t = TimersOf(z.config, store_->CurrentSoa(z.apex));
  if (!ok_result.empty()) {
    z.failures = 0;
    z.status.last_refresh = now;
    z.status.result = ok_result;
    z.status.last_ok = true;
    z.status.expires_at = now + t.expire;
    z.status.expired = false;
    z.next = Clock::now() + Jitter(t.refresh);
    SaveLastRefresh(z);
  } else {
    const std::string text(last_error.message());
    if (text != z.status.result) {
      // One line per new kind of failure, not one per retry.
      std::fprintf(stderr, "popdns: zone %s: refresh failed: %s\n",
                   z.config.name.c_str(), text.c_str());
    }
    z.status.result = text;
    z.status.last_ok = false;
    // Retry with exponential backoff, never slower than the refresh
    // interval (RFC 1035 3.3.13 retry; backoff as Knot does).
    uint64_t wait = uint64_t{t.retry} << std::min(z.failures, 10);
    wait = std::min<uint64_t>(wait, std::max(t.refresh, t.retry));
    ++z.failures;
    z.next = Clock::now() + Jitter(static_cast<uint32_t>(wait));
    // Expiry is Run's to decide, on its next turn (right after this one).
  }
  z.status.next_refresh =
      now + std::chrono::duration_cast<std::chrono::seconds>(z.next -
                                                            Clock::now())
                .count();
  store_->SetRefreshStatus(z.apex, z.status);
}

void Replicator::SendNotifies(const std::string& apex) {
  // (ConfigOf, not View: this runs after every commit, and a View copies
  // the IXFR history.)
  const std::optional<control::ZoneConfig> config = store_->ConfigOf(apex);
  if (!config || config->notify.empty()) return;
  const auto soa = store_->CurrentSoa(apex);
  if (!soa) return;
  const TsigKey* key = KeyOf(*config);
  for (const std::string& target : config->notify) {
    auto remote = ParseRemote(target);
    if (!remote.ok()) continue;
    absl::Status s = SendNotify(*remote, apex, *soa, key);
    if (!s.ok()) {
      std::fprintf(stderr, "popdns: zone %s: NOTIFY to %s: %s\n",
                   config->name.c_str(), target.c_str(),
                   std::string(s.message()).c_str());
    }
  }
}

}  // namespace popdns::xfr
