// kSharded: combiner tables are bounded (RunOptions::combiner_keys); when one fills, and at
// the end of each map task, its entries are merged into a sharded aggregator, one shard (a
// mutex and a table, on its own cache lines) at a time.
//
// Under a memory budget, a thread whose merge finds the budget's spill mark passed spills
// shards, one at a time, until it is back under the mark: it takes the shard's table under
// the lock, leaves an empty one, and sorts and writes the entries after unlocking
// (spill.hpp), so that other threads keep merging meanwhile. Threads start at different
// shards, so two that spill at once write different ones.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "tally/engine/detail/make_each.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/exchange/spill.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally::exchange {

template <Job J>
class Sharded {
 public:
  using Table = WorkerTable<J>;
  // Small enough to stay in a core's cache while mapping.
  static constexpr std::size_t kDefaultCombinerKeys = std::size_t{1} << 14;

  explicit Sharded(const ExchangeContext<J>& ctx)
      : scheduler_(ctx.scheduler),
        budget_(ctx.budget),
        spill_(ctx.spill),
        shards_(detail::make_each<Shard>(ctx.partitions, &ctx.budget)) {}

  void hand_on(Table& table) {
    if (table.empty()) return;
    // Bucket entries by shard, then take each shard's lock once.
    std::vector<std::vector<typename Table::Slot*>> by_shard(shards_.size());
    table.for_each_slot([&](typename Table::Slot& s) {
      by_shard[detail::partition_of(s.hash, shards_.size())].push_back(&s);
    });
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      if (by_shard[i].empty()) continue;
      Shard& shard = *shards_[i];
      std::unique_lock lock(shard.mu, std::try_to_lock);
      const bool contended = !lock.owns_lock();
      if (contended) lock.lock();
      ++shard.locks;
      shard.contended += contended ? 1 : 0;
      for (typename Table::Slot* s : by_shard[i]) {
        auto [acc, fresh] = shard.table.find_or_insert(s->key, s->hash);
        detail::Accumulation<J>::merge(*acc, std::move(s->acc), fresh);
      }
    }
    table.clear();
    if constexpr (detail::Spillable<J>) {
      if (spill_ != nullptr && budget_.should_spill()) spill_shards();
    }
  }

  Exchanged<J> finish(std::vector<Table> worker_tables, RunReport& report) {
    for (Table& t : worker_tables) hand_on(t);
    std::vector<Table> finals;
    finals.reserve(shards_.size());
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mu);  // no contention now: for the annotation's sake
      finals.push_back(std::move(shard->table));
      report.shard_locks.push_back(shard->locks);
      report.shard_locks_contended.push_back(shard->contended);
    }
    return exchanged_from_tables<J>(scheduler_, std::move(finals));
  }

 private:
  // One lock and one table per shard, each alone on its cache lines so that threads merging
  // into neighbouring shards do not false-share.
  struct alignas(lockfree::kCacheLine) Shard {
    explicit Shard(MemoryBudget* budget) : table(0, budget) {}
    std::mutex mu;
    Table table;                  // guarded by mu
    std::uint64_t locks = 0;      // guarded by mu
    std::uint64_t contended = 0;  // guarded by mu: acquisitions that found mu taken
  };

  void spill_shards() {
    // Relaxed: only spreads the threads over the shards; the locks order the tables.
    const std::size_t first = next_spill_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t k = 0; k < shards_.size() && budget_.should_spill(); ++k) {
      const std::size_t i = (first + k) % shards_.size();
      Shard& shard = *shards_[i];
      Table taken;
      {
        const std::lock_guard lock(shard.mu);
        if (shard.table.empty()) continue;
        taken = std::exchange(shard.table, Table(0, &budget_));
      }
      spill_table<J>(*spill_, i, taken, budget_);
    }
  }

  Scheduler& scheduler_;
  MemoryBudget& budget_;
  detail::SpillStore* spill_;
  std::atomic<std::size_t> next_spill_{0};
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace tally::exchange
