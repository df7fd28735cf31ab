// DenseStage<J>: the map + combine stage of a DenseJob (job.hpp). Each worker owns a plain
// array of key_count() values; emit() combines into the key's slot, with no hashing and no
// table to grow. After the map phase the arrays are combined key by key, in parallel over
// ranges of keys, into the result.
//
// Thread safety: map_split runs on pool workers, each touching only its own array (found by
// Scheduler::current_worker_index); merge and fill_report run after every map task finished.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/detail/make_each.hpp"
#include "tally/engine/detail/map_records.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/scheduler.hpp"
#include "tally/engine/status.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally::detail {

// Where a dense job's map() writes: one worker's array.
template <DenseJob J>
class DenseSink {
 public:
  using Key = typename J::Key;
  using Value = typename J::Value;

  DenseSink(Value* values, std::size_t keys) : values_(values), end_(values + keys) {}

  // The bound is kept as a pointer, not a count: a count of the same type as Value could be
  // changed by the stores into the array as far as the compiler knows, and would be
  // reloaded after each one (bench/jobs/histogram_bench.cpp measures the loop).
  [[gnu::always_inline]] void emit(Key key, Value value) {
    const auto keys = static_cast<std::size_t>(end_ - values_);
    if (key >= keys) [[unlikely]] {
      out_of_range(key, keys);
    }
    values_[key] = J::combine(std::move(values_[key]), std::move(value));
  }

 private:
  [[noreturn, gnu::noinline]] static void out_of_range(Key key, std::size_t keys) {
    throw std::out_of_range("key " + std::to_string(key) + " is not below the job's key_count() " +
                            std::to_string(keys));
  }

  Value* const values_;
  Value* const end_;
};

template <DenseJob J>
class DenseStage {
 public:
  using Key = typename J::Key;
  using Value = typename J::Value;

  // The bytes the workers' arrays take: for a memory budget check before they exist.
  static std::uint64_t bytes_for(std::size_t keys, std::size_t workers) {
    return static_cast<std::uint64_t>(keys) * sizeof(Value) * workers;
  }

  DenseStage(const J& job, const Inputs& inputs, const RunOptions& options, Scheduler& scheduler,
             std::size_t keys)
      : job_(job),
        inputs_(inputs),
        options_(options),
        scheduler_(scheduler),
        keys_(keys),
        workers_(make_each<Worker>(scheduler.num_workers(), keys)),
        bad_records_(options.max_bad_records, options.on_bad_record) {}

  // Map task: every record of one split.
  Status map_split(const SplitPlan& plan, const Split& split, const std::stop_token& stop) {
    Worker& w = *workers_[static_cast<std::size_t>(scheduler_.current_worker_index())];
    DenseSink<J> sink(w.values.data(), keys_);
    std::uint64_t records = 0;
    if (Status s = map_records(job_, inputs_, plan, split, options_.records, bad_records_, stop,
                               &records, sink);
        !s.ok()) {
      return s;
    }
    w.bytes += split.bytes;
    w.records += records;
    if (options_.progress_bytes != nullptr) {
      options_.progress_bytes->fetch_add(split.bytes, std::memory_order_relaxed);  // a display
    }
    return Status::Ok();
  }

  // The workers' arrays combined: every key in [0, key_count()), in key order.
  ResultTable<Key, Value> merge() {
    std::vector<std::pair<Key, Value>> entries(keys_);
    parallel_for(scheduler_, 0, keys_, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t k = lo; k < hi; ++k) {
        Value v = std::move(workers_.front()->values[k]);
        for (std::size_t w = 1; w < workers_.size(); ++w) {
          v = J::combine(std::move(v), std::move(workers_[w]->values[k]));
        }
        entries[k] = {static_cast<Key>(k), std::move(v)};
      }
    });
    return ResultTable<Key, Value>(std::move(entries), {});
  }

  void fill_report(RunReport& report) const {
    for (const auto& w : workers_) {
      report.bytes_in += w->bytes;
      report.records_in += w->records;
    }
    report.bad_records = bad_records_.skipped();
  }

 private:
  // Written only by its worker during the map phase; alone on its cache lines.
  struct alignas(lockfree::kCacheLine) Worker {
    explicit Worker(std::size_t keys) : values(keys) {}
    std::vector<Value> values;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;
  };

  const J& job_;
  const Inputs& inputs_;
  const RunOptions& options_;
  Scheduler& scheduler_;
  const std::size_t keys_;
  std::vector<std::unique_ptr<Worker>> workers_;
  BadRecordLimit bad_records_;
};

}  // namespace tally::detail
