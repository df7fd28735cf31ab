// The reduce stage: the exchange's final tables become the result's sorted runs. Each
// partition's table is turned into (key, value) entries (Accumulation<J>::finish: reduce()
// for a ReduceJob), sorted by key, and freed, one task per partition; with
// RunOptions::order == kByValue the value-order index is built the same way. The runs are
// never merged into one array: the result is read through a k-way merge (result_table.hpp).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/detail/accumulation.hpp"
#include "engine/detail/arena.hpp"
#include "engine/detail/budget_charge.hpp"
#include "engine/exchange/exchange.hpp"
#include "engine/parallel.hpp"
#include "engine/result_table.hpp"
#include "engine/run_options.hpp"
#include "engine/scheduler.hpp"

namespace tally::detail {

// The first 8 bytes of `s` as a big-endian number, zero-padded: comparing two prefixes
// orders the strings as a bytewise comparison would, up to their first 8 bytes.
inline std::uint64_t key_prefix(std::string_view s) noexcept {
  unsigned char bytes[8] = {};
  std::memcpy(bytes, s.data(), std::min<std::size_t>(s.size(), 8));
  std::uint64_t v;
  std::memcpy(&v, bytes, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// Sorts one run by key. String keys are sorted by an 8-byte prefix copied next to each
// entry's position, so nearly every comparison is one integer compare on a contiguous array
// instead of two pointer chases into the key storage; only equal prefixes compare the keys.
template <typename Key, typename Value>
void sort_by_key(std::vector<std::pair<Key, Value>>& run) {
  if constexpr (std::is_same_v<Key, std::string_view>) {
    struct Item {
      std::uint64_t prefix;
      std::size_t index;
    };
    std::vector<Item> items(run.size());
    for (std::size_t i = 0; i < run.size(); ++i) items[i] = {key_prefix(run[i].first), i};
    std::sort(items.begin(), items.end(), [&run](const Item& a, const Item& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      return run[a.index].first < run[b.index].first;
    });
    std::vector<std::pair<Key, Value>> sorted;
    sorted.reserve(run.size());
    for (const Item& item : items) sorted.push_back(std::move(run[item.index]));
    run = std::move(sorted);
  } else {
    std::sort(run.begin(), run.end(), KeyLess{});
  }
}

// Turns the final tables into the result (see the top of this file). The tables are
// consumed: each is freed as soon as its run is built.
template <Job J>
ResultTable<typename J::Key, typename J::Value> reduce_to_result(
    const J& job, std::vector<exchange::WorkerTable<J>> finals, Scheduler& scheduler,
    const RunOptions& options, MemoryBudget& budget) {
  using Key = typename J::Key;
  using Value = typename J::Value;
  using Entry = std::pair<Key, Value>;
  std::size_t n = 0;
  for (const auto& t : finals) n += t.size();
  // The runs, plus the one-at-a-time sort scratch of each worker (an item and a copy of the
  // entry per entry of the partitions being sorted) roughly bounded by a second copy.
  BudgetCharge entries_charge(&budget);
  entries_charge.add(2 * n * sizeof(Entry), "the result's entries");

  std::vector<std::vector<Entry>> runs(finals.size());
  std::vector<Arena> storage(finals.size());
  parallel_for(
      scheduler, 0, finals.size(),
      [&](std::size_t lo, std::size_t hi) {
        for (std::size_t p = lo; p < hi; ++p) {
          auto& table = finals[p];
          runs[p].reserve(table.size());
          table.for_each([&](std::uint64_t, const Key& key, auto& acc) {
            runs[p].emplace_back(key, Accumulation<J>::finish(job, key, std::move(acc)));
          });
          storage[p] = table.take_arena();
          storage[p].detach_budget();          // the result outlives the run and its budget
          table = exchange::WorkerTable<J>();  // its slots are no longer needed
          sort_by_key(runs[p]);
        }
      },
      1);
  ResultTable<Key, Value> result(std::move(runs), std::move(storage));
  if constexpr (std::totally_ordered<Value>) {
    if (options.order == ResultOrder::kByValue) {
      result.order_by_value([&](std::size_t count, auto&& fn) {
        parallel_for(
            scheduler, 0, count,
            [&](std::size_t lo, std::size_t hi) {
              for (std::size_t p = lo; p < hi; ++p) fn(p);
            },
            1);
      });
    }
  }
  return result;
}

}  // namespace tally::detail
