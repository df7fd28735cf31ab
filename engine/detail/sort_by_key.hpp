// sort_and_combine_by_key, sort_by_key: sort (key, value) pairs by key, bytewise for strings,
// numerically for integers. The exchange sorts every partition of a run's keys with them, so
// they are built for millions of string keys that live in arenas, far from the pairs that
// point to them.
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

// How far ahead the loops below prefetch the key (or pair) they will read: the keys lie in
// arenas in the order they were first seen, so each read would otherwise be a cache miss
// that the loop waits for.
inline constexpr std::size_t kPrefetchAhead = 16;

// Sorts (key, value) pairs by key and merges pairs with equal keys: combine(into, from) folds
// `from`'s value into `into`'s (the pair that stays is the first of its key). String keys
// are sorted by an 8-byte prefix copied next to each pair's position, so nearly every
// comparison is one integer compare within a contiguous array instead of two pointer
// chases into the key storage; only equal prefixes compare the keys themselves. A counting
// pass on the prefix's top bits first cuts the array into cache-sized buckets.
// Complexity: O(n log n) comparisons, O(n) extra space (prefixes and a permuted copy).
template <typename Key, typename T, typename Combine>
void sort_and_combine_by_key(std::vector<std::pair<Key, T>>& pairs, Combine&& combine) {
  using Pair = std::pair<Key, T>;
  if constexpr (std::is_same_v<Key, std::string_view>) {
    struct Item {
      std::uint64_t prefix;
      std::size_t index;
    };
    const std::size_t n = pairs.size();
    constexpr int kRadixBits = 11;
    constexpr std::size_t kBuckets = std::size_t{1} << kRadixBits;
    const auto bucket_of = [](std::uint64_t prefix) {
      return static_cast<std::size_t>(prefix >> (64 - kRadixBits));
    };
    std::vector<std::uint64_t> prefixes(n);
    std::vector<std::size_t> starts(kBuckets + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) __builtin_prefetch(pairs[i + kPrefetchAhead].first.data());
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
    std::vector<Pair> sorted;
    sorted.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) __builtin_prefetch(&pairs[items[i + kPrefetchAhead].index]);
      Pair& p = pairs[items[i].index];
      // Equal keys are neighbours with equal prefixes: only those compare key bytes.
      if (i > 0 && items[i].prefix == items[i - 1].prefix &&
          keys_equal(p.first, sorted.back().first)) {
        combine(sorted.back().second, std::move(p.second));
      } else {
        sorted.push_back(std::move(p));
      }
    }
    pairs = std::move(sorted);
  } else {
    std::sort(pairs.begin(), pairs.end(),
              [](const Pair& a, const Pair& b) { return a.first < b.first; });
    std::size_t last = 0;
    for (std::size_t i = 1; i < pairs.size(); ++i) {
      if (pairs[i].first == pairs[last].first) {
        combine(pairs[last].second, std::move(pairs[i].second));
      } else if (++last != i) {
        pairs[last] = std::move(pairs[i]);
      }
    }
    if (!pairs.empty())
      pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(last + 1), pairs.end());
  }
}

// Sorts pairs whose keys are all distinct by key.
template <typename Key, typename T>
void sort_by_key(std::vector<std::pair<Key, T>>& pairs) {
  sort_and_combine_by_key(pairs, [](T&, T&&) {});
}

}  // namespace tally::detail
