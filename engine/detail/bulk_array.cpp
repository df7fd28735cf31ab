#include "tally/engine/detail/bulk_array.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace tally::detail {

void* HugeMapping::map(std::size_t bytes) {
  const std::size_t size = rounded(bytes);
  // Over-map by one huge page and trim both ends: mmap promises only 4 KiB alignment, and
  // the kernel backs with a huge page only a 2 MiB range that is aligned and wholly mapped.
  const std::size_t over = size + kHugePage;
  void* raw = ::mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
  const std::size_t head = aligned - start;
  if (head != 0) ::munmap(raw, head);
  const std::size_t tail = over - head - size;
  if (tail != 0) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  auto* p = reinterpret_cast<void*>(aligned);
  // Advice only: where THP is off or absent this fails (EINVAL) and the mapping stays on
  // ordinary pages, which is still correct.
  (void)::madvise(p, size, MADV_HUGEPAGE);
  return p;
}

void HugeMapping::unmap(void* p, std::size_t bytes) noexcept { ::munmap(p, rounded(bytes)); }

}  // namespace tally::detail
