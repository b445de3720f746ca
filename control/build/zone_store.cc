#include "control/build/zone_store.h"

#include <malloc.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/zonefile/name_text.h"
#include "control/build/zone_builder.h"
#include "control/zonefile/zone_file.h"
#include "control/zonefile/zone_validate.h"

namespace popdns::control {

absl::StatusOr<std::shared_ptr<const zone::Zone>> LoadZone(
    const ZoneConfig& config, std::vector<std::string>* warnings) {
  auto apex = NameFromText(config.name, "");
  if (!apex.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("zone ", config.name, ": ", apex.status().message()));
  }
  ZoneFileOptions options;
  options.origin_wire = *apex;
  auto records = ParseZoneFile(config.file, options);
  if (!records.ok()) return records.status();
  auto valid = NormalizeAndValidateZone(std::move(*records), *apex, warnings);
  if (!valid.ok()) return valid.status();
  // Validation's tables are freed but stay resident in malloc's free lists,
  // which the build's large (mmap'd) arrays cannot reuse: give them back so
  // that the peak of a large load is the records plus the compiled zone.
  malloc_trim(0);
  auto built = BuildZone(*apex, std::move(*valid));
  if (!built.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.file, ": ", built.status().message()));
  }
  return built;
}

ZoneStore::ZoneStore(dpdk::SnapshotManager* snapshots, zone::Identity identity)
    : snapshots_(snapshots), identity_(std::move(identity)) {}

absl::Status ZoneStore::Configure(const std::vector<ZoneConfig>& zones) {
  std::vector<Entry> next;
  for (const ZoneConfig& zc : zones) {
    auto apex = NameFromText(zc.name, "");
    if (!apex.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("zone ", zc.name, ": ", apex.status().message()));
    }
    Entry e;
    e.config = zc;
    e.apex = NameToLower(*apex);
    for (const Entry& old : entries_) {
      if (old.apex == e.apex && old.config.file == zc.file) e = old;
    }
    for (const Entry& other : next) {
      if (other.apex == e.apex) {
        return absl::InvalidArgumentError("zone " + zc.name +
                                          " configured twice");
      }
    }
    next.push_back(std::move(e));
  }
  entries_ = std::move(next);
  return absl::OkStatus();
}

std::string ZoneStore::Reload(const std::string& zone_name) {
  std::string errors;
  std::string wanted;
  if (!zone_name.empty()) {
    std::string name = zone_name;
    if (name.back() != '.') name.push_back('.');
    auto apex = NameFromText(name, "");
    if (!apex.ok()) return "bad zone name " + zone_name;
    wanted = NameToLower(*apex);
  }
  bool found = wanted.empty();
  for (Entry& e : entries_) {
    if (!wanted.empty() && e.apex != wanted) continue;
    found = true;
    e.warnings.clear();
    auto z = LoadZone(e.config, &e.warnings);
    for (const std::string& w : e.warnings) {
      std::fprintf(stderr, "popdns: warning: %s\n", w.c_str());
    }
    if (!z.ok()) {
      // The previous version (if any) keeps serving.
      e.error = std::string(z.status().message());
      absl::StrAppend(&errors, e.error, "\n");
      std::fprintf(stderr, "popdns: zone %s not loaded: %s\n",
                   e.config.name.c_str(), e.error.c_str());
      continue;
    }
    e.zone = *z;
    e.error.clear();
    e.loaded_at = std::time(nullptr);
    std::fprintf(stderr, "popdns: zone %s serial %u loaded\n",
                 e.config.name.c_str(), e.zone->serial);
  }
  if (!found) return "no such zone " + zone_name + "\n";
  Publish();
  // A load frees far more than it keeps (text records, build tables);
  // give it back to the system instead of keeping it in malloc's arenas.
  malloc_trim(0);
  return errors;
}

void ZoneStore::Publish() {
  auto set = std::make_shared<zone::ZoneSet>();
  for (const Entry& e : entries_) {
    if (e.zone) set->Add(e.zone);
  }
  set->set_identity(identity_);
  snapshots_->Publish(std::move(set));
}

std::string ZoneStore::StatusText() const {
  std::string out = absl::StrFormat("%-32s %-12s %-20s %s\n", "zone", "serial",
                                    "loaded", "status");
  for (const Entry& e : entries_) {
    char when[32] = "-";
    if (e.loaded_at != 0) {
      std::tm tm;
      gmtime_r(&e.loaded_at, &tm);
      std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    std::string status = e.error.empty()
                             ? (e.zone ? "ok" : "not loaded")
                             : (e.zone ? "stale: " : "error: ") + e.error;
    absl::StrAppendFormat(&out, "%-32s %-12s %-20s %s\n", e.config.name,
                          e.zone ? std::to_string(e.zone->serial) : "-", when,
                          status);
  }
  return out;
}

}  // namespace popdns::control
