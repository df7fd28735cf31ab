// Spilling from the exchange strategies: under a memory budget (RunOptions::memory_budget),
// a strategy that holds entries when the budget's spill mark is passed writes them out as
// sorted runs, one per partition, and frees their memory (Hadoop's map-side spill). Each
// strategy spills what it owns at that moment:
//   local        the calling worker's runs of every partition (spill_sorted)
//   sharded      shards, one at a time under their lock, until under the mark (spill_table)
//   partitioned  the table of the partition being drained (spill_table)
// The reduce stage merges each partition's runs with what is left in memory
// (detail/spill_merge.hpp, reduce_stage.hpp).
//
// Thread safety: any thread may spill; the store takes runs concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/sort_by_key.hpp"
#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/detail/spill_run.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/exchange/exchange.hpp"

namespace tally::exchange {

// Writes `sorted` (sorted by key, no key twice, every key of `partition`) as one run of
// `partition`. Throws StatusError if the spill file cannot be written.
template <Job J>
void spill_sorted(detail::SpillStore& store, std::size_t partition,
                  std::span<const KeyAcc<J>> sorted) {
  if (sorted.empty()) return;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  detail::RunWriter<typename J::Key, typename detail::Accumulation<J>::Acc> writer(
      store.file(), store.settings().block_bytes);
  for (const auto& [key, acc] : sorted) writer.add(key, acc);
  store.add_run(partition, writer.finish());
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  // Relaxed: a statistic.
  store.counters().write_nanos.fetch_add(static_cast<std::uint64_t>(nanos.count()),
                                         std::memory_order_relaxed);
}

// Writes every entry of `table` (all of `partition`) as one run, and leaves the table empty
// with its slots and keys freed.
template <Job J>
void spill_table(detail::SpillStore& store, std::size_t partition, WorkerTable<J>& table,
                 MemoryBudget& budget) {
  if (table.empty()) return;
  std::vector<KeyAcc<J>> entries;
  detail::BudgetCharge charge(&budget);
  charge.add(table.size() * sizeof(KeyAcc<J>), "the entries of a spilled table");
  entries.reserve(table.size());
  table.for_each([&](std::uint64_t, const typename J::Key& key, auto& acc) {
    entries.emplace_back(key, std::move(acc));
  });
  detail::sort_by_key(entries);
  spill_sorted<J>(store, partition, std::span<const KeyAcc<J>>(entries));
  table = WorkerTable<J>(0, &budget);
}

}  // namespace tally::exchange
