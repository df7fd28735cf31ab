// Arena: a bump allocator for key bytes. Keys copied from the input live here, so results
// stay valid after the input is unmapped; the arena frees everything at once.
//
// Thread safety: none; each table owns its arena and is used by one thread at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace tally::detail {

class Arena {
 public:
  // Blocks grow geometrically from kFirstBlock to kMaxBlock, so a table with a few keys
  // stays small and one with millions makes few allocations.
  static constexpr std::size_t kFirstBlock = 4096;
  static constexpr std::size_t kMaxBlock = std::size_t{1} << 20;

  Arena() = default;
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() = default;

  // Copies `s` into the arena and returns a view of the copy.
  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    if (s.size() > left_) grow(s.size());
    char* out = next_;
    std::memcpy(out, s.data(), s.size());
    next_ += s.size();
    left_ -= s.size();
    return {out, s.size()};
  }

 private:
  void grow(std::size_t at_least) {
    next_block_ = std::min(kMaxBlock, next_block_ * 2);
    const std::size_t size = std::max(at_least, next_block_);
    blocks_.push_back(std::make_unique<char[]>(size));
    next_ = blocks_.back().get();
    left_ = size;
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
  std::size_t next_block_ = kFirstBlock / 2;
};

}  // namespace tally::detail
