// The name -> node index of a zone: open addressing with linear probing over
// 8-byte slots {32-bit hash tag, 32-bit node index}, at most half full.
//
// Why not absl::flat_hash_map<string_view, uint32_t>: its 24-byte slots make
// a 1M-name index three times larger, and a lookup has to dereference the
// stored name before it knows which node it found. Here the slot names the
// node, so a burst of lookups can prefetch slot, node, name and answer one
// stage at a time for all queries (dns::AnswerBurst), and the table of a
// 1M-name zone is 16 MiB.
//
// Built once by the control thread; then read-only, by any thread.
#ifndef POPDNS_DATAPLANE_ZONE_NAME_INDEX_H_
#define POPDNS_DATAPLANE_ZONE_NAME_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

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

  // Empties the table and sizes it for `count` names.
  void Reset(size_t count) {
    size_t capacity = 16;
    while (capacity < 2 * count) capacity *= 2;
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
  }

  // Adds `node`, whose name hashes to `hash`. Names must be unique.
  void Insert(uint64_t hash, uint32_t node) {
    size_t i = hash & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = uint64_t{Tag(hash)} << 32 | node;
  }

  // The node whose name hashes to `hash` and for which `is_name(node)` is
  // true, or kMissing.
  template <typename IsName>
  uint32_t Find(uint64_t hash, IsName is_name) const {
    if (slots_.empty()) return kMissing;
    const uint32_t tag = Tag(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return kMissing;
      const uint32_t node = static_cast<uint32_t>(slot);
      if (static_cast<uint32_t>(slot >> 32) == tag && is_name(node)) {
        return node;
      }
    }
  }

  // For prefetching: where Find(hash) starts, and the node it will most
  // likely return (the first slot's, if its tag matches; else kMissing).
  const uint64_t* FirstSlot(uint64_t hash) const {
    return slots_.data() + (hash & mask_);
  }
  uint32_t LikelyNode(uint64_t hash) const {
    if (slots_.empty()) return kMissing;
    const uint64_t slot = *FirstSlot(hash);
    return static_cast<uint32_t>(slot >> 32) == Tag(hash)
               ? static_cast<uint32_t>(slot)
               : kMissing;
  }

  size_t bytes() const { return slots_.size() * sizeof(uint64_t); }

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

  // Never 0: a zero slot is empty.
  static uint32_t Tag(uint64_t hash) {
    return static_cast<uint32_t>(hash >> 32) | 1;
  }

  HugePageVector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_NAME_INDEX_H_
