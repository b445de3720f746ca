// A change between two versions of a zone, as IXFR carries it (RFC 1995
// 4): the SOA it starts from, the records it removes, the SOA it ends at,
// the records it adds. The unit that replication, the journal and
// provisioning all pass around. Control side only.
#ifndef POPDNS_CONTROL_XFR_CHANGESET_H_
#define POPDNS_CONTROL_XFR_CHANGESET_H_

#include <cstdint>
#include <vector>

#include "control/zonefile/zone_record.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {

using control::ZoneRecord;

struct Changeset {
  ZoneRecord soa_from;  // the SOA of the version this applies to
  ZoneRecord soa_to;    // the SOA of the version it makes
  std::vector<ZoneRecord> removed;  // never SOA records
  std::vector<ZoneRecord> added;    // never SOA records

  uint32_t from() const { return SerialOf(soa_from); }
  uint32_t to() const { return SerialOf(soa_to); }

  // The SERIAL field of an SOA record (RDATA: mname, rname, 5 x u32).
  static uint32_t SerialOf(const ZoneRecord& soa) {
    if (soa.rdata.size() < 20) return 0;
    return dns::Load32(reinterpret_cast<const uint8_t*>(soa.rdata.data()) +
                       soa.rdata.size() - 20);
  }
};

// RFC 1982 serial number arithmetic on 32 bits: whether a < b.
inline bool SerialLess(uint32_t a, uint32_t b) {
  return a != b && static_cast<int32_t>(b - a) > 0;
}

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_CHANGESET_H_
