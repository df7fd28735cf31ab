// The orders a result is read in, as comparators of (key, value) entries: key order
// (KeyLess) and word-count order (ValueDescendingLess). Each also offers a summary, an
// integer that orders most pairs of entries without comparing their keys (result_stream.hpp).
#pragma once

#include <concepts>
#include <cstdint>

#include "tally/engine/key_hash.hpp"

namespace tally {

// Key order: bytewise for strings, numeric for integers.
struct KeyLess {
  template <typename Entry>
  bool operator()(const Entry& a, const Entry& b) const {
    return key_less(a.first, b.first);
  }
  // Orders entries as operator() does where two summaries differ (result_stream.hpp).
  template <typename Entry>
  static std::uint64_t summary(const Entry& e) noexcept {
    return key_summary(e.first);
  }
};

// Word-count order: the larger value first, ties by key ascending.
struct ValueDescendingLess {
  template <typename Entry>
  bool operator()(const Entry& a, const Entry& b) const {
    if (a.second != b.second) return b.second < a.second;
    return key_less(a.first, b.first);
  }
  // Orders entries as operator() does where two summaries differ (result_stream.hpp): the
  // value, complemented so that larger comes first, above the key's summary.
  template <typename Entry>
  requires std::unsigned_integral<typename Entry::second_type>
  static detail::Uint128 summary(const Entry& e) noexcept {
    const auto inverted = ~static_cast<std::uint64_t>(e.second);
    return (static_cast<detail::Uint128>(inverted) << 64) | key_summary(e.first);
  }
};

}  // namespace tally
