// The options of Engine and Engine::run, and the phases a run goes through.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/record_layout.hpp"

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

// The order a result is read in most (ResultTable::by_key, by_value).
enum class ResultOrder { kByKey, kByValue };

struct EngineOptions {
  std::size_t threads = 0;  // 0: the cores in this process's affinity mask
};

struct RunOptions {
  Strategy strategy = Strategy::kLocal;
  // Bytes per map task; 0 picks total / (16 x workers), between 256 KiB and 16 MiB.
  std::uint64_t split_bytes = 0;
  // How the inputs are cut into records: lines by default.
  RecordLayout records{};
  // This run maps share `index` of `count` of the split plan: the splits whose middle byte
  // (counted over every input, in plan order) falls in the index-th of `count` equal byte
  // ranges. Every share of the same plan together maps each split once (mpi/run.hpp runs
  // one share per rank). REQUIRES: index < count.
  struct SplitShare {
    std::size_t index = 0;
    std::size_t count = 1;
  };
  SplitShare split_share{};
  // Keys a worker's combiner table holds before its entries are handed on to the exchange;
  // 0 picks the strategy's default (exchange/local.hpp, sharded.hpp, partitioned.hpp).
  std::size_t combiner_keys = 0;
  // Partitions for the final merge (kLocal), shards (kSharded) or channels (kPartitioned);
  // 0 picks 8 x workers.
  std::size_t partitions = 0;
  // kPartitioned: batches each partition's channel holds before pushers must drain it.
  std::size_t channel_capacity = 16;
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  std::stop_token stop{};
  // Bytes the run's tables, keys and buffers may hold (memory_budget.hpp); 0: no limit.
  // Past half of it, a job whose Value and ResultValue (job.hpp) are trivially copyable
  // spills sorted runs to a file in spill_dir and merges them at the end, and its result
  // stays on disk if it does not fit (ResultTable::spilled); any other job fails with
  // kResourceExhausted instead of growing past it. Below minimum_memory_budget(workers), run()
  // fails with kInvalidArgument.
  std::uint64_t memory_budget = 0;
  // Where spill files go; empty: $TMPDIR, else /tmp. The files have no name (O_TMPFILE, or
  // unlinked at once) and vanish when the run and its result are done.
  std::string spill_dir{};
  // The order the result is prepared for: kByValue also builds, in parallel, the index that
  // ResultTable::by_value() and top() read (what word count prints); kByKey leaves it to
  // by_value() to build on first use.
  ResultOrder order = ResultOrder::kByKey;
  // If set, the bytes of each split are added here (relaxed) when its map task finishes:
  // for a progress display on another thread. Must outlive the run.
  std::atomic<std::uint64_t>* progress_bytes = nullptr;
  // If set, called with starting = true just before each phase and with starting = false
  // just after it, on the thread that called run(): split, map, merge, finalize, in that
  // order. Every starting call gets its ending call, also when the phase fails (then no
  // later phase starts). For phase markers such as perf's --control protocol
  // (tools/tally/perf_control.hpp). Must not throw. Unset, it costs one test per phase.
  std::function<void(Phase, bool starting)> on_phase{};
  // Records whose map() throws that the run skips before it fails (bad_records.hpp), each
  // handed to on_bad_record (if set); 0: the first one fails the run.
  std::uint64_t max_bad_records = 0;
  BadRecordSink on_bad_record{};
};

}  // namespace tally
