// kLocal: nothing is shared while mapping. Each worker combines into its own table; when the
// table fills (RunOptions::combiner_keys), its entries are appended to the worker's runs, one
// run per partition, and the table starts again empty. After the map phase each worker groups
// what its table still holds by partition, then each partition gathers its runs and groups
// from every worker, sorts them by key and combines equal keys, one task per partition
// (Hadoop's map-side spill and sort, kept in memory).
//
// Few distinct keys (natural text) never fill the table, so the runs hold each worker's
// vocabulary once and the sort is small. Many distinct keys (10^7 ids) never meet twice in a
// table, so hashing them into ever larger tables would only cost cache misses: here they
// are appended once, sequentially, and sorted once. bench/jobs/wordcount_bench.cpp measures
// both (bench/README.md).
//
// Under a memory budget, a worker whose hand_on finds the budget's spill mark passed writes
// its runs to disk, one sorted, combined run per partition (spill.hpp), and frees them; its
// run blocks are then sized so that a worker's partly filled blocks stay a small share of
// the budget.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/bulk_array.hpp"
#include "tally/engine/detail/make_each.hpp"
#include "tally/engine/detail/run_block.hpp"
#include "tally/engine/detail/sort_by_key.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/exchange/spill.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally::exchange {

template <Job J>
class Local {
 public:
  using Table = WorkerTable<J>;
  // As many keys as a table of 2^17 slots holds before it would grow (4 MiB of slots for
  // word count): within a core's share of the last-level cache, and room for a natural-
  // language vocabulary whole, so that such text is never handed on while mapping.
  static constexpr std::size_t kDefaultCombinerKeys = std::size_t{3} << 15;

  explicit Local(const ExchangeContext<J>& ctx)
      : ctx_(ctx),
        block_capacity_(block_capacity(ctx)),
        workers_(
            detail::make_each<Worker>(ctx.scheduler.num_workers(), ctx.partitions, &ctx.budget)) {}

  // Appends the table's entries to the calling worker's runs; the runs keep its keys.
  void hand_on(Table& table) {
    Worker& w = *workers_[static_cast<std::size_t>(ctx_.scheduler.current_worker_index())];
    append_to_runs(w, table);
    if constexpr (detail::Spillable<J>) {
      if (ctx_.spill != nullptr && ctx_.budget.should_spill()) spill(w);
    }
  }

  Exchanged<J> finish(std::vector<Table> worker_tables, RunReport& /*report*/) {
    const std::size_t partitions = ctx_.partitions;
    // What the tables still hold, grouped by partition (one task per worker).
    parallel_for_each_index(ctx_.scheduler, worker_tables.size(), [&](std::size_t w) {
      group_leftovers(*workers_[w], worker_tables[w]);
      worker_tables[w] = Table();
    });
    Exchanged<J> out;
    out.partitions.resize(partitions);
    parallel_for_each_index(ctx_.scheduler, partitions,
                            [&](std::size_t p) { out.partitions[p] = gather(p); });
    for (auto& w : workers_) {
      for (detail::Arena& keys : w->keys) out.keys.push_back(std::move(keys));
      w->leftovers = Leftovers();
      w->charge = detail::BudgetCharge(&ctx_.budget);  // the runs were freed by gather
      w->sort_scratch = {};
    }
    return out;
  }

 private:
  // A run is a list of fixed-size blocks rather than one growing array: appending never
  // copies, never holds up to twice the run's size as a doubling array would, and a sorted
  // partition's blocks go back to the system at once (run_block.hpp).
  using Block = detail::RunBlock<KeyAcc<J>>;
  using Run = std::vector<Block>;

  // What a worker's table still holds when the map phase ends, grouped by partition:
  // partition p's entries are entries[starts[p], starts[p + 1]). One array per worker rather
  // than blocks per partition: those blocks, each its own mapping, would be unmapped one by
  // one while the other workers run, and every unmapping interrupts them all (a TLB
  // shootdown), where natural text hands on nothing else (bench/jobs/wordcount_bench.cpp).
  struct Leftovers {
    detail::BulkArray<KeyAcc<J>> entries;
    std::vector<std::size_t> starts;
    std::span<KeyAcc<J>> of(std::size_t p) {
      if (starts.empty()) return {};
      return std::span<KeyAcc<J>>(entries.data() + starts[p], starts[p + 1] - starts[p]);
    }
  };

  // One worker's runs, written only by that worker while mapping; alone on its cache lines.
  // In finish(), its leftovers and the sort scratch of the partitions that worker gathers.
  struct alignas(lockfree::kCacheLine) Worker {
    Worker(std::size_t partitions, MemoryBudget* budget) : runs(partitions), charge(budget) {}
    std::vector<Run> runs;            // by partition
    Leftovers leftovers;              // empty until finish()
    std::vector<detail::Arena> keys;  // the key storage of every table appended here
    detail::BudgetCharge charge;      // for the runs' blocks and the leftovers
    // Kept from one partition to the next, so that each sort reuses its pages.
    detail::SortScratch<KeyAcc<J>> sort_scratch;
  };

