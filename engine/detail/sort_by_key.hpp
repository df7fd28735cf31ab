// sort_and_combine_by_key, sort_by_key: sort (key, value) pairs by key, bytewise for strings,
// numerically for integers. The exchange sorts every partition of the map output with them,
// so they are built for millions of string keys that live in arenas, far from the pairs that
// point to them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/key_hash.hpp"

namespace tally::detail {

// How far ahead the loops below prefetch the key (or pair) they will read: the keys lie in
// arenas in the order they were first seen, so each read would otherwise be a cache miss
// that the loop waits for.
inline constexpr std::size_t kPrefetchAhead = 16;

// Working memory of the string-key sort, kept between calls by a caller that sorts many
// arrays (one per partition) so that each sort reuses pages instead of faulting in fresh
// ones. Thread safety: one sort at a time.
template <typename Pair>
struct SortScratch {
  struct Item {
    std::uint64_t prefix;
    Pair* pair;
  };
  std::vector<std::uint64_t> prefixes;
  std::vector<Item> items;
};

// Sorts the pairs of `pieces` (taken together) by key into one array, merging pairs with
// equal keys: combine(into, from) folds `from`'s value into `into`'s. The pairs are moved out
// of the pieces. String keys are sorted by an 8-byte prefix copied next to each pair's
// address, so nearly every comparison is one integer compare within a contiguous array
// instead of two pointer chases into the key storage; only equal prefixes compare the keys
// themselves. A counting pass on the prefix's top bits first cuts the array into small
// buckets. Complexity: O(n log n) comparisons, O(n) extra space.
template <typename Key, typename T, typename Combine>
std::vector<std::pair<Key, T>> sort_and_combine_by_key(
    std::span<const std::span<std::pair<Key, T>>> pieces, SortScratch<std::pair<Key, T>>& scratch,
    Combine&& combine) {
  using Pair = std::pair<Key, T>;
  std::size_t n = 0;
  for (const auto& piece : pieces) n += piece.size();
  std::vector<Pair> sorted;
  sorted.reserve(n);
  if constexpr (std::is_same_v<Key, std::string_view>) {
    // About 16 pairs per bucket on evenly spread keys, so that the comparison sort mostly
    // finishes small slices, with at most 2^16 buckets (a counts array that stays in L2).
    int radix_bits = 1;
    while (radix_bits < 16 && (std::size_t{16} << radix_bits) < n) ++radix_bits;
    const std::size_t buckets = std::size_t{1} << radix_bits;
    const auto bucket_of = [radix_bits](std::uint64_t prefix) {
      return static_cast<std::size_t>(prefix >> (64 - radix_bits));
    };
    auto& prefixes = scratch.prefixes;
    auto& items = scratch.items;
    prefixes.resize(n);
    items.resize(n);
    std::vector<std::size_t> starts(buckets + 1, 0);
    std::size_t i = 0;
    for (const auto& piece : pieces) {
      for (std::size_t j = 0; j < piece.size(); ++j, ++i) {
        if (j + kPrefetchAhead < piece.size()) {
          __builtin_prefetch(piece[j + kPrefetchAhead].first.data());
        }
        prefixes[i] = key_prefix(piece[j].first);
        ++starts[bucket_of(prefixes[i]) + 1];
      }
    }
    for (std::size_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
    {
      std::vector<std::size_t> next(starts.begin(), starts.end() - 1);
      i = 0;
      for (const auto& piece : pieces) {
        for (Pair& p : piece) {
          items[next[bucket_of(prefixes[i])]++] = {prefixes[i], &p};
          ++i;
        }
      }
    }
    using Item = typename SortScratch<Pair>::Item;
    const auto before = [](const Item& a, const Item& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      return a.pair->first < b.pair->first;
    };
    for (std::size_t b = 0; b < buckets; ++b) {
      const auto first = items.begin() + static_cast<std::ptrdiff_t>(starts[b]);
      const auto last = items.begin() + static_cast<std::ptrdiff_t>(starts[b + 1]);
      if (last - first > 1) std::sort(first, last, before);
    }
    for (i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) __builtin_prefetch(items[i + kPrefetchAhead].pair);
      Pair& p = *items[i].pair;
      // Equal keys are neighbours with equal prefixes: only those compare key bytes.
      if (i > 0 && items[i].prefix == items[i - 1].prefix &&
          keys_equal(p.first, sorted.back().first)) {
        combine(sorted.back().second, std::move(p.second));
      } else {
        sorted.push_back(std::move(p));
      }
    }
  } else {
    for (const auto& piece : pieces) {
      for (Pair& p : piece) sorted.push_back(std::move(p));
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const Pair& a, const Pair& b) { return a.first < b.first; });
    std::size_t last = 0;
    for (std::size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i].first == sorted[last].first) {
        combine(sorted[last].second, std::move(sorted[i].second));
      } else if (++last != i) {
        sorted[last] = std::move(sorted[i]);
      }
    }
    if (!sorted.empty()) {
      sorted.erase(sorted.begin() + static_cast<std::ptrdiff_t>(last + 1), sorted.end());
    }
  }
  return sorted;
}

// Sorts pairs by key. REQUIRES: no key twice (equal keys would be merged into one pair).
template <typename Key, typename T>
void sort_by_key(std::vector<std::pair<Key, T>>& pairs) {
  SortScratch<std::pair<Key, T>> scratch;
  const std::span<std::pair<Key, T>> whole(pairs);
  pairs = sort_and_combine_by_key(std::span<const std::span<std::pair<Key, T>>>(&whole, 1), scratch,
                                  [](T&, T&&) {});
}

}  // namespace tally::detail
