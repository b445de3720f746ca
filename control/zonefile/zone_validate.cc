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

// Lowercased owners without copying the common case: zone files are
// mostly lowercase already, and only owners with capitals get a copy.
// Each owner is hashed once, in order: the RRset and owner tables below
// look records up by index, and a probe that meets another name's entry
// compares these hashes instead of reading that record (a cache miss for
// every probe of a million-record zone, most of validation's time).
class OwnerKeys {
 public:
  explicit OwnerKeys(const std::vector<ZoneRecord>& records)
      : records_(records) {}
  // Hashes the records added to the vector since the last call.
  void Extend() {
    const size_t begin = hashes_.size();
    hashes_.resize(records_.size());
    rrset_hashes_.resize(records_.size());
    for (size_t i = begin; i < records_.size(); ++i) {
      const std::string& o = records_[i].owner;
      if (std::any_of(o.begin(), o.end(),
                      [](char c) { return c >= 'A' && c <= 'Z'; })) {
        std::string lower(o);
        for (char& c : lower) c = internal::AsciiLower(c);
        hashes_[i] = absl::Hash<std::string_view>()(lower);
        copies_.emplace(static_cast<uint32_t>(i), std::move(lower));
      } else {
        hashes_[i] = absl::Hash<std::string_view>()(o);
      }
      // Kept, not recomputed: growing the table rehashes every entry, and
      // the type would be a read of a record far away.
      rrset_hashes_[i] = absl::Hash<std::pair<size_t, uint32_t>>()(
          {hashes_[i], RrsetType(static_cast<uint32_t>(i))});
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
  size_t RrsetHash(uint32_t i) const { return rrset_hashes_[i]; }
  bool SameRrset(uint32_t a, uint32_t b) const {
    return rrset_hashes_[a] == rrset_hashes_[b] && hashes_[a] == hashes_[b] &&
           RrsetType(a) == RrsetType(b) && Owner(a) == Owner(b);
  }

 private:
  const std::vector<ZoneRecord>& records_;
  std::vector<size_t> hashes_;
  std::vector<size_t> rrset_hashes_;
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

constexpr uint32_t kNoRecord = 0xFFFFFFFF;

}  // namespace

struct ZoneValidator::State {
  State(std::string apex, std::vector<std::string>* warnings,
        ErrorList* error_list)
      : apex_wire(std::move(apex)),
        warnings(warnings),
        error_list(error_list),
        keys(records),
        rrsets(0, RrsetHash{&keys}, SameRrset{&keys}) {}

  // Class, zone scope, the apex's SOA and NS: each error is kept by the
  // rule that found it, for Finish to give in NormalizeAndValidateZone's
  // order (every scope error, then the SOA ones, then the apex's).
  void CheckScope(uint32_t i);
  // Duplicates and TTLs within RRsets.
  void Normalize(uint32_t begin, uint32_t end);
  // Not check mode and an error found: no error can come before it any
  // more, and what is left to do would be thrown away.
  bool Settled() const {
    return error_list == nullptr && !scope_errors.empty();
  }
  bool Failing() const {
    return error_list == nullptr &&
           (!scope_errors.empty() || !soa_errors.empty());
  }

  using RrsetHash = IndexHash<&OwnerKeys::RrsetHash>;
  using SameRrset = SameIndex<&OwnerKeys::SameRrset>;

  const std::string apex_wire;
  std::vector<std::string>* const warnings;
  ErrorList* const error_list;
  // Records are checked in place and moved out only at the end; the
  // tables name them by index (the vector grows with each Add).
  std::vector<ZoneRecord> records;
  OwnerKeys keys;
  // RRsets by the index of their first record: an entry is 8 bytes (keyed
  // by owner views it was 32, and its growth the load's peak). Records of
  // an RRset are chained from `last` through `previous`, so a duplicate is
  // found by walking the (usually one or two) records before it.
  // first record -> last record kept in the RRset
  absl::flat_hash_map<uint32_t, uint32_t, RrsetHash, SameRrset> rrsets;
  std::vector<uint32_t> previous;
  std::vector<bool> keep;
  // Every CNAME and DNAME, for the owner rules Finish applies.
  std::vector<uint32_t> cname_like;
  std::vector<absl::Status> scope_errors;
  std::vector<absl::Status> soa_errors;
  uint32_t soa = kNoRecord;  // the first SOA at the apex
  bool apex_ns = false;
  bool modified = false;
};

void ZoneValidator::State::CheckScope(uint32_t i) {
  const ZoneRecord& record = records[i];
  // In check mode every error is kept; otherwise the first of each rule.
  auto keep_error = [this](std::vector<absl::Status>& list,
                           absl::Status error) {
    if (error_list != nullptr || list.empty()) list.push_back(std::move(error));
  };
  if (record.rclass != kClassIn) {
    keep_error(scope_errors,
               RecordError(record, Cat("class ", ClassToText(record.rclass),
                                       " not supported (only IN)")));
  }
  if (!NameIsAtOrBelow(record.owner, apex_wire)) {
    keep_error(scope_errors,
               RecordError(record, Cat(NameToText(record.owner),
                                       " is outside the zone ",
                                       NameToText(apex_wire))));
  }
  if (record.type == kTypeCname || record.type == kTypeDname) {
    cname_like.push_back(i);
  }
  const bool at_apex = record.owner.size() == apex_wire.size() &&
                       NameIsAtOrBelow(record.owner, apex_wire);
  if (record.type == kTypeSoa) {
    if (!at_apex) {
      keep_error(soa_errors,
                 RecordError(record, Cat("SOA not at the zone apex ",
                                         NameToText(apex_wire))));
    } else if (soa != kNoRecord) {
      keep_error(soa_errors,
                 RecordError(record, Cat("more than one SOA (first at line ",
                                         records[soa].line, ")")));
    } else {
      soa = i;
    }
  }
  if (record.type == kTypeNs && at_apex) apex_ns = true;
}

void ZoneValidator::State::Normalize(uint32_t begin, uint32_t end) {
  keys.Extend();
  previous.resize(end, kNoRecord);
  keep.resize(end, false);
  // Sized once when the zone comes whole (a file); a transfer's pieces
  // grow it.
  if (begin == 0) rrsets.reserve(end);
  constexpr uint32_t kAhead = 8;  // the table's group for a record ahead
  for (uint32_t index = begin; index < end; ++index) {
    ZoneRecord& record = records[index];
    if (index + kAhead < end) rrsets.prefetch(index + kAhead);
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
        modified = true;
      }
      previous[index] = it->second;
      it->second = index;
    }
    keep[index] = true;
  }
}

