// libFuzzer target for the zone file reader and validator
// (control/zone_file.h, control/zone_validate.h): arbitrary text must give
// records or a clean error, never a crash or an out-of-bounds read; check
// mode (every error, control/zonefile/error_list.h) agrees with it.
// Seeds: tests/testdata/zones/. Built when -Dfuzzers=true with clang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_file.h"
#include "control/zonefile/zone_validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using popdns::control::ZoneFileOptions;
  static const std::string apex =
      *popdns::control::NameFromText("example.com.", "");
  ZoneFileOptions options;
  options.origin_wire = apex;
  options.max_include_depth = 0;  // the fuzzer must not read files
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto records = popdns::control::ParseZoneText(text, "fuzz.zone", options);
  // Check mode (popdns --check) goes on after each error, from the next
  // entry or line: it must end, and agree with the load path on the first
  // error and on whether there is one.
  popdns::control::ErrorList errors(4);
  auto checked =
      popdns::control::ParseZoneText(text, "fuzz.zone", options, &errors);
  if (checked.ok() != records.ok() || (errors.count() == 0) != checked.ok() ||
      checked.status() != records.status()) {
    __builtin_trap();
  }
  if (records.ok()) {
    std::vector<std::string> warnings;
    auto valid = popdns::control::NormalizeAndValidateZone(*records, apex,
                                                           &warnings);
    popdns::control::ErrorList zone_errors(4);
    auto valid_checked = popdns::control::NormalizeAndValidateZone(
        *std::move(records), apex, &warnings, &zone_errors);
    if (valid.status() != valid_checked.status() ||
        (zone_errors.count() == 0) != valid_checked.ok()) {
      __builtin_trap();
    }
  }
  return 0;
}
