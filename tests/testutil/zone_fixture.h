// Builds a ZoneSet from zone file text through the real parser, validator
// and builder, for tests, fuzzers and benchmarks.
#ifndef POPDNS_TESTS_TESTUTIL_ZONE_FIXTURE_H_
#define POPDNS_TESTS_TESTUTIL_ZONE_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::testutil {

struct ZoneText {
  std::string apex;  // presentation, absolute
  std::string text;
};

// One zone from its text (`updatable`: built so that incremental builds
// and edits can start from it, as the zone store builds zones with
// storage or primaries).
absl::StatusOr<std::shared_ptr<const zone::Zone>> MakeZone(
    const ZoneText& zone, bool updatable = false);

absl::StatusOr<std::shared_ptr<zone::ZoneSet>> MakeZoneSet(
    const std::vector<ZoneText>& zones, zone::Identity identity = {});

}  // namespace popdns::testutil

#endif  // POPDNS_TESTS_TESTUTIL_ZONE_FIXTURE_H_
