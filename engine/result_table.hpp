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
// A spilling run (RunOptions::memory_budget) whose result does not fit its budget leaves the
// result on disk instead (spilled()): one run per partition sorted by key and, for
// by_value(), runs sorted by value, in the run's spill file (detail/spill_store.hpp), which
// the table keeps open. It reads the same, through a merge of RunReaders holding one block
// per run; runs() is then empty, by_value_slices() gives one slice, and find() reads the
// key's partition, O(n / partitions). Reading may throw StatusError if the spill file cannot
// be read or fails its checksums.
//
// Thread safety: read-only after construction (and order_by_value()); any thread may read
// it, and each by_key()/by_value() range is one reader's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/spill_merge.hpp"
#include "tally/engine/detail/spill_run.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/entry_order.hpp"
#include "tally/engine/key_hash.hpp"
#include "tally/engine/result_stream.hpp"

namespace tally {

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

  // A result on disk: `key_runs` holds one run per partition (as `runs` above), `value_runs`
  // the same entries sorted by ValueDescendingLess (or nothing: by_value() then sorts them,
  // holding at most `sort_chunk_bytes` of entries at a time). Takes `store`, their file.
  ResultTable(std::shared_ptr<detail::SpillStore> store, std::vector<detail::SpillRun> key_runs,
              std::vector<detail::SpillRun> value_runs, std::size_t size,
              std::uint64_t sort_chunk_bytes)
      : size_(size),
        spilled_(std::make_shared<Spilled>(std::move(store), std::move(key_runs),
                                           std::move(value_runs), sort_chunk_bytes)) {}

  // Whether a table of this type can be on disk: its values are plain bytes.
  static constexpr bool kSpillable = std::is_trivially_copyable_v<Value>;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Whether the entries are on disk (see the top of this file).
  bool spilled() const noexcept { return spilled_ != nullptr; }
  // The runs in memory; empty when spilled().
  const std::vector<Run>& runs() const noexcept { return runs_; }
  // The runs on disk, one per partition as runs() are; empty unless spilled(). For reading a
  // partition at a time (mpi/entry_exchange.hpp streams a result to other ranks that way).
  const std::vector<detail::SpillRun>& spilled_runs() const noexcept {
    static const std::vector<detail::SpillRun> none;
    return spilled_ ? spilled_->key_runs : none;
  }

