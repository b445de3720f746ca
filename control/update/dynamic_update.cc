#include "control/update/dynamic_update.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/update/zone_edit.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::update {
namespace {

namespace rrtype = dns::rrtype;
namespace rrclass = dns::rrclass;
using control::NameToLower;
using control::NameToText;
using control::TypeToText;
using control::ZoneRecord;
using dns::Rcode;

UpdateResult Refuse(Rcode rcode, std::string reason) {
  UpdateResult r;
  r.rcode = static_cast<uint8_t>(rcode);
  r.reason = std::move(reason);
  return r;
}

std::string Describe(const ZoneRecord& r) {
  return absl::StrCat(NameToText(r.owner), " ", TypeToText(r.type));
}

// QTYPEs and meta types (RFC 6895 3.1: 128-255, and OPT) are not data.
bool IsMetaType(uint16_t type) {
  return type == rrtype::kOpt || (type >= 128 && type <= 255);
}

bool IsDnssecType(uint16_t type) {
  return type == rrtype::kRrsig || type == rrtype::kNsec ||
         type == rrtype::kNsec3 || type == rrtype::kNsec3Param ||
         type == rrtype::kDnskey;
}

// RFC 2136 3.2: every prerequisite holds, or the rcode of the first that
// does not.
UpdateResult CheckPrerequisites(ZoneEdit& edit, const xfr::Message& m,
                                uint16_t zclass) {
  // 3.2.3: value-dependent prerequisites are compared as whole RRsets.
  std::map<std::pair<std::string, uint16_t>, std::vector<std::string>> want;
  for (const ZoneRecord& r : m.answer) {
    if (r.ttl != 0) {
      return Refuse(Rcode::kFormErr,
                    "prerequisite " + Describe(r) + " has a TTL (RFC 2136 3.2)");
    }
    if (!edit.InZone(r.owner)) {
      return Refuse(Rcode::kNotZone,
                    "prerequisite " + Describe(r) + " is outside the zone");
    }
    if (r.rclass == rrclass::kAny || r.rclass == rrclass::kNone) {
      if (!r.rdata.empty()) {
        return Refuse(Rcode::kFormErr, "prerequisite " + Describe(r) +
                                           " has RDATA (RFC 2136 3.2.1)");
      }
      const bool exists = r.type == rrtype::kAny
                              ? edit.NameInUse(r.owner)
                              : edit.RRsetExists(r.owner, r.type);
      if (r.rclass == rrclass::kAny && !exists) {
        return Refuse(r.type == rrtype::kAny ? Rcode::kNxDomain
                                             : Rcode::kNxRrset,
                      "prerequisite: " + Describe(r) + " does not exist");
      }
      if (r.rclass == rrclass::kNone && exists) {
        return Refuse(r.type == rrtype::kAny ? Rcode::kYxDomain
                                             : Rcode::kYxRrset,
                      "prerequisite: " + Describe(r) + " exists");
      }
    } else if (r.rclass == zclass) {
      if (IsMetaType(r.type)) {
        return Refuse(Rcode::kFormErr,
                      "prerequisite " + Describe(r) + ": not a data type");
      }
      want[{NameToLower(r.owner), r.type}].push_back(
          ComparableRdata(r.type, r.rdata));
    } else {
      return Refuse(Rcode::kFormErr,
                    "prerequisite " + Describe(r) + ": bad class");
    }
  }
  for (auto& [key, rdatas] : want) {
    std::vector<std::string> have;
    for (const EditRecord& r : edit.RecordsAt(key.first)) {
      if (r.type == key.second) {
        have.push_back(ComparableRdata(r.type, r.rdata));
      }
    }
    std::sort(rdatas.begin(), rdatas.end());
    rdatas.erase(std::unique(rdatas.begin(), rdatas.end()), rdatas.end());
    std::sort(have.begin(), have.end());
    if (have != rdatas) {
      return Refuse(Rcode::kNxRrset,
                    absl::StrCat("prerequisite: ", NameToText(key.first), " ",
                                 TypeToText(key.second),
                                 " is not the RRset given"));
    }
  }
  return UpdateResult();
}

// RFC 2136 3.4.1.3: the update section is well formed and in the zone.
UpdateResult Prescan(ZoneEdit& edit, const xfr::Message& m, uint16_t zclass) {
  for (const ZoneRecord& r : m.authority) {
    if (!edit.InZone(r.owner)) {
      return Refuse(Rcode::kNotZone,
                    "update " + Describe(r) + " is outside the zone");
    }
    if (r.rclass == zclass) {
      if (IsMetaType(r.type)) {
        return Refuse(Rcode::kFormErr,
                      "update " + Describe(r) + ": not a data type");
      }
      if (!control::RdataWireValid(r.type, r.rdata)) {
        return Refuse(Rcode::kFormErr, "update " + Describe(r) +
                                           ": RDATA is not valid for its type");
      }
    } else if (r.rclass == rrclass::kAny) {
      if (r.ttl != 0 || !r.rdata.empty() ||
          (IsMetaType(r.type) && r.type != rrtype::kAny)) {
        return Refuse(Rcode::kFormErr,
                      "update " + Describe(r) +
                          ": a deletion of class ANY has TTL 0, no RDATA "
                          "and a data type or ANY");
      }
    } else if (r.rclass == rrclass::kNone) {
      if (r.ttl != 0 || IsMetaType(r.type)) {
        return Refuse(Rcode::kFormErr,
                      "update " + Describe(r) +
                          ": a deletion of class NONE has TTL 0 and a data "
                          "type");
      }
    } else {
      return Refuse(Rcode::kFormErr, "update " + Describe(r) + ": bad class");
    }
  }
  return UpdateResult();
}

// RFC 2136 3.3: the key may make every change of the update section.
UpdateResult CheckPermission(ZoneEdit& edit, const control::ZoneConfig& config,
                             const xfr::Message& m, std::string_view key) {
  for (const ZoneRecord& r : m.authority) {
    // Deleting the SOA is ignored (3.4.2.3, 3.4.2.4): nothing to allow.
    if (r.type == rrtype::kSoa && r.rclass != m.qclass) continue;
    bool allowed;
    if (r.type == rrtype::kAny) {
      // Deleting a whole name: every type it holds must be the key's, and
      // the key must have the name at all.
      allowed = UpdateAllowed(config, key, r.owner, rrtype::kAny);
      if (!allowed) {
        allowed = true;
        bool any_rule = false;
        for (const EditRecord& have : edit.RecordsAt(r.owner)) {
          if (have.type == rrtype::kSoa || have.type == rrtype::kNs) continue;
          any_rule = true;
          allowed &= UpdateAllowed(config, key, r.owner, have.type);
        }
        allowed &= any_rule;
      }
    } else {
      allowed = UpdateAllowed(config, key, r.owner, r.type);
    }
    if (!allowed) {
      return Refuse(Rcode::kRefused,
                    absl::StrCat(key.empty() ? "unsigned update"
                                             : "key " + NameToText(key),
                                 " may not change ", Describe(r)));
    }
  }
  return UpdateResult();
}

}  // namespace

