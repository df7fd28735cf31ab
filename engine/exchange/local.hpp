// kLocal: nothing is shared while mapping. Each worker combines into its own table; when the
// table fills (RunOptions::combiner_keys), its entries are appended to the worker's runs, one
// run per partition, and the table starts again empty. After the map phase each partition
// gathers its runs from every worker, sorts them by key and combines equal keys, one task per
// partition (Hadoop's map-side spill and sort, kept in memory).
//
// Few distinct keys (natural text) never fill the table, so the runs hold each worker's
// vocabulary once and the sort is small. Many distinct keys (10^7 ids) never meet twice in a
// table, so hashing them into ever larger tables would only cost cache misses: here they
// are appended once, sequentially, and sorted once. bench/jobs/wordcount_bench.cpp measures
// both (bench/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/sort_by_key.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally::exchange {

template <Job J>
class Local {
 public:
  using Table = WorkerTable<J>;
  // As many keys as a table of 2^17 slots holds before it would grow (4 MiB of slots for
  // word count): within a core's share of the last-level cache, and room for a natural-
  // language vocabulary whole, so that such text never goes into runs.
  static constexpr std::size_t kDefaultCombinerKeys = std::size_t{3} << 15;

  explicit Local(const ExchangeContext<J>& ctx) : ctx_(ctx) {
    workers_.reserve(ctx.scheduler.num_workers());
    for (std::size_t w = 0; w < ctx.scheduler.num_workers(); ++w) {
      workers_.push_back(std::make_unique<WorkerRuns>(ctx.partitions, &ctx.budget));
    }
  }

  // Appends the table's entries to the calling worker's runs; the runs keep its keys.
  void hand_on(Table& table) {
    append_to_runs(*workers_[static_cast<std::size_t>(ctx_.scheduler.current_worker_index())],
                   table);
  }

  Exchanged<J> finish(std::vector<Table> worker_tables, RunReport& /*report*/) {
    const std::size_t partitions = ctx_.partitions;
    // What the tables still hold joins each worker's runs (one task per worker).
    parallel_for(
        ctx_.scheduler, 0, worker_tables.size(),
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t w = lo; w < hi; ++w) {
            append_to_runs(*workers_[w], worker_tables[w]);
            worker_tables[w] = Table();
          }
        },
        1);
    Exchanged<J> out;
    out.partitions.resize(partitions);
    parallel_for(
        ctx_.scheduler, 0, partitions,
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t p = lo; p < hi; ++p) out.partitions[p] = gather(p);
        },
        1);
    for (auto& w : workers_) {
      for (detail::Arena& keys : w->keys) out.keys.push_back(std::move(keys));
      w->charge = detail::BudgetCharge(&ctx_.budget);  // the runs were freed by gather
    }
    return out;
  }

 private:
  using Run = std::vector<KeyAcc<J>>;

  // One worker's runs, written only by that worker while mapping; alone on its cache lines.
  struct alignas(lockfree::kCacheLine) WorkerRuns {
    WorkerRuns(std::size_t partitions, MemoryBudget* budget) : runs(partitions), charge(budget) {}
    std::vector<Run> runs;            // by partition
    std::vector<detail::Arena> keys;  // the key storage of every table spilled here
    detail::BudgetCharge charge;      // for the runs' arrays
  };

  void append_to_runs(WorkerRuns& w, Table& table) {
    if (table.empty()) return;
    table.for_each_slot([&](typename Table::Slot& s) {
      Run& run = w.runs[detail::partition_of(s.hash, ctx_.partitions)];
      if (run.size() == run.capacity()) {
        const std::size_t grown = run.capacity() < 64 ? 64 : run.capacity() * 2;
        w.charge.add((grown - run.capacity()) * sizeof(KeyAcc<J>), "the map output runs");
        run.reserve(grown);
      }
      run.emplace_back(s.key, std::move(s.acc));
    });
    w.keys.push_back(table.take_arena());
    table.clear();
  }

  // Partition p: every worker's run of it, sorted by key, equal keys combined. The runs are
  // freed as they are taken.
  Partition<J> gather(std::size_t p) {
    Partition<J> part;
    std::size_t n = 0;
    for (const auto& w : workers_) n += w->runs[p].size();
    if (n == 0) {
      part.sorted_by_key = true;
      return part;
    }
    Run all;
    for (auto& w : workers_) {
      if (w->runs[p].size() == n) {  // the only worker with keys here: no copy
        all = std::move(w->runs[p]);
        break;
      }
      if (all.capacity() == 0) all.reserve(n);
      for (auto& e : w->runs[p]) all.push_back(std::move(e));
      Run().swap(w->runs[p]);
    }
    detail::sort_by_key(all);
    // Combine runs of equal keys in place: `last` is the newest distinct key kept.
    std::size_t last = 0;
    for (std::size_t i = 1; i < all.size(); ++i) {
      if (keys_equal(all[i].first, all[last].first)) {
        detail::Accumulation<J>::merge(all[last].second, std::move(all[i].second), false);
      } else if (++last != i) {
        all[last] = std::move(all[i]);
      }
    }
    all.erase(all.begin() + static_cast<std::ptrdiff_t>(last + 1), all.end());
    part.entries = std::move(all);
    part.sorted_by_key = true;
    return part;
  }

  ExchangeContext<J> ctx_;
  std::vector<std::unique_ptr<WorkerRuns>> workers_;
};

}  // namespace tally::exchange
