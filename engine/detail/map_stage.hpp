// MapStage<J, X>: the map + combine stage of a run. One map task per split runs map() on
// every record; map() emits into its worker's combiner table, where the values of one key
// meet at once (Accumulation<J>). The exchange strategy X decides what happens to a table
// that is full or whose task ended (hand_on) and, after the map phase, takes the tables.
//
// map() receives the worker's CombiningSink itself when it accepts one (a map() templated on
// its output type): emit() is then an ordinary inline call into the table probe
// (map_records.hpp has the other cases).
//
// Thread safety: map_split runs on pool workers, each worker touching only its own state
// (found by Scheduler::current_worker_index); take_tables and fill_report run after every
// map task has finished.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <utility>
#include <vector>

#include "tally/engine/detail/accumulation.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/make_each.hpp"
#include "tally/engine/detail/map_records.hpp"
#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/exchange/exchange.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/memory_budget.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/scheduler.hpp"
#include "tally/engine/status.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally::detail {

// Where map() writes: combines each pair straight into the worker's table, and hands the
// table's entries on to the exchange when it is full.
//
// The value lists of a reduce job that cannot spill (a job whose reduce() returns a list,
// say) are charged to the budget here, sizeof(Value) per value, kValueChargeBytes at a time:
// with most of such a job's memory in its lists rather than in its tables, a budget that
// did not count them would not bound the run. The charge lasts until the run ends (the
// lists move from table to table, then reduce() turns them into the result). Spillable jobs
// are left out: their spill mark counts tables, and a charge that spilling never releases
// would keep them spilling.
template <Job J, typename X>
class CombiningSink {
 public:
  using Key = typename J::Key;
  using Value = typename J::Value;
  using Table = exchange::WorkerTable<J>;

  // Values a worker emits between charges (its share of the budget it may hold uncounted).
  static constexpr std::uint64_t kValueChargeBytes = 64 << 10;

  CombiningSink(Table& table, X& exchange, std::size_t limit, MemoryBudget& budget)
      : table_(table), exchange_(exchange), limit_(limit), values_charge_(&budget) {}

  // Inlined into map(): the per-pair call cost more than the table probe it wraps.
  [[gnu::always_inline]] void emit(Key key, Value value) {
    count_value();
    auto [acc, fresh] = table_.find_or_insert(key, hash_key(key));
    add(acc, fresh, std::move(value));
  }

  // emit() for a key that is padded (key_hash.hpp): hashed and compared without branches
  // on its length. A job's map() that has such keys calls it where the sink offers it.
  [[gnu::always_inline]] void emit_padded(
      std::string_view key, Value value) requires std::is_same_v<Key, std::string_view> {
    count_value();
    auto [acc, fresh] = table_.find_or_insert_padded(key, hash_padded_key(key));
    add(acc, fresh, std::move(value));
  }

  [[gnu::noinline]] void hand_on() {
    ++flushes_;
    exchange_.hand_on(table_);
  }

  // Throws StatusError(kResourceExhausted) past the budget.
  [[gnu::noinline]] void charge_values() {
    values_charge_.add(uncharged_value_bytes_, "the next block of the keys' values");
    uncharged_value_bytes_ = 0;
  }

  std::uint64_t pairs() const noexcept { return pairs_; }
  std::uint64_t flushes() const noexcept { return flushes_; }

 private:
  static constexpr bool kChargesValues = ReduceJob<J> && !Spillable<J>;

  [[gnu::always_inline]] void count_value() {
    ++pairs_;
    if constexpr (kChargesValues) {
      uncharged_value_bytes_ += sizeof(Value);
      if (uncharged_value_bytes_ >= kValueChargeBytes) [[unlikely]] {
        charge_values();
      }
    }
  }

  template <typename Acc>
  [[gnu::always_inline]] void add(Acc* acc, bool fresh, Value value) {
    Accumulation<J>::add(*acc, std::move(value), fresh);
    if (fresh && table_.size() >= limit_) [[unlikely]] {  // only an insertion grows it
      hand_on();
    }
  }

  Table& table_;
  X& exchange_;
  const std::size_t limit_;
  BudgetCharge values_charge_;
  std::uint64_t uncharged_value_bytes_ = 0;
  std::uint64_t pairs_ = 0;
  std::uint64_t flushes_ = 0;
};

template <Job J, exchange::ExchangeStage<J> X>
class MapStage {
 public:
  using Table = exchange::WorkerTable<J>;

  // `combiner_keys`: the size of each worker's combiner table (RunOptions::combiner_keys, or
  // what the strategy and the memory budget choose).
  MapStage(const J& job, const Inputs& inputs, const RunOptions& options, Scheduler& scheduler,
           X& exchange, MemoryBudget& budget, std::size_t combiner_keys)
      : job_(job),
        inputs_(inputs),
        options_(options),
        scheduler_(scheduler),
        workers_(make_each<Worker>(scheduler.num_workers(), exchange, budget, combiner_keys)),
        bad_records_(options.max_bad_records, options.on_bad_record) {}

  // Map task: every record of one split.
  Status map_split(const SplitPlan& plan, const Split& split, const std::stop_token& stop) {
    Worker& w = *workers_[static_cast<std::size_t>(scheduler_.current_worker_index())];
    std::uint64_t records = 0;
    if (Status s = map_records(job_, inputs_, plan, split, options_.records, bad_records_, stop,
                               &records, w.sink);
        !s.ok()) {
      return s;
    }
    // The split's pages are dropped here, by the worker that mapped them and in parallel
    // with the other workers, so that the release_pages() after the map phase, on the
    // calling thread and ahead of the merge, has only the splits' shared edge pages left;
    // under a memory budget this also keeps the input's pages out of the resident memory.
    for (const Segment& seg : plan.segments_of(split)) {
      inputs_.release_pages(seg.input, seg.begin, seg.end);
    }
    w.bytes += split.bytes;
    w.records += records;
    if (options_.progress_bytes != nullptr) {
      options_.progress_bytes->fetch_add(split.bytes, std::memory_order_relaxed);  // a display
    }
    return Status::Ok();
  }

  // The workers' combiner tables, with what they hold since they were last handed on.
  std::vector<Table> take_tables() {
    std::vector<Table> tables;
    tables.reserve(workers_.size());
    for (auto& w : workers_) tables.push_back(std::move(w->combiner));
    return tables;
  }

  void fill_report(RunReport& report) const {
    for (const auto& w : workers_) {
      report.bytes_in += w->bytes;
      report.records_in += w->records;
      report.pairs_emitted += w->sink.pairs();
      report.combiner_flushes += w->sink.flushes();
    }
    report.bad_records = bad_records_.skipped();
  }

 private:
  using Sink = CombiningSink<J, X>;

  // Written only by its worker during the map phase; alone on its cache lines.
  struct alignas(lockfree::kCacheLine) Worker {
    Worker(X& exchange, MemoryBudget& budget, std::size_t limit)
        : combiner(0, &budget), sink(combiner, exchange, limit, budget) {}
    Table combiner;
    Sink sink;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;
  };

  const J& job_;
  const Inputs& inputs_;
  const RunOptions& options_;
  Scheduler& scheduler_;
  std::vector<std::unique_ptr<Worker>> workers_;
  BadRecordLimit bad_records_;
};

}  // namespace tally::detail
