// The exchange stage: how the map side's per-worker combiner tables become one table per
// partition of the key space, each holding every key of its partition once. It is the stage
// where the aggregation strategies differ, one type per file:
//   local.hpp        kLocal: unbounded worker tables, merged partition by partition at the end
//   sharded.hpp      kSharded: bounded worker tables merged into mutex-guarded shards
//   partitioned.hpp  kPartitioned: bounded worker tables cut into batches sent through
//                    lock-free channels and reduced while the map phase runs
// Engine::run picks one per run and is compiled once per strategy, so the map loop calls
// the strategy directly (no virtual call, no branch on the strategy per emitted pair).
//
// A strategy X for job J provides (the ExchangeStage concept checks it):
//   X(const ExchangeContext<J>&)
//   static constexpr bool kBoundedCombiner
//       true: a worker's combiner table is handed on each time it reaches
//       RunOptions::combiner_keys keys, and at the end of each map task;
//       false: it grows to hold every key its worker sees and is never handed on.
//   void hand_on(WorkerTable<J>& table)
//       Map-task thread, any worker, concurrently with other workers' hand_on: takes every
//       entry of `table` (copying keys it keeps) and leaves the table empty.
//   std::vector<WorkerTable<J>> finish(std::vector<WorkerTable<J>> worker_tables, RunReport&)
//       Once, on the thread that runs the job, after every map task has finished (the map
//       group's wait orders their writes before it): the final tables, either
//       ExchangeContext::partitions of them (keys of table p are those with partition_of(
//       hash, partitions) == p) or a single table holding every key. May run parallel_for on
//       the scheduler. Adds the strategy's counters to the report.
#pragma once

#include <concepts>
#include <cstddef>
#include <vector>

#include "engine/detail/accumulation.hpp"
#include "engine/detail/flat_table.hpp"
#include "engine/job.hpp"
#include "engine/memory_budget.hpp"
#include "engine/run_options.hpp"
#include "engine/run_report.hpp"
#include "engine/scheduler.hpp"

namespace tally::exchange {

// A combiner or final table of job J: key -> accumulator (Accumulation<J>).
template <Job J>
using WorkerTable = detail::FlatTable<typename J::Key, typename detail::Accumulation<J>::Acc>;

// What a strategy is built with. Everything outlives the strategy.
template <Job J>
struct ExchangeContext {
  Scheduler& scheduler;
  const RunOptions& options;
  std::size_t partitions;  // >= 1
  MemoryBudget& budget;
};

template <typename X, typename J>
concept ExchangeStage = Job<J> && std::constructible_from < X,
        const ExchangeContext<J>
& > &&requires(X& x, WorkerTable<J>& table, std::vector<WorkerTable<J>> tables, RunReport& report) {
  { X::kBoundedCombiner } -> std::convertible_to<bool>;
  x.hand_on(table);
  { x.finish(std::move(tables), report) } -> std::same_as<std::vector<WorkerTable<J>>>;
};

}  // namespace tally::exchange
