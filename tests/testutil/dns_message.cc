#include "tests/testutil/dns_message.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace popdns::testutil {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void Put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Reads a (possibly compressed) name; returns the wire form, uncompressed.
absl::StatusOr<std::string> ReadName(const uint8_t* d, size_t len, size_t* pos,
                                     bool lower) {
  std::string out;
  size_t p = *pos;
  bool jumped = false;
  size_t limit = p;
  while (true) {
    if (p >= len) return absl::InvalidArgumentError("name past end");
    const uint8_t l = d[p];
    if ((l & 0xC0) == 0xC0) {
      if (p + 2 > len) return absl::InvalidArgumentError("pointer past end");
      const size_t t = Get16(d + p) & 0x3FFF;
      if (t >= limit) return absl::InvalidArgumentError("forward pointer");
      if (!jumped) *pos = p + 2;
      jumped = true;
      limit = t;
      p = t;
      continue;
    }
    if (l > 63) return absl::InvalidArgumentError("bad label type");
    if (p + 1 + l > len) return absl::InvalidArgumentError("label past end");
    out.push_back(static_cast<char>(l));
    for (size_t i = 0; i < l; ++i) {
      const char c = static_cast<char>(d[p + 1 + i]);
      out.push_back(lower ? Lower(c) : c);
    }
    p += 1u + l;
    if (l == 0) break;
    if (out.size() > 255) return absl::InvalidArgumentError("name too long");
  }
  if (!jumped) *pos = p;
  return out;
}

absl::StatusOr<std::string> ReadRdata(const uint8_t* d, size_t len, size_t pos,
                                      size_t rdlen, uint16_t type) {
  const size_t end = pos + rdlen;
  auto names_at = [&](size_t fixed_before, int names,
                      size_t fixed_after) -> absl::StatusOr<std::string> {
    if (fixed_before > rdlen) {
      return absl::InvalidArgumentError("RDATA shorter than its fixed part");
    }
    std::string out(reinterpret_cast<const char*>(d + pos), fixed_before);
    size_t p = pos + fixed_before;
    for (int i = 0; i < names; ++i) {
      auto n = ReadName(d, end, &p, true);
      if (!n.ok()) return n.status();
      out += *n;
    }
    if (p + fixed_after != end) {
      return absl::InvalidArgumentError("bad RDATA length");
    }
    out.append(reinterpret_cast<const char*>(d + p), fixed_after);
    return out;
  };
  (void)len;
  switch (type) {
    case 2: case 5: case 12: case 39: return names_at(0, 1, 0);
    case 15: return names_at(2, 1, 0);
    case 33: return names_at(6, 1, 0);
    case 6: return names_at(0, 2, 20);
    default:
      return std::string(reinterpret_cast<const char*>(d + pos), rdlen);
  }
}

}  // namespace

std::string TextToWire(std::string_view text) {
  std::string out;
  if (text == ".") return std::string(1, '\0');
  size_t i = 0;
  while (i < text.size()) {
    size_t dot = text.find('.', i);
    if (dot == std::string_view::npos) dot = text.size();
    if (dot > i) {
      out.push_back(static_cast<char>(dot - i));
      out.append(text.substr(i, dot - i));
    }
    i = dot + 1;
  }
  out.push_back('\0');
  return out;
}

std::string WireToText(std::string_view wire) {
  if (wire.size() <= 1) return ".";
  std::string out;
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    const size_t l = static_cast<uint8_t>(wire[i]);
    out.append(wire.substr(i + 1, l));
    out.push_back('.');
    i += 1 + l;
  }
  return out;
}

std::vector<uint8_t> MakeQuery(std::string_view name, uint16_t qtype,
                               const QueryOptions& o) {
  std::vector<uint8_t> q;
  Put16(q, o.id);
  q.push_back(static_cast<uint8_t>((o.opcode << 3) | (o.rd ? 1 : 0)));
  q.push_back(0);
  Put16(q, 1);
  Put16(q, 0);
  Put16(q, 0);
  Put16(q, o.edns ? 1 : 0);
  const std::string wire = TextToWire(name);
  q.insert(q.end(), wire.begin(), wire.end());
  Put16(q, qtype);
  Put16(q, o.qclass);
  if (o.edns) {
    q.push_back(0);
    Put16(q, 41);
    Put16(q, o.udp_size);
    q.push_back(0);
    q.push_back(o.edns_version);
    q.push_back(o.dnssec_ok ? 0x80 : 0);
    q.push_back(0);
    Put16(q, static_cast<uint16_t>(o.edns_options.size()));
    q.insert(q.end(), o.edns_options.begin(), o.edns_options.end());
  }
  return q;
}

