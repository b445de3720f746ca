// `popdns --check`: every zone of the config read and checked as a load
// would (parse, zone rules, compile), reporting every error found instead
// of only the first, as kzonecheck does. Touches no on-disk copy, journal,
// socket or dataplane. main() only.
#ifndef POPDNS_CONTROL_SERVER_ZONE_CHECK_H_
#define POPDNS_CONTROL_SERVER_ZONE_CHECK_H_

#include <cstddef>
#include <string>

#include "control/config.h"

namespace popdns::control {

// Appends the report to `out`: per zone its errors ("file:line:col: what",
// the first `max_errors`, then "... and N more errors"), its warnings, and
// a closing line "zone NAME: ok (serial S, N records, FILE)" or
// "zone NAME: N errors". Returns the number of zones with errors.
int CheckZones(const Config& config, size_t max_errors, std::string* out);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_ZONE_CHECK_H_
