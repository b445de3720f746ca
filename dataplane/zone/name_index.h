// The name -> node index of a zone: copy-on-write shards of open
// addressing with linear probing over 8-byte slots {32-bit hash tag,
// 32-bit node index}, each shard at most half full.
//
// Why not absl::flat_hash_map<string_view, uint32_t>: its 24-byte slots make
// a 1M-name index three times larger, and a lookup has to dereference the
// stored name before it knows which node it found. Here the slot names the
// node, so a burst of lookups can prefetch slot, node, name and answer one
// stage at a time for all queries (dns::AnswerBurst), and the slots of a
// 1M-name zone take 16 MiB.
//
// Why shards: a new version of a zone (an IXFR changing a few names) copies
// only the shards whose slots change, plus the small table of shard
// descriptors (8 bytes per ~256 names: 32 KiB for 1M names). The shard is
// chosen by the top bits of the name's hash, the slot in it by the tag (the
// low 32 bits), so a shard can be rebuilt from its slots alone. Shard
// slots live in the lineage's grow-only slot array (zone.h ZoneHeaps):
// published versions keep reading the shards they were built with.
// A lookup costs one dependent load more than a flat table (the shard
// descriptor, from a table small enough to stay in cache).
//
// Built by the control thread (Build, Update); then read-only, by any
// thread.
#ifndef POPDNS_DATAPLANE_ZONE_NAME_INDEX_H_
#define POPDNS_DATAPLANE_ZONE_NAME_INDEX_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/zone/grow_only_array.h"
#include "dataplane/zone/huge_page_allocator.h"

namespace popdns::zone {

// a == b for names (at most 255 bytes, mostly under 32): 8 bytes at a
// time with an overlapping last word, inline; memcmp's library call cost
// more than the comparison itself under callgrind.
inline bool SameName(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    uint64_t u, v;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&u, x + i, 8);
      std::memcpy(&v, y + i, 8);
      if (u != v) return false;
    }
    std::memcpy(&u, x + n - 8, 8);
    std::memcpy(&v, y + n - 8, 8);
    return u == v;
  }
  if (n >= 4) {
    uint32_t u1, v1, u2, v2;
    std::memcpy(&u1, x, 4);
    std::memcpy(&v1, y, 4);
    std::memcpy(&u2, x + n - 4, 4);
    std::memcpy(&v2, y + n - 4, 4);
    return u1 == v1 && u2 == v2;
  }
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

class NameIndex {
 public:
  static constexpr uint32_t kMissing = 0xFFFFFFFF;

  // `capacity` slots at offset `offset` of the lineage's slot array.
  struct Shard {
    uint32_t offset = 0;
    uint32_t capacity = 0;
  };

  // A change for Update: the node `old_node` (kMissing: none) whose name
  // hashes to `hash` leaves the index and `new_node` (kMissing: none)
  // enters it under the same hash.
  struct Change {
    uint64_t hash = 0;
    uint32_t old_node = kMissing;
    uint32_t new_node = kMissing;
  };

  // Empty: finds nothing.
  NameIndex() = default;
  NameIndex(const NameIndex&) = delete;
  NameIndex& operator=(const NameIndex&) = delete;

