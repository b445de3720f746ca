// A sorted sequence of (key, node) entries that the versions of a zone
// share: the NSEC chain in canonical name order (RFC 4034 6.1) and the
// NSEC3 owners' hashes (RFC 5155), for denial-of-existence proofs.
//
// Why chunks: a sorted vector must be copied and sorted again for every
// version, O(names with NSEC) per IXFR: 0.2-0.7 s for a change of one
// record in a signed 1M-name zone. Here the entries live in immutable
// chunks of about kChunk, held by shared_ptr; a new version copies the
// table of chunks (one slot per chunk: ~40 KiB per million entries) and
// rebuilds only the chunks its edits touch. A lookup costs one binary
// search over the slots' first keys (kept in the slot: no chunk is read
// until the right one is found) and one within a chunk. Chunks that
// removals shrink are not merged with their neighbours: a full build
// (compaction) cuts the chain into even chunks again.
//
// Threads: built and edited by the control thread before the version is
// published; then only read, by any thread.
#ifndef POPDNS_DATAPLANE_ZONE_SORTED_CHUNKS_H_
#define POPDNS_DATAPLANE_ZONE_SORTED_CHUNKS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace popdns::zone {

template <typename Key>
class SortedChunks {
 public:
  static constexpr uint32_t kRemove = 0xFFFFFFFF;
  static constexpr size_t kChunk = 128;          // entries per new chunk
  static constexpr size_t kMaxChunk = 2 * kChunk;  // then it is split

  struct Entry {
    Key key;
    uint32_t node = 0;
  };
  // What lookups compare keys with: string keys as views (into the
  // immutable chunk, so a slot's first key costs no allocation), other
  // keys (NSEC3 digests) by value.
  using KeyRef = std::conditional_t<std::is_same_v<Key, std::string>,
                                    std::string_view, Key>;

  SortedChunks() = default;

  // From entries sorted by key, each key once.
  static SortedChunks FromSorted(std::vector<Entry> sorted) {
    SortedChunks s;
    s.AppendChunks(std::move(sorted));
    return s;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t chunk_count() const { return slots_.size(); }

  // The entry of `key`, or nullptr.
  const Entry* Find(KeyRef key) const {
    const Chunk* c = ChunkAtOrBefore(key, /*strict=*/false);
    if (c == nullptr) return nullptr;
    auto it = LowerBound(*c, key);
    return it != c->end() && KeyRef(it->key) == key ? &*it : nullptr;
  }
  // The entry with the greatest key <= `key` (`strict`: < `key`); the
  // last entry when there is none (the chains wrap). Not on empty().
  const Entry& Covering(KeyRef key, bool strict) const {
    const Chunk* c = ChunkAtOrBefore(key, strict);
    if (c == nullptr) return slots_.back().chunk->back();
    auto it = strict ? LowerBound(*c, key) : UpperBound(*c, key);
    return *std::prev(it);  // the chunk's first key passed the test
  }

  // `edits` sorted by key, each key once, as FromSorted and WithEdits
  // want them: of two edits of one key, one that is not a removal wins (a
  // name's old entry removed and its new one written).
  static void SortEdits(std::vector<Entry>& edits) {
    std::stable_sort(edits.begin(), edits.end(),
                     [](const Entry& a, const Entry& b) {
                       return KeyRef(a.key) < KeyRef(b.key);
                     });
    size_t out = 0;
    for (size_t i = 0; i < edits.size(); ++i) {
      if (out > 0 && KeyRef(edits[out - 1].key) == KeyRef(edits[i].key)) {
        if (edits[i].node != kRemove) edits[out - 1] = std::move(edits[i]);
        continue;
      }
      if (out != i) edits[out] = std::move(edits[i]);
      ++out;
    }
    edits.resize(out);
  }

  // A new version: shares every chunk that `edits` do not touch. Each
  // edit inserts its key or replaces its node, or removes the key when
  // node is kRemove (a missing key is ignored). `edits` sorted by key,
  // each key once.
  SortedChunks WithEdits(const std::vector<Entry>& edits) const {
    if (edits.empty()) return *this;
    SortedChunks out;
    out.slots_.reserve(slots_.size() + edits.size() / kChunk + 1);
    size_t e = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      // Edits before the next chunk's first key belong to this one (and
      // those before the first chunk too).
      size_t end = e;
      while (end < edits.size() &&
             (i + 1 == slots_.size() ||
              KeyRef(edits[end].key) < slots_[i + 1].first)) {
        ++end;
      }
      if (end == e) {
        out.slots_.push_back(slots_[i]);
        out.size_ += slots_[i].chunk->size();
        continue;
      }
      out.AppendChunks(Merge(*slots_[i].chunk, edits, e, end));
      e = end;
    }
    if (slots_.empty()) out.AppendChunks(Merge(Chunk(), edits, 0, edits.size()));
    return out;
  }

