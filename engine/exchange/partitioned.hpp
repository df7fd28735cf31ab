// kPartitioned: combiner tables are bounded (RunOptions::combiner_keys); a full one is cut
// into one batch per partition and each batch pushed into that partition's bounded
// MpmcQueue. A partition's table belongs to whoever holds its drain token (no lock on the
// table, no lock while pushing). Mappers drain a partition whose channel is half full, so
// reduction runs while maps still run; a mapper facing a full channel drains it itself
// (backpressure that cannot deadlock: the pusher becomes the consumer) or, if another
// thread is draining it, yields and retries. The rest is drained after the map phase.
//
// Under a memory budget, a drain that finds the budget's spill mark passed writes the
// partition's table to disk (spill.hpp) before it returns the drain token.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/make_each.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/exchange/spill.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/lockfree/backoff.hpp"
#include "tally/lockfree/cache_line.hpp"
#include "tally/lockfree/mpmc_queue.hpp"

namespace tally::exchange {

template <Job J>
class Partitioned {
 public:
  using Table = WorkerTable<J>;
  using Key = typename J::Key;
  using Acc = typename detail::Accumulation<J>::Acc;
  // Small enough to stay in a core's cache while mapping, and batches small enough to
  // keep a channel's consumer busy.
  static constexpr std::size_t kDefaultCombinerKeys = std::size_t{1} << 14;

  explicit Partitioned(const ExchangeContext<J>& ctx)
      : ctx_(ctx),
        channels_(detail::make_each<Channel>(
            ctx.partitions, ctx.options.channel_capacity == 0 ? 1 : ctx.options.channel_capacity,
            &ctx.budget)) {
    for (std::size_t p = 0; p < channels_.size(); ++p) channels_[p]->partition = p;
  }

  void hand_on(Table& table) {
    if (table.empty()) return;
    std::vector<std::unique_ptr<Batch>> batches(channels_.size());
    table.for_each_slot([&](typename Table::Slot& s) {
      auto& b = batches[detail::partition_of(s.hash, channels_.size())];
      if (!b) b = std::make_unique<Batch>(&ctx_.budget);
      Key key = s.key;
      if constexpr (std::is_same_v<Key, std::string_view>) key = b->keys.copy(s.key);
      b->entries.emplace_back(key, std::move(s.acc));
      b->hashes.push_back(s.hash);
    });
    table.clear();
    for (std::size_t p = 0; p < batches.size(); ++p) {
      if (!batches[p]) continue;
      batches[p]->charge_arrays();
      Channel& c = *channels_[p];
      c.batches.fetch_add(1, std::memory_order_relaxed);  // a statistic: relaxed
      lockfree::SpinWait backoff;
      while (!c.queue.try_push(std::move(batches[p]))) {
        // Backpressure: the channel is full. Drain it ourselves rather than wait; if another
        // thread is draining it, it has room again soon.
        c.full_events.fetch_add(1, std::memory_order_relaxed);  // a statistic: relaxed
        if (!drain(c) && !backoff.spin_once()) std::this_thread::yield();
      }
      // Pipelining: reduce while mapping, once a channel is half full.
      if (c.queue.size_approx() * 2 >= c.queue.capacity()) drain(c);
    }
  }

  Exchanged<J> finish(std::vector<Table> worker_tables, RunReport& report) {
    // Every map task has finished (the map group's wait synchronizes with them): what the
    // workers' tables still hold is sent, and each channel's last batches are drained here,
    // one task per partition.
    for (Table& t : worker_tables) hand_on(t);
    parallel_for_each_index(ctx_.scheduler, channels_.size(),
                            [&](std::size_t p) { drain(*channels_[p]); });
    std::vector<Table> finals;
    finals.reserve(channels_.size());
    for (auto& c : channels_) {
      finals.push_back(std::move(c->table));
      // Relaxed: statistics, and every writer finished before the map group's wait.
      report.channel_full_events += c->full_events.load(std::memory_order_relaxed);
      report.batches += c->batches.load(std::memory_order_relaxed);
    }
    return exchanged_from_tables<J>(ctx_.scheduler, std::move(finals));
  }

 private:
  // A batch of one partition's entries, with its own copy of the keys (the combiner table
  // they came from is cleared and reused at once).
  struct Batch {
    explicit Batch(MemoryBudget* budget) : keys(budget), arrays(budget) {}
    // Charges the arrays once they are filled: batches in flight count against the budget.
    void charge_arrays() {
      arrays.add(entries.capacity() * sizeof(entries[0]) + hashes.capacity() * sizeof(hashes[0]),
                 "the batches in the channels");
    }
    std::vector<std::pair<Key, Acc>> entries;
    std::vector<std::uint64_t> hashes;
    detail::Arena keys;
    detail::BudgetCharge arrays;  // for entries and hashes
  };

  // One partition's channel and table, alone on its cache lines.
  struct alignas(lockfree::kCacheLine) Channel {
    Channel(std::size_t capacity, MemoryBudget* budget) : queue(capacity), table(0, budget) {}
    lockfree::MpmcQueue<std::unique_ptr<Batch>> queue;
    // The drain token: whoever exchanges it from false to true owns `table` until it stores
    // false again. Acquire on taking it pairs with the release on returning it, so one
    // owner's merges happen-before the next owner's.
    std::atomic<bool> draining{false};
    Table table;  // owned by the holder of the drain token
    std::size_t partition = 0;
    std::atomic<std::uint64_t> full_events{0};  // pushes that found the channel full
    std::atomic<std::uint64_t> batches{0};
  };

  // Merges every batch queued in `c` into its table, unless another thread holds the drain
  // token (then returns false at once).
  bool drain(Channel& c) {
    if (c.draining.exchange(true, std::memory_order_acquire)) return false;
    std::unique_ptr<Batch> batch;
    while (c.queue.try_pop(batch)) {
      for (std::size_t i = 0; i < batch->entries.size(); ++i) {
        auto& [key, acc] = batch->entries[i];
        auto [into, fresh] = c.table.find_or_insert(key, batch->hashes[i]);
        detail::Accumulation<J>::merge(*into, std::move(acc), fresh);
      }
    }
    if constexpr (detail::Spillable<J>) {
      if (ctx_.spill != nullptr && ctx_.budget.should_spill()) {
        // Returns the token on every path: a spill that throws (a full disk) fails the run,
        // which must not leave the channel undrainable for the threads that finish it.
        try {
          spill_table<J>(*ctx_.spill, c.partition, c.table, ctx_.budget);
        } catch (...) {
          c.draining.store(false, std::memory_order_release);
          throw;
        }
      }
    }
    c.draining.store(false, std::memory_order_release);
    return true;
  }

  ExchangeContext<J> ctx_;
  std::vector<std::unique_ptr<Channel>> channels_;
};

}  // namespace tally::exchange
