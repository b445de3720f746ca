// Zone checks and normalization. See zone_validate.h.
#include "control/zonefile/zone_validate.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "control/zonefile/text_util.h"

namespace popdns::control {
namespace {

using internal::Cat;

constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypeDname = 39;
constexpr uint16_t kTypeRrsig = 46;
constexpr uint16_t kTypeNsec = 47;
constexpr uint16_t kClassIn = 1;

absl::Status RecordError(const ZoneRecord& record, std::string_view what) {
  return absl::InvalidArgumentError(
      Cat(record.file, ":", record.line, ": ", what));
}

// The first error is returned; check mode also lists every one.
class Errors {
 public:
  explicit Errors(ErrorList* list) : list_(list) {}
  // Keeps `error`; true if checking goes on (check mode).
  bool Add(const absl::Status& error) {
    if (first_.ok()) first_ = error;
    if (list_ != nullptr) list_->Add(error);
    return list_ != nullptr;
  }
  const absl::Status& first() const { return first_; }

 private:
  ErrorList* list_;
  absl::Status first_;
};

// What one owner name holds, for the CNAME/DNAME rules.
struct OwnerInfo {
  const ZoneRecord* first_cname = nullptr;
  const ZoneRecord* first_dname = nullptr;
  const ZoneRecord* first_other = nullptr;  // not CNAME, RRSIG or NSEC
  bool conflict_reported = false;  // check mode: once per owner
};

// False: stop (an error, not in check mode).
bool CheckOwner(const ZoneRecord& record, OwnerInfo* info, Errors* errors) {
  auto owner = [&record]() { return NameToText(record.owner); };
  switch (record.type) {
    case kTypeCname:
      if (info->first_cname != nullptr) {
        return errors->Add(
            RecordError(record, Cat("more than one CNAME at ", owner())));
      }
      info->first_cname = &record;
      break;
    case kTypeDname:
      if (info->first_dname != nullptr) {
        return errors->Add(
            RecordError(record, Cat("more than one DNAME at ", owner())));
      }
      info->first_dname = &record;
      [[fallthrough]];
    default:
      if (record.type == kTypeRrsig || record.type == kTypeNsec) break;
      if (info->first_other == nullptr) info->first_other = &record;
      break;
  }
  if (info->first_cname != nullptr && info->first_other != nullptr &&
      !info->conflict_reported) {
    info->conflict_reported = true;
    // RFC 1034 3.6.2, RFC 2181 10.1; RRSIG/NSEC allowed by RFC 4035 2.5.
    const ZoneRecord* other = info->first_other;
    return errors->Add(
        RecordError(record, Cat("CNAME and other data (",
                                TypeToText(other->type), ") at ", owner())));
  }
  return true;
}

// False: stop (an error, not in check mode).
bool CheckApex(const std::vector<ZoneRecord>& records,
               std::string_view apex_wire, Errors* errors) {
  const ZoneRecord* soa = nullptr;
  bool apex_ns = false;
  for (const ZoneRecord& record : records) {
    bool at_apex = record.owner.size() == apex_wire.size() &&
                   NameIsAtOrBelow(record.owner, apex_wire);
    if (record.type == kTypeSoa) {
      if (!at_apex) {
        if (!errors->Add(RecordError(
                record, Cat("SOA not at the zone apex ",
                            NameToText(apex_wire))))) {
          return false;
        }
        continue;
      }
      if (soa != nullptr) {
        if (!errors->Add(RecordError(
                record, Cat("more than one SOA (first at line ", soa->line,
                            ")")))) {
          return false;
        }
        continue;
      }
      soa = &record;
    }
    if (record.type == kTypeNs && at_apex) apex_ns = true;
  }
  std::string where =
      records.empty() ? std::string("zone") : records.front().file.path();
  const std::string apex = NameToText(apex_wire);
  if (soa == nullptr &&
      !errors->Add(absl::InvalidArgumentError(
          Cat(where, ": no SOA record at the zone apex ", apex)))) {
    return false;
  }
  if (!apex_ns &&
      !errors->Add(absl::InvalidArgumentError(
          Cat(where, ": no NS records at the zone apex ", apex)))) {
    return false;
  }
  return true;
}

// Lowercased owners without copying the common case: zone files are
// mostly lowercase already, and only owners with capitals get a copy.
// Each owner is hashed once, in order: the RRset and owner tables below
// look records up by index, and a probe that meets another name's entry
// compares these hashes instead of reading that record (a cache miss for
// every probe of a million-record zone, most of validation's time).
class OwnerKeys {
 public:
  explicit OwnerKeys(const std::vector<ZoneRecord>& records)
      : records_(records), hashes_(records.size()) {
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string& o = records[i].owner;
      if (std::any_of(o.begin(), o.end(),
                      [](char c) { return c >= 'A' && c <= 'Z'; })) {
        std::string lower(o);
        for (char& c : lower) c = internal::AsciiLower(c);
        hashes_[i] = absl::Hash<std::string_view>()(lower);
        copies_.emplace(static_cast<uint32_t>(i), std::move(lower));
      } else {
        hashes_[i] = absl::Hash<std::string_view>()(o);
      }
    }
  }
  std::string_view Owner(uint32_t i) const {
    if (!copies_.empty()) {
      auto it = copies_.find(i);
      if (it != copies_.end()) return it->second;
    }
    return records_[i].owner;
  }
  size_t OwnerHash(uint32_t i) const { return hashes_[i]; }
  bool SameOwner(uint32_t a, uint32_t b) const {
    return hashes_[a] == hashes_[b] && Owner(a) == Owner(b);
  }
  // RRset identity: the lowercased owner and the type (for RRSIGs also the
  // covered type: RFC 4034 3, an RRSIG's TTL is that of the RRset it
  // covers, so each covered type is an RRset of its own).
  uint32_t RrsetType(uint32_t i) const {
    const ZoneRecord& r = records_[i];
    uint32_t type = r.type;
    if (r.type == kTypeRrsig && r.rdata.size() >= 2) {
      type |= static_cast<uint32_t>(static_cast<uint8_t>(r.rdata[0]) << 8 |
                                    static_cast<uint8_t>(r.rdata[1]))
              << 16;
    }
    return type;
  }
  size_t RrsetHash(uint32_t i) const {
    return absl::Hash<std::pair<size_t, uint32_t>>()({hashes_[i], RrsetType(i)});
  }
  bool SameRrset(uint32_t a, uint32_t b) const {
    return hashes_[a] == hashes_[b] && RrsetType(a) == RrsetType(b) &&
           Owner(a) == Owner(b);
  }

