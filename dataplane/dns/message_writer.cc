#include "dataplane/dns/message_writer.h"

#include <cstring>

namespace popdns::dns {
namespace {

constexpr size_t kRrFixedSize = 10;
// Compression pointers hold 14 bits; keep margin so that relocating a
// precompiled blob by up to a full name's length stays addressable.
constexpr size_t kMaxPointerTarget = 0x3FFF - kMaxNameSize;

size_t NameSize(const uint8_t* p) {
  size_t n = 0;
  while (p[n] != 0) n += 1u + p[n];
  return n + 1;
}

}  // namespace

void MessageWriter::AddQuestion(const LowerName& qname,
                                bool wildcard_template) {
  wildcard_template_ = wildcard_template;
  for (size_t i = 0; i < qname.label_count && entry_count_ < kMaxEntries;
       ++i) {
    const size_t off = qname.label_offset[i];
    entries_[entry_count_++] = {static_cast<uint16_t>(kHeaderSize + off),
                                static_cast<uint8_t>(qname.size - off),
                                i == 0};
  }
}

MessageWriter::Mark MessageWriter::Save() const {
  return {pos_, entry_count_, recorder_ ? recorder_->reloc_count : 0};
}

void MessageWriter::Restore(const Mark& m) {
  pos_ = m.pos;
  entry_count_ = m.entries;
  if (recorder_) recorder_->reloc_count = m.relocs;
}

bool MessageWriter::PutName(std::string_view name, bool compress,
                            bool is_owner) {
  const auto* n = reinterpret_cast<const uint8_t*>(name.data());
  size_t label = 0;
  while (n[label] != 0) {
    const size_t suffix_size = name.size() - label;
    if (compress) {
      for (size_t e = 0; e < entry_count_; ++e) {
        const Entry& en = entries_[e];
        if (en.size != suffix_size) continue;
        if (en.question && wildcard_template_ && !is_owner) continue;
        if (!NameAtEquals(msg_, en.pos, name.substr(label))) continue;
        if (pos_ + 2 > limit_) return false;
        Store16(msg_ + pos_, static_cast<uint16_t>(0xC000 | en.pos));
        if (recorder_) {
          if (recorder_->reloc_count == BlobRecorder::kMaxRelocs) {
            recorder_->overflow = true;
          } else {
            recorder_->relocs[recorder_->reloc_count++] =
                static_cast<uint16_t>(pos_ - start_);
          }
        }
        pos_ += 2;
        return true;
      }
    }
    const size_t l = n[label];
    if (pos_ + 1 + l > limit_) return false;
    if (pos_ <= kMaxPointerTarget && entry_count_ < kMaxEntries) {
      entries_[entry_count_++] = {static_cast<uint16_t>(pos_),
                                  static_cast<uint8_t>(suffix_size), false};
    }
    std::memcpy(msg_ + pos_, n + label, 1 + l);
    pos_ += 1 + l;
    label += 1 + l;
  }
  if (pos_ + 1 > limit_) return false;
  msg_[pos_++] = 0;
  return true;
}

bool MessageWriter::PutRdata(uint16_t type, const uint8_t* rdata,
                             size_t rdlen) {
  // RFC 3597 4: only the RFC 1035 types may have compressed RDATA names.
  auto name_at = [&](size_t off) {
    return std::string_view(reinterpret_cast<const char*>(rdata + off),
                            NameSize(rdata + off));
  };
  switch (type) {
    case rrtype::kNs:
    case rrtype::kCname:
    case rrtype::kPtr:
      return PutName(name_at(0), true, false);
    case rrtype::kMx: {
      if (pos_ + 2 > limit_) return false;
      std::memcpy(msg_ + pos_, rdata, 2);
      pos_ += 2;
      return PutName(name_at(2), true, false);
    }
    case rrtype::kSoa: {
      std::string_view mname = name_at(0);
      std::string_view rname = name_at(mname.size());
      const size_t fixed = mname.size() + rname.size();
      if (!PutName(mname, true, false) || !PutName(rname, true, false)) {
        return false;
      }
      if (pos_ + (rdlen - fixed) > limit_) return false;
      std::memcpy(msg_ + pos_, rdata + fixed, rdlen - fixed);
      pos_ += rdlen - fixed;
      return true;
    }
    default:
      if (pos_ + rdlen > limit_) return false;
      // Uncompressed names still serve as targets for later names (e.g. SRV
      // targets for the additional-section owners).
      if (type == rrtype::kSrv && rdlen > 6) {
        if (pos_ + 6 <= kMaxPointerTarget) {
          const uint8_t* nm = rdata + 6;
          size_t off = 0;
          while (nm[off] != 0 && entry_count_ < kMaxEntries &&
                 pos_ + 6 + off <= kMaxPointerTarget) {
            entries_[entry_count_++] = {
                static_cast<uint16_t>(pos_ + 6 + off),
                static_cast<uint8_t>(rdlen - 6 - off), false};
            off += 1u + nm[off];
          }
        }
      }
      std::memcpy(msg_ + pos_, rdata, rdlen);
      pos_ += rdlen;
      return true;
  }
}

bool MessageWriter::PutRR(std::string_view owner, uint16_t type, uint32_t ttl,
                          const uint8_t* rdata, size_t rdlen) {
  if (!PutName(owner, true, true)) return false;
  if (pos_ + kRrFixedSize > limit_) return false;
  uint8_t* fixed = msg_ + pos_;
  Store16(fixed, type);
  Store16(fixed + 2, rrclass::kIn);
  Store32(fixed + 4, ttl);
  pos_ += kRrFixedSize;
  const size_t rdata_start = pos_;
  if (!PutRdata(type, rdata, rdlen)) return false;
  Store16(fixed + 8, static_cast<uint16_t>(pos_ - rdata_start));
  return true;
}

void MessageWriter::Count(Section section) {
  switch (section) {
    case Section::kAnswer: ++an_; break;
    case Section::kAuthority: ++ns_; break;
    case Section::kAdditional: ++ar_; break;
  }
}

void MessageWriter::RecordCut(Section section) {
  if (!recorder_) return;
  if (recorder_->cut_count == BlobRecorder::kMaxCuts) {
    recorder_->overflow = true;
    return;
  }
  recorder_->cuts[recorder_->cut_count++] = {
      static_cast<uint16_t>(pos_ - start_), an_, ns_, ar_,
      static_cast<uint8_t>(section)};
}

bool MessageWriter::PutRRset(Section section, std::string_view owner,
                             const zone::Zone& zone,
                             const zone::RRset& rrset) {
  const Mark mark = Save();
  const uint16_t an = an_, ns = ns_, ar = ar_;
  const uint8_t* p = zone.Bytes(rrset.rdata_offset);
  for (uint16_t i = 0; i < rrset.count; ++i) {
    const size_t rdlen = Load16(p);
    if (!PutRR(owner, rrset.type, rrset.ttl, p + 2, rdlen)) {
      Restore(mark);
      an_ = an, ns_ = ns, ar_ = ar;
      return false;
    }
    Count(section);
    p += 2 + rdlen;
  }
  RecordCut(section);
  return true;
}

bool MessageWriter::PutSingle(Section section, std::string_view owner,
                              uint16_t type, uint32_t ttl,
                              std::string_view rdata) {
  const Mark mark = Save();
  if (!PutRR(owner, type, ttl, reinterpret_cast<const uint8_t*>(rdata.data()),
             rdata.size())) {
    Restore(mark);
    return false;
  }
  Count(section);
  RecordCut(section);
  return true;
}

}  // namespace popdns::dns
