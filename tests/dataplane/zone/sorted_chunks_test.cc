// Tests for dataplane/zone/sorted_chunks.h (the NSEC chain and NSEC3
// owners that the versions of a zone share): random edits against a
// std::map model, every lookup checked, and older versions unchanged.
#include "dataplane/zone/sorted_chunks.h"

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace popdns::zone {
namespace {

using Chain = SortedChunks<std::string>;
using Model = std::map<std::string, uint32_t>;

Chain FromModel(const Model& m) {
  std::vector<Chain::Entry> entries;
  for (const auto& [k, v] : m) entries.push_back({k, v});
  return Chain::FromSorted(std::move(entries));
}

// Every entry in order equals the model's, and every lookup agrees with
// the model's for keys present, absent, before the first and after the
// last (the chains wrap).
void ExpectSame(const Chain& c, const Model& m, const std::vector<std::string>& probes) {
  std::vector<std::pair<std::string, uint32_t>> got;
  c.ForEach([&](const Chain::Entry& e) { got.emplace_back(e.key, e.node); });
  const std::vector<std::pair<std::string, uint32_t>> want(m.begin(), m.end());
  ASSERT_EQ(got, want);
  ASSERT_EQ(c.size(), m.size());
  if (m.empty()) return;
  for (const std::string& k : probes) {
    const auto found = m.find(k);
    const Chain::Entry* e = c.Find(k);
    if (found == m.end()) {
      EXPECT_EQ(e, nullptr) << k;
    } else {
      ASSERT_NE(e, nullptr) << k;
      EXPECT_EQ(e->node, found->second) << k;
    }
    // <=: upper_bound - 1, wrapping.
    auto up = m.upper_bound(k);
    const auto& at_or_before = up == m.begin() ? *m.rbegin() : *std::prev(up);
    EXPECT_EQ(c.Covering(k, false).key, at_or_before.first) << k;
    // <: lower_bound - 1, wrapping.
    auto low = m.lower_bound(k);
    const auto& before = low == m.begin() ? *m.rbegin() : *std::prev(low);
    EXPECT_EQ(c.Covering(k, true).key, before.first) << k;
  }
}

std::string Key(std::mt19937& rng) { return absl::StrCat("k", rng() % 5000); }

TEST(SortedChunksTest, RandomEditsMatchAMap) {
  std::mt19937 rng(11);
  Model m;
  for (int i = 0; i < 3000; ++i) m[Key(rng)] = rng() % 1000;
  Chain c = FromModel(m);
  std::vector<std::string> probes = {"", "a", "k", "k0", "zzz"};
  for (int i = 0; i < 200; ++i) probes.push_back(Key(rng));
  ExpectSame(c, m, probes);
  EXPECT_GT(c.chunk_count(), 3000 / Chain::kMaxChunk);
  for (int round = 0; round < 60; ++round) {
    const Chain before = c;
    const Model model_before = m;
    // Few or many edits, clustered or spread; inserts, replacements and
    // removals, some of absent keys.
    std::map<std::string, uint32_t> edits;
    const int n = round % 4 == 3 ? 1500 : 1 + static_cast<int>(rng() % 20);
    const uint32_t base = rng() % 5000;
    for (int k = 0; k < n; ++k) {
      const std::string key =
          round % 2 ? absl::StrCat("k", (base + k) % 5000) : Key(rng);
      edits[key] = rng() % 3 == 0 ? Chain::kRemove : rng() % 1000;
    }
    std::vector<Chain::Entry> list;
    for (const auto& [k, v] : edits) {
      list.push_back({k, v});
      if (v == Chain::kRemove) {
        m.erase(k);
      } else {
        m[k] = v;
      }
    }
    c = before.WithEdits(list);
    ExpectSame(c, m, probes);
    // The previous version reads what it read.
    ExpectSame(before, model_before, probes);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(SortedChunksTest, EmptyAndEmptied) {
  Chain c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.Find("x"), nullptr);
  c = c.WithEdits({{"b", 2}, {"d", 4}});
  ExpectSame(c, {{"b", 2}, {"d", 4}}, {"a", "b", "c", "d", "e"});
  c = c.WithEdits({{"b", Chain::kRemove}, {"d", Chain::kRemove}});
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.chunk_count(), 0u);
  c = c.WithEdits({{"c", Chain::kRemove}});  // absent: nothing
  EXPECT_TRUE(c.empty());
}

// A change of one entry copies one chunk: the rest are the base's.
TEST(SortedChunksTest, EditsShareUntouchedChunks) {
  Model m;
  for (int i = 0; i < 100000; ++i) m[absl::StrCat("n", 1000000 + i)] = i;
  const Chain c = FromModel(m);
  const Chain next = c.WithEdits({{"n1050000", 7}});
  ASSERT_EQ(next.chunk_count(), c.chunk_count());
  size_t shared = 0;
  const Chain::Entry* a = c.Find("n1000001");
  const Chain::Entry* b = next.Find("n1000001");
  EXPECT_EQ(a, b);  // the same chunk, not a copy
  for (int i = 0; i < 100000; i += 97) {
    const std::string k = absl::StrCat("n", 1000000 + i);
    if (c.Find(k) == next.Find(k)) ++shared;
  }
  EXPECT_GE(shared, 100000 / 97 - Chain::kMaxChunk / 97 - 1);
  EXPECT_EQ(next.Find("n1050000")->node, 7u);
  EXPECT_EQ(c.Find("n1050000")->node, 50000u);
}

// Fixed-size keys (NSEC3 digests) by value.
// An incremental build lists a rewritten name twice: its old entry
// removed, its new one written. The write wins, whatever the order.
TEST(SortedChunksTest, SortEditsKeepsTheWriteOfAKey) {
  std::vector<Chain::Entry> edits = {{"b", Chain::kRemove}, {"a", 7},
                                     {"b", 9}, {"c", Chain::kRemove},
                                     {"a", Chain::kRemove}};
  Chain::SortEdits(edits);
  ASSERT_EQ(edits.size(), 3u);
  EXPECT_EQ(edits[0].key, "a");
  EXPECT_EQ(edits[0].node, 7u);
  EXPECT_EQ(edits[1].key, "b");
  EXPECT_EQ(edits[1].node, 9u);
  EXPECT_EQ(edits[2].key, "c");
  EXPECT_EQ(edits[2].node, Chain::kRemove);
}

TEST(SortedChunksTest, DigestKeys) {
  using Digest = std::array<uint8_t, 20>;
  using Owners = SortedChunks<Digest>;
  std::vector<Owners::Entry> entries;
  for (uint8_t i = 0; i < 200; ++i) {
    Digest d{};
    d[0] = i;
    entries.push_back({d, i});
  }
  const Owners o = Owners::FromSorted(entries);
  Digest probe{};
  probe[0] = 100;
  EXPECT_EQ(o.Find(probe)->node, 100u);
  EXPECT_EQ(o.Covering(probe, true).node, 99u);
  probe[1] = 1;
  EXPECT_EQ(o.Find(probe), nullptr);
  EXPECT_EQ(o.Covering(probe, true).node, 100u);
  Digest first{};
  EXPECT_EQ(o.Covering(first, true).node, 199u);  // wraps
}

}  // namespace
}  // namespace popdns::zone
