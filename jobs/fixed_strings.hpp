// FixedStrings: finds the leftmost occurrence of any of a set of byte strings in a buffer, the
// search behind `grep -F` (jobs/grep.hpp).
//
//   tally::jobs::FixedStrings set({"error", "warning"});
//   std::size_t at = set.find(text);  // first byte of the leftmost occurrence, or npos
//
// Bytes are compared as they are (no case folding, no locale): LC_ALL=C grep's rule. The
// constructor picks an algorithm by the set's shape (strategy() names it):
//  - kNone      no strings: nothing ever occurs.
//  - kEmpty     an empty string is in the set: it occurs at every offset, so find() returns 0.
//  - kByte      one string of one byte: memchr.
//  - kPair      one string of two bytes or more: 16 candidate offsets at a time are filtered
//               by two of its bytes (the two rarest in English text, from a fixed frequency
//               ranking) with SSE2 compares, and only the offsets where both agree are
//               compared in full.
//  - kTeddy     2 to kMaxTeddyStrings strings (x86-64 with SSSE3, checked at run time): the
//               strings go into 8 buckets, and shuffle-table lookups of the low and high
//               nibbles of their first (up to) three bytes find, for 16 offsets at a time, the
//               buckets whose strings may start there (Hyperscan's Teddy); candidates are
//               compared in full with the strings of those buckets.
//  - kHash      any other set: at each offset, a hash of the next (up to) four bytes is looked
//               up in a bitmap of the strings' prefixes, and only hits are compared in full
//               with the strings sharing that hash.
// Every strategy returns the same offsets (tests/jobs/fixed_strings_test.cpp checks each
// against a naive search).
//
// Thread safety: find() is const and allocates nothing; any number of threads may call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tally::jobs {

class FixedStrings {
 public:
  enum class Strategy { kAuto, kNone, kEmpty, kByte, kPair, kTeddy, kHash };
  static constexpr std::size_t kMaxTeddyStrings = 64;

  // `strategy` forces an algorithm (for tests and benchmarks); kAuto picks as above. A forced
  // strategy that does not fit the set (kPair for two strings, kTeddy without SSSE3) falls
  // back to kHash; kNone and kEmpty are never forced, only recognised.
  explicit FixedStrings(std::vector<std::string> strings, Strategy strategy = Strategy::kAuto);

  // The offset of the first byte of the leftmost occurrence in `text` of any of the strings,
  // or std::string_view::npos. O(text.size()) on average; worst case (every offset a
  // candidate) O(text.size() x total length of the strings).
  std::size_t find(std::string_view text) const noexcept;

  Strategy strategy() const noexcept { return strategy_; }
  const std::vector<std::string>& strings() const noexcept { return strings_; }

 private:
  std::size_t find_pair(std::string_view text) const noexcept;
  std::size_t find_teddy(std::string_view text) const noexcept;
  std::size_t find_hash(std::string_view text) const noexcept;
  // Whether strings_[i] occurs at text[at].
  bool occurs_at(std::string_view text, std::size_t at, std::size_t i) const noexcept;

  std::vector<std::string> strings_;
  Strategy strategy_ = Strategy::kNone;
  std::size_t min_length_ = 0;

  // kPair: the offsets within the string of its two rarest bytes, rare1_ < rare2_.
  std::size_t rare1_ = 0;
  std::size_t rare2_ = 0;

  // kTeddy: for each of the first teddy_bytes_ bytes of a string, the buckets (bit b: bucket
  // b) whose strings have a byte there with that low nibble (lo) and that high nibble (hi).
  std::size_t teddy_bytes_ = 0;
  alignas(16) std::uint8_t teddy_lo_[3][16] = {};
  alignas(16) std::uint8_t teddy_hi_[3][16] = {};
  std::vector<std::uint32_t> bucket_strings_[8];  // indices into strings_

  // kHash: hash_bytes_ bytes (the shortest string's length, at most 4) are hashed at each
  // offset. hash_bitmap_ has bit h set when some string's prefix hashes to h; the strings
  // whose prefix hashes to h are hash_strings_[hash_first_[h] .. hash_first_[h + 1]).
  std::size_t hash_bytes_ = 0;
  std::vector<std::uint64_t> hash_bitmap_;
  std::vector<std::uint32_t> hash_first_;
  std::vector<std::uint32_t> hash_strings_;
};

}  // namespace tally::jobs
