// RunBlock<T>: a fixed-capacity array in its own anonymous memory mapping, given back to the
// operating system when the block is destroyed.
//
// For the map output runs (exchange/local.hpp): they are written once, read once by the sort
// of their partition, and freed partition by partition while the sorted arrays that replace
// them are allocated. A general-purpose allocator keeps freed blocks for later requests of
// their own size class, so through the sort the process would hold both the runs and their
// sorted copies; a block of its own mapping leaves the process's resident memory at once.
//
// Thread safety: none; a block belongs to one worker's run, then to one sort.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <utility>

namespace tally::detail {

template <typename T>
class RunBlock {
 public:
  static constexpr std::size_t kCapacity = 4096;  // elements, unless told otherwise

  explicit RunBlock(std::size_t capacity = kCapacity) : capacity_(capacity) {
    void* p = ::mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
  }
  RunBlock(RunBlock&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(other.capacity_) {}
  RunBlock& operator=(RunBlock&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = other.capacity_;
    }
    return *this;
  }
  RunBlock(const RunBlock&) = delete;
  RunBlock& operator=(const RunBlock&) = delete;
  ~RunBlock() { release(); }

  bool full() const noexcept { return size_ == capacity_; }
  // The bytes the block maps.
  std::size_t bytes() const noexcept { return capacity_ * sizeof(T); }
  std::size_t size() const noexcept { return size_; }
  std::span<T> elements() noexcept { return {data_, size_}; }

  // REQUIRES: !full().
  template <typename... Args>
  void emplace_back(Args&&... args) {
    std::construct_at(data_ + size_, std::forward<Args>(args)...);
    ++size_;
  }

 private:
  void release() noexcept {
    if (data_ == nullptr) return;
    std::destroy_n(data_, size_);
    ::munmap(data_, bytes());
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_;
};

}  // namespace tally::detail
