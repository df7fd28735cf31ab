// Engine::run: runs a map-reduce job over inputs on a work-stealing pool.
//
//   tally::Engine engine{{.threads = 8}};
//   tally::Inputs inputs = tally::Inputs::paths({"corpus/"});
//   auto result = engine.run(WordCount{}, inputs, {.deadline = steady_clock::now() + 30s});
//   if (!result.ok()) { std::cerr << result.status().to_string(); return; }
//   for (auto& [word, count] : result->table.top(20)) ...
//   std::cout << result->report.to_text();
//
// Data flow (DESIGN.md): inputs are cut into splits aligned to records; one map task per
// split runs on the pool; map() emits into the worker's combiner table, where values of one
// key are combined at once (CombineJob) or collected (ReduceJob). Then, by strategy:
//  - kLocal: each worker's table grows to hold every key it saw; after the map phase the
//    tables are merged partition by partition in parallel (the Phoenix++ approach).
//  - kSharded: combiner tables are bounded (RunOptions::combiner_keys); when one fills, and
//    at the end of each task, its entries are merged into a sharded aggregator, one shard
//    (a mutex and a table, on its own cache lines) at a time.
//  - kPartitioned: combiner tables are bounded too, but a full one is cut into one batch per
//    partition and each batch pushed into that partition's bounded MpmcQueue. A partition's
//    table belongs to whoever holds its drain token (no lock on the table, no lock while
//    pushing). Mappers drain a partition whose channel is half full, so reduction runs
//    while maps still run; a mapper facing a full channel drains it itself (backpressure
//    that cannot deadlock: the pusher becomes the consumer) or, if another thread is
//    draining it, yields and retries. The rest is drained after the map phase.
// Finally reduce() runs per key (ReduceJob) and the result table is built and sorted.
// bench/engine/aggregate_bench.cpp compares the strategies: kLocal, the default, is fastest
// up to 10^5 distinct keys (natural-language vocabularies); kPartitioned and kSharded win at
// 10^6 (bench/README.md).
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
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/detail/arena.hpp"
#include "engine/detail/budget_charge.hpp"
#include "engine/detail/flat_table.hpp"
#include "engine/detail/records.hpp"
#include "engine/input.hpp"
#include "engine/job.hpp"
#include "engine/memory_budget.hpp"
#include "engine/parallel.hpp"
#include "engine/result_table.hpp"
#include "engine/run_report.hpp"
#include "engine/scheduler.hpp"
#include "engine/status.hpp"
#include "engine/task_group.hpp"
#include "lockfree/backoff.hpp"
#include "lockfree/cache_line.hpp"
#include "lockfree/mpmc_queue.hpp"

