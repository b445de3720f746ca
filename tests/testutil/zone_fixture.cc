#include "tests/testutil/zone_fixture.h"

#include "control/zonefile/name_text.h"
#include "control/build/zone_builder.h"
#include "control/zonefile/zone_file.h"
#include "control/zonefile/zone_validate.h"

namespace popdns::testutil {

absl::StatusOr<std::shared_ptr<const zone::Zone>> MakeZone(
    const ZoneText& zt, bool updatable) {
  auto apex = control::NameFromText(zt.apex, "");
  if (!apex.ok()) return apex.status();
  control::ZoneFileOptions options;
  options.origin_wire = *apex;
  auto records = control::ParseZoneText(zt.text, zt.apex + "zone", options);
  if (!records.ok()) return records.status();
  std::vector<std::string> warnings;
  auto valid = control::NormalizeAndValidateZone(std::move(*records), *apex,
                                                 &warnings);
  if (!valid.ok()) return valid.status();
  control::BuildOptions build;
  build.updatable = updatable;
  return control::BuildZone(*apex, std::move(*valid), build);
}

absl::StatusOr<std::shared_ptr<zone::ZoneSet>> MakeZoneSet(
    const std::vector<ZoneText>& zones, zone::Identity identity) {
  auto set = std::make_shared<zone::ZoneSet>();
  for (const ZoneText& zt : zones) {
    auto zone = MakeZone(zt);
    if (!zone.ok()) return zone.status();
    set->Add(*zone);
  }
  set->set_identity(std::move(identity));
  return set;
}

}  // namespace popdns::testutil
