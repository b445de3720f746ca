#include "control/xfr/xfr_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "control/build/zone_records.h"
#include "control/server/event_counters.h"
#include "control/update/update_service.h"
#include "control/xfr/dns_message.h"
#include "control/xfr/transport.h"
#include "control/zonefile/name_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {
namespace {

namespace rrtype = dns::rrtype;
using Responses = std::vector<std::vector<uint8_t>>;

constexpr uint16_t kEdnsExpire = 9;  // RFC 7314
constexpr uint8_t kNoError = 0, kFormErr = 1, kServFail = 2, kNotImp = 4,
                  kRefused = 5, kNotAuth = 9;

uint64_t Now() { return static_cast<uint64_t>(std::time(nullptr)); }

// Response flags for a request: QR, the request's opcode and RD, `aa`,
// `rcode`.
uint16_t ResponseFlags(uint16_t request_flags, bool aa, uint8_t rcode) {
  return static_cast<uint16_t>(0x8000 | (request_flags & 0x7900) |
                               (aa ? 0x0400 : 0) | rcode);
}

// The request's header and question (if it parsed) with `rcode`, and the
// TSIG the exchange calls for.
std::vector<uint8_t> ErrorResponse(const uint8_t* msg, const Message* parsed,
                                   uint8_t rcode) {
  const uint16_t flags = dns::Load16(msg + 2);
  MessageBuilder b(dns::Load16(msg), ResponseFlags(flags, false, rcode));
  if (parsed && parsed->qdcount == 1) {
    b.AddQuestion(parsed->qname, parsed->qtype, parsed->qclass);
  }
  return b.Finish();
}

// The zone's records as transfer messages: `head` and `tail` wrap them
// (the SOA first and last for AXFR, RFC 5936 2.2).
class TransferWriter {
 public:
  TransferWriter(const Message& req, Responses* out) : req_(req), out_(out) {
    Start(true);
  }
  void Add(const ZoneRecord& rr) {
    if (!b_->Add(Section::kAnswer, rr, XfrServer::kTransferMessageSize)) {
      out_->push_back(b_->Finish());
      Start(false);
      b_->Add(Section::kAnswer, rr);  // one record always fits alone
    }
  }
  void Finish() { out_->push_back(b_->Finish()); }

 private:
  void Start(bool first) {
    b_ = std::make_unique<MessageBuilder>(
        req_.id, ResponseFlags(req_.flags, true, kNoError));
    // RFC 5936 2.2.1: the question in the first message only.
    if (first) b_->AddQuestion(req_.qname, req_.qtype, req_.qclass);
  }
  const Message& req_;
  Responses* out_;
  // A unique_ptr, not an optional: GCC 12 under ASan warns (wrongly) that
  // an optional's flat_hash_map may be used uninitialized.
  std::unique_ptr<MessageBuilder> b_;
};

// RFC 7314: whether the request's OPT carries an EXPIRE option.
bool AsksExpire(const Message& m) {
  for (const ZoneRecord& r : m.additional) {
    if (r.type != rrtype::kOpt) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(r.rdata.data());
    for (size_t i = 0; i + 4 <= r.rdata.size();) {
      const uint16_t code = dns::Load16(p + i);
      const uint16_t len = dns::Load16(p + i + 2);
      if (code == kEdnsExpire) return true;
      i += 4u + len;
    }
  }
  return false;
}

// RFC 7314 2: the seconds our copy stays valid: the SOA EXPIRE on a
// primary, what is left of it on a secondary.
uint32_t ExpireLeft(const control::ZoneView& view) {
  if (!view.config.secondary() || view.expires_at == 0) {
    const ZoneRecord soa = control::SoaRecordOf(*view.zone);
    return dns::Load32(reinterpret_cast<const uint8_t*>(soa.rdata.data()) +
                       soa.rdata.size() - 8);
  }
  const std::time_t left = view.expires_at - std::time(nullptr);
  return left > 0 ? static_cast<uint32_t>(left) : 0;
}

// Appends an OPT record to a finished message, carrying EXPIRE =
// `seconds` when `with_expire`.
void AppendOpt(std::vector<uint8_t>* msg, uint16_t payload, bool with_expire,
               uint32_t seconds) {
  const uint8_t opt[] = {0, 0, 41, static_cast<uint8_t>(payload >> 8),
                         static_cast<uint8_t>(payload), 0, 0, 0, 0, 0,
                         static_cast<uint8_t>(with_expire ? 8 : 0),
                         0, kEdnsExpire, 0, 4,
                         static_cast<uint8_t>(seconds >> 24),
                         static_cast<uint8_t>(seconds >> 16),
                         static_cast<uint8_t>(seconds >> 8),
                         static_cast<uint8_t>(seconds)};
  msg->insert(msg->end(), opt, opt + (with_expire ? sizeof(opt) : 11));
  dns::Store16(msg->data() + dns::kOffArCount,
               static_cast<uint16_t>(dns::GetArCount(msg->data()) + 1));
}

void WriteAxfr(const zone::Zone& z, const Message& req, Responses* out) {
  TransferWriter w(req, out);
  std::vector<ZoneRecord> records = control::RecordsOf(z);  // SOA first
  for (const ZoneRecord& r : records) w.Add(r);
  w.Add(records.front());
  w.Finish();
}

}  // namespace

