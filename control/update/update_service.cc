#include "control/update/update_service.h"

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "control/update/dynamic_update.h"
#include "control/zonefile/name_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::update {

UpdateReply ApplyUpdate(control::ZoneStore* store, const xfr::Message& m,
                        const xfr::TsigKey* signed_by,
                        const std::string& peer) {
  UpdateReply reply;
  const std::string who =
      absl::StrCat("UPDATE from ", peer,
                   signed_by ? " key " + signed_by->name_text : " unsigned");
  auto log = [&](const std::string& what) {
    std::fprintf(stderr, "popdns: zone %s: %s: %s\n",
                 m.qdcount == 1 ? control::NameToText(m.qname).c_str() : "?",
                 who.c_str(), what.c_str());
  };
  if (m.qdcount != 1) {
    reply.rcode = static_cast<uint8_t>(dns::Rcode::kFormErr);
    log("refused FORMERR: the zone section must hold one record");
    return reply;
  }
  // RFC 2136 3.1.2: a zone this server is not authoritative for.
  const std::string qname = control::NameToLower(m.qname);
  reply.apex = store->ZoneFor(qname);
  if (reply.apex != qname) {
    reply.apex.clear();
    reply.rcode = static_cast<uint8_t>(dns::Rcode::kNotAuth);
    log("refused NOTAUTH: not a zone served here");
    return reply;
  }
  UpdateResult result;
  uint32_t serial = 0;
  uint32_t before = 0;
  absl::Status s = store->CommitEdit(
      reply.apex,
      [&](const zone::Zone& z, const control::ZoneConfig& config)
          -> absl::StatusOr<std::optional<xfr::Changeset>> {
        before = z.serial;
        result = EvaluateUpdate(z, config, m,
                                signed_by ? signed_by->name : std::string(),
                                static_cast<uint32_t>(std::time(nullptr)));
        if (result.rcode != 0) return absl::AbortedError(result.reason);
        return std::move(result.change);
      },
      who, &serial);
  if (result.rcode != 0) {
    reply.rcode = result.rcode;
    log(absl::StrCat("refused rcode ", result.rcode, ": ", result.reason));
    return reply;
  }
  if (!s.ok()) {
    // A secondary forwards nothing (RFC 2136 6 allows it; Knot does not
    // either): NOTAUTH. A change that does not build is the client's;
    // a journal that cannot write is ours.
    if (absl::IsFailedPrecondition(s) || absl::IsNotFound(s)) {
      reply.rcode = static_cast<uint8_t>(
          absl::IsNotFound(s) ? dns::Rcode::kNotAuth : dns::Rcode::kRefused);
    } else if (absl::IsInvalidArgument(s)) {
      reply.rcode = static_cast<uint8_t>(dns::Rcode::kRefused);
    } else {
      reply.rcode = static_cast<uint8_t>(dns::Rcode::kServFail);
    }
    log(absl::StrCat("refused rcode ", reply.rcode, ": ", s.message()));
    return reply;
  }
  reply.changed = serial != before;
  if (reply.changed) log(absl::StrCat("serial ", before, " -> ", serial));
  return reply;
}

}  // namespace popdns::update
