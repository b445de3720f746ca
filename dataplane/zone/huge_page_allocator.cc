#include "dataplane/zone/huge_page_allocator.h"

#include <cstring>

namespace popdns::zone {

void UnmapHugePages(void* p, size_t bytes) { munmap(p, bytes); }

namespace {

// `bytes` of address space at a kHugePageSize boundary (over-map, trim).
void* MapAligned(size_t bytes, int extra_flags) {
  const size_t span = bytes + kHugePageSize;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned =
      (start + kHugePageSize - 1) & ~(uintptr_t{kHugePageSize} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span;
  if (end > aligned + bytes) {
    munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  }
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

void* MapHugePages(size_t bytes) {
  void* p = MapAligned(bytes, 0);
  // Advice only: without THP (or with it off) these are ordinary pages.
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

void* ReserveAddressSpace(size_t bytes, bool huge) {
  void* p = MapAligned(bytes, MAP_NORESERVE);
  // The whole mapping gets the same advice: a mapping split in two by
  // advice on part of it could not be moved whole by GrowAddressSpace.
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

void* GrowAddressSpace(void* p, size_t old_bytes, size_t new_bytes,
                       bool huge) {
  void* dst = ReserveAddressSpace(new_bytes, huge);
  // MREMAP_FIXED replaces the fresh reservation with the old pages, and
  // the tail keeps the reservation's flags (NORESERVE, advice) because
  // mremap extends the moved mapping with the old one's.
  void* moved = mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE | MREMAP_FIXED,
                       dst);
  if (moved == MAP_FAILED) {
    // Should not happen (one mapping, one set of flags); copy instead.
    std::memcpy(dst, p, old_bytes);
    munmap(p, old_bytes);
    return dst;
  }
  if (huge) madvise(moved, new_bytes, MADV_HUGEPAGE);
  return moved;
}

}  // namespace popdns::zone