std::vector<uint8_t> EdnsOption(uint16_t code, std::string_view data) {
  std::vector<uint8_t> o(4 + data.size());
  o[0] = static_cast<uint8_t>(code >> 8);
  o[1] = static_cast<uint8_t>(code);
  o[2] = static_cast<uint8_t>(data.size() >> 8);
  o[3] = static_cast<uint8_t>(data.size());
  std::copy(data.begin(), data.end(), o.begin() + 4);
  return o;
}

std::string Record::ToString() const {
  std::string hex;
  for (unsigned char c : rdata) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  return absl::StrCat(owner, " ", ttl, " ", rclass, " ", type, " ", hex);
}

absl::StatusOr<Message> ParseMessage(const uint8_t* d, size_t len) {
  Message m;
  m.size = len;
  if (len < 12) return absl::InvalidArgumentError("short header");
  m.id = Get16(d);
  m.flags1 = d[2];
  m.flags2 = d[3];
  m.qr = d[2] & 0x80;
  m.aa = d[2] & 0x04;
  m.tc = d[2] & 0x02;
  m.rd = d[2] & 0x01;
  m.rcode = d[3] & 0x0F;
  m.qdcount = Get16(d + 4);
  const uint16_t counts[3] = {Get16(d + 6), Get16(d + 8), Get16(d + 10)};
  size_t pos = 12;
  if (m.qdcount > 1) return absl::InvalidArgumentError("qdcount > 1");
  if (m.qdcount == 1) {
    const size_t start = pos;
    auto n = ReadName(d, len, &pos, false);
    if (!n.ok()) return n.status();
    m.qname_wire.assign(reinterpret_cast<const char*>(d + start), pos - start);
    m.qname = WireToText(*n);
    if (pos + 4 > len) return absl::InvalidArgumentError("question past end");
    m.qtype = Get16(d + pos);
    m.qclass = Get16(d + pos + 2);
    pos += 4;
  }
  std::vector<Record>* sections[3] = {&m.answer, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s]; ++i) {
      auto owner = ReadName(d, len, &pos, true);
      if (!owner.ok()) return owner.status();
      if (pos + 10 > len) return absl::InvalidArgumentError("RR past end");
      Record r;
      r.owner = WireToText(*owner);
      r.type = Get16(d + pos);
      r.rclass = Get16(d + pos + 2);
      r.ttl = static_cast<uint32_t>(Get16(d + pos + 4)) << 16 | Get16(d + pos + 6);
      const size_t rdlen = Get16(d + pos + 8);
      pos += 10;
      if (pos + rdlen > len) return absl::InvalidArgumentError("RDATA past end");
      if (r.type == 41) {
        if (s != 2 || m.has_opt || *owner != std::string(1, '\0')) {
          return absl::InvalidArgumentError("misplaced OPT");
        }
        m.has_opt = true;
        m.opt_udp_size = r.rclass;
        m.opt_ext_rcode = static_cast<uint8_t>(r.ttl >> 24);
        m.opt_version = static_cast<uint8_t>(r.ttl >> 16);
        m.opt_do = r.ttl & 0x8000;
        // RFC 6891 6.1.2: whole {code, length, data} options, nothing else.
        for (size_t o = pos; o < pos + rdlen;) {
          if (pos + rdlen - o < 4) {
            return absl::InvalidArgumentError("truncated EDNS option");
          }
          const uint16_t code = Get16(d + o);
          const size_t olen = Get16(d + o + 2);
          if (pos + rdlen - (o + 4) < olen) {
            return absl::InvalidArgumentError("EDNS option past the OPT");
          }
          m.opt_options.emplace_back(
              code, std::string(reinterpret_cast<const char*>(d + o + 4),
                                olen));
          o += 4 + olen;
        }
      } else {
        auto rd = ReadRdata(d, len, pos, rdlen, r.type);
        if (!rd.ok()) return rd.status();
        r.rdata = *rd;
        sections[s]->push_back(std::move(r));
      }
      pos += rdlen;
    }
  }
  if (pos != len) return absl::InvalidArgumentError("trailing bytes");
  return m;
}

}  // namespace popdns::testutil
