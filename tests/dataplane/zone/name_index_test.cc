// Tests for dataplane/zone/name_index.h (the zone's name -> node index,
// copy-on-write shards), dataplane/zone/grow_only_array.h and
// dataplane/zone/huge_page_allocator.h.
#include "dataplane/zone/name_index.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "dataplane/zone/grow_only_array.h"
#include "dataplane/zone/huge_page_allocator.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace popdns::zone {
namespace {

// An index over `names` (node i is names[i]) with its slot array.
struct TestIndex {
  std::vector<std::string> names;
  GrowOnlyArray<uint64_t> slots;
  NameIndex index;

  void Build(int bits, size_t headroom = 4, size_t min_free = 1 << 14) {
    index.Build(
        bits, static_cast<uint32_t>(names.size()),
        [&](uint32_t i) { return NameIndex::Hash(names[i]); }, &slots,
        headroom, min_free);
  }
  uint32_t Find(const NameIndex& in, const std::string& name) const {
    return in.Find(NameIndex::Hash(name),
                   [&](uint32_t n) { return names[n] == name; });
  }
};

// Probing: entries whose hashes collide (same shard, same slot, same tag)
// are told apart by the name check, and probing wraps around the end of
// a shard.
TEST(NameIndexTest, CollisionsAndWrapAround) {
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  GrowOnlyArray<uint64_t> slots;
  NameIndex index;
  // Every name "hashes" to the same value, whose tag lands on the last
  // slot of its 8-slot shard: probing must wrap to the shard's start.
  const uint64_t hash = 0xFFFFFFFFull;
  index.Build(1, static_cast<uint32_t>(names.size()),
              [&](uint32_t) { return hash; }, &slots, 1, 0);
  ASSERT_EQ(index.shard(0).capacity, 16u);  // 5 names, at most half full
  EXPECT_EQ(index.FirstSlot(hash) - slots.data(), 15);
  for (uint32_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(index.Find(hash,
                         [&](uint32_t node) { return names[node] == names[i]; }),
              i);
  }
  EXPECT_EQ(index.Find(hash, [](uint32_t) { return false; }),
            NameIndex::kMissing);
  // Another home slot with nothing there: not found without a name check.
  const uint64_t other = 0x12345678ull << 32 | 0x10;
  EXPECT_EQ(index.Find(other,
                       [](uint32_t) -> bool {
                         ADD_FAILURE() << "no candidate expected";
                         return true;
                       }),
            NameIndex::kMissing);
  EXPECT_EQ(index.LikelyNode(hash), 0u);
  EXPECT_EQ(index.LikelyNode(other), NameIndex::kMissing);
  // The burst's staged form (shard, then slot, then node) agrees.
  for (const uint64_t h : {hash, other}) {
    const uint64_t* first = index.FirstSlot(*index.ShardOf(h), h);
    EXPECT_EQ(first, index.FirstSlot(h));
    EXPECT_EQ(index.LikelyNode(*index.ShardOf(h), h), index.LikelyNode(h));
  }
}

// A name displaced from its home slot (and past the shard's end) is
// still the likely node: the burst prefetches its node, not nothing.
TEST(NameIndexTest, LikelyNodeFollowsTheProbe) {
  GrowOnlyArray<uint64_t> slots;
  NameIndex index;
  // Both tags have the last slot of shard 0 (8 slots) as their home.
  const uint64_t hashes[] = {0xFFFFFFFFull, 0xFFFFFFF1ull};
  index.Build(1, 2, [&](uint32_t i) { return hashes[i]; }, &slots, 1, 0);
  ASSERT_EQ(index.shard(0).capacity, 8u);
  ASSERT_EQ(index.FirstSlot(hashes[1]) - slots.data(), 7);
  EXPECT_EQ(index.LikelyNode(hashes[0]), 0u);
  EXPECT_EQ(index.LikelyNode(hashes[1]), 1u);
  EXPECT_EQ(index.LikelyNode(0xFFFFFFF3ull), NameIndex::kMissing);
}

TEST(NameIndexTest, EmptyIndexFindsNothing) {
  NameIndex index;
  EXPECT_EQ(index.Find(NameIndex::Hash("x"), [](uint32_t) { return true; }),
            NameIndex::kMissing);
  EXPECT_EQ(index.LikelyNode(NameIndex::Hash("x")), NameIndex::kMissing);
  EXPECT_EQ(*index.FirstSlot(12345), 0u);
}

TEST(NameIndexTest, FindsEveryNameOfALargeTable) {
  TestIndex t;
  for (int i = 0; i < 50000; ++i) t.names.push_back("host" + std::to_string(i));
  const int bits = NameIndex::ShardBitsFor(t.names.size());
  EXPECT_EQ(bits, 8);  // 256 shards of ~200 names
  t.Build(bits);
  for (uint32_t i = 0; i < t.names.size(); ++i) {
    ASSERT_EQ(t.Find(t.index, t.names[i]), i);
  }
  EXPECT_EQ(t.Find(t.index, "nothere"), NameIndex::kMissing);
  // At most half full, in every shard.
  EXPECT_GE(t.index.bytes(), 2 * t.names.size() * sizeof(uint64_t));
  std::vector<uint32_t> per_shard(t.index.shard_count(), 0);
  for (const std::string& n : t.names) {
    ++per_shard[NameIndex::Hash(n) >> (64 - bits)];
  }
  for (size_t s = 0; s < per_shard.size(); ++s) {
    EXPECT_GE(t.index.shard(s).capacity, 2 * per_shard[s]) << s;
  }
  // The shard table stays small next to the slots.
  EXPECT_EQ(t.index.shard_count() * sizeof(NameIndex::Shard), 2048u);
  size_t seen = 0;
  t.index.ForEachNode([&](uint32_t) { ++seen; });
  EXPECT_EQ(seen, t.names.size());
}

// Copy on write: an update copies only the shards it touches; the base
// index keeps answering exactly as before.
TEST(NameIndexTest, UpdateCopiesOnlyTouchedShards) {
  TestIndex t;
  for (int i = 0; i < 20000; ++i) t.names.push_back(absl::StrCat("n", i));
  t.Build(NameIndex::ShardBitsFor(t.names.size()));
  const size_t slots_before = t.slots.size();
  // Node 7 is replaced by a new entry (same name), node 8 removed, a new
  // name added.
  t.names.push_back(t.names[7]);                  // node 20000
  t.names.push_back("brand-new");                 // node 20001
  std::vector<NameIndex::Change> changes = {
      {NameIndex::Hash(t.names[7]), 7, 20000},
      {NameIndex::Hash(t.names[8]), 8, NameIndex::kMissing},
      {NameIndex::Hash("brand-new"), NameIndex::kMissing, 20001},
  };
  NameIndex next;
  size_t shards = 0, copied = 0, garbage = 0;
  ASSERT_TRUE(next.Update(t.index, changes, &t.slots, &shards, &copied,
                          &garbage));
  EXPECT_LE(shards, 3u);
  EXPECT_GE(shards, 1u);
  EXPECT_EQ(t.slots.size() - slots_before, copied);
  EXPECT_LT(copied, 3 * 512u);  // three shards of ~160 names at most
  // New version.
  EXPECT_EQ(next.Find(NameIndex::Hash(t.names[7]),
                      [&](uint32_t n) { return t.names[n] == t.names[7]; }),
            20000u);
  EXPECT_EQ(t.Find(next, t.names[8]), NameIndex::kMissing);
  EXPECT_EQ(t.Find(next, "brand-new"), 20001u);
  for (uint32_t i = 0; i < 20000; ++i) {
    if (i == 7 || i == 8) continue;
    ASSERT_EQ(t.Find(next, t.names[i]), i);
  }
  // Old version: unchanged.
  EXPECT_EQ(t.index.Find(NameIndex::Hash(t.names[7]),
                         [&](uint32_t n) { return t.names[n] == t.names[7]; }),
            7u);
  EXPECT_EQ(t.Find(t.index, t.names[8]), 8u);
  EXPECT_EQ(t.Find(t.index, "brand-new"), NameIndex::kMissing);
}

// Many random versions in sequence, each checked against a map.
TEST(NameIndexTest, RandomUpdatesMatchAMap) {
  TestIndex t;
  std::map<std::string, uint32_t> live;
  for (int i = 0; i < 3000; ++i) {
    t.names.push_back(absl::StrCat("x", i));
    live[t.names.back()] = i;
  }
  t.Build(NameIndex::ShardBitsFor(t.names.size()), 4, size_t{64} << 20);
  std::vector<std::unique_ptr<NameIndex>> versions;
  std::mt19937 rng(42);
  const NameIndex* cur = &t.index;
  for (int step = 0; step < 200; ++step) {
    std::vector<NameIndex::Change> changes;
    std::map<std::string, bool> touched;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 20); ++k) {
      const std::string name = absl::StrCat("x", rng() % 4000);
      if (!touched.emplace(name, true).second) continue;
      auto it = live.find(name);
      const uint64_t h = NameIndex::Hash(name);
      if (it != live.end() && rng() % 2) {  // remove
        changes.push_back({h, it->second, NameIndex::kMissing});
        live.erase(it);
      } else {  // add or replace
        t.names.push_back(name);
        const uint32_t node = static_cast<uint32_t>(t.names.size() - 1);
        changes.push_back(
            {h, it == live.end() ? NameIndex::kMissing : it->second, node});
        live[name] = node;
      }
    }
    auto next = std::make_unique<NameIndex>();
    size_t a = 0, b = 0, c = 0;
    ASSERT_TRUE(next->Update(*cur, changes, &t.slots, &a, &b, &c));
    cur = next.get();
    versions.push_back(std::move(next));
    for (int i = 0; i < 4000; ++i) {
      const std::string name = absl::StrCat("x", i);
      auto it = live.find(name);
      ASSERT_EQ(t.Find(*cur, name),
                it == live.end() ? NameIndex::kMissing : it->second)
          << "step " << step << " " << name;
    }
    size_t count = 0;
    cur->ForEachNode([&](uint32_t) { ++count; });
    ASSERT_EQ(count, live.size());
  }
}