namespace tally {

enum class Strategy { kLocal, kSharded, kPartitioned };

std::string_view to_string(Strategy s) noexcept;
// "local", "sharded" or "partitioned"; nullopt for anything else.
std::optional<Strategy> parse_strategy(std::string_view name) noexcept;

// The phases of a run, in the order run() goes through them: cutting the inputs into
// splits, the map tasks, merging the per-worker or per-partition tables, and building the
// sorted result.
enum class Phase { kSplit, kMap, kMerge, kFinalize };

// "split", "map", "merge" or "finalize".
constexpr std::string_view to_string(Phase p) noexcept {
  switch (p) {
    case Phase::kSplit:
      return "split";
    case Phase::kMap:
      return "map";
    case Phase::kMerge:
      return "merge";
    case Phase::kFinalize:
      return "finalize";
  }
  return "?";
}

struct EngineOptions {
  std::size_t threads = 0;  // 0: the cores in this process's affinity mask
};

struct RunOptions {
  Strategy strategy = Strategy::kLocal;
  // Bytes per map task; 0 picks total / (16 x workers), between 256 KiB and 16 MiB.
  std::uint64_t split_bytes = 0;
  char delimiter = '\n';
  // kSharded, kPartitioned: keys a worker's combiner table holds before it is handed on.
  std::size_t combiner_keys = std::size_t{1} << 14;
  // Partitions for the final merge (kLocal), shards (kSharded) or channels (kPartitioned);
  // 0 picks 8 x workers.
  std::size_t partitions = 0;
  // kPartitioned: batches each partition's channel holds before pushers must drain it.
  std::size_t channel_capacity = 16;
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  std::stop_token stop{};
  // Bytes the run's tables and keys may hold (memory_budget.hpp); 0: no limit. A run that
  // needs more fails with kResourceExhausted instead of growing past it.
  std::uint64_t memory_budget = 0;
  // If set, the bytes of each split are added here (relaxed) when its map task finishes:
  // for a progress display on another thread. Must outlive the run.
  std::atomic<std::uint64_t>* progress_bytes = nullptr;
  // If set, called with starting = true just before each phase and with starting = false
  // just after it, on the thread that called run(): split, map, merge, finalize, in that
  // order. Every starting call gets its ending call, also when the phase fails (then no
  // later phase starts). For phase markers such as perf's --control protocol
  // (tools/tally/perf_control.hpp). Must not throw. Unset, it costs one test per phase.
  std::function<void(Phase, bool starting)> on_phase{};
};

template <typename J>
struct RunOutput {
  ResultTable<typename J::Key, typename J::Value> table;
  RunReport report;
};

namespace detail {

// How values of one key accumulate: combined at once, or collected for reduce().
template <typename J>
struct Accumulation;

template <CombineJob J>
struct Accumulation<J> {
  using Value = typename J::Value;
  using Acc = Value;
  static void add(Acc& acc, Value v, bool fresh) {
    acc = fresh ? std::move(v) : J::combine(std::move(acc), std::move(v));
  }
  static void merge(Acc& into, Acc&& from, bool fresh) { add(into, std::move(from), fresh); }
  static Value finish(const J&, const typename J::Key&, Acc&& acc) { return std::move(acc); }
};

template <ReduceJob J>
struct Accumulation<J> {
  using Value = typename J::Value;
  using Acc = std::vector<Value>;
  static void add(Acc& acc, Value v, bool /*fresh*/) { acc.push_back(std::move(v)); }
  static void merge(Acc& into, Acc&& from, bool fresh) {
    if (fresh) {
      into = std::move(from);
    } else {
      into.insert(into.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
    }
  }
  static Value finish(const J& job, const typename J::Key& key, Acc&& acc) {
    return job.reduce(key, std::span<const Value>(acc));
  }
};

__extension__ using Uint128 = unsigned __int128;  // __extension__: no -Wpedantic warning

inline std::size_t partition_of(std::uint64_t hash, std::size_t partitions) noexcept {
  // From the high bits (multiply-shift, no division): a table's slot index uses the low
  // bits, so the keys of one partition still spread over all of its table's slots.
  return static_cast<std::size_t>((static_cast<Uint128>(hash) * partitions) >> 64);
}

}  // namespace detail

class Engine {
 public:
  explicit Engine(EngineOptions options = {}) : scheduler_({.threads = options.threads}) {}

  Scheduler& scheduler() noexcept { return scheduler_; }
  std::size_t num_workers() const noexcept { return scheduler_.num_workers(); }

  // Opens `inputs` if needed, then runs `job` over them (see the top of this file).
  template <Job J>
  Result<RunOutput<J>> run(const J& job, Inputs& inputs, const RunOptions& options = {});

 private:
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

template <typename T, typename... Args>
std::vector<std::unique_ptr<T>> make_each(std::size_t n, Args&&... args) {
  std::vector<std::unique_ptr<T>> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.push_back(std::make_unique<T>(args...));
  return v;
}

template <Job J>
class RunState {
 public:
  using Key = typename J::Key;
  using Value = typename J::Value;
  using Acc = typename Accumulation<J>::Acc;
  using Table = FlatTable<Key, Acc>;

