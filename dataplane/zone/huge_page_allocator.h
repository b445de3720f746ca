// An allocator for the large arrays of a zone snapshot (index, nodes, RRsets,
// answer bytes): blocks of 2 MiB and more are mapped 2 MiB-aligned and
// advised for transparent huge pages, so that random lookups in a zone of
// a million names do not pay a page walk (a TLB miss) on top of each cache
// miss. Debian's default THP mode is "madvise": without the advice the
// kernel never backs them with huge pages. Smaller blocks come from the
// heap.
//
// Control thread allocates (zone loading); workers only read.
#ifndef POPDNS_DATAPLANE_ZONE_HUGE_PAGE_ALLOCATOR_H_
#define POPDNS_DATAPLANE_ZONE_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace popdns::zone {

inline constexpr size_t kHugePageSize = size_t{2} << 20;

// `bytes` rounded up to whole huge pages.
inline constexpr size_t RoundUpToHugePages(size_t bytes) {
  return (bytes + kHugePageSize - 1) & ~(kHugePageSize - 1);
}

// Maps `bytes` (a multiple of kHugePageSize) aligned to kHugePageSize.
void* MapHugePages(size_t bytes);
void UnmapHugePages(void* p, size_t bytes);

// Address space for a grow-only array (zone_heaps.h): `bytes` (a multiple
// of kHugePageSize) mapped kHugePageSize-aligned with MAP_NORESERVE, so
// that nothing is committed, counted against overcommit or resident until
// it is written. `huge`: advised for transparent huge pages.
// Throws std::bad_alloc when the address space cannot be had.
void* ReserveAddressSpace(size_t bytes, bool huge);
// Moves the pages of [p, p + old_bytes) to a new reservation of
// `new_bytes` (larger) and returns it: the kernel moves page tables, no
// byte is copied. Nothing may hold a pointer into the old range.
void* GrowAddressSpace(void* p, size_t old_bytes, size_t new_bytes,
                       bool huge);

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageSize) return static_cast<T*>(::operator new(bytes));
    return static_cast<T*>(MapHugePages(RoundUpToHugePages(bytes)));
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageSize) {
      ::operator delete(p);
    } else {
      UnmapHugePages(p, RoundUpToHugePages(bytes));
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using HugePageVector = std::vector<T, HugePageAllocator<T>>;
using HugePageString =
    std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>>;

}  // namespace popdns::zone

#endif  // POPDNS_DATAPLANE_ZONE_HUGE_PAGE_ALLOCATOR_H_
