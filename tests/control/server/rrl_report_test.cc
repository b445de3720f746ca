// The periodic RRL log line (control/server/rrl_report.h): deltas by path,
// nothing when nothing went over the rate, log_only wording.
#include "control/server/rrl_report.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace popdns::control {
namespace {

dns::RrlTotals Totals(uint64_t limited, uint64_t slipped, uint64_t dropped) {
  dns::RrlTotals t;
  t.limited = limited;
  t.slipped = slipped;
  t.dropped = dropped;
  return t;
}

TEST(RrlReportTest, FirstCallIsTheBaseline) {
  RrlReport r(false);
  EXPECT_EQ(r.Update({{"udp", Totals(500, 250, 250)}}, 10), "");
}

TEST(RrlReportTest, LogsWhatChangedByPath) {
  RrlReport r(false);
  r.Update({{"udp", Totals(10, 5, 5)}, {"dpdk", Totals(0, 0, 0)}}, 10);
  EXPECT_EQ(r.Update({{"udp", Totals(14, 7, 7)}, {"dpdk", Totals(6, 3, 3)}},
                     10),
            "rrl: 10 responses over the rate in the last 10 s: dpdk 6 "
            "(slipped 3, dropped 3), udp 4 (slipped 2, dropped 2)");
  // Nothing new: no line.
  EXPECT_EQ(r.Update({{"udp", Totals(14, 7, 7)}, {"dpdk", Totals(6, 3, 3)}},
                     10),
            "");
}

TEST(RrlReportTest, LogOnlySaysNoneWasLimited) {
  RrlReport r(true);
  r.Update({{"udp", Totals(0, 0, 0)}}, 10);
  EXPECT_EQ(r.Update({{"udp", Totals(42, 0, 0)}}, 10),
            "rrl (log_only): 42 responses over the rate in the last 10 s "
            "would have been limited (none was): udp 42");
}

TEST(RrlReportTest, ACounterThatWentBackCountsFromZero) {
  RrlReport r(false);
  r.Update({{"dpdk", Totals(100, 50, 50)}}, 10);
  EXPECT_EQ(r.Update({{"dpdk", Totals(4, 2, 2)}}, 10),
            "rrl: 4 responses over the rate in the last 10 s: dpdk 4 "
            "(slipped 2, dropped 2)");
}

}  // namespace
}  // namespace popdns::control
