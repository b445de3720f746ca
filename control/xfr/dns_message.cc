#include "control/xfr/dns_message.h"

#include <cstring>

#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {
namespace {

namespace rrtype = dns::rrtype;

// Reads a possibly compressed name at msg[pos] into `out` (uncompressed
// wire, case kept); *end is the offset just past it in the message.
bool ReadName(const uint8_t* msg, size_t len, size_t pos, std::string* out,
              size_t* end) {
  out->clear();
  bool jumped = false;
  size_t hops = 0;
  while (true) {
    if (pos >= len) return false;
    const uint8_t l = msg[pos];
    if ((l & 0xC0) == 0xC0) {
      if (pos + 1 >= len) return false;
      const size_t target = ((l & 0x3F) << 8) | msg[pos + 1];
      if (!jumped) *end = pos + 2;
      jumped = true;
      // Pointers go backwards (RFC 1035 4.1.4: a prior occurrence); the
      // hop bound stops loops all the same.
      if (target >= pos || ++hops > dns::kMaxLabels) return false;
      pos = target;
      continue;
    }
    if (l & 0xC0) return false;  // label types 01 and 10 (RFC 6891 5)
    if (l == 0) {
      out->push_back(0);
      if (!jumped) *end = pos + 1;
      return out->size() <= dns::kMaxNameSize;
    }
    if (pos + 1 + l > len) return false;
    out->append(reinterpret_cast<const char*>(msg + pos), 1u + l);
    if (out->size() + 1 > dns::kMaxNameSize) return false;
    pos += 1u + l;
  }
}

// Where the names inside a type's RDATA are: the layout of a fixed prefix
// and a number of names, for the types whose names may arrive compressed
// (RFC 3597 4; RFC 1035 3.3).
struct NameLayout {
  uint8_t prefix;  // fixed bytes before the first name
  uint8_t names;   // names in a row after it
  bool compress;   // we may compress them when writing (RFC 3597 4)
};
bool LayoutOf(uint16_t type, NameLayout* l) {
  switch (type) {
    case rrtype::kNs:
    case rrtype::kCname:
    case rrtype::kPtr:
    case 3:   // MD
    case 4:   // MF
    case 7:   // MB
    case 8:   // MG
    case 9:   // MR
      *l = {0, 1, true};
      return true;
    case rrtype::kSoa:
      *l = {0, 2, true};
      return true;
    case 14:  // MINFO
      *l = {0, 2, true};
      return true;
    case rrtype::kMx:
      *l = {2, 1, true};
      return true;
    case 17:  // RP
      *l = {0, 2, false};
      return true;
    case 18:  // AFSDB
    case 21:  // RT
      *l = {2, 1, false};
      return true;
    case 26:  // PX
      *l = {2, 2, false};
      return true;
    case rrtype::kSrv:
      *l = {6, 1, false};
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<Message> ParseMessage(const uint8_t* msg, size_t len) {
  if (len < dns::kHeaderSize) {
    return absl::InvalidArgumentError("message shorter than a header");
  }
  Message m;
  m.id = dns::Load16(msg);
  m.flags = dns::Load16(msg + 2);
  m.qdcount = dns::GetQdCount(msg);
  size_t pos = dns::kHeaderSize;
  if (m.qdcount > 1) return absl::InvalidArgumentError("more than one question");
  if (m.qdcount == 1) {
    if (!ReadName(msg, len, pos, &m.qname, &pos) || len - pos < 4) {
      return absl::InvalidArgumentError("malformed question");
    }
    m.qtype = dns::Load16(msg + pos);
    m.qclass = dns::Load16(msg + pos + 2);
    pos += 4;
  }
  const uint16_t counts[3] = {dns::GetAnCount(msg), dns::GetNsCount(msg),
                              dns::GetArCount(msg)};
  std::vector<ZoneRecord>* sections[3] = {&m.answer, &m.authority,
                                          &m.additional};
  std::string name;
  for (int s = 0; s < 3; ++s) {
    sections[s]->reserve(counts[s]);
    for (uint16_t i = 0; i < counts[s]; ++i) {
      ZoneRecord rr;
      if (!ReadName(msg, len, pos, &rr.owner, &pos)) {
        return absl::InvalidArgumentError("malformed record owner");
      }
      if (len - pos < 10) return absl::InvalidArgumentError("truncated record");
      rr.type = dns::Load16(msg + pos);
      rr.rclass = dns::Load16(msg + pos + 2);
      rr.ttl = dns::Load32(msg + pos + 4);
      const size_t rdlen = dns::Load16(msg + pos + 8);
      pos += 10;
      if (len - pos < rdlen) return absl::InvalidArgumentError("truncated RDATA");
      const size_t rdend = pos + rdlen;
      NameLayout layout;
      if (LayoutOf(rr.type, &layout) && rdlen > 0) {
        if (rdlen < layout.prefix) {
          return absl::InvalidArgumentError("short RDATA");
        }
        rr.rdata.assign(reinterpret_cast<const char*>(msg + pos), layout.prefix);
        size_t p = pos + layout.prefix;
        for (int k = 0; k < layout.names; ++k) {
          // A name must end inside the RDATA, pointers may leave it.
          size_t after;
          if (!ReadName(msg, rdend, p, &name, &after)) {
            return absl::InvalidArgumentError("malformed name in RDATA");
          }
          rr.rdata += name;
          p = after;
        }
        rr.rdata.append(reinterpret_cast<const char*>(msg + p), rdend - p);
        if (rr.rdata.size() > 0xFFFF) {
          return absl::InvalidArgumentError("RDATA too long");
        }
      } else {
        rr.rdata.assign(reinterpret_cast<const char*>(msg + pos), rdlen);
      }
      pos = rdend;
      sections[s]->push_back(std::move(rr));
    }
  }
  if (pos != len) return absl::InvalidArgumentError("trailing bytes");
  return m;
}

// The header is sized at construction: resize() of the empty vector made
// GCC 12 at -O3 warn about the (never taken) move of old elements in
// _M_fill_insert (-Warray-bounds on a 12-byte buffer).
MessageBuilder::MessageBuilder(uint16_t id, uint16_t flags)
    : buf_(dns::kHeaderSize, 0) {
  dns::Store16(buf_.data(), id);
  dns::Store16(buf_.data() + 2, flags);
}

void MessageBuilder::PutName(std::string_view wire, bool compress) {
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    // Case-sensitive: a pointer to "Example" would change the case of
    // "example" (allowed by RFC 4343, but a transfer should carry names
    // as the zone has them, as BIND's compression does).
    std::string suffix(wire.substr(i));
    if (compress) {
      auto it = names_.find(suffix);
      if (it != names_.end()) {
        buf_.push_back(static_cast<uint8_t>(0xC0 | (it->second >> 8)));
        buf_.push_back(static_cast<uint8_t>(it->second));
        return;
      }
    }
    if (buf_.size() < 0x3FFF) names_.emplace(std::move(suffix), buf_.size());
    const uint8_t l = static_cast<uint8_t>(wire[i]);
    buf_.insert(buf_.end(), wire.begin() + i, wire.begin() + i + 1 + l);
    i += 1u + l;
  }
  buf_.push_back(0);
}

void MessageBuilder::AddQuestion(std::string_view qname_wire, uint16_t qtype,
                                 uint16_t qclass) {
  PutName(qname_wire, false);
  const size_t at = buf_.size();
  buf_.resize(at + 4);
  dns::Store16(buf_.data() + at, qtype);
  dns::Store16(buf_.data() + at + 2, qclass);
  dns::Store16(buf_.data() + dns::kOffQdCount,
               static_cast<uint16_t>(dns::GetQdCount(buf_.data()) + 1));
}

bool MessageBuilder::Add(Section section, const ZoneRecord& rr, size_t limit) {
  const size_t mark = buf_.size();
  const auto saved_names = names_.size();
  PutName(rr.owner, true);
  size_t at = buf_.size();
  buf_.resize(at + 10);
  dns::Store16(buf_.data() + at, rr.type);
  dns::Store16(buf_.data() + at + 2, rr.rclass);
  dns::Store32(buf_.data() + at + 4, rr.ttl);
  const size_t rdata_start = buf_.size();
  NameLayout layout;
  bool written = false;
  if (LayoutOf(rr.type, &layout) && rr.rdata.size() >= layout.prefix) {
    // Walk the (uncompressed) names; fall back to a plain copy if the
    // RDATA is not what the type says.
    std::string_view rd = rr.rdata;
    size_t p = layout.prefix;
    std::vector<std::pair<size_t, size_t>> names;
    bool ok = true;
    for (int k = 0; k < layout.names && ok; ++k) {
      size_t q = p;
      while (q < rd.size() && rd[q] != 0) q += 1u + static_cast<uint8_t>(rd[q]);
      ok = q < rd.size();
      if (ok) names.emplace_back(p, q + 1 - p), p = q + 1;
    }
    if (ok) {
      buf_.insert(buf_.end(), rd.begin(), rd.begin() + layout.prefix);
      for (auto [off, n] : names) PutName(rd.substr(off, n), layout.compress);
      buf_.insert(buf_.end(), rd.begin() + p, rd.end());
      written = true;
    }
  }
  if (!written) buf_.insert(buf_.end(), rr.rdata.begin(), rr.rdata.end());
  const size_t rdlen = buf_.size() - rdata_start;
  if (buf_.size() > limit || rdlen > 0xFFFF) {
    buf_.resize(mark);
    // Forget names recorded past the mark: they point at removed bytes.
    if (names_.size() != saved_names) {
      for (auto it = names_.begin(); it != names_.end();) {
        if (it->second >= mark) {
          names_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    return false;
  }
  dns::Store16(buf_.data() + rdata_start - 2, static_cast<uint16_t>(rdlen));
  const int s = static_cast<int>(section);
  ++counts_[s];
  dns::Store16(buf_.data() + dns::kOffAnCount + 2 * s, counts_[s]);
  return true;
}

void MessageBuilder::AddOpt(uint16_t payload) {
  ZoneRecord opt;
  opt.owner.assign(1, '\0');
  opt.type = rrtype::kOpt;
  opt.rclass = payload;
  opt.ttl = 0;
  Add(Section::kAdditional, opt);
}

std::vector<uint8_t> BuildQuery(uint16_t id, std::string_view qname_wire,
                                uint16_t qtype, uint8_t opcode) {
  MessageBuilder b(id, static_cast<uint16_t>((opcode & 0x0F) << 11));
  b.AddQuestion(qname_wire, qtype);
  return b.Finish();
}

}  // namespace popdns::xfr
