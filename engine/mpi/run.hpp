// tally::mpi::run: one job across the ranks of a communicator (MPI under mpirun or srun, in
// practice: mpi_communicator.hpp), each rank with its own Engine and workers.
//
//   MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
//   tally::mpi::MpiCommunicator comm(MPI_COMM_WORLD);
//   tally::Inputs inputs = tally::Inputs::paths({"/shared/corpus"});
//   auto result = tally::mpi::run(engine, WordCount{}, inputs, comm);
//   if (comm.rank() == 0 && result.ok()) for (auto& [word, n] : result->table.top(20)) ...
//
// The stages, on every rank:
//   1. open the inputs (every rank opens every path) and agree that every rank sees the same
//      ones; plan the same splits on every rank, sized for all the ranks' workers;
//   2. Engine::run over this rank's share of the splits (RunOptions::split_share: a
//      contiguous range of the plan, by bytes), combining and spilling under this rank's
//      memory budget as a run in one process does;
//   3. exchange: each key goes to the rank that owns it (entry_exchange.hpp: rank_of its
//      hash), in rounds of bounded size; received entries are sorted runs in a spill store
//      (on disk under a budget, else in memory);
//   4. each rank merges the runs it received into its own keys' result, combining equal
//      keys (merge_received: in memory, or on disk under a budget);
//   5. gather: every rank sends its result (or its top K, DistributedOptions::top) to rank
//      0, which merges the streams the same way into the job's result, prepared for
//      RunOptions::order.
// Keys are disjoint across ranks after step 3, so the result on rank 0 is exactly that of
// one process, and its top K is among the ranks' top K.
//
// Errors: every stage ends with agree() (collective.hpp), so a failure on any rank (an input
// missing on one, a stop, a deadline, a full disk) fails every rank with the one status that
// names it, and no rank waits for one that gave up. While mapping, when the ranks do not
// communicate, a rank that fails alerts the others (Communicator::alert_others), which stop
// mapping at once rather than finish their shares first. A rank that dies is the launcher's to
// handle: mpirun and srun --kill-on-bad-exit end the others. The communicator's operations
// block: a stop or deadline is seen between rounds, so a rank stopped alone waits for the
// others' next round (the CLI's supervisor bounds that wait: tools/tally/supervisor.hpp).
//
// Returns, on rank 0, the job's result and report (RunReport's distributed fields); on every
// other rank an empty table and that rank's own report. Only jobs whose values combine
// (CombineJob) and are plain bytes (Spillable) can be exchanged this way.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/reduce_stage.hpp"
#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/detail/spill_merge.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/engine.hpp"
#include "tally/engine/entry_order.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/key_hash.hpp"
#include "tally/engine/memory_budget.hpp"
#include "tally/engine/mpi/collective.hpp"
#include "tally/engine/mpi/communicator.hpp"
#include "tally/engine/mpi/entry_exchange.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/status.hpp"

