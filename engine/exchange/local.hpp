// kLocal: each worker's combiner table grows to hold every key its worker sees; after the
// map phase the tables are merged partition by partition in parallel (the Phoenix++
// approach). No sharing at all while mapping. bench/engine/aggregate_bench.cpp compares the
// strategies (bench/README.md): this one, the default, is fastest on natural-language
// vocabularies.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "engine/exchange/exchange.hpp"
#include "engine/parallel.hpp"

namespace tally::exchange {

template <Job J>
class Local {
 public:
  using Table = WorkerTable<J>;
  static constexpr bool kBoundedCombiner = false;

  explicit Local(const ExchangeContext<J>& ctx) : ctx_(ctx) {}

  void hand_on(Table& /*table*/) {}  // never called: the combiner is unbounded

  std::vector<Table> finish(std::vector<Table> worker_tables, RunReport& /*report*/) {
    std::vector<Table> finals;
    // One table holding everything (one worker, or one that took every split) is the
    // result as it is, with no partitioning and no second insertion.
    std::size_t non_empty = 0;
    for (const Table& t : worker_tables) non_empty += t.empty() ? 0 : 1;
    if (non_empty <= 1) {
      for (Table& t : worker_tables) {
        if (!t.empty()) finals.push_back(std::move(t));
      }
      return finals;
    }
    const std::size_t partitions = ctx_.partitions;
    // Bucket each worker's entries by partition (one task per worker table), then build each
    // partition's table from its buckets (one task per partition), sized up front for the
    // entries it is about to receive so that it never rehashes.
    using Slot = typename Table::Slot;
    std::vector<std::vector<std::vector<Slot*>>> buckets(worker_tables.size());
    parallel_for(
        ctx_.scheduler, 0, worker_tables.size(),
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t w = lo; w < hi; ++w) {
            auto& mine = buckets[w];
            mine.resize(partitions);
            for (auto& b : mine) b.reserve(worker_tables[w].size() / partitions * 9 / 8);
            worker_tables[w].for_each_slot(
                [&](Slot& s) { mine[detail::partition_of(s.hash, partitions)].push_back(&s); });
          }
        },
        1);
    finals.reserve(partitions);
    for (std::size_t p = 0; p < partitions; ++p) finals.emplace_back(0, &ctx_.budget);
    parallel_for(
        ctx_.scheduler, 0, partitions,
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t p = lo; p < hi; ++p) {
            std::size_t incoming = 0;
            for (const auto& per_worker : buckets) incoming += per_worker[p].size();
            Table& out = finals[p];
            out = Table(incoming, &ctx_.budget);
            for (auto& per_worker : buckets) {
              for (Slot* s : per_worker[p]) {
                auto [acc, fresh] = out.find_or_insert(s->key, s->hash);
                detail::Accumulation<J>::merge(*acc, std::move(s->acc), fresh);
              }
              std::vector<Slot*>().swap(per_worker[p]);
            }
          }
        },
        1);
    // The partition tables hold copies of every key: the worker tables go now rather than
    // with the run, which lowers the peak by their size.
    return finals;
  }

 private:
  ExchangeContext<J> ctx_;
};

}  // namespace tally::exchange