 private:
  const std::vector<ZoneRecord>& records_;
  std::vector<size_t> hashes_;
  absl::flat_hash_map<uint32_t, std::string> copies_;
};

// Hash tables of record indices, hashed and compared by one of OwnerKeys's
// keys.
template <size_t (OwnerKeys::*kHash)(uint32_t) const>
struct IndexHash {
  const OwnerKeys* keys;
  size_t operator()(uint32_t i) const { return (keys->*kHash)(i); }
};
template <bool (OwnerKeys::*kSame)(uint32_t, uint32_t) const>
struct SameIndex {
  const OwnerKeys* keys;
  bool operator()(uint32_t a, uint32_t b) const { return (keys->*kSame)(a, b); }
};

// Whether two records of one RRset are the same RR: names inside RDATA
// compare case-insensitively (RFC 4343), so "NS A.example." and
// "NS a.example." are one. Lowercased copies are made only for RDATA that
// differs in case alone.
bool SameRdata(const ZoneRecord& a, const ZoneRecord& b) {
  if (a.rdata == b.rdata) return true;
  if (!absl::EqualsIgnoreCase(a.rdata, b.rdata)) return false;
  auto la = RdataWithLowercaseNames(a.type, a.rdata);
  auto lb = RdataWithLowercaseNames(b.type, b.rdata);
  return (la ? std::string_view(*la) : std::string_view(a.rdata)) ==
         (lb ? std::string_view(*lb) : std::string_view(b.rdata));
}

}  // namespace

