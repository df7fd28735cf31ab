// The reduce stage: the exchange's partitions become the result's sorted runs. Each
// partition's entries become (key, value) entries (Accumulation<J>::finish: reduce() for a
// ReduceJob, whose value is then its ResultValue<J>), sorted by key, with their string keys copied
// together in that order, one task per partition; with RunOptions::order == kByValue the
// value-order index is built the same way. The runs are never merged into one array: the result is
// read through a k-way merge (result_table.hpp).
//
// After a spill, or when the result would not fit the memory budget (a spilling run only),
// the result is built on disk instead (reduce_spilled): what the exchange left in memory is
// written as one more run per partition, then each partition's runs are merged (merge passes
// first if there are more than the fan-in), equal keys combined and reduced, into one run
// sorted by key; with kByValue, the entries are also sorted by value in chunks of bounded
// memory and the chunks merged down (an external sort).
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/accumulation.hpp"
#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/sort_by_key.hpp"
#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/detail/spill_merge.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/exchange/spill.hpp"
#include "tally/engine/memory_budget.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/scheduler.hpp"

namespace tally::detail {

// The result on disk (see the top of this file). REQUIRES: Spillable<J>.
template <Job J>
ResultTable<typename J::Key, ResultValue<J>> reduce_spilled(
    const J& job, exchange::Exchanged<J> exchanged, Scheduler& scheduler, const RunOptions& options,
    std::shared_ptr<SpillStore> spill, const SpillPlan& plan) {
  using Key = typename J::Key;
  using Value = ResultValue<J>;
  using Acc = typename Accumulation<J>::Acc;
  auto& parts = exchanged.partitions;
  const std::size_t partitions = parts.size();
  parallel_for_each_index(scheduler, partitions, [&](std::size_t p) {
    auto& entries = parts[p].entries;
    if (entries.empty()) return;
    if (!parts[p].sorted_by_key) sort_by_key(entries);
    exchange::spill_sorted<J>(*spill, p, std::span<const exchange::KeyAcc<J>>(entries));
    std::vector<exchange::KeyAcc<J>>().swap(entries);
  });
  exchanged = exchange::Exchanged<J>();  // the keys of every partition are on disk now

  std::vector<SpillRun> key_runs(partitions);
  std::vector<std::vector<SpillRun>> value_runs(partitions);
  const bool by_value = options.order == ResultOrder::kByValue;
  parallel_for_each_index(scheduler, partitions, [&](std::size_t p) {
    MergeStop stop(options.stop, options.deadline);
    const std::vector<SpillRun> runs = merge_down_by_key<J>(spill->take_runs(p), *spill, stop);
    RunWriter<Key, Value> out(spill->file(), plan.block_bytes);
    if constexpr (std::totally_ordered<Value>) {
      std::optional<ValueRunsBuilder<Key, Value>> sorter;
      if (by_value) sorter.emplace(*spill, plan.sort_chunk_bytes);
      for_each_combined<J>(runs, stop, [&](const Key& key, Acc&& acc) {
        const Value value = Accumulation<J>::finish(job, key, std::move(acc));
        out.add(key, value);
        if (sorter) sorter->add(key, value);
      });
      if (sorter) value_runs[p] = sorter->finish();
    } else {
      for_each_combined<J>(runs, stop, [&](const Key& key, Acc&& acc) {
        out.add(key, Accumulation<J>::finish(job, key, std::move(acc)));
      });
    }
    key_runs[p] = out.finish();
  });
  std::size_t n = 0;
  for (const SpillRun& r : key_runs) n += r.entries;
  std::vector<SpillRun> sorted_by_value;
  if constexpr (std::totally_ordered<Value>) {
    for (auto& runs : value_runs) {
      for (SpillRun& r : runs) sorted_by_value.push_back(std::move(r));
    }
    MergeStop stop(options.stop, options.deadline);
    sorted_by_value =
        merge_down<Key, Value>(std::move(sorted_by_value), ValueDescendingLess{}, *spill, stop);
  }
  return ResultTable<Key, Value>(std::move(spill), std::move(key_runs), std::move(sorted_by_value),
                                 n, plan.sort_chunk_bytes);
}

// Turns the exchanged partitions into the result (see the top of this file). Each
// partition's accumulators are consumed and freed as its run is built. `spill`: the run's
// spill store, if it spills (Spillable<J> and a memory budget), with its plan.
template <Job J>
ResultTable<typename J::Key, ResultValue<J>> reduce_to_result(
    const J& job, exchange::Exchanged<J> exchanged, Scheduler& scheduler, const RunOptions& options,
    MemoryBudget& budget, std::shared_ptr<SpillStore> spill = nullptr, const SpillPlan& plan = {}) {
  using Key = typename J::Key;
  using Value = ResultValue<J>;
  using Entry = std::pair<Key, Value>;
  auto& parts = exchanged.partitions;
  std::size_t n = 0;
  for (const auto& part : parts) n += part.entries.size();
  if constexpr (Spillable<J>) {
    if (spill != nullptr) {
      // The in-memory result's entries (twice, see below) and a second copy of its keys.
      std::uint64_t need = 2 * n * sizeof(Entry);
      for (const Arena& keys : exchanged.keys) need += keys.bytes();
      if (spill->spilled() || !budget.fits(need)) {
        return reduce_spilled(job, std::move(exchanged), scheduler, options, std::move(spill),
                              plan);
      }
    }
  }
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
