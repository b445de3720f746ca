#include "dataplane/dns/name.h"

#include <algorithm>
#include <cstring>

namespace popdns::dns {

namespace {

// ASCII 'A'-'Z' to 'a'-'z' in each byte of `x`, 8 at a time (other bytes,
// including label lengths, which are at most 63 < 'A', stay as they are).
uint64_t LowerAscii8(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  const uint64_t seven = x & ~kHigh;
  const uint64_t above_z = seven + kOnes * (0x7F - 'Z');     // high bit: > 'Z'
  const uint64_t from_a = seven + kOnes * (0x80 - 'A');      // high bit: >= 'A'
  const uint64_t upper = (from_a & ~above_z) & ~x & kHigh;   // and ASCII
  return x | (upper >> 2);                                   // 0x80 >> 2 = 0x20
}

}  // namespace

NameStatus ParseUncompressedName(const uint8_t* msg, size_t len, size_t pos,
                                 LowerName* out, size_t* end) {
  // Walk the label lengths first, then copy and lowercase the whole name
  // at once, 8 bytes at a time.
  const size_t start = pos;
  size_t n = 0;
  uint8_t labels = 0;
  while (true) {
    // A label that runs past the end is caught here on the next round.
    if (pos >= len) return NameStatus::kTruncated;
    const uint8_t l = msg[pos];
    if (l == 0) break;
    if (l > kMaxLabelSize) {  // types 11 (a pointer), 01 and 10
      return (l & 0xC0) == 0xC0 ? NameStatus::kCompressed
                                : NameStatus::kMalformed;
    }
    // +1 for this length octet, +1 for the root label still to come.
    if (n + l + 2 > kMaxNameSize) return NameStatus::kMalformed;
    out->label_offset[labels++] = static_cast<uint8_t>(n);
    n += 1u + l;
    pos += 1u + l;
  }
  const uint8_t* src = msg + start;
  // Whole words while the message and `bytes` have room for them (a
  // question is followed by at least its type and class): the bytes past
  // the name are overwritten by the root label or ignored.
  const size_t room = std::min(len - start, kMaxNameSize);
  size_t i = 0;
  for (; i < n && i + 8 <= room; i += 8) {
    uint64_t w;
    std::memcpy(&w, src + i, 8);
    w = LowerAscii8(w);
    std::memcpy(out->bytes + i, &w, 8);
  }
  for (; i < n; ++i) out->bytes[i] = LowerAscii(src[i]);
  out->bytes[n++] = 0;
  out->size = static_cast<uint8_t>(n);
  out->label_count = labels;
  *end = pos + 1;
  return NameStatus::kOk;
}

NameStatus SkipName(const uint8_t* msg, size_t len, size_t pos, size_t* end) {
  size_t n = 0;
  size_t after = 0;  // set at the first pointer: where the caller continues
  size_t limit = pos;  // a pointer must target strictly before this
  while (true) {
    if (pos >= len) return NameStatus::kTruncated;
    const uint8_t l = msg[pos];
    if (l == 0) break;
    if ((l & 0xC0) == 0xC0) {
      if (pos + 2 > len) return NameStatus::kTruncated;
      const size_t target = Load16(msg + pos) & 0x3FFF;
      if (target >= limit) return NameStatus::kMalformed;
      if (after == 0) after = pos + 2;
      limit = target;  // strictly decreasing: no loops
      pos = target;
      continue;
    }
    if (l > kMaxLabelSize) return NameStatus::kMalformed;
    n += 1u + l;
    if (n + 1 > kMaxNameSize) return NameStatus::kMalformed;
    if (pos + 1 + l > len) return NameStatus::kTruncated;
    pos += 1u + l;
  }
  *end = after != 0 ? after : pos + 1;
  return NameStatus::kOk;
}

void LowerNameFromWire(std::string_view wire, LowerName* out) {
  size_t n = 0;
  uint8_t labels = 0;
  while (n < wire.size() && wire[n] != 0) {
    const uint8_t l = static_cast<uint8_t>(wire[n]);
    out->label_offset[labels++] = static_cast<uint8_t>(n);
    out->bytes[n] = l;
    for (size_t i = 1; i <= l; ++i) {
      out->bytes[n + i] = LowerAscii(static_cast<uint8_t>(wire[n + i]));
    }
    n += 1u + l;
  }
  out->bytes[n++] = 0;
  out->size = static_cast<uint8_t>(n);
  out->label_count = labels;
}

bool NameAtEquals(const uint8_t* msg, size_t pos, std::string_view name) {
  size_t i = 0;
  while (true) {
    uint8_t l = msg[pos];
    while ((l & 0xC0) == 0xC0) {
      pos = Load16(msg + pos) & 0x3FFF;
      l = msg[pos];
    }
    if (i >= name.size() || static_cast<uint8_t>(name[i]) != l) return false;
    if (l == 0) return true;
    for (size_t k = 1; k <= l; ++k) {
      if (LowerAscii(msg[pos + k]) != static_cast<uint8_t>(name[i + k])) {
        return false;
      }
    }
    i += 1u + l;
    pos += 1u + l;
  }
}

size_t CanonicalKey(std::string_view lower_wire, uint8_t* out) {
  size_t starts[kMaxLabels];
  size_t n = 0, i = 0;
  while (i < lower_wire.size() && lower_wire[i] != 0 && n < kMaxLabels) {
    starts[n++] = i;
    i += 1u + static_cast<uint8_t>(lower_wire[i]);
  }
  size_t len = 0;
  while (n > 0) {
    const size_t at = starts[--n];
    const size_t l = static_cast<uint8_t>(lower_wire[at]);
    std::memcpy(out + len, lower_wire.data() + at + 1, l);
    len += l;
    out[len++] = 0;
  }
  return len;
}

size_t CountLabels(std::string_view wire) {
  size_t n = 0, i = 0;
  while (i < wire.size() && wire[i] != 0) {
    i += 1u + static_cast<uint8_t>(wire[i]);
    ++n;
  }
  return n;
}

bool IsSubdomain(std::string_view name, std::string_view ancestor) {
  if (ancestor.size() > name.size()) return false;
  // Walk labels of `name` until the remaining suffix has ancestor's length,
  // so that a match is on a label boundary.
  size_t i = 0;
  while (name.size() - i > ancestor.size()) {
    i += 1u + static_cast<uint8_t>(name[i]);
  }
  return name.size() - i == ancestor.size() && name.substr(i) == ancestor;
}

}  // namespace popdns::dns
