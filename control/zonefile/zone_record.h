// Records as the control side reads them from zone files, before they are
// compiled into an immutable zone snapshot (dataplane/zone).
// Control thread only.
#ifndef POPDNS_CONTROL_ZONEFILE_ZONE_RECORD_H_
#define POPDNS_CONTROL_ZONEFILE_ZONE_RECORD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace popdns::control {

// The zone file a record came from, shared by all records read from it
// (a large zone would otherwise carry a million copies of its path).
class SourceFile {
 public:
  SourceFile() = default;
  explicit SourceFile(std::string path)
      : path_(std::make_shared<const std::string>(std::move(path))) {}
  const std::string& path() const {
    static const std::string kNone;
    return path_ ? *path_ : kNone;
  }
  operator std::string_view() const { return path(); }
  friend bool operator==(const SourceFile& a, std::string_view b) {
    return a.path() == b;
  }

 private:
  std::shared_ptr<const std::string> path_;
};

// One resource record in uncompressed wire format.
struct ZoneRecord {
  std::string owner;  // absolute name, wire format, case as written
  uint16_t type = 0;
  uint16_t rclass = 1;  // IN
  uint32_t ttl = 0;
  std::string rdata;  // wire format; embedded names uncompressed, case kept
  // Where the record came from, for error messages "file:line: what".
  SourceFile file;
  int line = 0;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ZONEFILE_ZONE_RECORD_H_
