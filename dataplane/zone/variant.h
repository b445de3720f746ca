// App-aware answers (issue 16): an answer that replaces a name's RRset of
// one type for some clients, written in the zone itself as records of the
// private-use type VARIANT (dns::rrtype::kVariant), so that AXFR and IXFR
// from any primary carry them (other servers keep them as unknown types,
// RFC 3597).
//
// RDATA: <character-string SELECTOR> <u16 TYPE> <RDATA of TYPE>
//   SELECTOR "net:NAME": clients in the network NAME of the config
//            (`networks:`; by EDNS Client Subnet, else their address);
//            "asn:NUMBER", "cc:CODE": clients whose address the GeoIP
//            databases of the config (`geoip:`) place in that AS or
//            country;
//            "pop:NAME": every client of the PoP whose config says
//            `pop: NAME`.
//   TYPE     A, AAAA or TXT: answers that are one RRset with nothing to
//            follow or add.
// The VARIANT records of a name with one SELECTOR and TYPE are one answer
// (their RDATA one RRset, with the VARIANT records' TTL). A network's
// variant wins over the AS's, the AS's over the country's, the country's
// over the PoP's, the PoP's over the name's own RRset.
//
// Text (popdns's zone files): `www 60 VARIANT net:eu A 192.0.2.10`; for
// other primaries the same bytes as generic RDATA (`TYPE65350 \# ...`).
#ifndef POPDNS_DATAPLANE_ZONE_VARIANT_H_
#define POPDNS_DATAPLANE_ZONE_VARIANT_H_

#include <cstdint>
#include <string_view>

namespace popdns::zone {

// In the order a client's answer is looked for: its network's, its ASN's,
// its country's, the PoP's.
enum class VariantKind : uint8_t { kNetwork = 1, kPop = 2, kCountry = 3, kAsn = 4 };

// "net:eu" -> kNetwork and "eu"; "pop:NAME"; "cc:DE" (an ISO 3166 code,
// two letters, GeoIP); "asn:64500" (a decimal AS number, GeoIP). False
// for anything else (an empty name, cc: not two letters, asn: not a
// number without leading zeros below 2^32).
bool ParseVariantSelector(std::string_view selector, VariantKind* kind,
                          std::string_view* name);
// "net:", "pop:", "cc:" or "asn:".
std::string_view VariantSelectorPrefix(VariantKind kind);
// What variants and the client tables match on: NameIndex::Hash of the
// name, country codes in upper case ("cc:de" is "cc:DE").
uint64_t VariantSelectorHash(VariantKind kind, std::string_view name);

struct VariantRdata {
  VariantKind kind;
  std::string_view name;   // after "net:", "pop:", "cc:" or "asn:"
  uint16_t type;           // A, AAAA or TXT
  std::string_view rdata;  // of `type`, wire format
};

// False if `rdata` is not a VARIANT RDATA as above (the type is checked,
// the inner RDATA only for its length where the type fixes it).
bool ParseVariantRdata(std::string_view rdata, VariantRdata* out);

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_VARIANT_H_
