// libFuzzer target for what a provisioning client sends the primary:
// RFC 2136 UPDATE messages (parsed by control/xfr/dns_message, evaluated by
// control/update/dynamic_update) and PowerDNS API PATCH bodies (JSON,
// control/update/pdns_patch), both against a small zone with a policy
// that grants the key everything. Nothing may crash or read out of bounds;
// an accepted change must start at the zone's serial and move it forward,
// and must be applicable by the incremental builder or refused by it with
// a status (never a crash).
//
// Input: byte 0 even: a DNS message; odd: a JSON PATCH body.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "control/build/incremental_builder.h"
#include "control/update/dynamic_update.h"
#include "control/update/pdns_patch.h"
#include "control/update/zone_edit.h"
#include "control/xfr/dns_message.h"
#include "control/zonefile/name_text.h"
#include "tests/testutil/zone_fixture.h"

namespace {

using namespace popdns;

constexpr char kZone[] = R"($ORIGIN apps.test.
$TTL 300
@      SOA ns1 hostmaster 10 3600 600 86400 300
@      NS  ns1
ns1    A   192.0.2.53
www    A   192.0.2.1
www    TXT "hello"
alias  CNAME www
mail   MX  10 www
*.wild A   192.0.2.9
sub    NS  ns.sub
ns.sub A   192.0.2.99
)";

struct Fixture {
  std::shared_ptr<const zone::Zone> zone;
  control::ZoneConfig config;
  std::string key;
};

const Fixture& Get() {
  static const Fixture* f = [] {
    auto* fx = new Fixture;
    auto z = testutil::MakeZone({"apps.test.", kZone}, /*updatable=*/true);
    if (!z.ok()) abort();
    fx->zone = *z;
    fx->config.name = "apps.test.";
    fx->config.update.push_back({"k", "apps.test.", {}, ""});
    fx->key = *control::NameFromText("k.", "");
    return fx;
  }();
  return *f;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

void Accepted(const Fixture& f, const xfr::Changeset& cs) {
  Check(cs.from() == f.zone->serial, "change starts at the zone's serial");
  Check(xfr::SerialLess(cs.from(), cs.to()), "serial moves forward");
  // Applying it may fail validation (a status), never crash.
  (void)control::BuildIncremental(f.zone, {cs});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Fixture& f = Get();
  if ((data[0] & 1) == 0) {
    auto m = xfr::ParseMessage(data + 1, size - 1);
    if (!m.ok()) return 0;
    update::UpdateResult r =
        update::EvaluateUpdate(*f.zone, f.config, *m, f.key, 1800000000);
    Check(r.rcode != 0 || r.reason.empty(), "NOERROR has no reason");
    Check(r.rcode == 0 || !r.change, "a refusal changes nothing");
    if (r.change) Accepted(f, *r.change);
    return 0;
  }
  auto doc = nlohmann::json::parse(data + 1, data + size, nullptr,
                                   /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  update::ZoneEdit edit(*f.zone);
  if (!update::ApplyPatch(doc, control::SerialPolicy::kIncrement, 1800000000,
                          &edit)
           .ok()) {
    return 0;
  }
  auto change = edit.Finish(control::SerialPolicy::kIncrement, 1800000000);
  if (change.ok() && *change) Accepted(f, **change);
  return 0;
}