namespace tally::mpi {

struct DistributedOptions {
  // Gather only each rank's `top` entries in value order (ResultTable::top): rank 0's table
  // then holds at most ranks x top entries (every entry, for one rank), the job's top `top`
  // among them. 0: every entry.
  std::size_t top = 0;
  // The most bytes a rank sends, and receives, in one round of an exchange; 0: 64 MiB, or
  // an eighth of RunOptions::memory_budget if that is less (at least 1 MiB).
  std::size_t round_bytes = 0;
};

namespace detail {

// The stores' block size, fan-in and sort chunk: the budget's plan, or, without a budget,
// the largest blocks and fan-in and a sort chunk of 64 MiB (received runs are then held in
// memory, so the sort chunk only bounds the value-order sort's working set).
inline SpillPlan exchange_plan(std::uint64_t budget, std::size_t workers) {
  if (budget != 0) return plan_spilling(budget, workers);
  return SpillPlan{.block_bytes = std::size_t{64} << 10,
                   .fan_in = 256,
                   .sort_chunk_bytes = std::uint64_t{64} << 20};
}

inline std::size_t round_bytes(const DistributedOptions& d, std::uint64_t budget) {
  if (d.round_bytes != 0) return std::min(d.round_bytes, Communicator::kMaxRoundBytes);
  std::uint64_t bytes = std::uint64_t{64} << 20;
  if (budget != 0) bytes = std::clamp<std::uint64_t>(budget / 8, std::uint64_t{1} << 20, bytes);
  return static_cast<std::size_t>(bytes);
}

// `fn()`'s failure as a Status.
template <typename Fn>
Status capture(Fn&& fn) {
  try {
    fn();
    return Status::Ok();
  } catch (...) {
    return Status::FromException(std::current_exception());
  }
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `entries` (keys pointing elsewhere) as a table of `partitions` runs, as the engine makes.
template <typename Key, typename Value>
ResultTable<Key, Value> partitioned_table(std::vector<std::pair<Key, Value>> entries,
                                          std::size_t partitions) {
  std::vector<std::vector<std::pair<Key, Value>>> runs(partitions);
  for (auto& e : entries) {
    runs[tally::detail::partition_of(hash_key(e.first), partitions)].push_back(std::move(e));
  }
  for (auto& run : runs) std::sort(run.begin(), run.end(), KeyLess{});
  return ResultTable<Key, Value>(std::move(runs), {});
}

// The runs filed in `store`, merged per partition (equal keys combined) into a table: in
// memory without a budget, as a run in one process builds its result (the value order
// built in parallel when `options.order` asks for it); under a budget, on disk
// (reduce_spilled), where the store's runs already are.
template <CombineJob J>
ResultTable<typename J::Key, typename J::Value> merge_received(
    const J& job, std::shared_ptr<tally::detail::SpillStore> store, Scheduler& scheduler,
    const RunOptions& options, const SpillPlan& plan) {
  using Key = typename J::Key;
  using Value = typename J::Value;
  const std::size_t partitions = store->partitions();
  if (options.memory_budget != 0) {
    exchange::Exchanged<J> nothing_in_memory;  // every entry came as a run
    nothing_in_memory.partitions.resize(partitions);
    return tally::detail::reduce_spilled(job, std::move(nothing_in_memory), scheduler, options,
                                         std::move(store), plan);
  }
  std::vector<std::vector<std::pair<Key, Value>>> runs(partitions);
  std::vector<tally::detail::Arena> keys(partitions);
  parallel_for_each_index(scheduler, partitions, [&](std::size_t p) {
    tally::detail::MergeStop stop(options.stop, options.deadline);
    const std::vector<tally::detail::SpillRun> in =
        tally::detail::merge_down_by_key<J>(store->take_runs(p), *store, stop);
    tally::detail::for_each_combined<J>(in, stop, [&](const Key& key, Value&& value) {
      if constexpr (std::is_same_v<Key, std::string_view>) {
        runs[p].emplace_back(keys[p].copy(key), std::move(value));
      } else {
        runs[p].emplace_back(key, std::move(value));
      }
    });
  });
  ResultTable<Key, Value> result(std::move(runs), std::move(keys));
  if constexpr (std::totally_ordered<Value>) {
    if (options.order == ResultOrder::kByValue) {
      result.order_by_value(
          [&](std::size_t count, auto&& fn) { parallel_for_each_index(scheduler, count, fn); });
    }
  }
  return result;
}

}  // namespace detail

template <CombineJob J>
requires tally::detail::Spillable<J> Result<RunOutput<J>> run(
    Engine& engine, const J& job, Inputs& inputs, Communicator& comm, RunOptions options = {},
    const DistributedOptions& distributed = {}) {
  using Key = typename J::Key;
  using Value = typename J::Value;
  const int ranks = comm.size();

  // 1. Inputs and the plan.
  Status s;
  if (!inputs.is_open()) s = inputs.open({.stop = options.stop, .deadline = options.deadline});
  if (s = agree(comm, s); !s.ok()) return s;
  if (s = agree_on_inputs(comm, inputs.size(), inputs.total_bytes()); !s.ok()) return s;
  if (ranks == 1) {
    // One rank holds every key: nothing to exchange or gather.
    auto alone = engine.run(job, inputs, options);
    if (alone.ok()) alone->report.ranks = 1;
    return alone;
  }
  const std::uint64_t all_workers = sum(comm, engine.num_workers());
  const std::uint64_t most_workers = max(comm, engine.num_workers());
  if (options.split_bytes == 0) {
    options.split_bytes =
        std::clamp<std::uint64_t>(inputs.total_bytes() / (16 * all_workers), 256u << 10, 16u << 20);
  }
  if (options.partitions == 0) options.partitions = 8 * most_workers;
  const std::size_t partitions = options.partitions;
  options.split_share = {.index = static_cast<std::size_t>(comm.rank()),
                         .count = static_cast<std::size_t>(ranks)};
  const ResultOrder order = options.order;
  options.order = ResultOrder::kByKey;  // until rank 0's final merge, only key order is read

  // 2. This rank's share. The ranks do not communicate while mapping, so a rank that fails
  // alerts the others, which stop mapping at once and learn why from agree().
  std::stop_source stop_mapping;
  const std::stop_callback caller_stops(options.stop, [&] { stop_mapping.request_stop(); });
  RunOptions map_options = options;
  map_options.stop = stop_mapping.get_token();
  std::atomic<bool> alerted{false};
  comm.watch_for_alerts([&] {
    alerted.store(true, std::memory_order_relaxed);  // read after stop_watching() joins
    stop_mapping.request_stop();
  });
  auto local = engine.run(job, inputs, map_options);
  comm.stop_watching();
  if (!local.ok() && !alerted.load(std::memory_order_relaxed)) comm.alert_others();
  if (s = agree(comm, local.ok() ? Status::Ok() : local.status()); !s.ok()) return s;
  RunReport report = std::move(local->report);

  const SpillPlan plan = detail::exchange_plan(options.memory_budget, engine.num_workers());
  const auto make_store = [&] {
    return std::make_shared<tally::detail::SpillStore>(
        tally::detail::SpillSettings{.dir = options.memory_budget != 0
                                                ? tally::detail::spill_directory(options.spill_dir)
                                                : std::string(),
                                     .block_bytes = plan.block_bytes,
                                     .fan_in = plan.fan_in},
        partitions);
  };
  const detail::ExchangeLimits limits{
      .round_bytes = detail::round_bytes(distributed, options.memory_budget),
      .stop = options.stop,
      .deadline = options.deadline};

  // 3. Exchange: each key to its rank.
  auto owned = make_store();
  detail::ExchangeTotals exchanged;
  s = detail::exchange_entries(
      comm, local->table, [ranks](const Key& key) { return detail::rank_of(hash_key(key), ranks); },
      *owned, limits, exchanged);
  local->table = {};
  if (s = agree(comm, s); !s.ok()) return s;

  // 4. This rank's keys.
  auto start = std::chrono::steady_clock::now();
  ResultTable<Key, Value> mine;
  s = detail::capture([&] {
    mine = detail::merge_received(job, std::move(owned), engine.scheduler(), options, plan);
  });
  report.finalize_seconds += detail::seconds_since(start);
  if (s = agree(comm, s); !s.ok()) return s;
  report.distinct_keys = mine.size();

  // 5. Gather at rank 0.
  ResultTable<Key, Value> top;
  if (distributed.top != 0) {
    s = detail::capture(
        [&] { top = detail::partitioned_table(mine.top(distributed.top), partitions); });
    if (s = agree(comm, s); !s.ok()) return s;
  }
  auto gathered = make_store();
  detail::ExchangeTotals gather;
  s = detail::exchange_entries(
      comm, distributed.top != 0 ? top : mine, [](const Key&) { return 0; }, *gathered, limits,
      gather);
  if (s = agree(comm, s); !s.ok()) return s;
  RunOutput<J> out;
  if (comm.rank() == 0) {
    start = std::chrono::steady_clock::now();
    options.order = order;
    s = detail::capture([&] {
      out.table =
          detail::merge_received(job, std::move(gathered), engine.scheduler(), options, plan);
    });
    report.finalize_seconds += detail::seconds_since(start);
  }
  if (s = agree(comm, s); !s.ok()) return s;

  report.exchange_rounds = exchanged.rounds;
  report.exchange_bytes = exchanged.bytes_sent;
  report.exchange_seconds = exchanged.seconds;
  report.gather_bytes = gather.bytes_sent;
  report.gather_seconds = gather.seconds;
  out.report = combine_reports(comm, report);
  return out;
}

}  // namespace tally::mpi
