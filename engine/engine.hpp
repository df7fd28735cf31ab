// Engine::run: runs a map-reduce job over inputs on a work-stealing pool.
//
//   tally::Engine engine{{.threads = 8}};
//   tally::Inputs inputs = tally::Inputs::paths({"corpus/"});
//   auto result = engine.run(WordCount{}, inputs, {.deadline = steady_clock::now() + 30s});
//   if (!result.ok()) { std::cerr << result.status().to_string(); return; }
//   for (auto& [word, count] : result->table.top(20)) ...
//   std::cout << result->report.to_text();
//
// A run is a pipeline of stages (DESIGN.md), each its own type:
//   split      plan_splits (input.hpp): byte ranges aligned to records, many per worker
//   map        detail::MapStage: one task per split; map() emits into its worker's
//              combiner table, where the values of one key meet at once
//   exchange   the strategy (RunOptions::strategy), one type per file in engine/exchange/:
//              turns what the combiner tables hand on into partitions of the key space,
//              each holding each of its keys once
//   reduce     detail::reduce_to_result: each partition becomes a run of entries sorted by
//              key (reduce() for a ReduceJob), in parallel
//   result     ResultTable: read in key or value order through a k-way merge of the runs
// Under RunOptions::memory_budget, every strategy spills what it holds as sorted runs once
// half the budget is in use (exchange/spill.hpp), the reduce stage merges each partition's
// runs (detail/spill_merge.hpp), and a result that does not fit stays on disk
// (ResultTable::spilled).
// Across processes, mpi/run.hpp runs one Engine::run per rank over a share of the splits and
// adds the stages between ranks (an exchange of keys, a gather at rank 0).
// run() is compiled once per strategy, so no stage branches on the strategy per record.
// bench/engine/aggregate_bench.cpp compares the strategies (bench/README.md).
//
// Errors: an exception from map() (or reduce()) fails the run with a Status that names the
// input and the byte offset of the record. Cancellation (RunOptions::stop, the deadline)
// stops every map task at its next check (every kRecordsPerStopCheck records) and run()
// returns kCancelled or kDeadlineExceeded. run() returns only after every task it started
// has finished; it leaves no task or thread behind.
//
// Thread safety: one run() at a time per Engine (runs share the pool's per-worker state).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tally/engine/detail/dense_stage.hpp"
#include "tally/engine/detail/map_stage.hpp"
#include "tally/engine/detail/reduce_stage.hpp"
#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/exchange/local.hpp"
#include "tally/engine/exchange/partitioned.hpp"
#include "tally/engine/exchange/sharded.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/memory_budget.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/scheduler.hpp"
#include "tally/engine/status.hpp"
#include "tally/engine/task_group.hpp"

namespace tally {

// What run() returns: the result, each key with its combined value (a combine job) or what
// reduce() returned for it (a reduce job: ResultValue<J>, job.hpp), and the run's report.
template <typename J>
struct RunOutput {
  ResultTable<typename J::Key, ResultValue<J>> table;
  RunReport report;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {}) : scheduler_({.threads = options.threads}) {}

  Scheduler& scheduler() noexcept { return scheduler_; }
  std::size_t num_workers() const noexcept { return scheduler_.num_workers(); }

  // Opens `inputs` if needed, then runs `job` over them (see the top of this file).
  template <Job J>
  Result<RunOutput<J>> run(const J& job, Inputs& inputs, const RunOptions& options = {});

  // The split stage alone: opens `inputs` if needed, checks them against options.records
  // (check_record_layout), cuts them into splits (options.split_bytes) and numbers the
  // records if asked. For jobs run again and again over the same inputs (iterate.hpp).
  Result<SplitPlan> plan(Inputs& inputs, const RunOptions& options);
  // Runs `job` over a plan that plan() made from `inputs` with the same split_bytes and
  // records options: no input is opened, checked or split again.
  template <Job J>
  Result<RunOutput<J>> run(const J& job, Inputs& inputs, const SplitPlan& plan,
                           const RunOptions& options = {});

 private:
  // `given`: the plan to run, or null to make one.
  template <Job J>
  Result<RunOutput<J>> run_planned(const J& job, Inputs& inputs, const SplitPlan* given,
                                   const RunOptions& options);
  template <Job J, exchange::ExchangeStage<J> X>
  Result<RunOutput<J>> run_with(const J& job, Inputs& inputs, const SplitPlan* given,
                                const RunOptions& options);
  template <DenseJob J>
  Result<RunOutput<J>> run_dense(const J& job, Inputs& inputs, const SplitPlan* given,
                                 const RunOptions& options);
  // The split phase of a run: `given` (or a new plan), cut to options.split_share.
  Result<SplitPlan> split_phase(Inputs& inputs, const SplitPlan* given, const RunOptions& options,
                                RunReport& report);
  // The per-worker task counters since `before`, the peak RSS and the budget's peak.
  void fill_report(RunReport& report, const std::vector<SchedulerStats>& before,
                   const MemoryBudget& budget, const RunOptions& options) const;

