// MemoryBudget: a cap on the memory a run's tables and keys may hold (RunOptions::
// memory_budget, `tally wordcount --memory`).
//
// Tables charge their slot arrays and arenas charge their key blocks before allocating them,
// so the budget is enforced before the memory is taken, not noticed after. A charge that
// would pass the limit throws StatusError(kResourceExhausted), which fails the run with a
// message that says what ran out; nothing is half-done, since a failed run returns no table.
// Until results can spill to disk, a job whose distinct keys do not fit fails this way
// instead of growing without bound.
//
// What is counted: combiner, shard and channel tables (slots and key bytes), the map output
// runs of kLocal, and the result's entries (twice, for the sort's scratch) and keys. What is not:
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

  // Records `bytes` as in use, or throws StatusError(kResourceExhausted) and records nothing
  // if that would pass the limit. `what` names the use in the message ("a table of 2^20 slots").
  void charge(std::uint64_t bytes, const char* what) {
    // Relaxed: a counter; the limit check needs atomicity, not ordering with other memory.
    const std::uint64_t now = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (limit_ != 0 && now > limit_) {
      used_.fetch_sub(bytes, std::memory_order_relaxed);
      throw StatusError(Status::ResourceExhausted(exceeded_message(bytes, what)));
    }
    std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }

  void release(std::uint64_t bytes) noexcept { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  std::uint64_t limit() const noexcept { return limit_; }
  std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::uint64_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }

 private:
  std::string exceeded_message(std::uint64_t bytes, const char* what) const;

  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
  std::atomic<std::uint64_t> peak_{0};
};

// Formats a byte count for people: "512 B", "1.5 KiB", "256 MiB", "2.0 GiB".
std::string format_bytes(std::uint64_t bytes);

}  // namespace tally
