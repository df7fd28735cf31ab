// MemoryBudget: a cap on the memory a run's tables and keys may hold (RunOptions::
// memory_budget, `tally wordcount --memory`).
//
// Tables charge their slot arrays and arenas charge their key blocks before allocating them,
// so the budget is known before the memory is taken, not noticed after. Two ways to keep it:
//   - spilling (spill_at(mark); Engine::run sets it for every job whose values can be
//     written to disk, detail/spill_codec.hpp): charges always succeed, and once what is in
//     use reaches the mark, should_spill() tells whoever holds spillable entries to write
//     them to disk as sorted runs and free them (exchange/spill.hpp). What is in use then
//     stays near the mark, above it by at most what the workers add before their next
//     check; the limit bounds the mark and the buffers (minimum_memory_budget).
//   - a wall (a job that cannot spill): a charge that would pass the limit throws
//     StatusError(kResourceExhausted), which fails the run with a message that says what
//     ran out; nothing is half-done, since a failed run returns no table.
//
// What is counted: combiner, shard and channel tables (slots and key bytes), the map output
// runs of kLocal, the result's entries (twice, for the sort's scratch) and keys, and the
// values of a reduce job that cannot spill (detail/map_stage.hpp). What is not:
// the inputs (mapped files are page cache, and read-in pipes are sized by the input), per-task
// scratch, and the thread stacks.
//
// Thread safety: charge() and release() may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tally/engine/status.hpp"

namespace tally {

class MemoryBudget {
 public:
  // limit_bytes == 0: unlimited (charges are still counted, for the report).
  explicit MemoryBudget(std::uint64_t limit_bytes = 0) noexcept : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;
  MemoryBudget(MemoryBudget&&) = delete;
  MemoryBudget& operator=(MemoryBudget&&) = delete;
  ~MemoryBudget() = default;

  // Records `bytes` as in use. Without a spill mark, throws StatusError(kResourceExhausted)
  // and records nothing if that would pass the limit. `what` names the use in the message
  // ("a table of 2^20 slots").
  void charge(std::uint64_t bytes, const char* what) {
    // Relaxed: a counter; the limit check needs atomicity, not ordering with other memory.
    const std::uint64_t now = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (limit_ != 0 && spill_mark_ == 0 && now > limit_) {
      used_.fetch_sub(bytes, std::memory_order_relaxed);
      throw StatusError(Status::ResourceExhausted(exceeded_message(bytes, what)));
    }
    std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }

  void release(std::uint64_t bytes) noexcept { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  // From now on charges never throw, and should_spill() turns true at `mark` bytes in use.
  // REQUIRES: no charge runs concurrently (call it before the run starts).
  void spill_at(std::uint64_t mark) noexcept { spill_mark_ = mark; }
  bool spilling() const noexcept { return spill_mark_ != 0; }
  // Whether holders of spillable entries should write them to disk now.
  bool should_spill() const noexcept { return spill_mark_ != 0 && used() >= spill_mark_; }
  // Whether `bytes` more would still fit under the limit (always, without one).
  bool fits(std::uint64_t bytes) const noexcept { return limit_ == 0 || used() + bytes <= limit_; }

  std::uint64_t limit() const noexcept { return limit_; }
  std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::uint64_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }

 private:
  std::string exceeded_message(std::uint64_t bytes, const char* what) const;

  const std::uint64_t limit_;
  std::uint64_t spill_mark_ = 0;  // 0: charges past the limit throw
  std::atomic<std::uint64_t> used_{0};
  std::atomic<std::uint64_t> peak_{0};
};

// How a budget of `limit_bytes` is shared out by a spilling run on `workers` workers
// (Engine::run): the mark at which tables spill, the size of spilled runs' blocks, how many
// runs one merge reads at once, and what one worker may hold to sort a result by value.
// Fixed buffers (blocks being written or read, one per run merged) come out of the limit, so
// a limit below minimum_memory_budget(workers) leaves no room for them.
struct SpillPlan {
  std::uint64_t mark = 0;
  std::size_t block_bytes = 0;
  std::size_t fan_in = 0;
  std::uint64_t sort_chunk_bytes = 0;
  std::size_t combiner_keys = 0;  // the most keys a worker's combiner table holds
};
SpillPlan plan_spilling(std::uint64_t limit_bytes, std::size_t workers) noexcept;

// The smallest budget a spilling run on `workers` workers can keep.
std::uint64_t minimum_memory_budget(std::size_t workers) noexcept;

// Formats a byte count for people: "512 B", "1.5 KiB", "256 MiB", "2.0 GiB".
std::string format_bytes(std::uint64_t bytes);

}  // namespace tally
