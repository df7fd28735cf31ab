// SpillStore: the spilled runs of one Engine::run, and the file they are written to.
//
// Under a memory budget (RunOptions::memory_budget), the exchange strategies write what they
// hold as sorted runs when the budget's spill mark is passed (memory_budget.hpp), one run per
// partition of the key space; the reduce stage takes each partition's runs and merges them
// (spill_merge.hpp). All runs go to one anonymous file in the spill directory, created on
// the first spill, so a run that never spills touches no disk; the file has no name, so
// nothing is left behind however the process ends (spill_file.hpp). A result read from disk
// keeps the store alive (result_table.hpp).
//
// Thread safety: every member may be called from any thread, concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tally/engine/detail/spill_file.hpp"
#include "tally/engine/detail/spill_run.hpp"

namespace tally::detail {

// `dir` if set, else $TMPDIR if set, else /tmp.
std::string spill_directory(const std::string& dir);

struct SpillSettings {
  std::string dir;              // where the spill file is created; empty: in memory
  std::size_t block_bytes = 0;  // the size of a run's blocks
  std::size_t fan_in = 0;       // the most runs one merge reads at once (>= 2)
};

// Counters for the run report; relaxed atomics (statistics).
struct SpillCounters {
  std::atomic<std::uint64_t> runs{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> merge_passes{0};  // the most intermediate passes of one merge
  std::atomic<std::uint64_t> write_nanos{0};   // summed over the threads that spilled
  std::atomic<std::uint64_t> merge_nanos{0};   // summed over the threads that merged
};

class SpillStore {
 public:
  SpillStore(SpillSettings settings, std::size_t partitions);
  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;
  SpillStore(SpillStore&&) = delete;
  SpillStore& operator=(SpillStore&&) = delete;
  ~SpillStore() = default;

  const SpillSettings& settings() const noexcept { return settings_; }
  // Fixed at construction, so read without the lock.
  std::size_t partitions() const noexcept { return runs_.size(); }

  // The spill file, created on first use. Throws StatusError if it cannot be created.
  SpillFile& file();

  // Files `run` (sorted by key) under `partition`, for the reduce stage.
  void add_run(std::size_t partition, SpillRun run);
  // Partition p's runs, taken out of the store.
  std::vector<SpillRun> take_runs(std::size_t partition);
  // Whether any run was filed (and so the reduce stage must merge).
  bool spilled() const noexcept { return spilled_.load(std::memory_order_acquire); }

  SpillCounters& counters() noexcept { return counters_; }
  const SpillCounters& counters() const noexcept { return counters_; }

 private:
  const SpillSettings settings_;
  std::once_flag file_once_;
  std::unique_ptr<SpillFile> file_;
  std::mutex runs_mutex_;
  std::vector<std::vector<SpillRun>> runs_;  // by partition; guarded by runs_mutex_
  // Release by add_run after the run is filed, acquire by spilled(): a thread that sees
  // true and then takes the runs (under the mutex) sees them all.
  std::atomic<bool> spilled_{false};
  SpillCounters counters_;
};

}  // namespace tally::detail
