#include "dataplane/zone/huge_page_allocator.h"

namespace popdns::zone {

void* MapHugePages(size_t bytes) {
  // Over-map by one huge page and trim, so that the block starts on a
  // huge-page boundary (mmap only promises 4 KiB alignment).
  const size_t span = bytes + kHugePageSize;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned =
      (start + kHugePageSize - 1) & ~(uintptr_t{kHugePageSize} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span;
  if (end > aligned + bytes) {
    munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  }
  void* p = reinterpret_cast<void*>(aligned);
  // Advice only: without THP (or with it off) these are ordinary pages.
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

void UnmapHugePages(void* p, size_t bytes) { munmap(p, bytes); }

}  // namespace popdns::zone