  Scheduler scheduler_;
};

namespace detail {

// Reports a phase to RunOptions::on_phase for the lifetime of the scope, and writes the
// phase's duration to `seconds` when it ends. The clock runs from after the starting call
// returns to before the ending call, so time spent in the callbacks (perf's acks) is not
// counted. REQUIRES: `options` and `seconds` outlive the scope.
class PhaseScope {
 public:
  using Clock = std::chrono::steady_clock;
  PhaseScope(const RunOptions& options, Phase phase, double& seconds)
      : options_(options), phase_(phase), seconds_(seconds) {
    if (options_.on_phase) options_.on_phase(phase_, true);
    start_ = Clock::now();
  }
  ~PhaseScope() {
    seconds_ = std::chrono::duration<double>(Clock::now() - start_).count();
    if (options_.on_phase) options_.on_phase(phase_, false);
  }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  const RunOptions& options_;
  const Phase phase_;
  double& seconds_;
  Clock::time_point start_;
};

}  // namespace detail

template <Job J>
Result<RunOutput<J>> Engine::run(const J& job, Inputs& inputs, const RunOptions& options) {
  return run_planned(job, inputs, nullptr, options);
}

template <Job J>
Result<RunOutput<J>> Engine::run(const J& job, Inputs& inputs, const SplitPlan& plan,
                                 const RunOptions& options) {
  return run_planned(job, inputs, &plan, options);
}

template <Job J>
Result<RunOutput<J>> Engine::run_planned(const J& job, Inputs& inputs, const SplitPlan* given,
                                         const RunOptions& options) {
  // Building a stage can fail too (its first tables may not fit the budget, or memory): the
  // run reports that as its status, never as an exception.
  try {
    if constexpr (DenseJob<J>) {
      return run_dense(job, inputs, given, options);
    } else {
      switch (options.strategy) {
        case Strategy::kSharded:
          return run_with<J, exchange::Sharded<J>>(job, inputs, given, options);
        case Strategy::kPartitioned:
          return run_with<J, exchange::Partitioned<J>>(job, inputs, given, options);
        case Strategy::kLocal:
          break;
      }
      return run_with<J, exchange::Local<J>>(job, inputs, given, options);
    }
  } catch (...) {
    return Status::FromException(std::current_exception());
  }
}

template <DenseJob J>
Result<RunOutput<J>> Engine::run_dense(const J& job, Inputs& inputs, const SplitPlan* given,
                                       const RunOptions& options) {
  RunOutput<J> out;
  RunReport& report = out.report;
  report.strategy = "dense";
  report.workers = scheduler_.num_workers();
  const auto before = scheduler_.worker_stats();
  Result<SplitPlan> plan = split_phase(inputs, given, options, report);
  if (!plan.ok()) return plan.status();

  const std::size_t keys = job.key_count();
  const std::uint64_t array_bytes = detail::DenseStage<J>::bytes_for(keys, report.workers);
  MemoryBudget budget(options.memory_budget);
  // The arrays are the run's memory, all of it up front: they fit the budget or the run
  // fails before it starts (they cannot spill: every key is in every array).
  budget.charge(array_bytes, "the workers' arrays of every key");
  detail::DenseStage<J> stage(job, inputs, options, scheduler_, keys);
  {
    const detail::PhaseScope map_phase(options, Phase::kMap, report.map_seconds);
    TaskGroup map_group(scheduler_, {.deadline = options.deadline, .parent = options.stop});
    for (const Split& split : plan->splits) {
      map_group.spawn([&stage, &plan, &split](std::stop_token stop) {
        return stage.map_split(*plan, split, stop);
      });
    }
    if (Status s = map_group.wait(); !s.ok()) return s;
    if (Status s = inputs.check_intact(); !s.ok()) return s;
  }
  {
    const detail::PhaseScope merge_phase(options, Phase::kMerge, report.merge_seconds);
    out.table = stage.merge();
  }
  { const detail::PhaseScope finalize_phase(options, Phase::kFinalize, report.finalize_seconds); }
  stage.fill_report(report);
  report.distinct_keys = out.table.size();
  fill_report(report, before, budget, options);
  budget.release(array_bytes);
  return out;
}

