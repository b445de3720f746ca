// Storage for a zone's arrays that every version of the zone built from
// one full build (a lineage) shares, so that a change of a few names
// appends a few entries instead of copying the zone (zone::ZoneHeaps in
// zone.h holds one array of each kind).
//
// Each array is a GrowOnlyArray: one block of address space reserved with
// room to spare (MAP_NORESERVE: nothing is committed until written),
// appended to and never moved once a version that reads it is published,
// and never written below the size any published version saw. A Zone (one
// version) reads an ArrayView of each: the pointer and the size at the
// time it was built, so older versions keep reading exactly what they
// were built with while newer ones append behind them. Entries that a
// newer version replaced stay as garbage until the next full build
// (compaction) makes new arrays; ZoneHeaps counts it.
//
// Threads: the control thread appends (one build at a time per lineage:
// the caller serializes); workers read views of published versions. An
// append writes only bytes past every published view, so readers never
// race with it.
#ifndef POPDNS_DATAPLANE_ZONE_GROW_ONLY_ARRAY_H_
#define POPDNS_DATAPLANE_ZONE_GROW_ONLY_ARRAY_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "dataplane/zone/huge_page_allocator.h"

namespace popdns::zone {

// What a version reads of one array: fixed when the version is built.
template <typename T>
class ArrayView {
 public:
  ArrayView() = default;
  ArrayView(const T* data, size_t size) : data_(data), size_(size) {}
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return data_[i]; }
  const T& back() const { return data_[size_ - 1]; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
};

// An append-only array of trivially copyable T. Blocks of kHugePageSize
// and more are reserved address space (huge-page advice once the array
// itself is that large); smaller ones come from the heap.
template <typename T>
class GrowOnlyArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  GrowOnlyArray() = default;
  GrowOnlyArray(const GrowOnlyArray&) = delete;
  GrowOnlyArray& operator=(const GrowOnlyArray&) = delete;
  ~GrowOnlyArray() { Free(data_, capacity_); }

  const T* data() const { return data_; }
  T* mutable_data() { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t bytes() const { return size_ * sizeof(T); }
  ArrayView<T> View() const { return {data_, size_}; }

  // Capacity for at least `n` elements. Moves the array: only before any
  // version that reads it is published.
  void Reserve(size_t n) {
    if (n <= capacity_) return;
    const size_t old_bytes = BlockBytes(capacity_);
    const size_t new_bytes = BlockBytes(n);
    const bool huge = n * sizeof(T) >= kHugePageSize;
    T* p;
    if (new_bytes >= kHugePageSize && old_bytes >= kHugePageSize) {
      p = static_cast<T*>(GrowAddressSpace(data_, old_bytes, new_bytes, huge));
    } else {
      p = static_cast<T*>(Allocate(new_bytes, huge));
      if (size_ != 0) std::memcpy(p, data_, size_ * sizeof(T));
      Free(data_, capacity_);
    }
    data_ = p;
    capacity_ = new_bytes / sizeof(T);
  }

  // Appends `n` zeroed elements and returns the first. Without
  // `may_move`, returns nullptr instead of growing when they do not fit
  // (the heap is full: the caller falls back to a full build).
  T* Append(size_t n, bool may_move) {
    if (n == 0) {  // never "full", even before the first block
      alignas(T) static char none[sizeof(T)];
      return data_ != nullptr ? data_ + size_ : reinterpret_cast<T*>(none);
    }
    if (size_ + n > capacity_) {
      if (!may_move) return nullptr;
      Reserve(std::max(size_ + n, capacity_ + capacity_ / 2 + 64));
    }
    T* p = data_ + size_;
    // Fresh reserved pages read as zero already; heap blocks do not.
    std::memset(static_cast<void*>(p), 0, n * sizeof(T));
    size_ += n;
    return p;
  }
  T* Append(const T* src, size_t n, bool may_move) {
    T* p = Append(n, may_move);
    if (p != nullptr && n != 0) std::memcpy(p, src, n * sizeof(T));
    return p;
  }

  // Room for later versions: capacity `factor` times the size, and at
  // least `min_free_bytes` free. Moves the array (see Reserve).
  void ReserveHeadroom(size_t factor, size_t min_free_bytes) {
    const size_t min_free = (min_free_bytes + sizeof(T) - 1) / sizeof(T);
    Reserve(std::max(size_ * factor, size_ + min_free));
  }

 private:
  // Heap blocks are exact; reserved blocks whole huge pages.
  static size_t BlockBytes(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageSize) return bytes;
    return RoundUpToHugePages(bytes);
  }
  static void* Allocate(size_t bytes, bool huge) {
    if (bytes >= kHugePageSize) return ReserveAddressSpace(bytes, huge);
    return ::operator new(bytes, std::align_val_t{64});
  }
  static void Free(T* p, size_t capacity) {
    if (p == nullptr) return;
    const size_t bytes = BlockBytes(capacity);
    if (bytes >= kHugePageSize) {
      UnmapHugePages(p, bytes);
    } else {
      ::operator delete(p, std::align_val_t{64});
    }
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_GROW_ONLY_ARRAY_H_
