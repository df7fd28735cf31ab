// ResultTable<Key, Value>: the output of a map-reduce run, owning its keys.
//
// The entries are held as sorted runs, one per partition of the key space (a key's run is
// partition_of(hash_key(key), runs)), each sorted by key (bytewise for strings). Nothing
// gathers them into one array: reading the result in order merges the runs as it goes
// (result_stream.hpp), so a result of 10^7 keys is never copied to be sorted or written.
//
//   for (const auto& [word, count] : result.by_value()) ...  // count descending, then key
//   for (const auto& [word, count] : result) ...             // key ascending (by_key())
//   auto ten = result.top(10);                               // O(n log k)
//
// by_value() reads through a per-run index in value order. Engine::run builds it in
// parallel when RunOptions::order asks for it (order_by_value()); otherwise by_value()
// builds it itself, on the calling thread.
//
// Thread safety: read-only after construction (and order_by_value()); any thread may read
// it, and each by_key()/by_value() range is one reader's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/key_hash.hpp"
#include "tally/engine/result_stream.hpp"

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

template <typename Key, typename Value>
class ResultTable {
 public:
  using Entry = std::pair<Key, Value>;
  using Run = std::vector<Entry>;

  ResultTable() = default;
  // REQUIRES: run p holds exactly the keys k with partition_of(hash_key(k), runs.size()) ==
  // p, sorted by key, no key twice. The entries may point into `storage`; both are taken.
  ResultTable(std::vector<Run> runs, std::vector<detail::Arena> storage)
      : runs_(std::move(runs)), storage_(std::move(storage)) {
    for (const Run& r : runs_) size_ += r.size();
  }
  // One run of entries in any order (sorted here); no key twice.
  ResultTable(std::vector<Entry> entries, std::vector<detail::Arena> storage)
      : storage_(std::move(storage)) {
    std::sort(entries.begin(), entries.end(), KeyLess{});
    size_ = entries.size();
    runs_.push_back(std::move(entries));
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const std::vector<Run>& runs() const noexcept { return runs_; }

  // The value of `key`, or nullptr. O(log n).
  const Value* find(const Key& key) const {
    if (runs_.empty()) return nullptr;
    const Run& run = runs_[detail::partition_of(hash_key(key), runs_.size())];
    auto it = std::lower_bound(run.begin(), run.end(), key,
                               [](const Entry& e, const Key& k) { return e.first < k; });
    return it != run.end() && it->first == key ? &it->second : nullptr;
  }

  // Every entry, key ascending.
  MergedRange<Entry, KeyLess> by_key() const { return {plain_runs(), KeyLess{}}; }
  auto begin() const { return by_key().begin(); }
  std::default_sentinel_t end() const { return {}; }

  // Every entry, value descending, ties by key ascending.
  MergedRange<Entry, ValueDescendingLess> by_value() const requires std::totally_ordered<Value> {
    return std::move(by_value_slices(1).front());
  }

  // by_value() cut into about `slices` consecutive pieces: reading them one after another
  // gives exactly the entries of by_value(), so they can be consumed in parallel (formatting
  // output, say) and their results joined in order. Requires order_by_value() first (or
  // builds the index on the calling thread, as by_value() does). O(slices x runs x log n).
  std::vector<MergedRange<Entry, ValueDescendingLess>> by_value_slices(
      std::size_t slices) const requires std::totally_ordered<Value> {
    std::vector<std::vector<std::uint32_t>> owned;
    const std::vector<std::vector<std::uint32_t>>* orders = &value_orders_;
    if (value_orders_.empty() && !runs_.empty()) {
      owned.resize(runs_.size());
      for (std::size_t p = 0; p < runs_.size(); ++p) owned[p] = value_order(runs_[p]);
      orders = &owned;
    }
    const std::vector<SortedRun<Entry>> whole = runs_through(*orders);
    // Splitters: an even sample of every run, sorted; every k-th sample bounds a slice.
    const ValueDescendingLess less;
    constexpr std::size_t kOversampling = 8;
    std::vector<Entry> samples;
    if (slices > 1) {
      const std::size_t per_run =
          slices * kOversampling / std::max<std::size_t>(1, whole.size()) + 1;
      for (const SortedRun<Entry>& r : whole) {
        for (std::size_t j = 1; j <= per_run && r.size > 0; ++j) {
          samples.push_back(at(r, j * r.size / (per_run + 1)));
        }
      }
      std::sort(samples.begin(), samples.end(), less);
    }
    std::vector<MergedRange<Entry, ValueDescendingLess>> out;
    std::vector<std::size_t> begin(whole.size(), 0);
    auto shared = std::make_shared<std::vector<std::vector<std::uint32_t>>>(std::move(owned));
    for (std::size_t c = 1; c <= slices; ++c) {
      std::vector<std::size_t> end(whole.size());
      const bool last = c == slices || samples.empty();
      const Entry* bound = last ? nullptr : &samples[c * samples.size() / slices];
      for (std::size_t p = 0; p < whole.size(); ++p) {
        // The first position of run p whose entry does not come before the bound.
        std::size_t lo = begin[p];
        std::size_t hi = whole[p].size;
        while (!last && lo < hi) {
          const std::size_t mid = lo + (hi - lo) / 2;
          if (less(at(whole[p], mid), *bound)) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        end[p] = last ? whole[p].size : lo;
      }
      std::vector<SortedRun<Entry>> pieces;
      for (std::size_t p = 0; p < whole.size(); ++p) {
        const SortedRun<Entry>& r = whole[p];
        if (r.order == nullptr) {
          pieces.push_back({r.entries + begin[p], nullptr, end[p] - begin[p]});
        } else {
          pieces.push_back({r.entries, r.order + begin[p], end[p] - begin[p]});
        }
      }
      out.emplace_back(std::move(pieces), less, shared);
      begin = std::move(end);
      if (last) break;
    }
    return out;
  }

  // Builds the index by_value() reads through, one run per call of `for_each_run`'s
  // function: for_each_run(n, fn) must call fn(p) once for every p in [0, n), on any
  // threads (e.g. tally::parallel_for), and return when all have returned.
  template <typename ForEachRun>
  void order_by_value(ForEachRun&& for_each_run) requires std::totally_ordered<Value> {
    std::vector<std::vector<std::uint32_t>> orders(runs_.size());
    for_each_run(runs_.size(), [&](std::size_t p) { orders[p] = value_order(runs_[p]); });
    value_orders_ = std::move(orders);
  }

  // The k entries with the largest values (ties: smaller key first), in that order;
  // all entries if k >= size(). O(n log k).
  std::vector<Entry> top(std::size_t k) const requires std::totally_ordered<Value> {
    const ValueDescendingLess before;
    std::vector<Entry> out;
    if (k == 0) return out;
    if (!value_orders_.empty() || k >= size_) {
      for (const Entry& e : by_value()) {
        if (out.size() == k) break;
        out.push_back(e);
      }
      return out;
    }
    // A heap of the best k seen, its worst entry on top.
    std::priority_queue<Entry, std::vector<Entry>, ValueDescendingLess> best(before);
    for (const Run& r : runs_) {
      for (const Entry& e : r) {
        if (best.size() < k) {
          best.push(e);
        } else if (before(e, best.top())) {
          best.pop();
          best.push(e);
        }
      }
    }
    out.resize(best.size());
    for (std::size_t i = out.size(); i-- > 0; best.pop()) out[i] = best.top();
    return out;
  }

 private:
  std::vector<SortedRun<Entry>> plain_runs() const {
    std::vector<SortedRun<Entry>> out;
    out.reserve(runs_.size());
    for (const Run& r : runs_) out.push_back({r.data(), nullptr, r.size()});
    return out;
  }

  std::vector<SortedRun<Entry>> runs_through(
      const std::vector<std::vector<std::uint32_t>>& orders) const {
    std::vector<SortedRun<Entry>> out;
    out.reserve(runs_.size());
    for (std::size_t p = 0; p < runs_.size(); ++p) {
      // An empty order: the run is in value order as it is.
      out.push_back(
          {runs_[p].data(), orders[p].empty() ? nullptr : orders[p].data(), runs_[p].size()});
    }
    return out;
  }

  static const Entry& at(const SortedRun<Entry>& r, std::size_t i) {
    return r.order == nullptr ? r.entries[i] : r.entries[r.order[i]];
  }

  // The positions of a key-sorted run's entries in value-descending order. A stable sort on
  // the value alone keeps equal values in key order, so no key is compared; the values are
  // copied next to their positions first, so the sort reads one array, not the run.
  // Empty when the run is in value order already (every value equal, say).
  static std::vector<std::uint32_t> value_order(const Run& run) {
    const auto descending = [](const Entry& a, const Entry& b) { return b.second < a.second; };
    if (std::is_sorted(run.begin(), run.end(), descending)) return {};
    std::vector<std::pair<Value, std::uint32_t>> keyed;
    keyed.reserve(run.size());
    for (std::size_t i = 0; i < run.size(); ++i) {
      keyed.emplace_back(run[i].second, static_cast<std::uint32_t>(i));
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return b.first < a.first; });
    std::vector<std::uint32_t> order(keyed.size());
    for (std::size_t i = 0; i < keyed.size(); ++i) order[i] = keyed[i].second;
    return order;
  }

  std::vector<Run> runs_;
  std::vector<std::vector<std::uint32_t>> value_orders_;  // empty until order_by_value()
  std::size_t size_ = 0;
  std::vector<detail::Arena> storage_;  // owns the bytes of string keys
};

}  // namespace tally
