#include "control/server/zone_check.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "control/build/zone_builder.h"
#include "control/zonefile/error_list.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/zone_file.h"
#include "control/zonefile/zone_validate.h"

namespace popdns::control {
namespace {

void AppendErrors(const ErrorList& errors, std::string* out) {
  for (const std::string& m : errors.messages()) absl::StrAppend(out, m, "\n");
  if (errors.not_kept() > 0) {
    absl::StrAppend(out, "... and ", errors.not_kept(), " more error",
                    errors.not_kept() == 1 ? "" : "s", "\n");
  }
}

// Checks one zone; false if it has errors.
bool CheckZone(const ZoneConfig& zc, const std::string& apex,
               size_t max_errors, std::string* out) {
  if (zc.file.empty()) {
    absl::StrAppend(out, "zone ", zc.name,
                    ": no file (a secondary that waits for its first "
                    "transfer): nothing to check\n");
    return true;
  }
  ErrorList errors(max_errors);
  ZoneFileOptions options;
  options.origin_wire = apex;
  auto records = ParseZoneFile(zc.file, options, &errors);
  std::vector<std::string> warnings;
  // The zone rules run only on a file that parsed: records missing after
  // a syntax error (the SOA on a line with a typo) would report errors
  // that are not there.
  if (records.ok()) {
    auto valid = NormalizeAndValidateZone(*std::move(records), apex,
                                          &warnings, &errors);
    if (valid.ok()) {
      const size_t count = valid->size();
      auto zone = BuildZone(apex, *std::move(valid));
      if (zone.ok()) {
        for (const std::string& w : warnings) {
          absl::StrAppend(out, "warning: ", w, "\n");
        }
        absl::StrAppend(out, "zone ", zc.name, ": ok (serial ",
                        (*zone)->serial, ", ", count, " records, ", zc.file,
                        ")\n");
        return true;
      }
      // The builder's messages name file:line, or nothing.
      const std::string what(zone.status().message());
      errors.Add(absl::InvalidArgumentError(
          what.rfind(zc.file, 0) == 0 ? what : zc.file + ": " + what));
    }
  }
  AppendErrors(errors, out);
  for (const std::string& w : warnings) {
    absl::StrAppend(out, "warning: ", w, "\n");
  }
  absl::StrAppend(out, "zone ", zc.name, ": ", errors.count(), " error",
                  errors.count() == 1 ? "" : "s", "\n");
  return false;
}

}  // namespace

int CheckZones(const Config& config, size_t max_errors, std::string* out) {
  int failed = 0;
  absl::flat_hash_set<std::string> seen;
  for (const ZoneConfig& zc : config.zones) {
    auto apex = NameFromText(zc.name, "");
    if (!apex.ok()) {
      absl::StrAppend(out, "zone ", zc.name, ": bad name: ",
                      apex.status().message(), "\n");
      ++failed;
      continue;
    }
    if (!seen.insert(NameToLower(*apex)).second) {
      absl::StrAppend(out, "zone ", zc.name, ": configured twice\n");
      ++failed;
      continue;
    }
    if (!CheckZone(zc, *apex, max_errors, out)) ++failed;
  }
  return failed;
}

}  // namespace popdns::control