  RunState(const J& job, Scheduler& scheduler, const Inputs& inputs, const RunOptions& options,
           std::size_t partitions, MemoryBudget& budget)
      : job_(job),
        scheduler_(scheduler),
        inputs_(inputs),
        options_(options),
        partitions_(partitions),
        budget_(budget),
        workers_(make_each<WorkerState>(scheduler.num_workers(), this)),
        shards_(make_each<Shard>(options.strategy == Strategy::kSharded ? partitions : 0, &budget)),
        channels_(make_each<Channel>(options.strategy == Strategy::kPartitioned ? partitions : 0,
                                     options.channel_capacity == 0 ? 1 : options.channel_capacity,
                                     &budget)) {}

  // Map task: every record of one split.
  Status map_split(const SplitPlan& plan, const Split& split, const std::stop_token& stop) {
    WorkerState& w = *workers_[static_cast<std::size_t>(scheduler_.current_worker_index())];
    std::uint64_t records = 0;
    if (Status s = for_each_record(inputs_, plan, split, options_.delimiter, stop, &records,
                                   [&](Record rec) { job_.map(rec, w.emitter); });
        !s.ok()) {
      return s;
    }
    w.bytes += split.bytes;
    w.records += records;
    if (options_.progress_bytes != nullptr) {
      options_.progress_bytes->fetch_add(split.bytes, std::memory_order_relaxed);  // a display
    }
    hand_on(w);
    return Status::Ok();
  }

