// Single-threaded contenders of a benchmark suite run on one and the same CPU.
//
// Why: the CPUs of a machine, virtual ones above all, need not be equally fast. Interrupts,
// a busy hyperthread sibling on the host, or the host's own load can slow one CPU down for a
// whole run. Left to the kernel, a one-thread contender lands on either, and the ratio of two
// of them then measures where each landed as much as the programs. Pinned, every one-thread
// run (in-process, or a child process, which inherits the mask) uses the same CPU: the
// highest-numbered one the suite may use, since CPU 0 is where Linux routes interrupts by
// default.
// Runs with more threads are left to the kernel.
//
//   RegisterBenchmark(...)->ArgName("threads")->Arg(1)->Arg(2)->Apply(one_thread_on_one_cpu);
//   RegisterBenchmark(...)->Apply(on_one_cpu);  // single-threaded whatever its arguments
//
// The pin is set by Google Benchmark's Setup hook, on the thread that runs the benchmark,
// before its body creates any thread (a tally Engine's workers inherit it), and lifted by
// Teardown. A suite that links oneTBB must call tbb::info::default_concurrency() before the
// first benchmark runs: oneTBB caches the CPU count of the mask it first sees, and a pinned
// first sight would leave every later arena without workers.
//
// Thread safety: none; benchmarks run one at a time.
#pragma once

#include <benchmark/benchmark.h>
#include <sched.h>

namespace tally::bench {

namespace detail {

// The mask to restore in Teardown; set only while pinned.
inline cpu_set_t unpinned_mask;
inline bool pinned = false;

inline void pin(const benchmark::State&) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) return;  // then run unpinned
  int cpu = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &mask)) cpu = c;
  }
  if (cpu < 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) return;
  unpinned_mask = mask;
  pinned = true;
}

inline void pin_if_one_thread(const benchmark::State& state) {
  if (state.range(0) == 1) pin(state);
}

inline void unpin(const benchmark::State&) {
  if (!pinned) return;
  sched_setaffinity(0, sizeof unpinned_mask, &unpinned_mask);
  pinned = false;
}

}  // namespace detail

// For a registration whose first argument is the thread count: pins its one-thread runs.
inline void one_thread_on_one_cpu(benchmark::internal::Benchmark* b) {
  b->Setup(detail::pin_if_one_thread)->Teardown(detail::unpin);
}

// For a benchmark that runs on one thread whatever its arguments.
inline void on_one_cpu(benchmark::internal::Benchmark* b) {
  b->Setup(detail::pin)->Teardown(detail::unpin);
}

}  // namespace tally::bench