absl::StatusOr<std::vector<ZoneRecord>> NormalizeAndValidateZone(
    std::vector<ZoneRecord> records, std::string_view apex_wire,
    std::vector<std::string>* warnings, ErrorList* error_list,
    bool* modified) {
  Errors errors(error_list);
  if (modified != nullptr) *modified = false;
  for (const ZoneRecord& record : records) {
    if (record.rclass != kClassIn &&
        !errors.Add(RecordError(record, Cat("class ",
                                            ClassToText(record.rclass),
                                            " not supported (only IN)")))) {
      return errors.first();
    }
    if (!NameIsAtOrBelow(record.owner, apex_wire) &&
        !errors.Add(RecordError(
            record, Cat(NameToText(record.owner), " is outside the zone ",
                        NameToText(apex_wire))))) {
      return errors.first();
    }
  }
  if (!CheckApex(records, apex_wire, &errors)) return errors.first();

  // Records are checked in place and moved out only at the end, so the
  // string_views into their owners and RDATA stay valid throughout.
  const OwnerKeys keys(records);
  // RRsets by the index of their first record: an entry is 8 bytes and
  // the table is sized once (keyed by owner views it was 32, and its
  // growth the load's peak). Records of an RRset are chained from `last`,
  // so a duplicate is found by walking the (usually one or two) records
  // before it.
  constexpr uint32_t kNoRecord = 0xFFFFFFFF;
  using RrsetHash = IndexHash<&OwnerKeys::RrsetHash>;
  using SameRrset = SameIndex<&OwnerKeys::SameRrset>;
  // first record -> last record kept in the RRset
  absl::flat_hash_map<uint32_t, uint32_t, RrsetHash, SameRrset> rrsets(
      records.size(), RrsetHash{&keys}, SameRrset{&keys});

  std::vector<uint32_t> previous(records.size(), kNoRecord);
  // The CNAME/DNAME rules only concern owners that have one of them:
  // keyed by the first such record's index.
  using OwnerHash = IndexHash<&OwnerKeys::OwnerHash>;
  using SameOwner = SameIndex<&OwnerKeys::SameOwner>;
  absl::flat_hash_map<uint32_t, OwnerInfo, OwnerHash, SameOwner> owners(
      0, OwnerHash{&keys}, SameOwner{&keys});
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].type == kTypeCname || records[i].type == kTypeDname) {
      owners.try_emplace(static_cast<uint32_t>(i));
    }
  }
  std::vector<bool> keep(records.size(), false);
  constexpr uint32_t kAhead = 8;  // the table's group for a record ahead
  for (size_t i = 0; i < records.size(); ++i) {
    ZoneRecord& record = records[i];
    const uint32_t index = static_cast<uint32_t>(i);
    if (index + kAhead < records.size()) rrsets.prefetch(index + kAhead);
    auto [it, inserted] = rrsets.try_emplace(index, index);
    if (!inserted) {
      bool duplicate = false;
      for (uint32_t j = it->second; j != kNoRecord; j = previous[j]) {
        if (SameRdata(records[j], record)) {
          duplicate = true;
          break;
        }
      }
      if (duplicate) continue;
      // The RRset's first record never changes its TTL.
      const uint32_t rrset_ttl = records[it->first].ttl;
      if (rrset_ttl != record.ttl) {
        if (warnings != nullptr) {
          warnings->push_back(Cat(record.file, ":", record.line,
                                  ": TTL mismatch in ",
                                  NameToText(record.owner), " ",
                                  TypeToText(record.type), " RRset: ",
                                  record.ttl, " changed to ", rrset_ttl,
                                  " (RFC 2181 5.2)"));
        }
        record.ttl = rrset_ttl;
        if (modified != nullptr) *modified = true;
      }
      previous[i] = it->second;
      it->second = index;
    }
    keep[i] = true;
    if (!owners.empty()) {
      auto owner = owners.find(index);
      if (owner != owners.end() &&
          !CheckOwner(record, &owner->second, &errors)) {
        return errors.first();
      }
    }
  }
  if (!errors.first().ok()) return errors.first();
  // Compact in place: no second copy of a large zone.
  size_t kept = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!keep[i]) continue;
    if (kept != i) records[kept] = std::move(records[i]);
    ++kept;
  }
  if (kept != records.size() && modified != nullptr) *modified = true;
  records.resize(kept);
  return records;
}

}  // namespace popdns::control