ZoneValidator::ZoneValidator(std::string apex_wire,
                             std::vector<std::string>* warnings,
                             ErrorList* errors)
    : s_(std::make_unique<State>(std::move(apex_wire), warnings, errors)) {}

ZoneValidator::~ZoneValidator() = default;

void ZoneValidator::Add(std::vector<ZoneRecord> records) {
  State& s = *s_;
  if (s.Settled() || records.empty()) return;
  const size_t begin = s.records.size();
  if (begin == 0) {
    s.records = std::move(records);
  } else {
    s.records.insert(s.records.end(), std::make_move_iterator(records.begin()),
                     std::make_move_iterator(records.end()));
  }
  const size_t end = s.records.size();
  for (size_t i = begin; i < end; ++i) {
    s.CheckScope(static_cast<uint32_t>(i));
    if (s.Settled()) return;
  }
  if (s.Failing()) return;
  s.Normalize(static_cast<uint32_t>(begin), static_cast<uint32_t>(end));
}

absl::StatusOr<std::vector<ZoneRecord>> ZoneValidator::Finish(bool* modified) {
  State& s = *s_;
  Errors errors(s.error_list);
  if (modified != nullptr) *modified = false;
  for (std::vector<absl::Status>* list : {&s.scope_errors, &s.soa_errors}) {
    for (absl::Status& error : *list) {
      if (!errors.Add(error)) return errors.first();
    }
  }
  std::string where =
      s.records.empty() ? std::string("zone") : s.records.front().file.path();
  const std::string apex = NameToText(s.apex_wire);
  if (s.soa == kNoRecord &&
      !errors.Add(absl::InvalidArgumentError(
          Cat(where, ": no SOA record at the zone apex ", apex)))) {
    return errors.first();
  }
  if (!s.apex_ns &&
      !errors.Add(absl::InvalidArgumentError(
          Cat(where, ": no NS records at the zone apex ", apex)))) {
    return errors.first();
  }
  if (!s.cname_like.empty()) {
    // The CNAME/DNAME rules only concern owners that have one of them:
    // keyed by the first such record's index, looked up for every record
    // kept, in order (the table is small, the hashes are kept).
    using OwnerHash = IndexHash<&OwnerKeys::OwnerHash>;
    using SameOwner = SameIndex<&OwnerKeys::SameOwner>;
    absl::flat_hash_map<uint32_t, OwnerInfo, OwnerHash, SameOwner> owners(
        0, OwnerHash{&s.keys}, SameOwner{&s.keys});
    for (uint32_t i : s.cname_like) owners.try_emplace(i);
    for (size_t i = 0; i < s.records.size(); ++i) {
      if (!s.keep[i]) continue;
      auto owner = owners.find(static_cast<uint32_t>(i));
      if (owner != owners.end() &&
          !CheckOwner(s.records[i], &owner->second, &errors)) {
        return errors.first();
      }
    }
  }
  if (!errors.first().ok()) return errors.first();
  // Compact in place: no second copy of a large zone.
  std::vector<ZoneRecord>& records = s.records;
  size_t kept = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!s.keep[i]) continue;
    if (kept != i) records[kept] = std::move(records[i]);
    ++kept;
  }
  if (modified != nullptr) {
    *modified = s.modified || kept != records.size();
  }
  records.resize(kept);
  return std::move(records);
}

absl::StatusOr<std::vector<ZoneRecord>> NormalizeAndValidateZone(
    std::vector<ZoneRecord> records, std::string_view apex_wire,
    std::vector<std::string>* warnings, ErrorList* error_list,
    bool* modified) {
  ZoneValidator validator(std::string(apex_wire), warnings, error_list);
  validator.Add(std::move(records));
  return validator.Finish(modified);
}

}  // namespace popdns::control