  // Every entry in order (tests, compaction).
  template <typename F>
  void ForEach(F f) const {
    for (const Slot& s : slots_) {
      for (const Entry& e : *s.chunk) f(e);
    }
  }

 private:
  using Chunk = std::vector<Entry>;
  struct Slot {
    KeyRef first;  // == chunk->front().key
    std::shared_ptr<const Chunk> chunk;
  };

  static typename Chunk::const_iterator LowerBound(const Chunk& c, KeyRef k) {
    return std::lower_bound(c.begin(), c.end(), k,
                            [](const Entry& e, KeyRef v) { return KeyRef(e.key) < v; });
  }
  static typename Chunk::const_iterator UpperBound(const Chunk& c, KeyRef k) {
    return std::upper_bound(c.begin(), c.end(), k,
                            [](KeyRef v, const Entry& e) { return v < KeyRef(e.key); });
  }

  // The last chunk whose first key is <= `key` (`strict`: <), or nullptr.
  const Chunk* ChunkAtOrBefore(KeyRef key, bool strict) const {
    auto it = strict ? std::lower_bound(slots_.begin(), slots_.end(), key,
                                        [](const Slot& s, KeyRef v) {
                                          return s.first < v;
                                        })
                     : std::upper_bound(slots_.begin(), slots_.end(), key,
                                        [](KeyRef v, const Slot& s) {
                                          return v < s.first;
                                        });
    return it == slots_.begin() ? nullptr : std::prev(it)->chunk.get();
  }

  // `chunk` with edits[begin, end) applied.
  static std::vector<Entry> Merge(const Chunk& chunk,
                                  const std::vector<Entry>& edits,
                                  size_t begin, size_t end) {
    std::vector<Entry> out;
    out.reserve(chunk.size() + (end - begin));
    auto a = chunk.begin();
    for (size_t e = begin; e < end; ++e) {
      const Entry& edit = edits[e];
      while (a != chunk.end() && KeyRef(a->key) < KeyRef(edit.key)) {
        out.push_back(*a++);
      }
      if (a != chunk.end() && KeyRef(a->key) == KeyRef(edit.key)) ++a;
      if (edit.node != kRemove) out.push_back(edit);
    }
    out.insert(out.end(), a, chunk.end());
    return out;
  }

  // New chunks of about kChunk from sorted `entries` (one chunk when they
  // fit in kMaxChunk), appended.
  void AppendChunks(std::vector<Entry> entries) {
    if (entries.empty()) return;
    size_ += entries.size();
    if (entries.size() <= kMaxChunk) {
      auto c = std::make_shared<const Chunk>(std::move(entries));
      slots_.push_back({KeyRef(c->front().key), std::move(c)});
      return;
    }
    const size_t pieces = (entries.size() + kChunk - 1) / kChunk;
    for (size_t p = 0; p < pieces; ++p) {
      const size_t from = entries.size() * p / pieces;
      const size_t to = entries.size() * (p + 1) / pieces;
      auto c = std::make_shared<const Chunk>(
          std::make_move_iterator(entries.begin() + from),
          std::make_move_iterator(entries.begin() + to));
      slots_.push_back({KeyRef(c->front().key), std::move(c)});
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_SORTED_CHUNKS_H_
