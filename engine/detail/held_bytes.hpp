// HeldBytes: a byte buffer in its own anonymous mapping, grown with mremap(2), for inputs that
// are read (pipes, devices, small files) or decoded into memory rather than mapped.
//
// Why not std::string: growing a string copies it and its growth by doubling can leave half
// of it unused, so reading a stream of n bytes peaks near 3n (old buffer, new buffer, and the
// final shrink-to-fit copy). mremap moves pages, not bytes: growth costs no copy, and the
// unused tail is given back by shrinking the mapping in place.
//
// Thread safety: none; one thread builds it, then it is read-only.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace tally::detail {

class HeldBytes {
 public:
  HeldBytes() = default;
  HeldBytes(HeldBytes&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  HeldBytes& operator=(HeldBytes&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  HeldBytes(const HeldBytes&) = delete;
  HeldBytes& operator=(const HeldBytes&) = delete;
  ~HeldBytes();

  // Makes room for at least `n` more bytes after size(), growing the capacity geometrically.
  // False (errno set, contents unchanged) when the mapping cannot grow.
  bool reserve_more(std::size_t n) noexcept;
  // The writable room after the bytes held: [tail(), tail() + room()).
  char* tail() noexcept { return data_ + size_; }
  std::size_t room() const noexcept { return capacity_ - size_; }
  // Counts `n` bytes written at tail() as held. REQUIRES: n <= room().
  void commit(std::size_t n) noexcept { size_ += n; }
  // Gives back the whole pages past size().
  void shrink_to_fit() noexcept;

  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {data_, size_}; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // bytes mapped, a multiple of the page size
};

}  // namespace tally::detail