  // 8 bytes per multiply-fold round (the wyhash construction). Names are
  // short, and abseil's string hash (LowLevelHash behind a generic
  // hash-state layer) cost 140 instructions per query under callgrind.
  // Queries cannot change the table, so crafted names can at worst walk
  // the probe sequences the zone's own names made; the seed still differs
  // per process.
  static uint64_t Hash(std::string_view name) {
    const auto* p = reinterpret_cast<const uint8_t*>(name.data());
    size_t n = name.size();
    uint64_t h = Seed() ^ (n * kMul1);
    for (; n >= 8; n -= 8, p += 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      h = Fold(h ^ w, kMul2);
    }
    // The last 0-7 bytes without a variable-length copy: two overlapping
    // 4-byte loads, or first/middle/last byte (as wyhash does).
    uint64_t tail = 0;
    if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      tail = uint64_t{hi} << 32 | lo;
    } else if (n > 0) {
      tail = uint64_t{p[0]} << 16 | uint64_t{p[n / 2]} << 8 | p[n - 1];
    }
    return Fold(h ^ tail, kMul1 ^ n);
  }

  // The node whose name hashes to `hash` and for which `is_name(node)` is
  // true, or kMissing.
  template <typename IsName>
  uint32_t Find(uint64_t hash, IsName is_name) const {
    const Shard s = shards_[hash >> shift_];
    const uint64_t* slots = slots_ + s.offset;
    const uint32_t tag = Tag(hash);
    for (uint32_t i = Home(tag, s.capacity);;) {
      const uint64_t slot = slots[i];
      if (slot == 0) return kMissing;
      const uint32_t node = static_cast<uint32_t>(slot);
      if (static_cast<uint32_t>(slot >> 32) == tag && is_name(node)) {
        return node;
      }
      if (++i == s.capacity) i = 0;
    }
  }

  // For prefetching, one dependent load at a time: the shard descriptor
  // of `hash` (its table of a 1M-name zone is 32 KiB: often not in L1,
  // and a burst that loads it in line with parsing waits for each), where
  // Find(hash) starts, and the node it will most likely return (the
  // first slot's, if its tag matches; else kMissing).
  const Shard* ShardOf(uint64_t hash) const { return &shards_[hash >> shift_]; }
  const uint64_t* FirstSlot(const Shard& s, uint64_t hash) const {
    return slots_ + s.offset + Home(Tag(hash), s.capacity);
  }
  const uint64_t* FirstSlot(uint64_t hash) const {
    return FirstSlot(*ShardOf(hash), hash);
  }
  // The first node on the probe sequence whose tag matches, looking at
  // most kLikelyProbes slots (a third of a zone's names are not in their
  // home slot at half load, and the slots after it are mostly in the same
  // cache line).
  static constexpr uint32_t kLikelyProbes = 8;
  uint32_t LikelyNode(const Shard& s, uint64_t hash) const {
    const uint64_t* slots = slots_ + s.offset;
    const uint32_t tag = Tag(hash);
    uint32_t i = Home(tag, s.capacity);
    for (uint32_t k = 0; k < kLikelyProbes && k < s.capacity; ++k) {
      const uint64_t slot = slots[i];
      if (slot == 0) return kMissing;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        return static_cast<uint32_t>(slot);
      }
      if (++i == s.capacity) i = 0;
    }
    return kMissing;
  }
  uint32_t LikelyNode(uint64_t hash) const {
    return LikelyNode(*ShardOf(hash), hash);
  }

  // Every node in the index, in no particular order.
  template <typename F>
  void ForEachNode(F f) const {
    for (size_t s = 0; s < table_.size(); ++s) {
      const uint64_t* slots = slots_ + table_[s].offset;
      for (uint32_t i = 0; i < table_[s].capacity; ++i) {
        if (slots[i] != 0) f(static_cast<uint32_t>(slots[i]));
      }
    }
  }

  // Bytes this version reads: shard table and slots.
  size_t bytes() const {
    size_t slots = 0;
    for (const Shard& s : table_) slots += s.capacity;
    return table_.size() * sizeof(Shard) + slots * sizeof(uint64_t);
  }
  size_t shard_count() const { return table_.size(); }
  int shard_bits() const { return table_.empty() ? 0 : 64 - shift_; }
  const Shard& shard(size_t i) const { return table_[i]; }

  // ---- Control thread only: building. ----

  // Shards for a zone of `names` names: about 256 names each, at least 2.
  static int ShardBitsFor(size_t names) {
    int bits = 1;
    while (bits < 24 && (size_t{256} << bits) < names) ++bits;
    return bits;
  }
  // Slots for a shard of `count` names: at most half full, whole cache
  // lines (8 slots).
  static uint32_t CapacityFor(size_t count) {
    return static_cast<uint32_t>(std::max<size_t>(8, (2 * count + 7) & ~size_t{7}));
  }

  // Builds the index of nodes 0..count-1 (node i's name hashes to
  // hash_of(i)) with 2^bits shards, in `slots`, which must be empty and
  // is reserved here with `headroom` times the room the shards take, and
  // at least `min_free_bytes` free, for later versions.
  template <typename HashOf>
  void Build(int bits, uint32_t count, HashOf hash_of,
             GrowOnlyArray<uint64_t>* slots, size_t headroom,
             size_t min_free_bytes) {
    const size_t n = size_t{1} << bits;
    shift_ = static_cast<uint8_t>(64 - bits);
    std::vector<uint32_t> counts(n, 0);
    for (uint32_t i = 0; i < count; ++i) ++counts[hash_of(i) >> shift_];
    table_.assign(n, Shard{});
    size_t total = 0;
    for (size_t s = 0; s < n; ++s) {
      table_[s] = {static_cast<uint32_t>(total), CapacityFor(counts[s])};
      total += table_[s].capacity;
    }
    std::vector<uint32_t>().swap(counts);
    slots->Reserve(std::max(total * headroom,
                            total + min_free_bytes / sizeof(uint64_t)));
    uint64_t* base = slots->Append(total, /*may_move=*/false);
    for (uint32_t i = 0; i < count; ++i) {
      const uint64_t h = hash_of(i);
      const Shard& s = table_[h >> shift_];
      Put(base + s.offset, s.capacity, uint64_t{Tag(h)} << 32 | i);
    }
    shards_ = table_.data();
    slots_ = slots->data();
  }

  // This index becomes `base` with `changes` applied; only the shards they
  // touch are copied, to the end of `slots` (base's own slot array, which
  // must not move: it is only appended to). Returns false if `slots` is
  // full (this index is then unusable). `*copied_slots` gets the slots
  // the copies took, `*garbage_slots` those of the shards they replace.
  bool Update(const NameIndex& base, const std::vector<Change>& changes,
              GrowOnlyArray<uint64_t>* slots, size_t* copied_shards,
              size_t* copied_slots, size_t* garbage_slots) {
    table_ = base.table_;
    shift_ = base.shift_;
    shards_ = table_.data();
    slots_ = slots->data();
    std::vector<std::pair<uint32_t, uint32_t>> order;  // shard, change
    order.reserve(changes.size());
    for (uint32_t c = 0; c < changes.size(); ++c) {
      order.emplace_back(static_cast<uint32_t>(changes[c].hash >> shift_), c);
    }
    std::sort(order.begin(), order.end());
    std::vector<uint64_t> entries;
    for (size_t k = 0; k < order.size();) {
      const uint32_t s = order[k].first;
      size_t end = k;
      while (end < order.size() && order[end].first == s) ++end;
      const Shard old = table_[s];
      entries.clear();
      const uint64_t* old_slots = slots_ + old.offset;
      for (uint32_t i = 0; i < old.capacity; ++i) {
        const uint64_t slot = old_slots[i];
        if (slot == 0) continue;
        bool removed = false;
        for (size_t j = k; j < end; ++j) {
          if (changes[order[j].second].old_node ==
              static_cast<uint32_t>(slot)) {
            removed = true;
          }
        }
        if (!removed) entries.push_back(slot);
      }
      for (size_t j = k; j < end; ++j) {
        const Change& c = changes[order[j].second];
        if (c.new_node != kMissing) {
          entries.push_back(uint64_t{Tag(c.hash)} << 32 | c.new_node);
        }
      }
      const uint32_t capacity = CapacityFor(entries.size());
      const size_t offset = slots->size();
      uint64_t* p = slots->Append(capacity, /*may_move=*/false);
      if (p == nullptr || offset + capacity > 0xFFFFFFFFu) return false;
      for (uint64_t e : entries) Put(p, capacity, e);
      table_[s] = {static_cast<uint32_t>(offset), capacity};
      ++*copied_shards;
      *copied_slots += capacity;
      *garbage_slots += old.capacity;
      k = end;
    }
    return true;
  }

 private:
  static constexpr uint64_t kMul1 = 0xa0761d6478bd642f;
  static constexpr uint64_t kMul2 = 0xe7037ed1a0b428db;
  static uint64_t Fold(uint64_t a, uint64_t b) {
    __extension__ using U128 = unsigned __int128;  // GCC and clang
    const U128 r = static_cast<U128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  }
  // Per process, from ASLR: the address of a function-local static.
  static uint64_t Seed() {
    static const uint64_t seed =
        Fold(reinterpret_cast<uintptr_t>(&seed), kMul2) | 1;
    return seed;
  }

  // The low 32 bits of the hash, never 0 (a zero slot is empty). The shard
  // comes from the top bits; the slot in the shard from the tag, so a
  // shard can be rebuilt from its slots without the names.
  static uint32_t Tag(uint64_t hash) {
    return static_cast<uint32_t>(hash) | 1;
  }
  // Home slot in a shard of `capacity` slots (any count: multiply-shift).
  static uint32_t Home(uint32_t tag, uint32_t capacity) {
    return static_cast<uint32_t>((uint64_t{tag} * capacity) >> 32);
  }
  static void Put(uint64_t* slots, uint32_t capacity, uint64_t entry) {
    uint32_t i = Home(static_cast<uint32_t>(entry >> 32), capacity);
    while (slots[i] != 0) {
      if (++i == capacity) i = 0;
    }
    slots[i] = entry;
  }

  // An empty index: two shards of one empty slot.
  static inline constexpr Shard kNoShards[2] = {{0, 1}, {0, 1}};
  static inline constexpr uint64_t kNoSlots[1] = {0};

  // Per version: the shard descriptors (the hot part, read first).
  std::vector<Shard> table_;
  const Shard* shards_ = kNoShards;
  const uint64_t* slots_ = kNoSlots;
  uint8_t shift_ = 63;
};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_NAME_INDEX_H_
