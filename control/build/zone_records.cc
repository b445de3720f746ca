#include "control/build/zone_records.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
namespace {

// Identity of a record for set operations: owner and embedded names
// lowercased (RFC 4343), type, RDATA. TTL and the SOA are not part of it.
std::string KeyOf(const ZoneRecord& r) {
  std::string key = NameToLower(r.owner);
  key.push_back(static_cast<char>(r.type >> 8));
  key.push_back(static_cast<char>(r.type));
  AppendComparableRdata(r.type, r.rdata, &key);
  return key;
}

std::string Describe(const ZoneRecord& r) {
  return absl::StrCat(NameToText(r.owner), " type ", r.type);
}

}  // namespace

std::vector<ZoneRecord> RecordsOf(const zone::Zone& z) {
  std::vector<ZoneRecord> out;
  out.reserve(z.rrsets.size() * 2);
  auto add_rrset = [&](const zone::Node& n, const zone::RRset& rs) {
    const uint8_t* p = z.Bytes(rs.rdata_offset);
    for (uint16_t i = 0; i < rs.count; ++i) {
      const size_t len = dns::Load16(p);
      ZoneRecord r;
      r.owner.assign(n.name);
      r.type = rs.type;
      r.ttl = rs.ttl;
      r.rdata.assign(reinterpret_cast<const char*>(p + 2), len);
      out.push_back(std::move(r));
      p += 2 + len;
    }
  };
  const zone::Node& apex = z.nodes[z.apex_node];
  if (z.soa_rrset != zone::kNone) add_rrset(apex, z.rrsets[z.soa_rrset]);
  for (uint32_t k = 0; k < z.nodes.size(); ++k) {
    // Entries a later version of an incrementally built zone replaced.
    if (!z.IsLive(k)) continue;
    const zone::Node& n = z.nodes[k];
    for (uint32_t i = 0; i < n.rrset_count; ++i) {
      const uint32_t idx = n.rrset_begin + i;
      if (idx == z.soa_rrset) continue;
      add_rrset(n, z.rrsets[idx]);
    }
  }
  return out;
}

ZoneRecord SoaRecordOf(const zone::Zone& z) {
  const zone::RRset& rs = z.rrsets[z.soa_rrset];
  const uint8_t* p = z.Bytes(rs.rdata_offset);
  ZoneRecord soa;
  soa.owner = z.apex;
  soa.type = dns::rrtype::kSoa;
  soa.ttl = rs.ttl;
  soa.rdata.assign(reinterpret_cast<const char*>(p + 2), dns::Load16(p));
  return soa;
}

const ZoneRecord* FindSoa(const std::vector<ZoneRecord>& records) {
  for (const ZoneRecord& r : records) {
    if (r.type == dns::rrtype::kSoa) return &r;
  }
  return nullptr;
}

absl::StatusOr<std::vector<ZoneRecord>> ApplyChangeset(
    std::vector<ZoneRecord> records, const xfr::Changeset& cs) {
  return ApplyChangesets(std::move(records), absl::MakeConstSpan(&cs, 1));
}

absl::StatusOr<std::vector<ZoneRecord>> ApplyChangesets(
    std::vector<ZoneRecord> records, absl::Span<const xfr::Changeset> changes) {
  const ZoneRecord* soa = FindSoa(records);
  if (!soa) return absl::FailedPreconditionError("IXFR: zone has no SOA");
  ZoneRecord soa_now = *soa;
  // One index for every changeset: a journal of many small changes to a
  // large zone loads in one pass, not one pass a change.
  absl::flat_hash_map<std::string, size_t> index;
  index.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].type == dns::rrtype::kSoa) continue;
    index.emplace(KeyOf(records[i]), i);
  }
  std::vector<bool> removed(records.size(), false);
  for (const xfr::Changeset& cs : changes) {
    const uint32_t serial = xfr::Changeset::SerialOf(soa_now);
    if (serial != cs.from()) {
      return absl::FailedPreconditionError(
          absl::StrCat("IXFR: changeset from serial ", cs.from(),
                       " but the zone is at ", serial));
    }
    for (const ZoneRecord& r : cs.removed) {
      if (r.type == dns::rrtype::kSoa) continue;
      auto it = index.find(KeyOf(r));
      if (it == index.end()) {
        // RFC 1995 leaves this open; Knot rejects it: the IXFR is not a
        // change of the version we hold.
        return absl::FailedPreconditionError(
            "IXFR: deletes a record that does not exist: " + Describe(r));
      }
      removed[it->second] = true;
      index.erase(it);
    }
    for (const ZoneRecord& r : cs.added) {
      if (r.type == dns::rrtype::kSoa) continue;
      if (index.emplace(KeyOf(r), records.size()).second) {
        records.push_back(r);
        removed.push_back(false);
      }
    }
    soa_now = cs.soa_to;
  }
  std::vector<ZoneRecord> out;
  out.reserve(index.size() + 1);
  for (size_t i = 0; i < records.size(); ++i) {
    if (removed[i]) continue;
    if (records[i].type == dns::rrtype::kSoa) {
      out.push_back(soa_now);
    } else {
      out.push_back(std::move(records[i]));
    }
  }
  return out;
}

xfr::Changeset Diff(const std::vector<ZoneRecord>& from,
                    const std::vector<ZoneRecord>& to) {
  xfr::Changeset cs;
  if (const ZoneRecord* s = FindSoa(from)) cs.soa_from = *s;
  if (const ZoneRecord* s = FindSoa(to)) cs.soa_to = *s;
  // A TTL change is a removal and an addition (IXFR carries whole RRs).
  auto full_key = [](const ZoneRecord& r) {
    std::string k = KeyOf(r);
    k.append(reinterpret_cast<const char*>(&r.ttl), sizeof(r.ttl));
    return k;
  };
  absl::flat_hash_set<std::string> old_keys, new_keys;
  old_keys.reserve(from.size());
  new_keys.reserve(to.size());
  for (const ZoneRecord& r : from) {
    if (r.type != dns::rrtype::kSoa) old_keys.insert(full_key(r));
  }
  for (const ZoneRecord& r : to) {
    if (r.type != dns::rrtype::kSoa) new_keys.insert(full_key(r));
  }
  for (const ZoneRecord& r : from) {
    if (r.type != dns::rrtype::kSoa && !new_keys.contains(full_key(r))) {
      cs.removed.push_back(r);
    }
  }
  for (const ZoneRecord& r : to) {
    if (r.type != dns::rrtype::kSoa && !old_keys.contains(full_key(r))) {
      cs.added.push_back(r);
    }
  }
  return cs;
}

}  // namespace popdns::control