  // Without a budget, the blocks' default size. Spilling, one worker's partly filled blocks
  // (one per partition) take at most an eighth of its share of the budget, with at least a
  // page and at most the default per block.
  static std::size_t block_capacity(const ExchangeContext<J>& ctx) {
    if (ctx.spill == nullptr) return Block::kCapacity;
    const std::uint64_t share =
        ctx.budget.limit() / 8 / ctx.scheduler.num_workers() / ctx.partitions;
    const std::uint64_t page_entries = 4096 / sizeof(KeyAcc<J>) + 1;
    return static_cast<std::size_t>(
        std::clamp<std::uint64_t>(share / sizeof(KeyAcc<J>), page_entries, Block::kCapacity));
  }

  void append_to_runs(Worker& w, Table& table) {
    if (table.empty()) return;
    table.for_each_slot([&](typename Table::Slot& s) {
      Run& run = w.runs[detail::partition_of(s.hash, ctx_.partitions)];
      if (run.empty() || run.back().full()) {
        w.charge.add(block_capacity_ * sizeof(KeyAcc<J>), "the map output runs");
        run.emplace_back(block_capacity_);
      }
      run.back().emplace_back(s.key, std::move(s.acc));
    });
    w.keys.push_back(table.take_arena());
    table.clear();
  }

  // Moves the entries of w's table into w.leftovers, grouped by partition (a counting sort),
  // and its keys into w.keys.
  void group_leftovers(Worker& w, Table& table) {
    if (table.empty()) return;
    const std::size_t partitions = ctx_.partitions;
    std::vector<std::size_t> next(partitions + 1, 0);
    table.for_each_slot(
        [&](typename Table::Slot& s) { ++next[detail::partition_of(s.hash, partitions) + 1]; });
    for (std::size_t p = 0; p < partitions; ++p) next[p + 1] += next[p];
    const std::size_t footprint = detail::BulkArray<KeyAcc<J>>::footprint(table.size());
    w.charge.add(footprint, "the map output runs");
    detail::BulkArray<KeyAcc<J>> entries;
    try {
      entries = detail::BulkArray<KeyAcc<J>>(table.size());
    } catch (...) {
      w.charge.remove(footprint);
      throw;
    }
    Leftovers& out = w.leftovers;
    out.entries = std::move(entries);
    out.starts = next;
    table.for_each_slot([&](typename Table::Slot& s) {
      KeyAcc<J>& e = out.entries[next[detail::partition_of(s.hash, partitions)]++];
      e.first = s.key;
      e.second = std::move(s.acc);
    });
    w.keys.push_back(table.take_arena());
  }

  // Writes each of w's runs to disk as one sorted, combined run of its partition, and frees
  // the runs and their keys.
  void spill(Worker& w) {
    std::vector<std::span<KeyAcc<J>>> pieces;
    for (std::size_t p = 0; p < w.runs.size(); ++p) {
      if (w.runs[p].empty()) continue;
      pieces.clear();
      for (Block& block : w.runs[p]) pieces.push_back(block.elements());
      const auto sorted = detail::sort_and_combine_by_key(
          std::span<const std::span<KeyAcc<J>>>(pieces), w.sort_scratch,
          [](auto& into, auto&& from) {
            detail::Accumulation<J>::merge(into, std::forward<decltype(from)>(from), false);
          });
      spill_sorted<J>(*ctx_.spill, p, std::span<const KeyAcc<J>>(sorted));
      w.runs[p] = Run();
    }
    w.keys.clear();
    w.charge = detail::BudgetCharge(&ctx_.budget);  // the blocks were freed
  }

  // Partition p: every worker's run and leftovers of it, sorted by key, equal keys combined.
  // The runs are freed as they are taken (the leftovers by finish()).
  Partition<J> gather(std::size_t p) {
    Partition<J> part;
    part.sorted_by_key = true;
    std::vector<std::span<KeyAcc<J>>> pieces;
    for (auto& w : workers_) {
      for (Block& block : w->runs[p]) pieces.push_back(block.elements());
      if (const auto left = w->leftovers.of(p); !left.empty()) pieces.push_back(left);
    }
    if (pieces.empty()) return part;
    // The sort's working memory is the calling worker's.
    const int worker = ctx_.scheduler.current_worker_index();
    detail::SortScratch<KeyAcc<J>> own;
    auto& scratch = worker >= 0 ? workers_[static_cast<std::size_t>(worker)]->sort_scratch : own;
    part.entries = detail::sort_and_combine_by_key(
        std::span<const std::span<KeyAcc<J>>>(pieces), scratch, [](auto& into, auto&& from) {
          detail::Accumulation<J>::merge(into, std::forward<decltype(from)>(from), false);
        });
    for (auto& w : workers_) w->runs[p] = Run();
    return part;
  }

  ExchangeContext<J> ctx_;
  const std::size_t block_capacity_;  // entries per run block
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace tally::exchange
