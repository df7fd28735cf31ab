// The exchange stage: how the map side's per-worker combiner tables become the partitions
// of the key space, each holding every key of its partition once. It is the stage where the
// aggregation strategies differ, one type per file:
//   local.hpp        kLocal: worker tables spill their entries into per-partition runs when
//                    full; each partition's runs are sorted and combined at the end
//   sharded.hpp      kSharded: bounded worker tables merged into mutex-guarded shards
//   partitioned.hpp  kPartitioned: bounded worker tables cut into batches sent through
//                    lock-free channels and reduced while the map phase runs
// Engine::run picks one per run and is compiled once per strategy, so the map loop calls
// the strategy directly (no virtual call, no branch on the strategy per emitted pair).
//
// A strategy X for job J provides (the ExchangeStage concept checks it):
//   X(const ExchangeContext<J>&)
//   static constexpr std::size_t kDefaultCombinerKeys
//       the size of a combiner table when RunOptions::combiner_keys is 0
//   void hand_on(WorkerTable<J>& table)
//       Map-task thread (a pool worker), concurrently with other workers' hand_on: called
//       when the worker's combiner table reaches its size; takes every entry of `table`
//       (and its key storage, or copies of the keys) and leaves the table empty.
//   Exchanged<J> finish(std::vector<WorkerTable<J>> worker_tables, RunReport&)
//       Once, on the thread that runs the job, after every map task has finished (the map
//       group's wait orders their writes before it), with what is left in the workers'
//       tables. May run parallel_for on the scheduler. Adds the strategy's counters to the
//       report.
#pragma once

#include <concepts>
#include <cstddef>
#include <utility>
#include <vector>

#include "tally/engine/detail/accumulation.hpp"
#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/flat_table.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/memory_budget.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/scheduler.hpp"

namespace tally::exchange {

// A combiner or final table of job J: key -> accumulator (Accumulation<J>).
template <Job J>
using WorkerTable = detail::FlatTable<typename J::Key, typename detail::Accumulation<J>::Acc>;

// A key and its accumulator.
template <Job J>
using KeyAcc = std::pair<typename J::Key, typename detail::Accumulation<J>::Acc>;

// One partition of the key space after the exchange: each of its keys exactly once.
template <Job J>
struct Partition {
  std::vector<KeyAcc<J>> entries;
  bool sorted_by_key = false;  // the entries are in key order already
};

// What the exchange hands to the reduce stage. Either `partitions` holds
// ExchangeContext::partitions partitions, partition p holding the keys with
// partition_of(hash_key(key), partitions) == p, or a single one holding every key.
template <Job J>
struct Exchanged {
  std::vector<Partition<J>> partitions;
  std::vector<detail::Arena> keys;  // owns the bytes of string keys (of any partition)
};

// What a strategy is built with. Everything outlives the strategy.
template <Job J>
struct ExchangeContext {
  Scheduler& scheduler;
  const RunOptions& options;
  std::size_t partitions;  // >= 1
  MemoryBudget& budget;
  // Set when the run spills under its budget: where the strategy writes what it holds once
  // budget.should_spill() (spill.hpp).
  detail::SpillStore* spill = nullptr;
};

template <typename X, typename J>
concept ExchangeStage = Job<J> && std::constructible_from < X,
        const ExchangeContext<J>
& > &&requires(X& x, WorkerTable<J>& table, std::vector<WorkerTable<J>> tables, RunReport& report) {
  { X::kDefaultCombinerKeys } -> std::convertible_to<std::size_t>;
  x.hand_on(table);
  { x.finish(std::move(tables), report) } -> std::same_as<Exchanged<J>>;
};

// The final tables of a hash-based strategy (one per partition) as Exchanged: each table's
// entries are moved out and the table freed, one task per table.
template <Job J>
Exchanged<J> exchanged_from_tables(Scheduler& scheduler, std::vector<WorkerTable<J>> tables) {
  Exchanged<J> out;
  out.partitions.resize(tables.size());
  out.keys.resize(tables.size());
  parallel_for_each_index(scheduler, tables.size(), [&](std::size_t p) {
    auto& entries = out.partitions[p].entries;
    entries.reserve(tables[p].size());
    tables[p].for_each([&](std::uint64_t, const typename J::Key& key, auto& acc) {
      entries.emplace_back(key, std::move(acc));
    });
    out.keys[p] = tables[p].take_arena();
    tables[p] = WorkerTable<J>();
  });
  return out;
}

}  // namespace tally::exchange
