#include "control/xfr/notify.h"

#include <ctime>
#include <optional>

#include "absl/strings/str_cat.h"
#include "control/xfr/dns_message.h"
#include "control/xfr/xfr_client.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {

absl::Status SendNotify(const Remote& secondary, const std::string& apex,
                        const ZoneRecord& soa, const TsigKey* key, int tries) {
  absl::Status last = absl::DeadlineExceededError("no answer");
  for (int i = 0; i < tries; ++i) {
    const uint16_t id = RandomId();
    // RFC 1996 3.7: opcode NOTIFY, AA set, the zone's SOA as the question
    // and its current SOA record in the answer section.
    MessageBuilder b(id, static_cast<uint16_t>(
                             (static_cast<uint16_t>(dns::Opcode::kNotify) << 11) |
                             0x0400));
    b.AddQuestion(apex, dns::rrtype::kSoa);
    b.Add(Section::kAnswer, soa);
    std::vector<uint8_t> msg = b.Finish();
    std::optional<TsigContext> tsig;
    const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
    if (key) {
      tsig.emplace(*key);
      tsig->SignRequest(&msg, now);
    }
    auto reply = UdpExchange(secondary, msg, 2000);
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    size_t len = reply->size();
    if (tsig) {
      absl::Status s = tsig->VerifyResponse(reply->data(), reply->size(), now,
                                            &len);
      if (!s.ok()) return s;
    }
    if (len < dns::kHeaderSize) return absl::InvalidArgumentError("short answer");
    const uint8_t rcode = (*reply)[dns::kOffFlags2] & 0x0F;
    if (rcode != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("secondary answered ", RcodeName(rcode)));
    }
    return absl::OkStatus();
  }
  return last;
}

}  // namespace popdns::xfr
