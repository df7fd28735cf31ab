// Arena: a bump allocator for key bytes. Keys copied from the input live here, so results
// stay valid after the input is unmapped; the arena frees everything at once. Every key it
// holds is padded (key_hash.hpp): each block has kKeyPadding bytes beyond what it hands out,
// and the empty key points at zeros.
//
// Thread safety: none; each table owns its arena and is used by one thread at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/key_hash.hpp"

namespace tally::detail {

class Arena {
 public:
  // Blocks grow geometrically from kFirstBlock to kMaxBlock, so a table with a few keys
  // stays small and one with millions makes few allocations.
  static constexpr std::size_t kFirstBlock = 4096;
  static constexpr std::size_t kMaxBlock = std::size_t{1} << 20;

  // Blocks are charged to `budget` (if any) before they are allocated.
  explicit Arena(MemoryBudget* budget = nullptr) noexcept : charge_(budget) {}
  // A moved-from arena is empty, and safe to copy into again.
  Arena(Arena&& other) noexcept
      : blocks_(std::move(other.blocks_)),
        next_(std::exchange(other.next_, nullptr)),
        left_(std::exchange(other.left_, 0)),
        next_block_(std::exchange(other.next_block_, kFirstBlock / 2)),
        bytes_(std::exchange(other.bytes_, 0)),
        charge_(std::move(other.charge_)) {}
  Arena& operator=(Arena&& other) noexcept {
    if (this != &other) {
      blocks_ = std::move(other.blocks_);
      other.blocks_.clear();
      next_ = std::exchange(other.next_, nullptr);
      left_ = std::exchange(other.left_, 0);
      next_block_ = std::exchange(other.next_block_, kFirstBlock / 2);
      bytes_ = std::exchange(other.bytes_, 0);
      charge_ = std::move(other.charge_);
    }
    return *this;
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() = default;

  // Copies `s` into the arena and returns a view of the copy.
  std::string_view copy(std::string_view s) {
    // Empty on purpose, and pointing at kEmptyKey's padding, which word loads may read.
    if (s.empty()) return {kEmptyKey, 0};  // NOLINT(bugprone-string-constructor)
    if (s.size() > left_) grow(s.size());
    char* out = next_;
    std::memcpy(out, s.data(), s.size());
    next_ += s.size();
    left_ -= s.size();
    return {out, s.size()};
  }

  // Bytes of the blocks allocated so far.
  std::size_t bytes() const noexcept { return bytes_; }

  // Stops charging the budget: for keys handed to a result that outlives the run.
  void detach_budget() noexcept { charge_.detach(); }

 private:
  void grow(std::size_t at_least) {
    const std::size_t block = std::min(kMaxBlock, next_block_ * 2);
    // The padding comes out of the block, so that blocks keep the sizes the allocator serves
    // exactly (all but those made for one key larger than a block).
    const std::size_t size = std::max(at_least + kKeyPadding, block);
    blocks_.reserve(blocks_.size() + 1);  // so that push_back cannot throw after the charge
    charge_.add(size, "the key storage");
    try {
      blocks_.push_back(std::make_unique<char[]>(size));  // zeroed, padding included
    } catch (...) {
      charge_.remove(size);
      throw;
    }
    next_block_ = block;
    bytes_ += size;
    next_ = blocks_.back().get();
    left_ = size - kKeyPadding;
  }

  static constexpr char kEmptyKey[kKeyPadding] = {};

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
  std::size_t next_block_ = kFirstBlock / 2;
  std::size_t bytes_ = 0;
  BudgetCharge charge_;
};

}  // namespace tally::detail
