#include "tally/engine/detail/held_bytes.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

namespace tally::detail {
namespace {

// The first mapping: large enough that small reads do not remap over and over.
constexpr std::size_t kFirstCapacity = std::size_t{1} << 20;

std::size_t page_size() noexcept {
  const long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<std::size_t>(page) : std::size_t{4096};
}

std::size_t round_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }

}  // namespace

HeldBytes::~HeldBytes() {
  if (data_ != nullptr) ::munmap(data_, capacity_);
}

bool HeldBytes::reserve_more(std::size_t n) noexcept {
  if (capacity_ - size_ >= n) return true;
  if (n > std::numeric_limits<std::size_t>::max() / 4 - size_) {
    errno = ENOMEM;
    return false;
  }
  const std::size_t wanted =
      round_up(std::max({size_ + n, capacity_ * 2, kFirstCapacity}), page_size());
  void* p = data_ == nullptr ? ::mmap(nullptr, wanted, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                             : ::mremap(data_, capacity_, wanted, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return false;
  data_ = static_cast<char*>(p);
  capacity_ = wanted;
  return true;
}

void HeldBytes::shrink_to_fit() noexcept {
  if (data_ == nullptr) return;
  const std::size_t keep = round_up(size_, page_size());
  if (keep == capacity_) return;
  if (keep == 0) {
    ::munmap(data_, capacity_);
    data_ = nullptr;
    capacity_ = 0;
    return;
  }
  // Shrinking in place never moves the mapping and cannot fail for lack of memory.
  if (::mremap(data_, capacity_, keep, 0) != MAP_FAILED) capacity_ = keep;
}

}  // namespace tally::detail
