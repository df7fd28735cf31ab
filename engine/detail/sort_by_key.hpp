// sort_by_key: sorts (key, value) pairs by key, bytewise for strings, numerically for
// integers. The reduce stage sorts every partition of the result with it, so it is built
// for millions of string keys that live in arenas, far from the pairs that point to them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/key_hash.hpp"

namespace tally::detail {

// String keys are sorted by an 8-byte prefix copied next to each pair's position, so
// nearly every comparison is one integer compare within a contiguous array instead of two
// pointer chases into the key storage; only equal prefixes compare the keys themselves.
// Complexity: O(n log n) comparisons, O(n) extra space (the prefixes and a permuted copy).
template <typename Key, typename T>
void sort_by_key(std::vector<std::pair<Key, T>>& pairs) {
  if constexpr (std::is_same_v<Key, std::string_view>) {
    struct Item {
      std::uint64_t prefix;
      std::size_t index;
    };
    const std::size_t n = pairs.size();
    // First a counting sort on the prefix's top kRadixBits bits, then each bucket alone:
    // the comparison sort then works within a cache-sized slice instead of over the whole
    // array.
    constexpr int kRadixBits = 11;
    constexpr std::size_t kBuckets = std::size_t{1} << kRadixBits;
    const auto bucket_of = [](std::uint64_t prefix) {
      return static_cast<std::size_t>(prefix >> (64 - kRadixBits));
    };
    std::vector<std::uint64_t> prefixes(n);
    std::vector<std::size_t> starts(kBuckets + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      prefixes[i] = key_prefix(pairs[i].first);
      ++starts[bucket_of(prefixes[i]) + 1];
    }
    for (std::size_t b = 0; b < kBuckets; ++b) starts[b + 1] += starts[b];
    std::vector<Item> items(n);
    {
      std::vector<std::size_t> next(starts.begin(), starts.end() - 1);
      for (std::size_t i = 0; i < n; ++i) items[next[bucket_of(prefixes[i])]++] = {prefixes[i], i};
    }
    std::vector<std::uint64_t>().swap(prefixes);
    const auto before = [&pairs](const Item& a, const Item& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      return pairs[a.index].first < pairs[b.index].first;
    };
    for (std::size_t b = 0; b < kBuckets; ++b) {
      const auto first = items.begin() + static_cast<std::ptrdiff_t>(starts[b]);
      const auto last = items.begin() + static_cast<std::ptrdiff_t>(starts[b + 1]);
      if (last - first > 1) std::sort(first, last, before);
    }
    std::vector<std::pair<Key, T>> sorted;
    sorted.reserve(n);
    for (const Item& item : items) sorted.push_back(std::move(pairs[item.index]));
    pairs = std::move(sorted);
  } else {
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
}

}  // namespace tally::detail