  // After the map phase: the final per-partition tables.
  void merge(RunReport& report) {
    if (options_.strategy == Strategy::kPartitioned) {
      // Every map task has finished (the task group's wait synchronizes with them), so each
      // channel's last batches are drained here, one task per partition.
      parallel_for(
          scheduler_, 0, channels_.size(),
          [&](std::size_t lo, std::size_t hi) {
            for (std::size_t p = lo; p < hi; ++p) drain(*channels_[p]);
          },
          1);
      for (auto& c : channels_) {
        finals_.push_back(std::move(c->table));
        // Relaxed: statistics, and every writer finished before the map group's wait.
        report.channel_full_events += c->full_events.load(std::memory_order_relaxed);
        report.batches += c->batches.load(std::memory_order_relaxed);
      }
      return;
    }
    if (options_.strategy == Strategy::kSharded) {
      for (auto& shard : shards_) {
        std::lock_guard lock(shard->mu);  // no contention now: for the annotation's sake
        finals_.push_back(std::move(shard->table));
        report.shard_locks.push_back(shard->locks);
        report.shard_locks_contended.push_back(shard->contended);
      }
      return;
    }
    // kLocal with one table holding everything (one worker, or one that took every split):
    // it is the result as it is, with no partitioning and no second insertion.
    std::size_t non_empty = 0;
    for (const auto& w : workers_) non_empty += w->combiner.empty() ? 0 : 1;
    if (non_empty <= 1) {
      for (auto& w : workers_) {
        if (!w->combiner.empty()) finals_.push_back(std::move(w->combiner));
      }
      return;
    }
    // kLocal: bucket each worker's entries by partition (in parallel, one task per worker
    // table), then build each partition's table from its buckets (one task per partition).
    std::vector<std::vector<std::vector<typename Table::Slot*>>> buckets(workers_.size());
    parallel_for(
        scheduler_, 0, workers_.size(),
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t wi = lo; wi < hi; ++wi) {
            auto& mine = buckets[wi];
            mine.resize(partitions_);
            workers_[wi]->combiner.for_each_slot([&](typename Table::Slot& s) {
              mine[partition_of(s.hash, partitions_)].push_back(&s);
            });
          }
        },
        1);
    finals_.reserve(partitions_);
    for (std::size_t p = 0; p < partitions_; ++p) finals_.emplace_back(0, &budget_);
    parallel_for(
        scheduler_, 0, partitions_,
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t p = lo; p < hi; ++p) {
            Table& out = finals_[p];
            for (auto& per_worker : buckets) {
              for (typename Table::Slot* s : per_worker[p]) {
                auto [acc, fresh] = out.find_or_insert(s->key, s->hash);
                Accumulation<J>::merge(*acc, std::move(s->acc), fresh);
              }
            }
          }
        },
        1);
    // The partition tables hold copies of every key: the worker tables can go now rather
    // than with the run, which lowers the peak by their size (a third of it with 10^7 keys).
    buckets.clear();
    for (auto& w : workers_) w->combiner = Table(0, &budget_);
  }

  // The sorted result, owning every key. Each partition's entries are sorted on its own
  // task, then sorted runs are merged pairwise, each round's merges in parallel: with 10^7
  // keys one sort of the whole array on one thread was most of the run.
  ResultTable<Key, Value> finalize() {
    using Entry = std::pair<Key, Value>;
    const auto by_key = [](const Entry& a, const Entry& b) { return a.first < b.first; };
    // The entries exist twice while runs merge (source and destination): both count.
    std::size_t n = 0;
    for (const Table& t : finals_) n += t.size();
    BudgetCharge entries_charge(&budget_);
    entries_charge.add(2 * n * sizeof(Entry), "the result's entries");
    std::vector<std::vector<Entry>> runs(finals_.size());
    parallel_for(
        scheduler_, 0, finals_.size(),
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t p = lo; p < hi; ++p) {
            runs[p].reserve(finals_[p].size());
            finals_[p].for_each([&](std::uint64_t, const Key& key, Acc& acc) {
              runs[p].emplace_back(key, Accumulation<J>::finish(job_, key, std::move(acc)));
            });
            std::sort(runs[p].begin(), runs[p].end(), by_key);
          }
        },
        1);
    while (runs.size() > 1) {
      std::vector<std::vector<Entry>> merged((runs.size() + 1) / 2);
      parallel_for(
          scheduler_, 0, merged.size(),
          [&](std::size_t lo, std::size_t hi) {
            for (std::size_t i = lo; i < hi; ++i) {
              if (2 * i + 1 == runs.size()) {  // an odd run out goes on as it is
                merged[i] = std::move(runs[2 * i]);
                continue;
              }
              auto& a = runs[2 * i];
              auto& b = runs[2 * i + 1];
              merged[i].reserve(a.size() + b.size());
              std::merge(std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()),
                         std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()),
                         std::back_inserter(merged[i]), by_key);
              std::vector<Entry>().swap(a);  // free each source as soon as it is merged
              std::vector<Entry>().swap(b);
            }
          },
          1);
      runs = std::move(merged);
    }
    std::vector<Arena> storage;
    for (auto& t : finals_) {
      storage.push_back(t.take_arena());
      storage.back().detach_budget();  // the result outlives the run and its budget
    }
    std::vector<Entry> entries = runs.empty() ? std::vector<Entry>() : std::move(runs.front());
    return ResultTable<Key, Value>(std::move(entries), std::move(storage), kSortedByKey);
  }

  void fill_report(RunReport& report) const {
    for (const auto& w : workers_) {
      report.bytes_in += w->bytes;
      report.records_in += w->records;
      report.pairs_emitted += w->emitter.pairs;
      report.combiner_flushes += w->flushes;
    }
  }

 private:
  struct WorkerState;

  // The sink map() writes to: combines straight into the worker's table.
  class CombiningEmitter final : public Emitter<Key, Value> {
   public:
    explicit CombiningEmitter(WorkerState& owner) : owner_(owner) {}
    // Forced inline where map() is (WordCount) or could be devirtualized: the per-pair
    // call cost more than the table probe it wraps.
    [[gnu::always_inline]] void emit(Key key, Value value) override {
      ++pairs;
      auto [acc, fresh] = owner_.combiner.find_or_insert(key, hash_key(key));
      Accumulation<J>::add(*acc, std::move(value), fresh);
      if (owner_.bounded && owner_.combiner.size() >= owner_.limit) owner_.run->hand_on(owner_);
    }
    std::uint64_t pairs = 0;

   private:
    WorkerState& owner_;
  };

  // Per worker, written only by that worker during the map phase.
  struct alignas(lockfree::kCacheLine) WorkerState {
    explicit WorkerState(RunState* r)
        : run(r),
          bounded(r->options_.strategy != Strategy::kLocal),
          limit(r->options_.combiner_keys == 0 ? 1 : r->options_.combiner_keys),
          combiner(0, &r->budget_),
          emitter(*this) {}
    RunState* run;
    const bool bounded;
    const std::size_t limit;
    Table combiner;
    CombiningEmitter emitter;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;
    std::uint64_t flushes = 0;
  };

  // kSharded: one lock and one table per shard, each alone on its cache lines so that
  // threads merging into neighbouring shards do not false-share.
  struct alignas(lockfree::kCacheLine) Shard {
    explicit Shard(MemoryBudget* budget) : table(0, budget) {}
    std::mutex mu;
    Table table;                  // guarded by mu
    std::uint64_t locks = 0;      // guarded by mu
    std::uint64_t contended = 0;  // guarded by mu: acquisitions that found mu taken
  };

  // kPartitioned: a batch of one partition's entries, with its own copy of the keys (the
  // combiner table they came from is cleared and reused at once).
  struct Batch {
    explicit Batch(MemoryBudget* budget) : keys(budget) {}
    std::vector<std::pair<Key, Acc>> entries;
    std::vector<std::uint64_t> hashes;
    Arena keys;
  };

  // kPartitioned: one partition's channel and table, alone on its cache lines.
  struct alignas(lockfree::kCacheLine) Channel {
    Channel(std::size_t capacity, MemoryBudget* budget) : queue(capacity), table(0, budget) {}
    lockfree::MpmcQueue<std::unique_ptr<Batch>> queue;
    // The drain token: whoever exchanges it from false to true owns `table` until it stores
    // false again. Acquire on taking it pairs with the release on returning it, so one
    // owner's merges happen-before the next owner's.
    std::atomic<bool> draining{false};
    Table table;                                // owned by the holder of the drain token
    std::atomic<std::uint64_t> full_events{0};  // pushes that found the channel full
    std::atomic<std::uint64_t> batches{0};
  };

  // Hands a worker's combiner table on, by strategy (local tables are never handed on).
  void hand_on(WorkerState& w) {
    if (options_.strategy == Strategy::kSharded) flush_to_shards(w);
    if (options_.strategy == Strategy::kPartitioned) flush_to_channels(w);
  }

  // Merges every batch queued in `c` into its table, unless another thread holds the drain
  // token (then returns false at once).
  bool drain(Channel& c) {
    if (c.draining.exchange(true, std::memory_order_acquire)) return false;
    std::unique_ptr<Batch> batch;
    while (c.queue.try_pop(batch)) {
      for (std::size_t i = 0; i < batch->entries.size(); ++i) {
        auto& [key, acc] = batch->entries[i];
        auto [into, fresh] = c.table.find_or_insert(key, batch->hashes[i]);
        Accumulation<J>::merge(*into, std::move(acc), fresh);
      }
    }
    c.draining.store(false, std::memory_order_release);
    return true;
  }

  void flush_to_channels(WorkerState& w) {
    if (w.combiner.empty()) return;
    ++w.flushes;
    std::vector<std::unique_ptr<Batch>> batches(channels_.size());
    w.combiner.for_each_slot([&](typename Table::Slot& s) {
      auto& b = batches[partition_of(s.hash, channels_.size())];
      if (!b) b = std::make_unique<Batch>(&budget_);
      Key key = s.key;
      if constexpr (std::is_same_v<Key, std::string_view>) key = b->keys.copy(s.key);
      b->entries.emplace_back(key, std::move(s.acc));
      b->hashes.push_back(s.hash);
    });
    w.combiner.clear();
    for (std::size_t p = 0; p < batches.size(); ++p) {
      if (!batches[p]) continue;
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

  void flush_to_shards(WorkerState& w) {
    if (w.combiner.empty()) return;
    ++w.flushes;
    // Bucket entries by shard, then take each shard's lock once.
    std::vector<std::vector<typename Table::Slot*>> by_shard(shards_.size());
    w.combiner.for_each_slot([&](typename Table::Slot& s) {
      by_shard[partition_of(s.hash, shards_.size())].push_back(&s);
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
        Accumulation<J>::merge(*acc, std::move(s->acc), fresh);
      }
    }
    w.combiner.clear();
  }

  const J& job_;
  Scheduler& scheduler_;
  const Inputs& inputs_;
  const RunOptions& options_;
  const std::size_t partitions_;
  MemoryBudget& budget_;
  // Declared after options_, which WorkerState's constructor reads.
  std::vector<std::unique_ptr<WorkerState>> workers_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<Table> finals_;
};

}  // namespace detail

