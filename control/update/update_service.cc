#include "control/update/update_service.h"

#include <cstdio>
#include <ctime>
#include <thread>

#include "absl/strings/str_cat.h"
#include "control/update/zone_edit.h"
#include "control/zonefile/name_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::update {
namespace {

constexpr auto kMinCommitInterval = std::chrono::milliseconds(4);

void Log(const std::string& zone, const std::string& who,
         const std::string& what) {
  std::fprintf(stderr, "popdns: zone %s: %s: %s\n", zone.c_str(), who.c_str(),
               what.c_str());
}

uint8_t Code(dns::Rcode r) { return static_cast<uint8_t>(r); }

// What a change that could not be committed means for its clients: a
// zone that takes no changes here, a change that does not build (the
// client's), or a journal that cannot write (ours).
uint8_t RcodeOf(const absl::Status& s) {
  if (absl::IsNotFound(s)) return Code(dns::Rcode::kNotAuth);
  if (absl::IsFailedPrecondition(s) || absl::IsInvalidArgument(s)) {
    return Code(dns::Rcode::kRefused);
  }
  return Code(dns::Rcode::kServFail);
}

}  // namespace

absl::Status CommitZoneEdit(
    control::ZoneStore* store, const std::string& apex,
    const std::string& origin,
    const std::function<absl::Status(ZoneEdit&, const control::ZoneConfig&)>&
        apply,
    uint32_t* before, uint32_t* serial) {
  return store->CommitEdit(
      apex,
      [&](const zone::Zone& z, const control::ZoneConfig& config)
          -> absl::StatusOr<std::optional<xfr::Changeset>> {
        *before = z.serial;
        ZoneEdit edit(z);
        if (absl::Status s = apply(edit, config); !s.ok()) return s;
        return edit.Finish(config.serial_policy,
                           static_cast<uint32_t>(std::time(nullptr)));
      },
      origin, serial);
}

UpdateReply UpdateService::Apply(const xfr::Message& m,
                                 const xfr::TsigKey* signed_by,
                                 const std::string& peer) {
  UpdateReply reply;
  const std::string who =
      absl::StrCat("UPDATE from ", peer,
                   signed_by ? " key " + signed_by->name_text : " unsigned");
  const std::string zone =
      m.qdcount == 1 ? control::NameToText(m.qname) : "?";
  if (m.qdcount != 1) {
    reply.rcode = Code(dns::Rcode::kFormErr);
    Log(zone, who, "refused FORMERR: the zone section must hold one record");
    return reply;
  }
  // RFC 2136 3.1.2: a zone this server is not authoritative for.
  const std::string qname = control::NameToLower(m.qname);
  const std::string apex = store_->ZoneFor(qname);
  if (apex != qname) {
    reply.rcode = Code(dns::Rcode::kNotAuth);
    Log(zone, who, "refused NOTAUTH: not a zone served here");
    return reply;
  }
  reply.apex = apex;
  // A zone that takes no updates says so before anything is checked or
  // queued (knotd: NOTAUTH when no ACL allows updates).
  const std::optional<control::ZoneConfig> config = store_->ConfigOf(apex);
  if (!config || config->update.empty() || config->secondary()) {
    reply.rcode = Code(dns::Rcode::kNotAuth);
    Log(zone, who,
        config && config->secondary()
            ? "refused NOTAUTH: a secondary (change it at its primary)"
            : "refused NOTAUTH: the zone takes no updates (no update: "
              "policy)");
    return reply;
  }
  Pending p{&m, signed_by, who, {}, false, false};
  std::unique_lock<std::mutex> lock(mu_);
  ZoneQueue& q = queues_[apex];
  q.waiting.push_back(&p);
  // Whoever finds the zone idle commits what waits, its own request
  // included, then hands over: a client never commits for longer than
  // its own batch.
  while (!p.done) {
    if (q.committing) {
      done_.wait(lock);
      continue;
    }
    q.committing = true;
    // Commits of a zone at most every kMinCommitInterval: what arrives
    // meanwhile joins the batch (one fsync, one new version for all of
    // it). Every version published makes the workers' caches cold on
    // what it rewrote; this bounds their number without touching the
    // change -> visible time (a change is published before it is
    // acknowledged).
    const auto due = q.last_commit + kMinCommitInterval;
    if (std::chrono::steady_clock::now() < due) {
      lock.unlock();
      std::this_thread::sleep_until(due);
      lock.lock();
    }
    std::vector<Pending*> batch;
    batch.swap(q.waiting);
    lock.unlock();
    Commit(apex, batch);
    lock.lock();
    q.last_commit = std::chrono::steady_clock::now();
    for (Pending* b : batch) b->done = true;
    q.committing = false;
    done_.notify_all();
  }
  reply.rcode = p.result.rcode;
  reply.changed = p.changed;
  return reply;
}

void UpdateService::Commit(const std::string& apex,
                           const std::vector<Pending*>& batch) {
  const std::string zone = control::NameToText(apex);
  uint32_t before = 0;
  uint32_t serial = 0;
  const std::string origin =
      batch.size() == 1 ? batch[0]->who
                        : absl::StrCat(batch.size(), " UPDATEs");
  absl::Status s = CommitZoneEdit(
      store_, apex, origin,
      [&](ZoneEdit& edit, const control::ZoneConfig& config) {
        for (Pending* p : batch) {
          p->result = EvaluateInto(edit, config, *p->m,
                                   p->key ? p->key->name : std::string());
        }
        return absl::OkStatus();
      },
      &before, &serial);
  if (!s.ok() && absl::IsInvalidArgument(s) && batch.size() > 1) {
    // The batch does not build (one request's data does not validate):
    // each on its own, so that the others are not refused for it.
    for (Pending* p : batch) {
      if (p->result.rcode == 0) Commit(apex, {p});
    }
    return;
  }
  for (Pending* p : batch) {
    if (p->result.rcode != 0) {
      Log(zone, p->who, absl::StrCat("refused rcode ", p->result.rcode, ": ",
                                     p->result.reason));
    } else if (!s.ok()) {
      p->result.rcode = RcodeOf(s);
      Log(zone, p->who, absl::StrCat("refused rcode ", p->result.rcode, ": ",
                                     s.message()));
    } else {
      p->changed = serial != before;
    }
  }
  if (s.ok() && serial != before) {
    Log(zone, origin, absl::StrCat("serial ", before, " -> ", serial));
  }
}

}  // namespace popdns::update
