// The reduce stage: the exchange's partitions become the result's sorted runs. Each
// partition's entries become (key, value) entries (Accumulation<J>::finish: reduce() for a
// ReduceJob), sorted by key, with their string keys copied together in that order, one task
// per partition; with RunOptions::order == kByValue the value-order index is built the same
// way. The runs are never merged into one array: the result is read through a k-way merge
// (result_table.hpp).
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/accumulation.hpp"
#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/sort_by_key.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/scheduler.hpp"

namespace tally::detail {

// Turns the exchanged partitions into the result (see the top of this file). Each
// partition's accumulators are consumed and freed as its run is built.
template <Job J>
ResultTable<typename J::Key, typename J::Value> reduce_to_result(const J& job,
                                                                 exchange::Exchanged<J> exchanged,
                                                                 Scheduler& scheduler,
                                                                 const RunOptions& options,
                                                                 MemoryBudget& budget) {
  using Key = typename J::Key;
  using Value = typename J::Value;
  using Entry = std::pair<Key, Value>;
  auto& parts = exchanged.partitions;
  std::size_t n = 0;
  for (const auto& part : parts) n += part.entries.size();
  // The runs, plus a second array per partition in flight (the values of a ReduceJob, or the
  // sort of a partition that comes unsorted), bounded by a second copy.
  BudgetCharge entries_charge(&budget);
  entries_charge.add(2 * n * sizeof(Entry), "the result's entries");

  std::vector<std::vector<Entry>> runs(parts.size());
  std::vector<Arena> storage;
  if constexpr (std::is_same_v<Key, std::string_view>) {
    for (std::size_t p = 0; p < parts.size(); ++p) storage.emplace_back(&budget);
  } else {
    storage = std::move(exchanged.keys);
  }
  parallel_for_each_index(scheduler, parts.size(), [&](std::size_t p) {
    auto& entries = parts[p].entries;
    if constexpr (CombineJob<J>) {
      // A combined value is the value: the partition's array becomes the run as it is.
      runs[p] = std::move(entries);
    } else {
      runs[p].reserve(entries.size());
      for (auto& [key, acc] : entries) {
        runs[p].emplace_back(key, Accumulation<J>::finish(job, key, std::move(acc)));
      }
      std::vector<exchange::KeyAcc<J>>().swap(entries);
    }
    if (!parts[p].sorted_by_key) sort_by_key(runs[p]);
    if constexpr (std::is_same_v<Key, std::string_view>) {
      // The keys of the run, copied in its order: reading the result in order then reads its
      // keys sequentially, where the map side's arenas hold them in input order, one cache
      // miss per key.
      auto& run = runs[p];
      for (std::size_t i = 0; i < run.size(); ++i) {
        if (i + kPrefetchAhead < run.size())
          __builtin_prefetch(run[i + kPrefetchAhead].first.data());
        run[i].first = storage[p].copy(run[i].first);
      }
    }
  });
  std::vector<Arena>().swap(exchanged.keys);
  for (Arena& keys : storage) keys.detach_budget();  // the result outlives the run
  ResultTable<Key, Value> result(std::move(runs), std::move(storage));
  if constexpr (std::totally_ordered<Value>) {
    if (options.order == ResultOrder::kByValue) {
      result.order_by_value(
          [&](std::size_t count, auto&& fn) { parallel_for_each_index(scheduler, count, fn); });
    }
  }
  return result;
}

}  // namespace tally::detail