template <Job J>
Result<RunOutput<J>> Engine::run(const J& job, Inputs& inputs, const RunOptions& options) {
  RunOutput<J> out;
  RunReport& report = out.report;
  report.strategy = std::string(to_string(options.strategy));
  report.workers = scheduler_.num_workers();
  const auto before = scheduler_.worker_stats();

  std::optional<detail::PhaseScope> split_phase(std::in_place, options, Phase::kSplit,
                                                report.split_seconds);
  if (!inputs.is_open()) {
    if (Status s = inputs.open(); !s.ok()) return s;
  }
  const std::uint64_t total = inputs.total_bytes();
  const std::uint64_t split_bytes =
      options.split_bytes != 0
          ? options.split_bytes
          : std::clamp<std::uint64_t>(total / (16 * std::max<std::uint64_t>(report.workers, 1)),
                                      256u << 10, 16u << 20);
  const SplitPlan plan =
      plan_splits(inputs, {.target_bytes = split_bytes, .delimiter = options.delimiter});
  report.inputs = inputs.size();
  report.splits = plan.splits.size();
  split_phase.reset();

  const std::size_t partitions =
      options.partitions != 0 ? options.partitions : 8 * scheduler_.num_workers();
  MemoryBudget budget(options.memory_budget);
  detail::RunState<J> state(job, scheduler_, inputs, options, partitions, budget);

  {
    const detail::PhaseScope map_phase(options, Phase::kMap, report.map_seconds);
    TaskGroup map_group(scheduler_, {.deadline = options.deadline, .parent = options.stop});
    for (const Split& split : plan.splits) {
      map_group.spawn([&state, &plan, &split](std::stop_token stop) {
        return state.map_split(plan, split, stop);
      });
    }
    if (Status s = map_group.wait(); !s.ok()) return s;
  }

  // The scopes end inside the try, before `state` is destroyed, also when a phase throws.
  try {
    {
      const detail::PhaseScope merge_phase(options, Phase::kMerge, report.merge_seconds);
      state.merge(report);
    }
    const detail::PhaseScope finalize_phase(options, Phase::kFinalize, report.finalize_seconds);
    out.table = state.finalize();
  } catch (...) {
    return Status::FromException(std::current_exception()).with_context("reduce");
  }

  state.fill_report(report);
  report.distinct_keys = out.table.size();
  const auto after = scheduler_.worker_stats();
  for (std::size_t i = 0; i < after.size(); ++i) {
    report.tasks_run_per_worker.push_back(after[i].tasks_run - before[i].tasks_run);
    report.tasks_stolen_per_worker.push_back(after[i].tasks_stolen - before[i].tasks_stolen);
    report.tasks_run += report.tasks_run_per_worker.back();
    report.tasks_stolen += report.tasks_stolen_per_worker.back();
    report.steal_failures += after[i].steal_failures - before[i].steal_failures;
  }
  report.peak_rss_bytes = peak_rss_bytes();
  report.memory_budget_bytes = options.memory_budget;
  report.tracked_peak_bytes = budget.peak();
  return out;
}

}  // namespace tally
