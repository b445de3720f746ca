// Small string helpers for the zone file code (control/zone_file.cc,
// rdata_text.cc, name_text.cc, zone_validate.cc).
// Debian's abseil 20220623 is built with its own absl::string_view, distinct
// from std::string_view, so absl::StrCat and friends do not take the
// std::string_view tokens this code passes around; these do.
#ifndef POPDNS_CONTROL_ZONEFILE_TEXT_UTIL_H_
#define POPDNS_CONTROL_ZONEFILE_TEXT_UTIL_H_

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace popdns::control::internal {

inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

inline void AppendPiece(std::string* out, std::string_view s) {
  out->append(s);
}
inline void AppendPiece(std::string* out, const char* s) { out->append(s); }
inline void AppendPiece(std::string* out, const std::string& s) {
  out->append(s);
}
inline void AppendPiece(std::string* out, absl::string_view s) {
  out->append(s.data(), s.size());
}
template <std::integral T>
requires(!std::same_as<T, char> &&
         !std::same_as<T, bool>) void AppendPiece(std::string* out, T value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

// absl::StrCat for std::string_view, strings and integers.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (AppendPiece(&out, args), ...);
  return out;
}

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view text,
                                 std::string_view prefix) {
  return text.size() >= prefix.size() &&
         EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace popdns::control::internal

#endif  // POPDNS_CONTROL_ZONEFILE_TEXT_UTIL_H_
