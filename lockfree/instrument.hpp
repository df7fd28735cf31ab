// Contention counters of the lock-free structures: how often a thread lost a race.
//
// MpmcQueue and WorkStealingDeque count, on the calling thread, every compare-and-swap they
// lose to another thread (and every position they find already taken). The counters are
// thread-local plain integers, bumped only on those slow paths: the fast path of an
// uncontended operation touches no counter at all, and no counter is ever shared between
// threads, so counting cannot create the contention it measures. With TALLY_INSTRUMENT=0
// (CMake option TALLY_INSTRUMENT=OFF) nothing is counted and the counters stay zero.
// bench/README.md gives the measured cost of leaving them on: within the noise of the
// word-count run on the reference machine.
//
// Thread safety (the contract):
//  - contention_counters() returns the calling thread's own counters. Only that thread writes
//    them (the lock-free structures, on its behalf) and only that thread may read them while it
//    runs; another thread may read a copy the owner handed over through synchronization (for
//    example after joining it).
//  - The counters accumulate over every queue and deque the thread touched since it started:
//    take a copy before and after the section of interest and subtract (operator-).
//
// Example (a benchmark's consumer thread):
//
//   const auto before = tally::lockfree::contention_counters();
//   for (...) queue.try_pop(v);
//   const auto mine = tally::lockfree::contention_counters() - before;
//   report.pop_cas_failures = mine.pop_cas_failures;
#pragma once

#include <cstdint>

#ifndef TALLY_INSTRUMENT
#define TALLY_INSTRUMENT 1
#endif

namespace tally::lockfree {

// Whether the structures count at all (the build-time switch above).
inline constexpr bool kInstrumented = TALLY_INSTRUMENT != 0;

struct ContentionCounters {
  // MpmcQueue producers: CASes on tail_ that failed (lost to another producer, or failed
  // spuriously on an LL/SC machine), and positions found stale because tail_ moved under the
  // producer (another producer claimed it). Each is one retry of the push loop.
  std::uint64_t push_cas_failures = 0;
  std::uint64_t push_stale_positions = 0;
  // MpmcQueue consumers: the same on head_.
  std::uint64_t pop_cas_failures = 0;
  std::uint64_t pop_stale_positions = 0;
  // WorkStealingDeque: steals that saw an item but lost the CAS on top_ to another thief or
  // to the owner taking the last item.
  std::uint64_t steal_cas_failures = 0;

  friend ContentionCounters operator-(const ContentionCounters& a,
                                      const ContentionCounters& b) noexcept {
    return {a.push_cas_failures - b.push_cas_failures,
            a.push_stale_positions - b.push_stale_positions,
            a.pop_cas_failures - b.pop_cas_failures, a.pop_stale_positions - b.pop_stale_positions,
            a.steal_cas_failures - b.steal_cas_failures};
  }
  ContentionCounters& operator+=(const ContentionCounters& o) noexcept {
    push_cas_failures += o.push_cas_failures;
    push_stale_positions += o.push_stale_positions;
    pop_cas_failures += o.pop_cas_failures;
    pop_stale_positions += o.pop_stale_positions;
    steal_cas_failures += o.steal_cas_failures;
    return *this;
  }
};

// The calling thread's counters. Trivially constructible and destructible, so the
// thread_local needs no guard or destructor registration: one TLS-relative address.
inline ContentionCounters& contention_counters() noexcept {
  thread_local ContentionCounters counters;
  return counters;
}

namespace detail {

// Bumps one of the calling thread's counters; compiles to nothing when not instrumented.
// Call it only on a slow path (after a lost race).
inline void count_contention(std::uint64_t ContentionCounters::*field) noexcept {
  if constexpr (kInstrumented) ++(contention_counters().*field);
}

}  // namespace detail
}  // namespace tally::lockfree
