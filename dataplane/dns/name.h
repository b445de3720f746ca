// Domain names on the wire (RFC 1035 3.1, 4.1.4): parsing the question name
// into a lowercased copy with label offsets, skipping names in other
// sections, and comparing a name in a message against a lowercased name.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_NAME_H_
#define POPDNS_DATAPLANE_DNS_NAME_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/dns/wire.h"

namespace popdns::dns {

// A name in lowercased, uncompressed wire format with the offset of every
// label, so that each suffix (candidate zone apex or closest encloser) is a
// pointer into the same buffer.
struct LowerName {
  uint8_t bytes[kMaxNameSize];
  uint8_t size = 0;         // including the root label
  uint8_t label_count = 0;  // not counting the root label
  uint8_t label_offset[kMaxLabels];

  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes), size};
  }
  // The suffix that starts at label `i` (0 = whole name, label_count = root).
  std::string_view Suffix(size_t i) const {
    size_t off = i < label_count ? label_offset[i] : size - 1u;
    return {reinterpret_cast<const char*>(bytes) + off, size - off};
  }
};

enum class NameStatus : uint8_t {
  kOk,
  kTruncated,   // ran past the end of the message
  kMalformed,   // label type 01/10, label > 63, name > 255, bad pointer
  kCompressed,  // a compression pointer where none is allowed
};

// Parses an uncompressed name at msg[pos]. On kOk, *end is the offset just
// past the name.
[[nodiscard]] NameStatus ParseUncompressedName(const uint8_t* msg, size_t len,
                                               size_t pos, LowerName* out,
                                               size_t* end);

// Skips a possibly compressed name at msg[pos] (a record owner or RDATA in a
// query). Pointers must point backwards (RFC 1035 4.1.4 allows only prior
// occurrences), which also bounds the walk.
[[nodiscard]] NameStatus SkipName(const uint8_t* msg, size_t len, size_t pos,
                                  size_t* end);

// Fills `out` from a lowercased wire name known to be valid (zone data).
void LowerNameFromWire(std::string_view wire, LowerName* out);

// True if the name at msg[pos] (following pointers, which the writer made
// and so are valid) equals the lowercased wire name `name`, ignoring case.
[[nodiscard]] bool NameAtEquals(const uint8_t* msg, size_t pos,
                                std::string_view name);

// RFC 4034 6.1 canonical order as a byte string: labels from the right,
// each followed by a 0 byte, so that plain byte comparison of two keys is
// the canonical order of the (lowercased) names. Writes at most 256 bytes
// into `out` and returns the length.
size_t CanonicalKey(std::string_view lower_wire, uint8_t* out);

// Number of labels of a valid wire name, not counting the root.
size_t CountLabels(std::string_view wire);

// True if `name` is `ancestor` or below it (both lowercased wire names).
bool IsSubdomain(std::string_view name, std::string_view ancestor);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_NAME_H_
