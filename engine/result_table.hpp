// ResultTable<Key, Value>: the output of a map-reduce run, owning its keys.
//
// Entries are kept sorted by key (bytewise for strings), so iterating a result is
// deterministic whatever the thread count or strategy. top(k) gives the k entries with the
// largest values, ties broken by key ascending: the word-count order.
//
// Thread safety: read-only after construction; any thread may read it.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/detail/arena.hpp"

namespace tally {

// Tag: the entries handed to ResultTable are already sorted by key.
struct SortedByKey {};
inline constexpr SortedByKey kSortedByKey{};

template <typename Key, typename Value>
class ResultTable {
 public:
  using Entry = std::pair<Key, Value>;

  ResultTable() = default;
  // `entries` may point into `storage`; both are taken over. Sorts by key.
  ResultTable(std::vector<Entry> entries, std::vector<detail::Arena> storage)
      : entries_(std::move(entries)), storage_(std::move(storage)) {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.first < b.first; });
  }
  // The same, for entries the caller has sorted by key (checked in debug builds).
  ResultTable(std::vector<Entry> entries, std::vector<detail::Arena> storage, SortedByKey)
      : entries_(std::move(entries)), storage_(std::move(storage)) {
    assert(std::is_sorted(entries_.begin(), entries_.end(),
                          [](const Entry& a, const Entry& b) { return a.first < b.first; }));
  }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  // All entries, sorted by key ascending.
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  auto begin() const noexcept { return entries_.begin(); }
  auto end() const noexcept { return entries_.end(); }

  // The value of `key`, or nullptr. O(log n).
  const Value* find(const Key& key) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const Entry& e, const Key& k) { return e.first < k; });
    return it != entries_.end() && it->first == key ? &it->second : nullptr;
  }

  // The k entries with the largest values (ties: smaller key first), in that order;
  // all entries if k >= size(). O(n log k).
  std::vector<Entry> top(std::size_t k) const {
    std::vector<Entry> out(entries_.begin(), entries_.end());
    const auto by_value = [](const Entry& a, const Entry& b) {
      return a.second != b.second ? b.second < a.second : a.first < b.first;
    };
    if (k < out.size()) {
      std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                        by_value);
      out.resize(k);
    } else {
      std::sort(out.begin(), out.end(), by_value);
    }
    return out;
  }

 private:
  std::vector<Entry> entries_;
  std::vector<detail::Arena> storage_;  // owns the bytes of string keys
};

}  // namespace tally
