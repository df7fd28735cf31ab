// Merging spilled runs (spill_run.hpp): k-way, through MergedRuns' loser tree with a
// RunReader per run, with bounded fan-in. Runs beyond SpillSettings::fan_in are first merged
// a group of fan_in at a time into longer runs (one merge pass over their data each time), so
// a merge never holds more than fan_in blocks, whatever the number of runs.
//
//   for_each_combined<J>   a partition's key runs: each key once, its accumulators combined
//   merge_down_by_key<J>   as many passes as it takes to leave at most fan_in key runs
//   ValueRunsBuilder       (key, value) entries in key order -> runs sorted by value, each
//                          at most a chunk of memory (SpillPlan::sort_chunk_bytes): the
//                          first half of an external sort
//   merge_down<Key, Value> the same passes for runs of unique keys in any order (value runs)
//
// Merges check the run's stop and deadline every kEntriesPerStopCheck entries (MergeStop).
//
// Thread safety: each call belongs to one thread; calls on different runs may run at once.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/accumulation.hpp"
#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/spill_run.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/entry_order.hpp"
#include "tally/engine/result_stream.hpp"
#include "tally/engine/status.hpp"

namespace tally::detail {

// The stop and deadline of a run, checked from merge loops (which run outside task groups).
class MergeStop {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::uint32_t kEntriesPerStopCheck = 1u << 14;

  MergeStop() = default;  // never stops (a result read after its run)
  MergeStop(std::stop_token stop, std::optional<Clock::time_point> deadline)
      : stop_(std::move(stop)), deadline_(deadline) {}

  // At the first call and every kEntriesPerStopCheck calls after, throws
  // StatusError(kCancelled or kDeadlineExceeded) if the run was stopped or its deadline passed.
  void tick() {
    if (ticks_++ % kEntriesPerStopCheck == 0) check();
  }
  void check() const {
    if (stop_.stop_requested()) throw StatusError(Status::Cancelled("the run was cancelled"));
    if (deadline_ && Clock::now() >= *deadline_) {
      throw StatusError(Status::DeadlineExceeded("the run's deadline passed while merging"));
    }
  }

 private:
  std::stop_token stop_;
  std::optional<Clock::time_point> deadline_;
  std::uint32_t ticks_ = 0;
};

// Calls fn(entry) for every entry of `runs` (each sorted by `less`) in `less` order.
template <typename Key, typename T, typename Less, typename Fn>
void for_each_merged(std::span<const SpillRun> runs, Less less, MergeStop& stop, Fn&& fn) {
  std::vector<RunReader<Key, T>> readers;
  readers.reserve(runs.size());
  for (const SpillRun& r : runs) readers.emplace_back(r);
  MergedRuns<std::pair<Key, T>, Less, RunReader<Key, T>> merged(std::move(readers), less);
  while (const auto* e = merged.next()) {
    stop.tick();
    fn(*e);
  }
}

// Calls fn(key, acc&&) once for every key of `runs` (key runs of job J), in key order, with
// the accumulators of that key in every run combined. A string key passed to fn is valid
// until fn returns.
template <Job J, typename Fn>
void for_each_combined(std::span<const SpillRun> runs, MergeStop& stop, Fn&& fn) {
  using Key = typename J::Key;
  using Acc = typename Accumulation<J>::Acc;
  std::string key_bytes;  // the current key's own copy: the reader's block moves on
  Key key{};
  Acc acc{};
  bool have = false;
  for_each_merged<Key, Acc>(runs, KeyLess{}, stop, [&](const std::pair<Key, Acc>& e) {
    if (have && e.first == key) {
      Accumulation<J>::merge(acc, Acc(e.second), false);
      return;
    }
    if (have) fn(key, std::move(acc));
    if constexpr (std::is_same_v<Key, std::string_view>) {
      key_bytes.assign(e.first);
      key = key_bytes;
    } else {
      key = e.first;
    }
    acc = e.second;
    have = true;
  });
  if (have) fn(key, std::move(acc));
}

// Merges groups of runs into one run each until at most `store.settings().fan_in` are left;
// `merge_group(group, writer)` writes one group's merge. The store's merge_passes counter
// keeps the most passes one call made.
template <typename Key, typename T, typename MergeGroup>
std::vector<SpillRun> merge_passes(std::vector<SpillRun> runs, SpillStore& store,
                                   MergeGroup&& merge_group) {
  const std::size_t fan_in = std::max<std::size_t>(store.settings().fan_in, 2);
  std::uint64_t passes = 0;
  while (runs.size() > fan_in) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    std::vector<SpillRun> merged;
    for (std::size_t first = 0; first < runs.size(); first += fan_in) {
      const std::size_t n = std::min(fan_in, runs.size() - first);
      if (n == 1) {
        merged.push_back(std::move(runs[first]));
        continue;
      }
      RunWriter<Key, T> writer(store.file(), store.settings().block_bytes);
      merge_group(std::span<const SpillRun>(runs.data() + first, n), writer);
      merged.push_back(writer.finish());
    }
    runs = std::move(merged);
    ++passes;
    // Relaxed: statistics.
    store.counters().merge_nanos.fetch_add(
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()),
        std::memory_order_relaxed);
  }
  auto& most = store.counters().merge_passes;
  std::uint64_t seen = most.load(std::memory_order_relaxed);
  while (passes > seen && !most.compare_exchange_weak(seen, passes, std::memory_order_relaxed)) {
  }
  return runs;
}