template <Job J, exchange::ExchangeStage<J> X>
Result<RunOutput<J>> Engine::run_with(const J& job, Inputs& inputs, const SplitPlan* given,
                                      const RunOptions& options) {
  RunOutput<J> out;
  RunReport& report = out.report;
  report.strategy = std::string(to_string(options.strategy));
  report.workers = scheduler_.num_workers();
  const auto before = scheduler_.worker_stats();
  const bool spills = detail::Spillable<J> && options.memory_budget != 0;
  if (spills && options.memory_budget < minimum_memory_budget(report.workers)) {
    return Status::InvalidArgument(
        "a memory budget of " + format_bytes(options.memory_budget) + " is below the minimum of " +
        format_bytes(minimum_memory_budget(report.workers)) + " for " +
        std::to_string(report.workers) + " workers (the buffers of spilling and merging)");
  }

  Result<SplitPlan> planned = split_phase(inputs, given, options, report);
  if (!planned.ok()) return planned.status();
  const SplitPlan& plan = *planned;

  const std::size_t partitions =
      options.partitions != 0 ? options.partitions : 8 * scheduler_.num_workers();
  MemoryBudget budget(options.memory_budget);
  std::size_t combiner_keys =
      options.combiner_keys != 0 ? options.combiner_keys : X::kDefaultCombinerKeys;
  SpillPlan spill_plan;
  std::shared_ptr<detail::SpillStore> spill;
  if (spills) {
    spill_plan = plan_spilling(options.memory_budget, report.workers);
    budget.spill_at(spill_plan.mark);
    spill = std::make_shared<detail::SpillStore>(
        detail::SpillSettings{.dir = detail::spill_directory(options.spill_dir),
                              .block_bytes = spill_plan.block_bytes,
                              .fan_in = spill_plan.fan_in},
        partitions);
    if (options.combiner_keys == 0) {
      combiner_keys = std::min(combiner_keys, spill_plan.combiner_keys);
    }
  }
  X exchange(exchange::ExchangeContext<J>{.scheduler = scheduler_,
                                          .options = options,
                                          .partitions = partitions,
                                          .budget = budget,
                                          .spill = spill.get()});
  detail::MapStage<J, X> map(job, inputs, options, scheduler_, exchange, budget, combiner_keys);

  // Map (and, for strategies with bounded combiners, the exchange as tables fill).
  {
    const detail::PhaseScope map_phase(options, Phase::kMap, report.map_seconds);
    TaskGroup map_group(scheduler_, {.deadline = options.deadline, .parent = options.stop});
    for (const Split& split : plan.splits) {
      map_group.spawn(
          [&map, &plan, &split](std::stop_token stop) { return map.map_split(plan, split, stop); });
    }
    if (Status s = map_group.wait(); !s.ok()) return s;
    // A shrunken mapped input was read as zeros (see install_sigbus_guard): fail the run.
    if (Status s = inputs.check_intact(); !s.ok()) return s;
  }
  inputs.release_pages();  // every key the stages hold is a copy by now

  // Exchange, then reduce. The scopes end inside the try, before the stages are destroyed,
  // also when a phase throws.
  try {
    exchange::Exchanged<J> exchanged;
    {
      const detail::PhaseScope merge_phase(options, Phase::kMerge, report.merge_seconds);
      exchanged = exchange.finish(map.take_tables(), report);
    }
    const detail::PhaseScope finalize_phase(options, Phase::kFinalize, report.finalize_seconds);
    out.table = detail::reduce_to_result(job, std::move(exchanged), scheduler_, options, budget,
                                         spill, spill_plan);
  } catch (...) {
    return Status::FromException(std::current_exception()).with_context("reduce");
  }

  map.fill_report(report);
  report.distinct_keys = out.table.size();
  fill_report(report, before, budget, options);
  if (spill != nullptr) {
    // Relaxed: every writer finished before the phases' waits.
    const detail::SpillCounters& c = spill->counters();
    report.spill_runs = c.runs.load(std::memory_order_relaxed);
    report.spill_bytes = c.bytes.load(std::memory_order_relaxed);
    report.spill_merge_passes = c.merge_passes.load(std::memory_order_relaxed);
    report.spill_write_seconds =
        static_cast<double>(c.write_nanos.load(std::memory_order_relaxed)) / 1e9;
    report.spill_merge_seconds =
        static_cast<double>(c.merge_nanos.load(std::memory_order_relaxed)) / 1e9;
    report.result_spilled = out.table.spilled();
  }
  return out;
}

}  // namespace tally
