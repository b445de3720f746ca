// libFuzzer target for what a primary (or anyone) sends a secondary: DNS
// messages parsed with decompression (control/xfr/dns_message), their
// answer records fed to the AXFR/IXFR stream reader (RFC 1995, 5936), and
// the changesets it accepts applied to a small zone
// (control/build/zone_records). Nothing may crash or read out of bounds;
// a parsed message rebuilt by MessageBuilder must parse to the same
// records.
//
// Input: byte 0 selects AXFR (even) or IXFR from serial 1 (odd); then
// messages, each prefixed by a 2-byte length as on TCP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "control/build/zone_records.h"
#include "control/xfr/dns_message.h"
#include "control/xfr/transfer_stream.h"
#include "dataplane/dns/wire.h"

namespace {

using popdns::control::ZoneRecord;
using namespace popdns::xfr;

ZoneRecord Rr(const char* owner, size_t owner_len, uint16_t type,
              std::string rdata) {
  ZoneRecord r;
  r.owner.assign(owner, owner_len);
  r.type = type;
  r.ttl = 300;
  r.rdata = std::move(rdata);
  return r;
}

std::vector<ZoneRecord> BaseZone() {
  static const char kApex[] = "\x07" "example" "\x04" "test";
  const size_t apex_len = sizeof(kApex);  // with the root label
  std::string soa(kApex, apex_len);
  soa.append(kApex, apex_len);
  const uint8_t timers[20] = {0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 2, 88,
                              0, 1, 81, 128, 0, 0, 1, 44};
  soa.append(reinterpret_cast<const char*>(timers), sizeof(timers));
  return {Rr(kApex, apex_len, popdns::dns::rrtype::kSoa, soa),
          Rr(kApex, apex_len, popdns::dns::rrtype::kNs,
             std::string(kApex, apex_len)),
          Rr(kApex, apex_len, popdns::dns::rrtype::kA, "\x01\x02\x03\x04")};
}

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::optional<uint32_t> have;
  if (data[0] & 1) have = 1;
  TransferStream stream(have);
  size_t pos = 1;
  bool done = false;
  while (!done && size - pos >= 2) {
    const size_t len = popdns::dns::Load16(data + pos);
    pos += 2;
    if (size - pos < len) break;
    auto m = ParseMessage(data + pos, len);
    pos += len;
    if (!m.ok()) break;
    // Rebuilding what parsed gives the same records back.
    MessageBuilder b(m->id, m->flags);
    if (m->qdcount == 1) b.AddQuestion(m->qname, m->qtype, m->qclass);
    bool all = true;
    for (const ZoneRecord& r : m->answer) all &= b.Add(Section::kAnswer, r);
    if (all) {
      const std::vector<uint8_t> wire = b.Finish();
      auto again = ParseMessage(wire.data(), wire.size());
      Check(again.ok(), "rebuilt message parses");
      Check(again->answer.size() == m->answer.size(), "same record count");
      for (size_t i = 0; i < m->answer.size(); ++i) {
        Check(again->answer[i].owner == m->answer[i].owner, "same owner");
        Check(again->answer[i].rdata == m->answer[i].rdata, "same rdata");
      }
    }
    auto d = stream.Add(std::move(m->answer));
    if (!d.ok()) break;
    done = *d;
  }
  if (done && stream.kind() == TransferStream::Kind::kIncremental) {
    std::vector<ZoneRecord> zone = BaseZone();
    for (const Changeset& cs : stream.changes()) {
      auto next = popdns::control::ApplyChangeset(zone, cs);
      if (!next.ok()) break;
      zone = std::move(*next);
    }
  }
  return 0;
}
