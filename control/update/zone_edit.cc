#include "control/update/zone_edit.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "control/build/zone_records.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::update {
namespace {

namespace rrtype = dns::rrtype;
using control::ZoneRecord;

bool Same(const EditRecord& r, uint16_t type, std::string_view rdata) {
  return r.type == type &&
         ComparableRdata(type, r.rdata) == ComparableRdata(type, rdata);
}

// DNSSEC records live beside a CNAME (RFC 4035 2.5); nothing else does
// (RFC 1034 3.6.2).
bool MayLiveBesideCname(uint16_t type) {
  return type == rrtype::kCname || type == rrtype::kRrsig ||
         type == rrtype::kNsec;
}

// What one RR of an RRset takes in a message: a compressed owner (2),
// type, class, TTL, RDLENGTH (10) and the RDATA.
constexpr size_t kRecordOverhead = 12;
// Header, a question of the longest name and its OPT: what a message
// needs besides the RRset.
constexpr size_t kMessageOverhead = 12 + 255 + 4 + 11;

}  // namespace

std::string ComparableRdata(uint16_t type, std::string_view rdata) {
  std::string out;
  control::AppendComparableRdata(type, rdata, &out);
  return out;
}

uint32_t NextSerial(uint32_t serial, control::SerialPolicy policy,
                    uint32_t now) {
  if (policy == control::SerialPolicy::kUnixtime &&
      xfr::SerialLess(serial, now)) {
    return now;
  }
  return serial + 1;  // wraps as RFC 1982 allows
}

ZoneEdit::ZoneEdit(const zone::Zone& base) : base_(base) {}

bool ZoneEdit::InZone(std::string_view owner) const {
  return control::NameIsAtOrBelow(control::NameToLower(owner), base_.apex);
}

ZoneEdit::Name& ZoneEdit::Get(std::string_view owner) {
  std::string lower = control::NameToLower(owner);
  auto [it, added] = names_.try_emplace(lower);
  Name& n = it->second;
  if (!added) return n;
  n.owner = std::move(lower);
  order_.push_back(&n);
  if (const zone::Node* node = base_.Find(n.owner)) {
    for (uint32_t i = 0; i < node->rrset_count; ++i) {
      const zone::RRset& rs = base_.rrsets[node->rrset_begin + i];
      const uint8_t* p = base_.Bytes(rs.rdata_offset);
      for (uint16_t k = 0; k < rs.count; ++k) {
        const size_t len = dns::Load16(p);
        n.base.push_back({rs.type, rs.ttl,
                          std::string(reinterpret_cast<const char*>(p + 2),
                                      len)});
        p += 2 + len;
      }
    }
  }
  n.now = n.base;
  return n;
}

const std::vector<EditRecord>& ZoneEdit::RecordsAt(std::string_view owner) {
  return Get(owner).now;
}

bool ZoneEdit::RRsetExists(std::string_view owner, uint16_t type) {
  for (const EditRecord& r : RecordsAt(owner)) {
    if (r.type == type) return true;
  }
  return false;
}

bool ZoneEdit::Add(std::string_view owner, uint16_t type, uint32_t ttl,
                   std::string_view rdata) {
  Name& n = Get(owner);
  if (type == rrtype::kSoa) {
    // RFC 2136 3.4.2.2: the SOA is replaced only by a newer one.
    if (!IsApex(n)) return false;
    ZoneRecord soa;
    soa.owner = n.owner;
    soa.type = rrtype::kSoa;
    soa.ttl = ttl;
    soa.rdata.assign(rdata);
    const ZoneRecord current =
        new_soa_ ? *new_soa_ : control::SoaRecordOf(base_);
    if (!xfr::SerialLess(xfr::Changeset::SerialOf(current),
                         xfr::Changeset::SerialOf(soa))) {
      return false;
    }
    if (!undo_soa_) undo_soa_ = new_soa_ ? *new_soa_ : current;
    new_soa_ = std::move(soa);
    return true;
  }
  Save(n);
  for (const EditRecord& r : n.now) {
    if (type == rrtype::kCname && !MayLiveBesideCname(r.type)) return false;
    if (r.type == rrtype::kCname && !MayLiveBesideCname(type)) return false;
  }
  if (type == rrtype::kCname) {
    // RFC 2136 3.4.2.2: a CNAME replaces the name's CNAME.
    std::erase_if(n.now,
                  [](const EditRecord& r) { return r.type == rrtype::kCname; });
  }
  for (const EditRecord& r : n.now) {
    // A record already there stays as it is, TTL included (as Knot does;
    // BIND takes the new TTL).
    if (Same(r, type, rdata)) return false;
  }
  for (EditRecord& r : n.now) {
    if (r.type == type) r.ttl = ttl;
  }
  n.now.push_back({type, ttl, std::string(rdata)});
  return true;
}