// A full slot array makes Update fail instead of moving it.
TEST(NameIndexTest, UpdateFailsWhenSlotsAreFull) {
  TestIndex t;
  for (int i = 0; i < 1000; ++i) t.names.push_back(absl::StrCat("f", i));
  t.Build(NameIndex::ShardBitsFor(t.names.size()), 1, 0);
  const uint64_t* data = t.slots.data();
  NameIndex next;
  size_t a = 0, b = 0, c = 0;
  std::vector<NameIndex::Change> changes = {
      {NameIndex::Hash("new"), NameIndex::kMissing, 1000}};
  EXPECT_FALSE(next.Update(t.index, changes, &t.slots, &a, &b, &c));
  EXPECT_EQ(t.slots.data(), data);
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

// Small arrays live on the heap and are copied when they grow; large
// ones are reserved address space, moved by page tables; either way the
// contents survive.
TEST(GrowOnlyArrayTest, GrowsWhileAllowedAndKeepsContents) {
  GrowOnlyArray<uint32_t> a;
  for (uint32_t i = 0; i < 1000000; ++i) {
    uint32_t* p = a.Append(1, /*may_move=*/true);
    ASSERT_NE(p, nullptr);
    *p = i * 3;
  }
  EXPECT_GE(a.capacity() * sizeof(uint32_t), kHugePageSize);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % kHugePageSize, 0u);
  for (uint32_t i = 0; i < 1000000; ++i) ASSERT_EQ(a.data()[i], i * 3);
  // Headroom: reserved, not written.
  a.ReserveHeadroom(4, 0);
  EXPECT_GE(a.capacity(), 4000000u);
  for (uint32_t i = 0; i < 1000000; i += 997) ASSERT_EQ(a.data()[i], i * 3);
  const uint32_t* before = a.data();
  const size_t free = a.capacity() - a.size();
  ASSERT_NE(a.Append(free, /*may_move=*/false), nullptr);
  EXPECT_EQ(a.data(), before);
  // Full: no move without permission.
  EXPECT_EQ(a.Append(1, /*may_move=*/false), nullptr);
  EXPECT_EQ(a.data(), before);
  EXPECT_EQ(a.size(), a.capacity());
}

