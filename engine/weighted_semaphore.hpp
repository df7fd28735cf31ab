// WeightedSemaphore: a counting semaphore whose acquirers take n units at once, granted in
// FIFO order, so a large request is never starved by a stream of small ones (Go's
// golang.org/x/sync/semaphore.Weighted). Used for the memory budget (units = bytes) and for
// limits on open files.
//
//   tally::WeightedSemaphore budget(512 << 20);
//   if (!budget.acquire(table_bytes, stop)) return Status::Cancelled("stopped");
//   ...
//   budget.release(table_bytes);
//
// Fairness: a request is granted only when it is first in line (or the line is empty) and
// the units are free. While a large request waits at the head, later small ones wait too,
// even if units for them are free. try_acquire never jumps the line either.
//
// Thread safety: every member may be called from any thread. Waiting is on a condition
// variable (the semaphore sits on slow paths: allocation of whole tables, opening files).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <stop_token>

namespace tally {

class WeightedSemaphore {
 public:
  explicit WeightedSemaphore(std::int64_t capacity) : capacity_(capacity), available_(capacity) {}
  WeightedSemaphore(const WeightedSemaphore&) = delete;
  WeightedSemaphore& operator=(const WeightedSemaphore&) = delete;
  ~WeightedSemaphore() = default;

  // Waits until n units can be granted in FIFO order, or stop is requested. Returns false
  // (holding nothing) on stop, or at once if n > capacity (it could never be granted).
  bool acquire(std::int64_t n, const std::stop_token& stop);

  // Takes n units only if that is possible now without waiting and nobody is in line.
  bool try_acquire(std::int64_t n);

  // Returns n units and grants waiting requests that now fit, in order.
  // REQUIRES: the caller holds at least n units.
  void release(std::int64_t n);

  std::int64_t capacity() const noexcept { return capacity_; }
  std::int64_t available() const;
  // Requests waiting in line (for tests and reports).
  std::size_t waiting() const;

 private:
  struct Waiter {
    std::int64_t n;
    bool granted = false;
  };
  void grant_waiters();  // REQUIRES: mu_ held

  const std::int64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::int64_t available_;   // guarded by mu_
  std::list<Waiter> queue_;  // guarded by mu_: FIFO, head first
};

}  // namespace tally
