// Differential test: popdns's zone parser (control/zone_file.h) against
// BIND's named-compilezone and NSD's nsd-checkzone -p on the zones in
// tests/testdata/zones/.
//
// Each oracle reads a zone and prints it back in normalized presentation
// form (numeric TTLs, dates, unsplit base64, ...). Both record
// sets are put in one canonical form, "owner ttl class type \# len hex"
// with the owner lowercased, and compared as sets. Reading BIND's output
// back with our parser still checks us: the normalized text exercises other
// code paths than the hand-written input (units, splits, escapes, order).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "control/zonefile/zone_file.h"

namespace popdns::control {
namespace {

std::string Canonical(const ZoneRecord& r) {
  return NameToText(NameToLower(r.owner)) + " " + std::to_string(r.ttl) + " " +
         ClassToText(r.rclass) + " " + TypeToText(r.type) + " " +
         RdataToGenericText(r.rdata);
}

std::set<std::string> CanonicalSet(const std::vector<ZoneRecord>& records) {
  std::set<std::string> out;
  for (const ZoneRecord& r : records) out.insert(Canonical(r));
  return out;
}

// Runs `command` in the test data directory and returns its stdout.
// Both oracles resolve $INCLUDE against the working directory, popdns
// against the including file; with the zones in that directory they agree.
bool RunOracle(const std::string& command, std::string* output) {
  std::string full =
      std::string("cd '") + POPDNS_ZONE_TESTDATA + "' && " + command;
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return false;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output->append(buffer, n);
  }
  int status = pclose(pipe);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

enum class Oracle { kBind, kNsd };

struct OracleCase {
  Oracle oracle;
  const char* file;    // under tests/testdata/zones/
  const char* origin;  // without the trailing dot
};

std::string OracleCommand(const OracleCase& c) {
  if (c.oracle == Oracle::kBind) {
    return std::string("'") + POPDNS_NAMED_COMPILEZONE +
           "' -q -k ignore -i none -s full -f text -F text -o - " + c.origin +
           " " + c.file;
  }
  return std::string("'") + POPDNS_NSD_CHECKZONE + "' -p " + c.origin + " " +
         c.file;
}

class ZoneOracleTest : public ::testing::TestWithParam<OracleCase> {};

TEST_P(ZoneOracleTest, SameRecordsAsOracle) {
  const OracleCase& c = GetParam();
  const char* tool = c.oracle == Oracle::kBind ? POPDNS_NAMED_COMPILEZONE
                                               : POPDNS_NSD_CHECKZONE;
  if (std::string(tool).empty()) GTEST_SKIP() << "oracle not installed";
  ZoneFileOptions options;
  options.origin_wire = *NameFromText(std::string(c.origin) + ".", "");

  auto ours =
      ParseZoneFile(std::string(POPDNS_ZONE_TESTDATA) + "/" + c.file, options);
  ASSERT_TRUE(ours.ok()) << ours.status();

  std::string oracle_text;
  ASSERT_TRUE(RunOracle(OracleCommand(c), &oracle_text)) << oracle_text;
  auto theirs = ParseZoneText(oracle_text, "oracle-output", options);
  ASSERT_TRUE(theirs.ok()) << theirs.status() << "\n" << oracle_text;

  std::set<std::string> a = CanonicalSet(*ours);
  std::set<std::string> b = CanonicalSet(*theirs);
  std::vector<std::string> only_ours, only_theirs;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                      std::back_inserter(only_ours));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(),
                      std::back_inserter(only_theirs));
  for (const std::string& s : only_ours) ADD_FAILURE() << "only popdns: " << s;
  for (const std::string& s : only_theirs) {
    ADD_FAILURE() << "only " << tool << ": " << s;
  }
  EXPECT_GE(a.size(), 30u);
}

// NSD 4.6 has no $GENERATE and wants absolute $INCLUDE origins, so it
// does not read features.example.zone.
INSTANTIATE_TEST_SUITE_P(
    Zones, ZoneOracleTest,
    ::testing::Values(
        OracleCase{Oracle::kBind, "company.example.zone", "example.com"},
        OracleCase{Oracle::kBind, "features.example.zone", "features.example"},
        OracleCase{Oracle::kBind, "signed.example.zone", "signed.example"},
        OracleCase{Oracle::kNsd, "company.example.zone", "example.com"},
        OracleCase{Oracle::kNsd, "signed.example.zone", "signed.example"}),
    [](const ::testing::TestParamInfo<OracleCase>& info) {
      std::string name = info.param.oracle == Oracle::kBind ? "Bind_" : "Nsd_";
      for (const char* p = info.param.origin; *p != '\0'; ++p) {
        name.push_back(*p == '.' ? '_' : *p);
      }
      return name;
    });

}  // namespace
}  // namespace popdns::control
