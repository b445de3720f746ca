#include "control/xfr/xfr_client.h"

#include <sys/random.h>

#include <chrono>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "control/xfr/dns_message.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {
namespace {

namespace rrtype = dns::rrtype;
using Clock = std::chrono::steady_clock;

uint64_t Now() { return static_cast<uint64_t>(std::time(nullptr)); }

// Checks a response to our query and parses it; with a key, verifies its
// TSIG first (and the context remembers the MAC for the next message).
absl::StatusOr<Message> CheckResponse(const std::vector<uint8_t>& wire,
                                      uint16_t id, TsigContext* tsig) {
  size_t len = wire.size();
  if (tsig) {
    absl::Status s = tsig->VerifyResponse(wire.data(), wire.size(), Now(), &len);
    if (!s.ok()) return s;
  }
  std::vector<uint8_t> body(wire.begin(), wire.begin() + len);
  // The verified TSIG is gone from the body: ARCOUNT follows. (Without a
  // key a signed response is parsed as is; its TSIG is an additional
  // record nobody reads.)
  if (len != wire.size() && body.size() >= dns::kHeaderSize) {
    dns::Store16(body.data() + dns::kOffArCount,
                 static_cast<uint16_t>(dns::GetArCount(body.data()) - 1));
  }
  auto m = ParseMessage(body.data(), body.size());
  if (!m.ok()) return m.status();
  if (m->id != id || !m->qr()) {
    return absl::InvalidArgumentError("response with a wrong ID or QR=0");
  }
  if (m->rcode() != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("primary answered ", RcodeName(m->rcode())));
  }
  return m;
}

}  // namespace

uint16_t RandomId() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
    id = static_cast<uint16_t>(Clock::now().time_since_epoch().count());
  }
  return id;
}

std::string RcodeName(uint8_t rcode) {
  static const char* const kNames[] = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode < sizeof(kNames) / sizeof(kNames[0])) return kNames[rcode];
  return absl::StrCat("RCODE", rcode);
}

absl::StatusOr<uint32_t> QuerySerial(const Remote& primary,
                                     const std::string& apex,
                                     const TsigKey* key,
                                     const XfrTimeouts& timeouts) {
  const uint16_t id = RandomId();
  std::vector<uint8_t> query = BuildQuery(id, apex, rrtype::kSoa);
  std::optional<TsigContext> tsig;
  if (key) {
    tsig.emplace(*key);
    tsig->SignRequest(&query, Now());
  }
  auto wire = UdpExchange(primary, query, timeouts.udp_ms);
  if (!wire.ok()) return wire.status();
  if (wire->size() >= dns::kHeaderSize &&
      ((*wire)[dns::kOffFlags1] & dns::kFlagTc)) {
    // Truncated: ask again over TCP (RFC 7766 5).
    auto tcp = TcpStream::Connect(primary, timeouts.connect_ms);
    if (!tcp.ok()) return tcp.status();
    query = BuildQuery(id, apex, rrtype::kSoa);
    if (key) {
      tsig.emplace(*key);
      tsig->SignRequest(&query, Now());
    }
    if (absl::Status s = (*tcp)->Send(query, timeouts.message_ms); !s.ok()) {
      return s;
    }
    wire = (*tcp)->Receive(timeouts.message_ms);
    if (!wire.ok()) return wire.status();
  }
  auto m = CheckResponse(*wire, id, tsig ? &*tsig : nullptr);
  if (!m.ok()) return m.status();
  for (const ZoneRecord& rr : m->answer) {
    if (rr.type == rrtype::kSoa) return Changeset::SerialOf(rr);
  }
  return absl::FailedPreconditionError("primary's answer has no SOA");
}

absl::StatusOr<TransferResult> Transfer(const Remote& primary,
                                        const std::string& apex,
                                        const TsigKey* key,
                                        const std::optional<ZoneRecord>& have_soa,
                                        const XfrTimeouts& timeouts,
                                        bool encode_full_copy) {
  const uint16_t id = RandomId();
  MessageBuilder b(id, 0);
  b.AddQuestion(apex, have_soa ? rrtype::kIxfr : rrtype::kAxfr);
  if (have_soa) {
    // RFC 1995 3: our version's SOA in the authority section.
    b.Add(Section::kAuthority, *have_soa);
  }
  std::vector<uint8_t> query = b.Finish();
  std::optional<TsigContext> tsig;
  if (key) {
    tsig.emplace(*key);
    tsig->SignRequest(&query, Now());
  }
  auto tcp = TcpStream::Connect(primary, timeouts.connect_ms);
  if (!tcp.ok()) return tcp.status();
  if (absl::Status s = (*tcp)->Send(query, timeouts.message_ms); !s.ok()) {
    return s;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeouts.total_ms);
  TransferStream stream(have_soa ? std::optional<uint32_t>(
                                       Changeset::SerialOf(*have_soa))
                                 : std::nullopt);
  TransferResult result;
  size_t encoded = 0;  // records of stream.full() in result.full_copy
  while (true) {
    if (Clock::now() > deadline) {
      return absl::DeadlineExceededError("transfer took too long");
    }
    auto wire = (*tcp)->Receive(timeouts.message_ms);
    if (!wire.ok()) {
      return absl::Status(wire.status().code(),
                          absl::StrCat("after ", result.messages,
                                       " message(s): ", wire.status().message()));
    }
    ++result.messages;
    result.bytes += wire->size();
    auto m = CheckResponse(*wire, id, tsig ? &*tsig : nullptr);
    if (!m.ok()) return m.status();
    auto done = stream.Add(std::move(m->answer));
    if (!done.ok()) return done.status();
    if (encode_full_copy) {
      // Between two messages, while the primary sends the next: this work
      // would otherwise come after the last one.
      const std::vector<ZoneRecord>& full = stream.full();
      if (encoded == 0 && !full.empty()) result.full_copy.emplace(stream.serial());
      for (; result.full_copy && encoded < full.size(); ++encoded) {
        if (!result.full_copy->Add(full[encoded]).ok()) {
          result.full_copy.reset();  // the journal says why, later
          encode_full_copy = false;
        }
      }
    }
    if (*done) break;
  }
  if (tsig && tsig->expecting_signed()) {
    // RFC 8945 5.3.1: the last message must be signed.
    return absl::PermissionDeniedError("TSIG: last message of the transfer unsigned");
  }
  result.kind = stream.kind();
  result.serial = stream.serial();
  result.records = stream.records();
  result.full = std::move(stream.full());
  result.changes = std::move(stream.changes());
  return result;
}

}  // namespace popdns::xfr