// Key runs of job J, merged down to at most fan_in, equal keys combined on the way.
template <Job J>
std::vector<SpillRun> merge_down_by_key(std::vector<SpillRun> runs, SpillStore& store,
                                        MergeStop& stop) {
  using Key = typename J::Key;
  using Acc = typename Accumulation<J>::Acc;
  return merge_passes<Key, Acc>(
      std::move(runs), store, [&](std::span<const SpillRun> group, RunWriter<Key, Acc>& out) {
        for_each_combined<J>(group, stop, [&](const Key& key, Acc&& acc) { out.add(key, acc); });
      });
}

// Runs of (key, value) entries sorted by `less`, no key twice, merged down to at most fan_in.
template <typename Key, typename Value, typename Less>
std::vector<SpillRun> merge_down(std::vector<SpillRun> runs, Less less, SpillStore& store,
                                 MergeStop& stop) {
  return merge_passes<Key, Value>(
      std::move(runs), store, [&](std::span<const SpillRun> group, RunWriter<Key, Value>& out) {
        for_each_merged<Key, Value>(
            group, less, stop, [&](const std::pair<Key, Value>& e) { out.add(e.first, e.second); });
      });
}

// Sorts (key, value) entries that arrive in key order by value (ValueDescendingLess: value
// descending, then key) with bounded memory: entries are held (keys copied) until they take
// `chunk_bytes`, then sorted and written as one run. The runs it returns, merged by
// ValueDescendingLess, give every entry added in that order. Since a chunk arrives in key
// order, a stable sort on the value alone puts it in order, and a chunk in order already
// (every value equal, say) is written as it is: no key is compared.
template <typename Key, typename Value>
class ValueRunsBuilder {
 public:
  ValueRunsBuilder(SpillStore& store, std::uint64_t chunk_bytes)
      : store_(store), chunk_bytes_(std::max<std::uint64_t>(chunk_bytes, 1)) {}

  // REQUIRES: `key` comes after the key added before it since the last finish().
  void add(const Key& key, const Value& value) {
    if constexpr (std::is_same_v<Key, std::string_view>) {
      entries_.emplace_back(keys_.copy(key), value);
      held_ += sizeof(std::pair<Key, Value>) + key.size();
    } else {
      entries_.emplace_back(key, value);
      held_ += sizeof(std::pair<Key, Value>);
    }
    if (held_ >= chunk_bytes_) flush();
  }

  // The runs written so far, with the entries held flushed. Adding may start again, in any
  // key order relative to what came before.
  std::vector<SpillRun> finish() {
    flush();
    return std::exchange(runs_, {});
  }

 private:
  void flush() {
    if (entries_.empty()) return;
    const auto descending = [](const auto& a, const auto& b) { return b.second < a.second; };
    if (!std::is_sorted(entries_.begin(), entries_.end(), descending)) {
      std::stable_sort(entries_.begin(), entries_.end(), descending);
    }
    RunWriter<Key, Value> writer(store_.file(), store_.settings().block_bytes);
    for (const auto& [key, value] : entries_) writer.add(key, value);
    runs_.push_back(writer.finish());
    entries_.clear();
    keys_ = Arena();
    held_ = 0;
  }

  SpillStore& store_;
  const std::uint64_t chunk_bytes_;
  std::vector<std::pair<Key, Value>> entries_;
  Arena keys_;
  std::uint64_t held_ = 0;
  std::vector<SpillRun> runs_;
};

}  // namespace tally::detail
