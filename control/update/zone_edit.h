// A change being made to the serving version of a zone, as RFC 2136
// UPDATE and the provisioning API make it: records added and removed name
// by name against a working copy of only the names they touch, then
// turned into one Changeset with the SOA moved forward. Like Knot's
// zone_update: every way of editing a zone ends in the same Changeset,
// which the ZoneStore journals, builds incrementally and publishes, and
// which secondaries receive as IXFR.
// Control side; one edit per thread, on a version the caller keeps alive.
#ifndef POPDNS_CONTROL_UPDATE_ZONE_EDIT_H_
#define POPDNS_CONTROL_UPDATE_ZONE_EDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "control/config.h"
#include "control/xfr/changeset.h"
#include "dataplane/zone/zone.h"

namespace popdns::update {

struct EditRecord {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;  // wire, names uncompressed
};

class ZoneEdit {
 public:
  explicit ZoneEdit(const zone::Zone& base);

  const zone::Zone& base() const { return base_; }
  // Whether `owner` (wire, any case) is the apex or below it.
  bool InZone(std::string_view owner) const;

  // The records at `owner` as the edit has them now (SOA included).
  const std::vector<EditRecord>& RecordsAt(std::string_view owner);
  // RFC 2136 2.4.4: a name is in use when it owns at least one RR.
  bool NameInUse(std::string_view owner) { return !RecordsAt(owner).empty(); }
  bool RRsetExists(std::string_view owner, uint16_t type);

  // RFC 2136 3.4.2.2. Adds one record; the RRset takes the new record's
  // TTL (one TTL per RRset, RFC 2181 5.2). Ignored, returning false: a
  // record already there (RDATA compared with names case-insensitively;
  // its TTL is kept, as Knot does), a CNAME where other data is, other
  // data where a CNAME is, an SOA elsewhere than the apex or whose serial
  // is not newer (RFC 1982).
  bool Add(std::string_view owner, uint16_t type, uint32_t ttl,
           std::string_view rdata);
  // RFC 2136 3.4.2.3: deletes the RRset; at the apex, SOA and NS are kept.
  void DeleteRRset(std::string_view owner, uint16_t type);
  // Deletes every RRset of `owner`; at the apex, SOA and NS are kept.
  void DeleteName(std::string_view owner);
  // RFC 2136 3.4.2.4: deletes one record; never the SOA, never the apex's
  // last NS.
  void DeleteRecord(std::string_view owner, uint16_t type,
                    std::string_view rdata);
  // The provisioning API's REPLACE: the RRset becomes `records` (empty:
  // deleted). No RFC 2136 ignoring: whatever does not validate (CNAME
  // beside other data, ...) fails the build, and so the whole change.
  void ReplaceRRset(std::string_view owner, uint16_t type,
                    const std::vector<EditRecord>& records);

  // One request's changes among several in one edit (a batch of UPDATEs
  // sharing one serial): Rollback() undoes what was changed since
  // Begin(), so that a request that fails late changes nothing.
  void Begin();
  void Rollback();
  // Errors: InvalidArgument naming an RRset changed since Begin() that no
  // longer fits a DNS message (64 KB).
  absl::Status CheckSizes() const;

  // The change, with the SOA's serial moved forward by `policy` (unless
  // the edit set a newer SOA itself); nullopt when nothing changed.
  // Errors: InvalidArgument naming an RRset that no longer fits a DNS
  // message (64 KB).
  absl::StatusOr<std::optional<xfr::Changeset>> Finish(
      control::SerialPolicy policy, uint32_t now);

 private:
  struct Name {
    std::string owner;  // lowercased wire
    std::vector<EditRecord> base, now;
  };
  Name& Get(std::string_view owner);
  // Before a mutation of n: keeps what Rollback() restores.
  void Save(Name& n);
  static absl::Status CheckSize(const Name& n);
  bool IsApex(const Name& n) const { return n.owner == base_.apex; }

  const zone::Zone& base_;
  absl::node_hash_map<std::string, Name> names_;  // pointer-stable
  std::vector<Name*> order_;  // names touched, in order
  std::optional<control::ZoneRecord> new_soa_;
  // Since Begin(): names changed and what they held, and the SOA.
  std::vector<std::pair<Name*, std::vector<EditRecord>>> undo_;
  std::optional<control::ZoneRecord> undo_soa_;
};

// `rdata` as DNS compares RRs: embedded names lowercased (RFC 4343).
std::string ComparableRdata(uint16_t type, std::string_view rdata);

// The serial after `serial` under `policy` (RFC 1982 arithmetic).
uint32_t NextSerial(uint32_t serial, control::SerialPolicy policy,
                    uint32_t now);

}  // namespace popdns::update

#endif  // POPDNS_CONTROL_UPDATE_ZONE_EDIT_H_