bool UpdateAllowed(const control::ZoneConfig& config, std::string_view key,
                   std::string_view owner, uint16_t type) {
  if (key.empty()) return false;
  const std::string key_lower = NameToLower(key);
  const std::string owner_lower = NameToLower(owner);
  for (const control::UpdateRule& rule : config.update) {
    std::string rule_key = rule.key;
    if (rule_key.empty() || rule_key.back() != '.') rule_key.push_back('.');
    auto rule_key_wire = control::NameFromText(rule_key, "");
    auto subtree = control::NameFromText(rule.subtree, "");
    if (!rule_key_wire.ok() || !subtree.ok()) continue;
    if (NameToLower(*rule_key_wire) != key_lower) continue;
    if (!control::NameIsAtOrBelow(owner_lower, NameToLower(*subtree))) {
      continue;
    }
    if (rule.types.empty()) {
      if (type != rrtype::kSoa && !IsDnssecType(type)) return true;
      continue;
    }
    if (std::find(rule.types.begin(), rule.types.end(), type) !=
        rule.types.end()) {
      return true;
    }
  }
  return false;
}

UpdateResult EvaluateInto(ZoneEdit& edit, const control::ZoneConfig& config,
                          const xfr::Message& m, std::string_view key) {
  const zone::Zone& z = edit.base();
  // 3.1.1: one zone, named by an SOA question of the zone's apex.
  if (m.qdcount != 1 || m.qtype != rrtype::kSoa) {
    return Refuse(Rcode::kFormErr,
                  "the zone section must hold one SOA record (RFC 2136 3.1.1)");
  }
  if (NameToLower(m.qname) != z.apex) {
    return Refuse(Rcode::kNotAuth, NameToText(m.qname) + " is not a zone here");
  }
  const uint16_t zclass = m.qclass;
  if (zclass != rrclass::kIn) {
    return Refuse(Rcode::kNotAuth, "zones here are of class IN");
  }
  if (config.update.empty()) {
    // As knotd answers an UPDATE no ACL allows (the conformance test
    // compares): not authoritative for updates of this zone.
    return Refuse(Rcode::kNotAuth,
                  "zone " + config.name + " takes no updates (no update: policy)");
  }
  if (z.is_signed) {
    return Refuse(Rcode::kRefused, "zone " + config.name +
                                       " is signed; popdns does not sign "
                                       "changes");
  }
  // In the RFC's order (as BIND takes it): prerequisites, the prescan,
  // then the key's permissions. None of them changes the edit.
  if (UpdateResult r = CheckPrerequisites(edit, m, zclass); r.rcode != 0) {
    return r;
  }
  if (UpdateResult r = Prescan(edit, m, zclass); r.rcode != 0) return r;
  if (UpdateResult r = CheckPermission(edit, config, m, key); r.rcode != 0) {
    return r;
  }
  // 3.4.2: in order, each on the result of the ones before.
  edit.Begin();
  for (const ZoneRecord& r : m.authority) {
    if (r.rclass == zclass) {
      edit.Add(r.owner, r.type, r.ttl, r.rdata);
    } else if (r.rclass == rrclass::kAny) {
      if (r.type == rrtype::kAny) {
        edit.DeleteName(r.owner);
      } else {
        edit.DeleteRRset(r.owner, r.type);
      }
    } else {
      edit.DeleteRecord(r.owner, r.type, r.rdata);
    }
  }
  if (absl::Status s = edit.CheckSizes(); !s.ok()) {
    edit.Rollback();
    return Refuse(Rcode::kRefused, std::string(s.message()));
  }
  return UpdateResult();
}

UpdateResult EvaluateUpdate(const zone::Zone& z,
                            const control::ZoneConfig& config,
                            const xfr::Message& m, std::string_view key,
                            uint32_t now) {
  ZoneEdit edit(z);
  UpdateResult r = EvaluateInto(edit, config, m, key);
  if (r.rcode != 0) return r;
  auto change = edit.Finish(config.serial_policy, now);
  if (!change.ok()) {
    return Refuse(Rcode::kRefused, std::string(change.status().message()));
  }
  r.change = std::move(*change);
  return r;
}

}  // namespace popdns::update
