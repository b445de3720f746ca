// Records as the control side reads them from zone files, before they are
// compiled into an immutable zone snapshot (dataplane/zone).
// Control thread only.
#ifndef POPDNS_CONTROL_ZONE_RECORD_H_
#define POPDNS_CONTROL_ZONE_RECORD_H_

#include <cstdint>
#include <string>

namespace popdns::control {

// One resource record in uncompressed wire format.
struct ZoneRecord {
  std::string owner;  // absolute name, wire format, case as written
  uint16_t type = 0;
  uint16_t rclass = 1;  // IN
  uint32_t ttl = 0;
  std::string rdata;  // wire format; embedded names uncompressed, case kept
  // Where the record came from, for error messages "file:line: what".
  std::string file;
  int line = 0;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONE_RECORD_H_
