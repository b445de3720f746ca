// libFuzzer target for the zone file reader and validator
// (control/zone_file.h, control/zone_validate.h): arbitrary text must give
// records or a clean error, never a crash or an out-of-bounds read.
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
  if (records.ok()) {
    std::vector<std::string> warnings;
    (void)popdns::control::NormalizeAndValidateZone(*std::move(records), apex,
                                                    &warnings);
  }
  return 0;
}
