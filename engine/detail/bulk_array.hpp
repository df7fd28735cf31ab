// BulkArray<T>: a fixed-size, value-initialized array for the engine's large working arrays
// (a FlatTable's slots, a worker's grouped table entries in exchange/local.hpp). A small array
// comes from operator new; an array of kOwnMappingFrom bytes or more gets its own anonymous
// mapping, rounded up to and aligned on 2 MiB, with transparent huge pages asked for (madvise
// MADV_HUGEPAGE).
//
// Why: a table grows by doubling, and each new slot array is fresh memory that the kernel
// faults in one 4 KiB page at a time. For a table of a few MiB those faults cost more than
// moving the entries, most of all in a virtual machine; a huge page is one fault per 2 MiB,
// and one TLB entry for probes that land anywhere in it (bench/jobs/wordcount_bench.cpp, the
// process rows). Where the kernel gives no huge page (THP off, none free), the mapping is
// ordinary pages and behaves as the allocator's memory would. A mapping of its own also goes
// back to the system when the array is freed, rather than staying with the allocator.
//
// The price: an array just over the threshold holds up to twice its size; footprint() is what
// it holds, and what its owner charges to a memory budget.
//
// Thread safety: none; an array belongs to one owner.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <utility>

namespace tally::detail {

// The anonymous mapping behind a large BulkArray.
struct HugeMapping {
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  // `bytes` rounded up to whole huge pages.
  static std::size_t rounded(std::size_t bytes) noexcept {
    return (bytes + kHugePage - 1) / kHugePage * kHugePage;
  }
  // Maps rounded(bytes) zeroed bytes on a kHugePage boundary, with huge pages asked for.
  // Throws std::bad_alloc when the mapping fails.
  static void* map(std::size_t bytes);
  // REQUIRES: p and bytes as returned by and passed to map().
  static void unmap(void* p, std::size_t bytes) noexcept;
};

template <typename T>
class BulkArray {
 public:
  // Arrays from this size up get a mapping of their own: half a huge page, so at most half of
  // the rounded mapping is unused.
  static constexpr std::size_t kOwnMappingFrom = HugeMapping::kHugePage / 2;

  // The bytes an array of n elements holds.
  static std::size_t footprint(std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    return bytes >= kOwnMappingFrom ? HugeMapping::rounded(bytes) : bytes;
  }

  BulkArray() = default;
  // n value-initialized elements. Throws std::bad_alloc when the memory cannot be had.
  explicit BulkArray(std::size_t n) : size_(n) {
    if (n == 0) return;
    if (n > std::numeric_limits<std::size_t>::max() / 2 / sizeof(T)) throw std::bad_alloc();
    data_ = owns_mapping()
                ? static_cast<T*>(HugeMapping::map(n * sizeof(T)))
                : static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{alignof(T)}));
    try {
      std::uninitialized_value_construct_n(data_, n);
    } catch (...) {
      free_memory();  // the elements built before the throw were destroyed by the call
      throw;
    }
  }
  BulkArray(BulkArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  BulkArray& operator=(BulkArray&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  BulkArray(const BulkArray&) = delete;
  BulkArray& operator=(const BulkArray&) = delete;
  ~BulkArray() { release(); }

  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* data() noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  // Frees the elements now; the array is then empty.
  void reset() noexcept {
    release();
    data_ = nullptr;
    size_ = 0;
  }

 private:
  bool owns_mapping() const noexcept { return size_ * sizeof(T) >= kOwnMappingFrom; }

  void release() noexcept {
    if (data_ == nullptr) return;
    std::destroy_n(data_, size_);
    free_memory();
  }

  void free_memory() noexcept {
    if (owns_mapping()) {
      HugeMapping::unmap(data_, size_ * sizeof(T));
    } else {
      ::operator delete (data_, std::align_val_t{alignof(T)});
    }
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tally::detail