bool PrefixContains(const std::string& prefix, const sockaddr* peer) {
  const size_t slash = prefix.find('/');
  const std::string addr = prefix.substr(0, slash);
  uint8_t want[16], have[16];
  size_t bytes;
  if (peer->sa_family == AF_INET) {
    if (inet_pton(AF_INET, addr.c_str(), want) != 1) return false;
    std::memcpy(have, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, 4);
    bytes = 4;
  } else if (peer->sa_family == AF_INET6) {
    if (inet_pton(AF_INET6, addr.c_str(), want) != 1) return false;
    std::memcpy(have, &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr,
                16);
    bytes = 16;
  } else {
    return false;
  }
  const int bits = slash == std::string::npos
                       ? static_cast<int>(bytes * 8)
                       : std::atoi(prefix.c_str() + slash + 1);
  for (int i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((want[i / 8] & mask) != (have[i / 8] & mask)) return false;
  }
  return true;
}

Responses XfrServer::Handle(const control::SlowPathRequest& req) {
  Responses out;
  if (req.len < dns::kHeaderSize || (req.msg[dns::kOffFlags1] & dns::kFlagQr)) {
    return out;  // never answer a response (RFC 1035 4.1.1)
  }
  const uint64_t now = Now();
  // RFC 8945 5.2: a signed request is verified before anything else.
  TsigRecord tsig_rec;
  const TsigFind found = FindTsig(req.msg, req.len, &tsig_rec);
  const TsigKey* signed_by = nullptr;
  std::optional<TsigContext> tsig;
  std::vector<uint8_t> body(req.msg, req.msg + req.len);
  if (found == TsigFind::kMalformed) {
    out.push_back(ErrorResponse(req.msg, nullptr, kFormErr));
    return out;
  }
  if (found == TsigFind::kFound) {
    const TsigKey* key = keys_ ? keys_->Find(tsig_rec.key_name) : nullptr;
    if (!key || TsigAlgorithmWire(key->algorithm) != tsig_rec.algorithm) {
      // RFC 8945 5.2.1: unknown key: NOTAUTH, TSIG error BADKEY, unsigned.
      auto parsed = ParseMessage(req.msg, tsig_rec.offset);
      std::vector<uint8_t> r = ErrorResponse(req.msg, parsed.ok() ? &*parsed : nullptr, kNotAuth);
      AppendTsigError(&r, tsig_rec, kTsigBadKey);
      out.push_back(std::move(r));
      return out;
    }
    tsig.emplace(*key);
    const uint16_t err = tsig->VerifyRequest(req.msg, req.len, tsig_rec, now);
    if (err != kTsigNoError) {
      // RFC 8945 5.2.2 / 5.2.3: BADSIG goes out unsigned, BADTIME signed.
      auto parsed = ParseMessage(req.msg, tsig_rec.offset);
      std::vector<uint8_t> r = ErrorResponse(req.msg, parsed.ok() ? &*parsed : nullptr, kNotAuth);
      tsig->SignResponse(&r, now, err);
      out.push_back(std::move(r));
      return out;
    }
    signed_by = key;
    StripTsig(&body, tsig_rec);
  }
  auto sign_all = [&](Responses& msgs) {
    if (!tsig) return;
    for (std::vector<uint8_t>& m : msgs) tsig->SignResponse(&m, now, kTsigNoError);
  };
  auto parsed = ParseMessage(body.data(), body.size());
  if (!parsed.ok()) {
    out.push_back(ErrorResponse(body.data(), nullptr, kFormErr));
    sign_all(out);
    return out;
  }
  const Message& m = *parsed;
  const std::string qname_lower = control::NameToLower(m.qname);
  const std::string apex = m.qdcount == 1 ? store_->ZoneFor(qname_lower) : "";
  // RFC 6891 6.1.1: a request with an OPT gets one back.
  bool has_opt = false;
  for (const ZoneRecord& r : m.additional) has_opt |= r.type == rrtype::kOpt;
  auto reply = [&](uint8_t rcode, bool aa = false) {
    MessageBuilder b(m.id, ResponseFlags(m.flags, aa, rcode));
    if (m.qdcount == 1) b.AddQuestion(m.qname, m.qtype, m.qclass);
    if (has_opt) b.AddOpt(answer_config_.udp_payload);
    out.push_back(b.Finish());
    sign_all(out);
    return out;
  };
  const uint8_t opcode = m.opcode();

  if (opcode == static_cast<uint8_t>(dns::Opcode::kNotify)) {
    // RFC 1996 3.7, 3.11: only from a primary of the zone (and with its
    // key when it has one); then check the SOA at once.
    if (m.qdcount != 1) return reply(kFormErr);
    if (apex.empty() || apex != qname_lower) return reply(kNotAuth);
    auto view = store_->View(apex);
    if (!view || !view->config.secondary()) return reply(kNotAuth);
    bool from_primary = false;
    for (const std::string& p : view->config.primaries) {
      auto remote = ParseRemote(p);
      from_primary |= remote.ok() &&
                      AddressText(reinterpret_cast<const sockaddr*>(
                          &remote->addr)) == AddressText(req.peer);
    }
    const TsigKey* want =
        view->config.key.empty() ? nullptr : keys_->FindByText(view->config.key);
    if (!from_primary || (want && want != signed_by)) {
      std::fprintf(stderr, "popdns: zone %s: NOTIFY from %s refused (%s)\n",
                   view->config.name.c_str(), AddressText(req.peer).c_str(),
                   !from_primary ? "not a primary" : "not signed with its key");
      return reply(kRefused);
    }
    replicator_->Notify(apex);
    return reply(kNoError, true);
  }
  if (opcode == static_cast<uint8_t>(dns::Opcode::kUpdate)) {
    // RFC 2136 3.8: answered once the change is durable and serving.
    const update::UpdateReply u =
        updates_.Apply(m, signed_by, AddressText(req.peer));
    if (u.changed) replicator_->NotifySecondaries(u.apex);
    control::EventCounters::Add(
        control::Events().updates,
        u.rcode == kNoError    ? control::EventResult::kOk
        : u.rcode == kServFail ? control::EventResult::kError
                               : control::EventResult::kRefused);
    return reply(u.rcode);
  }
  if (opcode != 0) return reply(kNotImp);
  if (m.qdcount != 1) return reply(kFormErr);

  if (m.qtype == rrtype::kAxfr || m.qtype == rrtype::kIxfr) {
    // RFC 5936 4.2: AXFR over UDP is not defined (Knot: NOTIMP), whatever
    // the zone.
    if (m.qtype == rrtype::kAxfr && !req.tcp) return reply(kNotImp);
    if (apex.empty() || apex != qname_lower) return reply(kNotAuth);
    auto view = store_->View(apex);
    if (!view) return reply(kNotAuth);
    bool allowed = false;
    for (const std::string& p : view->config.allow_transfer) {
      allowed |= PrefixContains(p, req.peer);
    }
    const TsigKey* want =
        view->config.key.empty() ? nullptr : keys_->FindByText(view->config.key);
    if (!allowed || (want && want != signed_by)) {
      std::fprintf(stderr, "popdns: zone %s: %s from %s refused (%s)\n",
                   view->config.name.c_str(),
                   m.qtype == rrtype::kAxfr ? "AXFR" : "IXFR",
                   AddressText(req.peer).c_str(),
                   !allowed ? "address not in allow_transfer"
                            : "not signed with the zone's key");
      return reply(kRefused);
    }
    if (!view->zone || view->expired) return reply(kServFail);
    const zone::Zone& z = *view->zone;
    // RFC 7314 4: EXPIRE in the first message of a transfer when asked.
    const bool expire = AsksExpire(m);
    auto sign_transfer = [&]() {
      if (has_opt && !out.empty()) {
        AppendOpt(&out.front(), answer_config_.udp_payload, expire,
                  expire ? ExpireLeft(*view) : 0);
      }
      sign_all(out);
      return out;
    };
    if (m.qtype == rrtype::kAxfr) {
      WriteAxfr(z, m, &out);
      return sign_transfer();
    }
    // IXFR (RFC 1995): the client's serial is in the authority section.
    std::optional<uint32_t> theirs;
    for (const ZoneRecord& r : m.authority) {
      if (r.type == rrtype::kSoa) theirs = Changeset::SerialOf(r);
    }
    if (!theirs) return reply(kFormErr);
    const ZoneRecord soa = control::SoaRecordOf(z);
    size_t first = view->history.size();
    for (size_t i = 0; i < view->history.size(); ++i) {
      if (view->history[i]->from() == *theirs) {
        first = i;
        break;
      }
    }
    const bool current = !SerialLess(*theirs, z.serial);
    const bool chained = first < view->history.size() &&
                         view->history.back()->to() == z.serial;
    if (current || !req.tcp) {
      // RFC 1995 2, 4: up to date, or over UDP: the SOA alone (a client
      // that is behind then asks over TCP).
      MessageBuilder b(m.id, ResponseFlags(m.flags, true, kNoError));
      b.AddQuestion(m.qname, m.qtype, m.qclass);
      b.Add(Section::kAnswer, soa);
      out.push_back(b.Finish());
      return sign_transfer();
    }
    if (!chained) {
      // No history from their serial: AXFR-style (RFC 1995 4).
      WriteAxfr(z, m, &out);
      return sign_transfer();
    }
    TransferWriter w(m, &out);
    w.Add(soa);
    for (size_t i = first; i < view->history.size(); ++i) {
      const Changeset& cs = *view->history[i];
      w.Add(cs.soa_from);
      for (const ZoneRecord& r : cs.removed) w.Add(r);
      w.Add(cs.soa_to);
      for (const ZoneRecord& r : cs.added) w.Add(r);
    }
    w.Add(soa);
    w.Finish();
    return sign_transfer();
  }

  // A signed query: the engine answers it, and the answer is signed.
  auto set = snapshots_->current_shared();
  std::vector<uint8_t> buf(dns::kMaxMessageSize);
  std::memcpy(buf.data(), body.data(), body.size());
  const size_t limit = req.tcp ? dns::kMaxMessageSize : 4096;
  const dns::AnswerResult r =
      dns::Answer(*set, answer_config_,
                  req.tcp ? dns::Transport::kTcp : dns::Transport::kUdp,
                  buf.data(), body.size(), limit);
  if (r.size == 0) return out;
  buf.resize(r.size);
  if (m.qtype == rrtype::kSoa && AsksExpire(m) && !apex.empty() &&
      apex == qname_lower && dns::GetArCount(buf.data()) > 0) {
    // RFC 7314 2: an SOA answer carries what is left of our expiry. The
    // engine's OPT is the last record: give it the option.
    if (auto view = store_->View(apex); view && view->zone) {
      const uint32_t left = ExpireLeft(*view);
      const uint8_t option[] = {0, kEdnsExpire, 0, 4,
                                static_cast<uint8_t>(left >> 24),
                                static_cast<uint8_t>(left >> 16),
                                static_cast<uint8_t>(left >> 8),
                                static_cast<uint8_t>(left)};
      // The OPT's RDLENGTH sits right before its RDATA at the end.
      size_t rdlen_at = buf.size();
      size_t rdlen = 0;
      // Find the OPT: owner 0, type 41, scanning back over its options.
      for (size_t at = buf.size() >= 11 ? buf.size() - 11 : 0; at > 0; --at) {
        if (buf[at] == 0 && buf[at + 1] == 0 && buf[at + 2] == 41 &&
            at + 11 + dns::Load16(buf.data() + at + 9) == buf.size()) {
          rdlen_at = at + 9;
          rdlen = dns::Load16(buf.data() + at + 9);
          break;
        }
      }
      if (rdlen_at != buf.size()) {
        buf.insert(buf.end(), option, option + sizeof(option));
        dns::Store16(buf.data() + rdlen_at,
                     static_cast<uint16_t>(rdlen + sizeof(option)));
      }
    }
  }
  out.push_back(std::move(buf));
  sign_all(out);
  return out;
}

}  // namespace popdns::xfr
