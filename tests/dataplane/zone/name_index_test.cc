// Tests for dataplane/zone/name_index.h (the zone's name -> node index) and
// dataplane/zone/huge_page_allocator.h.
#include "dataplane/zone/name_index.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/zone/huge_page_allocator.h"
#include "gtest/gtest.h"

namespace popdns::zone {
namespace {

// Probing: entries whose hashes collide (same slot, same tag) are told
// apart by the name check, and probing wraps around the end of the table.
TEST(NameIndexTest, CollisionsAndWrapAround) {
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  NameIndex index;
  index.Reset(names.size());  // 16 slots
  const uint64_t last_slot = 15;  // every entry starts probing at the end
  for (uint32_t i = 0; i < names.size(); ++i) index.Insert(last_slot, i);
  for (uint32_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(index.Find(last_slot,
                         [&](uint32_t node) { return names[node] == names[i]; }),
              i);
  }
  EXPECT_EQ(index.Find(last_slot, [](uint32_t) { return false; }),
            NameIndex::kMissing);
  // Another start slot with nothing there: not found without a name check.
  EXPECT_EQ(index.Find(7,
                       [](uint32_t) -> bool {
                         ADD_FAILURE() << "no candidate expected";
                         return true;
                       }),
            NameIndex::kMissing);
  EXPECT_EQ(index.LikelyNode(last_slot), 0u);
  EXPECT_EQ(index.LikelyNode(7), NameIndex::kMissing);
}

TEST(NameIndexTest, FindsEveryNameOfALargeTable) {
  std::vector<std::string> names;
  for (int i = 0; i < 50000; ++i) names.push_back("host" + std::to_string(i));
  NameIndex index;
  index.Reset(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) {
    index.Insert(NameIndex::Hash(names[i]), i);
  }
  for (uint32_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(index.Find(NameIndex::Hash(names[i]),
                         [&](uint32_t n) { return names[n] == names[i]; }),
              i);
  }
  const std::string absent = "nothere";
  EXPECT_EQ(index.Find(NameIndex::Hash(absent),
                       [&](uint32_t n) { return names[n] == absent; }),
            NameIndex::kMissing);
  // At most half full.
  EXPECT_GE(index.bytes(), 2 * names.size() * sizeof(uint64_t));
}

TEST(NameIndexTest, SameNameEveryLength) {
  std::string a, b;
  for (size_t n = 0; n <= 64; ++n) {
    EXPECT_TRUE(SameName(a, b)) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string c = b;
      c[i] ^= 0x20;
      EXPECT_FALSE(SameName(a, c)) << n << " " << i;
    }
    EXPECT_FALSE(SameName(a, b + "x"));
    a.push_back(static_cast<char>('a' + n % 26));
    b.push_back(static_cast<char>('a' + n % 26));
  }
}

TEST(HugePageAllocatorTest, LargeBlocksAreHugePageAligned) {
  HugePageVector<uint64_t> big((size_t{3} << 20) / sizeof(uint64_t));  // 3 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % kHugePageSize, 0u);
  big.back() = 7;  // the whole block is mapped
  EXPECT_EQ(big.back(), 7u);
  HugePageVector<uint64_t> small(16, 1);
  EXPECT_EQ(small[15], 1u);
  HugePageString s(5 << 20, 'x');
  EXPECT_EQ(reinterpret_cast<uintptr_t>(s.data()) % kHugePageSize, 0u);
  EXPECT_EQ(s[(5 << 20) - 1], 'x');
}

}  // namespace
}  // namespace popdns::zone
