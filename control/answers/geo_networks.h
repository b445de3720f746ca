// GeoIP for app-aware answers (issue 16): a MaxMind DB file (the format of
// GeoLite2/GeoIP2 Country, City and ASN, read with libmaxminddb) turned
// into the same kind of table as the configured client networks, once, on
// the control side: the fast path then looks a client up in a sorted array
// of address ranges, with no MaxMind code on it.
#ifndef POPDNS_CONTROL_ANSWERS_GEO_NETWORKS_H_
#define POPDNS_CONTROL_ANSWERS_GEO_NETWORKS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/zone/network_table.h"

namespace popdns::control {

enum class GeoKey {
  kCountry,  // country.iso_code (else registered_country.iso_code): "DE"
  kAsn,      // autonomous_system_number: 64500
};

struct GeoNetworks {
  zone::NetworkTable table;
  // By network id: zone::VariantSelectorHash of the country code or AS
  // number (what VARIANT cc:DE / asn:64500 compile to).
  std::vector<uint64_t> selectors;
  std::vector<std::string> names;  // "DE", "64500", by network id
  size_t prefixes = 0;             // networks of the file that carry the key
};

// Every network of the database at `path` that carries `key`. IPv4 (the
// ::/96 subtree of an IPv6 database, or an IPv4 database) is mapped to
// ::ffff:0:0/96 like every address popdns compares. Errors: NotFound /
// InvalidArgument naming the file and libmaxminddb's reason.
absl::StatusOr<GeoNetworks> LoadGeoNetworks(const std::string& path,
                                            GeoKey key);

// Opens the database and checks its metadata, without reading its tree
// (config checks). Errors as LoadGeoNetworks.
absl::Status CheckGeoDatabase(const std::string& path);

// LoadGeoNetworks, once per path and key in this process (the kernel
// sockets and the dataplane share the table). nullptr if it fails (the
// config check opened it already; the error is printed).
std::shared_ptr<const GeoNetworks> SharedGeoNetworks(const std::string& path,
                                                     GeoKey key);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ANSWERS_GEO_NETWORKS_H_