TEST(GrowOnlyArrayTest, AppendingNothingNeverFails) {
  GrowOnlyArray<uint16_t> empty;
  EXPECT_NE(empty.Append(0, /*may_move=*/false), nullptr);
  EXPECT_EQ(empty.size(), 0u);
  GrowOnlyArray<uint16_t> full;
  full.Reserve(4);
  ASSERT_NE(full.Append(full.capacity(), false), nullptr);
  EXPECT_NE(full.Append(nullptr, 0, false), nullptr);
  EXPECT_EQ(full.Append(1, false), nullptr);
}

TEST(GrowOnlyArrayTest, ViewsKeepTheirSize) {
  GrowOnlyArray<char> a;
  a.Reserve(100);
  a.Append("abc", 3, false);
  const ArrayView<char> v1 = a.View();
  a.Append("def", 3, false);
  const ArrayView<char> v2 = a.View();
  EXPECT_EQ(v1.size(), 3u);
  EXPECT_EQ(v2.size(), 6u);
  EXPECT_EQ(std::string(v1.begin(), v1.end()), "abc");
  EXPECT_EQ(std::string(v2.begin(), v2.end()), "abcdef");
  // Appended elements are zeroed even on reused heap memory.
  char* p = a.Append(10, false);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], 0);
}

}  // namespace
}  // namespace popdns::zone
