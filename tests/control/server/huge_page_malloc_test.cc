#include "control/server/huge_page_malloc.h"

#include "gtest/gtest.h"

namespace popdns::control {
namespace {

TEST(HugePageMallocTunables, AddsTheTunableToNothingOrToWhatIsSet) {
  EXPECT_EQ(HugePageMallocTunables(nullptr, false), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(HugePageMallocTunables("", false), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(HugePageMallocTunables("glibc.malloc.arena_max=2", false),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
}

TEST(HugePageMallocTunables, LeavesAnOperatorsChoiceAlone) {
  // Also what stops the re-executed process from executing again.
  EXPECT_EQ(HugePageMallocTunables("glibc.malloc.hugetlb=0", false), "");
  EXPECT_EQ(HugePageMallocTunables("glibc.malloc.hugetlb=1", false), "");
  EXPECT_EQ(
      HugePageMallocTunables("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2",
                             false),
      "");
}

TEST(HugePageMallocTunables, NothingWhenTheKernelHasThpOff) {
  EXPECT_EQ(HugePageMallocTunables(nullptr, true), "");
}

}  // namespace
}  // namespace popdns::control
