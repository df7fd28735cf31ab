// RunReport: what one Engine::run did and what it cost, printable for people (--stats) and
// as JSON for machines (--report FILE, `tally compare`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tally {

struct RunReport {
  std::string strategy;
  std::uint64_t workers = 0;

  // Phase wall-clock times, in seconds.
  double split_seconds = 0;     // planning splits (and opening inputs, if run opened them)
  double map_seconds = 0;       // map tasks, with map-side combining (and, for "sharded",
                                // merging into the shards as tables fill up)
  double merge_seconds = 0;     // combining the per-worker or per-shard tables by partition
  double finalize_seconds = 0;  // reduce() for reduce jobs, building the sorted result

  std::uint64_t inputs = 0;
  // Transient failures waited out or retried while opening the inputs (Inputs::
  // transient_retries: EINTR, EAGAIN, ENFILE, EMFILE).
  std::uint64_t input_retries = 0;
  std::uint64_t splits = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t records_in = 0;
  std::uint64_t bad_records = 0;    // skipped (RunOptions::max_bad_records)
  std::uint64_t pairs_emitted = 0;  // emit() calls
  std::uint64_t distinct_keys = 0;

  // Scheduler activity during the run.
  std::uint64_t tasks_run = 0;
  std::uint64_t tasks_stolen = 0;
  std::uint64_t steal_failures = 0;
  std::vector<std::uint64_t> tasks_run_per_worker;
  std::vector<std::uint64_t> tasks_stolen_per_worker;

  // Map-side combining: times a worker's bounded table filled and was handed on.
  std::uint64_t combiner_flushes = 0;
  // "partitioned": batches sent through the channels, and pushes that found one full
  // (backpressure: the pusher then drained it).
  std::uint64_t batches = 0;
  std::uint64_t channel_full_events = 0;
  // "sharded": lock acquisitions per shard and how many found the lock taken.
  std::vector<std::uint64_t> shard_locks;
  std::vector<std::uint64_t> shard_locks_contended;

  std::uint64_t peak_rss_bytes = 0;  // of the whole process, at the end of the run
  // The memory budget (0: none) and the peak of what the run's tables and keys held against
  // it (counted whether or not a budget was set; see memory_budget.hpp for what counts).
  std::uint64_t memory_budget_bytes = 0;
  std::uint64_t tracked_peak_bytes = 0;

  // Spilling under the memory budget (all 0 when nothing spilled): sorted runs written while
  // mapping and of what the exchange still held at its end, their bytes on disk, the most
  // intermediate merge passes one partition needed before its final merge, the time spent
  // writing runs and in intermediate merges (summed over the threads doing it), and whether
  // the result itself was left on disk (ResultTable::spilled).
  std::uint64_t spill_runs = 0;
  std::uint64_t spill_bytes = 0;
  std::uint64_t spill_merge_passes = 0;
  double spill_write_seconds = 0;
  double spill_merge_seconds = 0;
  bool result_spilled = false;

  // A distributed run (mpi/run.hpp; all 0 for a run in one process). The rest of the report
  // is then the whole job's: counters summed over the ranks, times and peaks the largest of
  // any rank, the per-worker lists every rank's in rank order. Rounds of the exchange between
  // ranks, the bytes that crossed between ranks in it (summed; what a rank kept for itself is
  // not counted) and the slowest rank's time in it; then the same for gathering the result at
  // rank 0.
  std::uint64_t ranks = 0;
  std::uint64_t exchange_rounds = 0;
  std::uint64_t exchange_bytes = 0;
  double exchange_seconds = 0;
  std::uint64_t gather_bytes = 0;
  double gather_seconds = 0;

  // An iterative job (iterate.hpp; 0 and false for a single run): the rounds it ran, each a
  // run over the same split plan, and whether its step said it was done before max_rounds.
  // The rest of the report is then the rounds' together (add_run).
  std::uint64_t rounds = 0;
  bool converged = false;

  double total_seconds() const {
    return split_seconds + map_seconds + merge_seconds + finalize_seconds + exchange_seconds +
           gather_seconds;
  }
  // Multi-line text for a terminal.
  std::string to_text() const;
  // One JSON object ("tally_run_report": 1 marks the format).
  std::string to_json() const;
};

// Adds the report of a later run to `total`, so that it reports the runs together, as one
// job made of them (the rounds of an iterative job, a load before them): phase times and
// counters summed, the per-worker and per-shard lists summed element by element (the longer
// list's length), peaks the larger; the inputs, input retries, splits, workers and memory
// budget the larger (rounds over one plan share its inputs and splits); distinct_keys and
// result_spilled the later run's; strategy kept unless it is empty. rounds and converged are
// the caller's to set.
void add_run(RunReport& total, const RunReport& later);

// The process's peak resident set size so far, in bytes (getrusage).
std::uint64_t peak_rss_bytes();

}  // namespace tally