void ZoneEdit::DeleteRRset(std::string_view owner, uint16_t type) {
  Name& n = Get(owner);
  if (type == rrtype::kSoa) return;
  if (IsApex(n) && type == rrtype::kNs) return;
  Save(n);
  std::erase_if(n.now, [&](const EditRecord& r) { return r.type == type; });
}

void ZoneEdit::DeleteName(std::string_view owner) {
  Name& n = Get(owner);
  Save(n);
  std::erase_if(n.now, [&](const EditRecord& r) {
    return r.type != rrtype::kSoa && !(IsApex(n) && r.type == rrtype::kNs);
  });
}

void ZoneEdit::DeleteRecord(std::string_view owner, uint16_t type,
                            std::string_view rdata) {
  Name& n = Get(owner);
  if (type == rrtype::kSoa) return;
  if (IsApex(n) && type == rrtype::kNs) {
    const auto ns = std::count_if(n.now.begin(), n.now.end(),
                                  [](const EditRecord& r) {
                                    return r.type == rrtype::kNs;
                                  });
    if (ns <= 1) return;  // RFC 2136 3.4.2.4: never the last apex NS
  }
  Save(n);
  std::erase_if(n.now,
                [&](const EditRecord& r) { return Same(r, type, rdata); });
}

void ZoneEdit::ReplaceRRset(std::string_view owner, uint16_t type,
                            const std::vector<EditRecord>& records) {
  Name& n = Get(owner);
  Save(n);
  std::erase_if(n.now, [&](const EditRecord& r) { return r.type == type; });
  for (const EditRecord& r : records) {
    bool present = false;
    for (const EditRecord& have : n.now) {
      present |= Same(have, r.type, r.rdata);
    }
    if (!present) n.now.push_back(r);
  }
}

void ZoneEdit::Save(Name& n) {
  for (const auto& [saved, records] : undo_) {
    if (saved == &n) return;
  }
  undo_.emplace_back(&n, n.now);
}

void ZoneEdit::Begin() {
  undo_.clear();
  undo_soa_.reset();
}

void ZoneEdit::Rollback() {
  for (auto& [n, records] : undo_) n->now = std::move(records);
  if (undo_soa_) {
    const bool was_base = xfr::Changeset::SerialOf(*undo_soa_) == base_.serial;
    new_soa_ = was_base ? std::nullopt
                        : std::optional<control::ZoneRecord>(*undo_soa_);
  }
  Begin();
}

absl::Status ZoneEdit::CheckSizes() const {
  for (const auto& [n, records] : undo_) {
    if (absl::Status s = CheckSize(*n); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ZoneEdit::CheckSize(const Name& n) {
  // RFC 1035 4.2.1: a TCP message holds at most 65535 octets.
  absl::flat_hash_map<uint16_t, size_t> sizes;
  for (const EditRecord& r : n.now) {
    const size_t size = sizes[r.type] += kRecordOverhead + r.rdata.size();
    if (size + kMessageOverhead > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "RRset ", control::NameToText(n.owner), " ",
          control::TypeToText(r.type),
          " would not fit in a DNS message (64 KB)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<xfr::Changeset>> ZoneEdit::Finish(
    control::SerialPolicy policy, uint32_t now) {
  xfr::Changeset cs;
  for (Name* n : order_) {
    // A record whose TTL changed leaves and comes back with the new TTL.
    auto differs = [](const EditRecord& r, const std::vector<EditRecord>& in) {
      for (const EditRecord& o : in) {
        if (o.ttl == r.ttl && Same(o, r.type, r.rdata)) return false;
      }
      return true;
    };
    auto record = [&](const EditRecord& r) {
      ZoneRecord z;
      z.owner = n->owner;
      z.type = r.type;
      z.ttl = r.ttl;
      z.rdata = r.rdata;
      return z;
    };
    for (const EditRecord& r : n->base) {
      if (r.type != rrtype::kSoa && differs(r, n->now)) {
        cs.removed.push_back(record(r));
      }
    }
    for (const EditRecord& r : n->now) {
      if (r.type != rrtype::kSoa && differs(r, n->base)) {
        cs.added.push_back(record(r));
      }
    }
    if (absl::Status s = CheckSize(*n); !s.ok()) return s;
  }
  if (cs.removed.empty() && cs.added.empty() && !new_soa_) {
    return std::optional<xfr::Changeset>();
  }
  cs.soa_from = control::SoaRecordOf(base_);
  if (new_soa_) {
    cs.soa_to = *new_soa_;
  } else {
    cs.soa_to = cs.soa_from;
    const uint32_t serial = NextSerial(base_.serial, policy, now);
    dns::Store32(reinterpret_cast<uint8_t*>(cs.soa_to.rdata.data()) +
                     cs.soa_to.rdata.size() - 20,
                 serial);
  }
  return std::optional<xfr::Changeset>(std::move(cs));
}

}  // namespace popdns::update
