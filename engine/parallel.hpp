// parallel_for and parallel_reduce over an index range, on a Scheduler.
//
//   tally::parallel_for(sched, 0, n, [&](std::size_t lo, std::size_t hi) {
//     for (std::size_t i = lo; i < hi; ++i) out[i] = f(in[i]);
//   });
//   double sum = tally::parallel_reduce(sched, 0, n, 0.0,
//       [&](std::size_t lo, std::size_t hi, double acc) {
//         for (std::size_t i = lo; i < hi; ++i) acc += v[i];
//         return acc;
//       },
//       [](double a, double b) { return a + b; });
//
// Partitioning is demand-driven ("lazy binary splitting", Tzannes et al., PPoPP 2010): a
// task works through its range `grain` indices at a time, and before each piece it splits
// off the upper half of what is left as a new task only if its worker's deque is empty, i.e.
// only when the last piece it split off has been stolen by a hungry worker. A range is thus
// split about as often as workers ask for work, not a fixed number of times, and the
// pieces stolen are the largest ones left.
//
// Contract:
//  - body(lo, hi) is called on disjoint subranges that together cover [begin, end) exactly
//    once, from any worker thread, concurrently.
//  - parallel_reduce: body(lo, hi, acc) folds a subrange into acc; reduce(a, b) combines two
//    partial results and must be associative and commutative (partials are combined per
//    worker, in no fixed order; oneTBB's parallel_reduce needs only associativity). The
//    identity is copied freely.
//  - An exception thrown by body or reduce stops the remaining pieces from starting and is
//    rethrown to the caller after every running piece has finished.
//  - Calls may nest (a body may call parallel_for on the same scheduler): the waiting worker
//    runs other tasks meanwhile.
//  - grain: the most indices a body call gets before the partitioner reconsiders splitting;
//    0 picks one from the range size and the worker count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "tally/engine/scheduler.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally {
namespace detail {

// A default grain: about 64 pieces per worker at most (so stealing can balance uneven work),
// and never more than 64Ki indices (so a piece stays short enough to split under demand).
inline std::size_t default_grain(std::size_t n, std::size_t workers) noexcept {
  const std::size_t g = n / (std::max<std::size_t>(workers, 1) * 64);
  return std::clamp<std::size_t>(g, 1, std::size_t{1} << 16);
}

// State shared by every piece of one parallel_for / parallel_reduce call; lives on the
// caller's stack until every piece has finished.
class RangeJob {
 public:
  RangeJob(Scheduler& s, std::size_t piece_grain)
      : scheduler(s), grain(piece_grain), counter(std::in_place, s) {}

  // Runs [lo, hi) with lazy binary splitting; `chunk(lo, hi)` does the work of a piece.
  template <typename Chunk>
  void run(std::size_t lo, std::size_t hi, Chunk& chunk) noexcept {
    try {
      while (hi - lo > grain) {
        if (failed()) return;
        if (hi - lo >= 2 * grain && scheduler.local_queue_empty()) {
          const std::size_t mid = lo + (hi - lo) / 2;
          spawn(mid, hi, chunk);
          hi = mid;
          continue;
        }
        chunk(lo, lo + grain);
        lo += grain;
      }
      if (!failed()) chunk(lo, hi);
    } catch (...) {
      fail(std::current_exception());
    }
  }

  template <typename Chunk>
  void spawn(std::size_t lo, std::size_t hi, Chunk& chunk) {
    scheduler.submit([this, lo, hi, &chunk]() noexcept { run(lo, hi, chunk); }, *counter);
  }

  // Runs the whole range from the calling thread and returns when every piece is done,
  // rethrowing the first exception.
  template <typename Chunk>
  void run_all(std::size_t begin, std::size_t end, Chunk& chunk) {
    if (scheduler.current_worker_index() >= 0) {
      run(begin, end, chunk);  // already on a worker: start here, inline
    } else {
      spawn(begin, end, chunk);  // pieces always run on workers (parallel_reduce relies on it)
    }
    scheduler.wait_for(*counter);
    // The counter's release/acquire makes `error_` visible here.
    if (error_) std::rethrow_exception(error_);
  }

  bool failed() const noexcept {
    // Relaxed: only an early-exit hint; error_ itself is read after the counter's acquire.
    return failed_.load(std::memory_order_relaxed);
  }

  Scheduler& scheduler;
  const std::size_t grain;
  // Written by every piece that ends, on a line of its own: scheduler, grain and failed_ are
  // read in every piece's loop.
  lockfree::CachePadded<WaitCounter> counter;

 private:
  void fail(std::exception_ptr e) noexcept {
    // acq_rel: exactly one thread wins the right to write error_.
    if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::move(e);
  }

  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

}  // namespace detail

template <typename Body>
void parallel_for(Scheduler& scheduler, std::size_t begin, std::size_t end, Body&& body,
                  std::size_t grain = 0) {
  if (begin >= end) return;
  const std::size_t n = end - begin;
  detail::RangeJob job(scheduler,
                       grain != 0 ? grain : detail::default_grain(n, scheduler.num_workers()));
  auto chunk = [&body](std::size_t lo, std::size_t hi) { body(lo, hi); };
  job.run_all(begin, end, chunk);
}

// Calls fn(i) once for every i in [0, n), one task per index: for a few coarse items (the
// partitions of a result, the workers' tables) where each is worth a task of its own.
template <typename Fn>
void parallel_for_each_index(Scheduler& scheduler, std::size_t n, Fn&& fn) {
  parallel_for(
      scheduler, 0, n,
      [&fn](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) fn(i);
      },
      1);
}

template <typename T, typename Body, typename Reduce>
T parallel_reduce(Scheduler& scheduler, std::size_t begin, std::size_t end, T identity, Body&& body,
                  Reduce&& reduce, std::size_t grain = 0) {
  if (begin >= end) return identity;
  const std::size_t n = end - begin;
  const std::size_t workers = scheduler.num_workers();
  detail::RangeJob job(scheduler, grain != 0 ? grain : detail::default_grain(n, workers));

  // One partial per worker, each on its own cache line, written only by that worker: a piece
  // folds into a fresh accumulator and then merges it into its worker's partial. Merging
  // after the body returns (rather than folding into the partial directly) keeps what other
  // pieces merged meanwhile, when a nested call made this worker run them during the body.
  std::vector<lockfree::CachePadded<std::optional<T>>> partials(workers);
  auto chunk = [&](std::size_t lo, std::size_t hi) {
    auto& partial = *partials[static_cast<std::size_t>(scheduler.current_worker_index())];
    T acc = body(lo, hi, identity);
    partial = partial ? reduce(std::move(*partial), std::move(acc)) : std::move(acc);
  };
  job.run_all(begin, end, chunk);

  T result = std::move(identity);
  for (auto& p : partials) {
    if (*p) result = reduce(std::move(result), std::move(**p));
  }
  return result;
}

}  // namespace tally