  // Calls fn(entry) for every entry once, in no particular order: the cheapest full pass.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    if constexpr (kSpillable) {
      if (spilled_) {
        detail::MergeStop never;
        for (const detail::SpillRun& run : spilled_->key_runs) {
          detail::for_each_merged<Key, Value>(std::span<const detail::SpillRun>(&run, 1), KeyLess{},
                                              never, fn);
        }
        return;
      }
    }
    for (const Run& r : runs_) {
      for (const Entry& e : r) fn(e);
    }
  }

  // The value of `key`, if it is there. O(log n); O(n / partitions) when spilled().
  std::optional<Value> find(const Key& key) const {
    if constexpr (kSpillable) {
      if (spilled_) {
        const auto& key_runs = spilled_->key_runs;
        if (key_runs.empty()) return std::nullopt;
        const auto& run = key_runs[detail::partition_of(hash_key(key), key_runs.size())];
        detail::RunReader<Key, Value> reader(run);
        for (; const Entry* e = reader.head(); reader.advance()) {
          if (e->first == key) return e->second;
          if (key_less(key, e->first)) break;
        }
        return std::nullopt;
      }
    }
    if (runs_.empty()) return std::nullopt;
    const Run& run = runs_[detail::partition_of(hash_key(key), runs_.size())];
    auto it = std::lower_bound(run.begin(), run.end(), key,
                               [](const Entry& e, const Key& k) { return e.first < k; });
    if (it != run.end() && it->first == key) return it->second;
    return std::nullopt;
  }

  // Every entry, key ascending.
  MergedRange<Entry, KeyLess> by_key() const {
    if constexpr (kSpillable) {
      if (spilled_) return {stream_of(spilled_, &Spilled::key_runs, KeyLess{}), KeyLess{}};
    }
    return {plain_runs(), KeyLess{}};
  }
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
    if constexpr (kSpillable) {
      if (spilled_) {
        spilled_->sort_by_value();
        std::vector<MergedRange<Entry, ValueDescendingLess>> one;
        one.emplace_back(stream_of(spilled_, &Spilled::value_runs, ValueDescendingLess{}),
                         ValueDescendingLess{});
        return one;
      }
    }
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
    if constexpr (kSpillable) {
      if (spilled_) {
        spilled_->sort_by_value();
        return;
      }
    }
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
    if (!spilled_ && (!value_orders_.empty() || k >= size_)) {
      for (const Entry& e : by_value()) {
        if (out.size() == k) break;
        out.push_back(e);
      }
      return out;
    }
    // A heap of the best k seen, its worst entry on top.
    std::priority_queue<Entry, std::vector<Entry>, ValueDescendingLess> best(before);
    // A spilled entry's key lives in its reader's current block: the heap keeps copies, in
    // an arena rebuilt from the heap whenever it holds many more keys than the heap does.
    const bool copy_keys = spilled_ != nullptr && std::is_same_v<Key, std::string_view>;
    detail::Arena kept;
    std::size_t copied = 0;
    const auto hold = [&](const Entry& e) {
      if (!copy_keys) return e;
      ++copied;
      return keep(e, kept);
    };
    for_each([&](const Entry& e) {
      if (best.size() < k) {
        best.push(hold(e));
      } else if (before(e, best.top())) {
        best.pop();
        best.push(hold(e));
        if (copied > 4 * k + 4096) {
          std::vector<Entry> held;
          for (; !best.empty(); best.pop()) held.push_back(best.top());
          detail::Arena fresh;
          for (const Entry& h : held) best.push(keep(h, fresh));
          kept = std::move(fresh);
          copied = held.size();
        }
      }
    });
    out.resize(best.size());
    for (std::size_t i = out.size(); i-- > 0; best.pop()) out[i] = best.top();
    if (copy_keys) {
      // The table keeps the returned keys' storage, as it keeps its own keys.
      const std::lock_guard lock(spilled_->mutex);
      spilled_->top_keys.push_back(std::move(kept));
    }
    return out;
  }

 private:
  // A result on disk, shared by the table's copies and every range reading it.
  struct Spilled {
    Spilled(std::shared_ptr<detail::SpillStore> s, std::vector<detail::SpillRun> k,
            std::vector<detail::SpillRun> v, std::uint64_t chunk)
        : store(std::move(s)),
          key_runs(std::move(k)),
          value_runs(std::move(v)),
          sort_chunk_bytes(chunk) {}

    // Builds value_runs from key_runs, once: an external sort by value.
    void sort_by_value() requires std::totally_ordered<Value> {
      std::call_once(value_once, [this] {
        if (!value_runs.empty() || key_runs.empty()) return;
        // One partition at a time: the builder takes entries in key order.
        detail::ValueRunsBuilder<Key, Value> sorter(*store, sort_chunk_bytes);
        detail::MergeStop never;
        std::vector<detail::SpillRun> sorted;
        for (const detail::SpillRun& run : key_runs) {
          detail::for_each_merged<Key, Value>(
              std::span<const detail::SpillRun>(&run, 1), KeyLess{}, never,
              [&](const Entry& e) { sorter.add(e.first, e.second); });
          for (detail::SpillRun& r : sorter.finish()) sorted.push_back(std::move(r));
        }
        value_runs =
            detail::merge_down<Key, Value>(std::move(sorted), ValueDescendingLess{}, *store, never);
      });
    }

    std::shared_ptr<detail::SpillStore> store;
    std::vector<detail::SpillRun> key_runs;
    std::vector<detail::SpillRun> value_runs;  // written once, under value_once
    const std::uint64_t sort_chunk_bytes;
    std::once_flag value_once;
    std::mutex mutex;
    std::vector<detail::Arena> top_keys;  // guarded by mutex: the keys top() returned
  };

  // The merge of one of a Spilled's lists of runs, as an EntryStream.
  template <typename Less>
  class SpilledStream final : public EntryStream<Entry> {
   public:
    SpilledStream(std::shared_ptr<const Spilled> spilled, const std::vector<detail::SpillRun>& runs,
                  Less less)
        : spilled_(std::move(spilled)), merged_(readers(runs), less) {}
    const Entry* next() override { return merged_.next(); }

   private:
    static std::vector<detail::RunReader<Key, Value>> readers(
        const std::vector<detail::SpillRun>& runs) {
      std::vector<detail::RunReader<Key, Value>> out;
      out.reserve(runs.size());
      for (const detail::SpillRun& r : runs) out.emplace_back(r);
      return out;
    }
    std::shared_ptr<const Spilled> spilled_;  // keeps the runs and their file
    MergedRuns<Entry, Less, detail::RunReader<Key, Value>> merged_;
  };

  template <typename Less>
  static typename MergedRange<Entry, Less>::StreamFactory stream_of(
      std::shared_ptr<Spilled> spilled, std::vector<detail::SpillRun> Spilled::*runs, Less less) {
    return [spilled = std::move(spilled), runs, less]() -> std::shared_ptr<EntryStream<Entry>> {
      const std::vector<detail::SpillRun>& list = (*spilled).*runs;
      return std::make_shared<SpilledStream<Less>>(spilled, list, less);
    };
  }

  // `e` with its key copied into `arena`.
  static Entry keep(const Entry& e, detail::Arena& arena) {
    if constexpr (std::is_same_v<Key, std::string_view>) {
      return {arena.copy(e.first), e.second};
    } else {
      return e;
    }
  }
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
  std::shared_ptr<Spilled> spilled_;    // set: the entries are on disk
};

}  // namespace tally
