// Costs of tally's task runtime (engine/scheduler.hpp, task_group.hpp, parallel.hpp) next to
// oneTBB, the runtime a user would otherwise reach for. Both are in one binary so that the
// ratios come from one run on one machine state. `threads:N` is the size of the pool: a
// tally::Scheduler with N workers, or a tbb::task_arena with N slots.
//
// Who runs tasks differs between the pairs. In TBB the benchmark thread takes one of the
// arena's slots and runs tasks itself, so at threads:1 TBB does all the work on the calling
// thread with no hand-off at all. In tally the benchmark thread is outside the pool: the range
// benchmarks and BM_TaskGroup_EmptySpawnWorkersOnly hand every task to the workers (through
// the injection queue) and sleep in wait, while BM_TaskGroup_EmptySpawn uses a TaskGroup with
// caller_runs, where the benchmark thread keeps its tasks in an external slot of its own and
// runs them in wait() as TBB's caller does, the workers stealing from that slot. So at
// threads:N, tally's EmptySpawn has N workers plus the caller taking tasks and TBB's has N
// threads counting the caller; BM_TbbTaskGroup_EmptySpawnPlusCaller gives TBB an arena of
// N + 1 slots, the same threads as tally's, and is the like-for-like pair (bench/ratios.py).
//
//  - BM_TaskGroup_EmptySpawn / BM_TbbTaskGroup_EmptySpawn: one thread spawns kSpawnTasks empty
//    tasks into a task group and waits. items_per_second is tasks per second: the fixed cost
//    of a task (allocation, queueing, a steal or a pop, the wait counter), which bounds how
//    fine-grained useful work can be. BM_TaskGroup_EmptySpawnWorkersOnly is the same without
//    caller_runs: the spawner goes through the injection queue (4096 slots) and waits when it
//    outruns the workers, so it also exercises that back-pressure.
//  - BM_ParallelReduce_Sum / BM_TbbParallelReduce_Sum: sum of kRangeElements std::uint32_t
//    (400 MB, read once per iteration). BM_ParallelFor_Map / BM_TbbParallelFor_Map:
//    out[i] = in[i] * 3 + k over the same input into a second 400 MB array. Both stream from
//    memory, so on a small machine they mostly show whether the partitioner keeps every
//    thread busy and how much it costs next to memory bandwidth. TBB runs with blocked_range
//    and its default auto_partitioner; tally with its default grain. bytes_per_second counts
//    bytes read plus bytes written. The reduce is checked against the closed-form sum and the
//    map against in[i] * 3 + k, where k is unique to each iteration in the process, so a range
//    that skipped or duplicated pieces reports an error instead of a fast number. At
//    threads:1 both run on the same CPU (bench/one_cpu.hpp): tally's one worker, and the
//    thread that calls TBB.
//  - BM_ParallelReduce_SumFromWorker: BM_ParallelReduce_Sum's calls made from a task on the
//    pool rather than from the benchmark thread, so that no call hands its range to parked
//    workers and sleeps until the last piece wakes it. oneTBB's calling thread runs pieces in
//    its arena and never makes that hand-off; the pair prices it (see BM_Host_WakeLatency).
//  - BM_Host_WakeLatency: the machine, not tally: the time from notify_one to a thread parked
//    on a futex running again, its CPU gone idle meanwhile (median in the iteration time,
//    `p50_us`, `p99_us`, `max_us`). Every hand-off to a parked worker pays at least this; on
//    a virtual machine an idle CPU may first have to be scheduled by its host.
//  - BM_TaskGroup_CancelLatency: 2 x threads tasks that each spin kWorkSlice of work and then
//    check their stop token. Once every worker runs one (the other half are queued: a task
//    never yields its worker), the benchmark thread calls cancel() and then wait(); the time
//    from just before cancel() to wait() returning is the iteration time (manual time). It is
//    at least the time a task takes to notice the stop (up to one kWorkSlice), plus skipping
//    the queued tasks, plus waking the waiting thread. Target: <= 1 ms. `p99_us` and `max_us`
//    are the tail of the run, since a tail is what a user pressing Ctrl-C notices. At
//    threads:N = cores the benchmark thread is one thread too many: it needs a core while
//    every core spins, so the tail includes the kernel's time slice, not only the engine's.
//    That same wait can make an iteration's setup ~100x longer than its measured time, so this
//    benchmark runs a fixed kCancelSamples iterations instead of obeying min_time (with which
//    threads:2 took about a minute on a 2-core machine at the default min_time).
//  - BM_Scheduler_IdleCpu: a 2-worker scheduler runs one task per worker and then has nothing
//    to do for one second. `idle_cpu_ms` is the CPU time the whole process used during that
//    second (the benchmark thread itself only sleeps), `worker_cpu_ms` that of the pool's
//    workers alone. Both should be ~0: an idle pool must park, not poll. The process-wide
//    figure also holds what the sleeping benchmark thread is charged (its cpu_time), which
//    varies from run to run; the workers' figure is the pool's own.
//  - BM_Scheduler_ForkJoinSteals / BM_Scheduler_ParallelForSteals, threads:1, 2, 4, 8: how
//    much stealing a workload needs, from the pool's own counters (Scheduler::worker_stats,
//    summed over workers, before and after). ForkJoin: a binary tree of nested TaskGroups,
//    kForkJoinDepth levels, each leaf hashing kLeafWork words; ParallelFor: parallel_for over
//    kStealRangeElements indices, each hashing one word, with the default grain.
//    `tasks` is tasks run per iteration, `steals_per_task` the fraction of them a worker took
//    from another worker's deque, `failed_steals_per_task` steal attempts that found nothing
//    or lost a race, per task run. 4 and 8 workers oversubscribe a 2-core machine on purpose:
//    idle workers that spin find nothing, and their failed attempts show the cost of that.
//
// kRangeElements is 10^8, far beyond any cache; the input and output arrays (800 MB together)
// are allocated and filled once per process, outside any timing.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <latch>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include "bench/one_cpu.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/scheduler.hpp"
#include "tally/engine/status.hpp"
#include "tally/engine/task_group.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Tasks per EmptySpawn iteration: enough that the one-off costs (group construction, the final
// wake-up of the waiter) are noise, and more than tally's injection queue holds, so that a
// spawner faster than the workers meets its back-pressure (EmptySpawnWorkersOnly).
constexpr std::size_t kSpawnTasks = 10'000;
// Elements of the range benchmarks: 10^8 is a multiple of 256, so the input i & 0xff sums to a
// closed form below.
constexpr std::size_t kRangeElements = 100'000'000;
constexpr std::uint64_t kRangeSum = (kRangeElements / 256) * (255 * 256 / 2);
// How long a cancellable task works between two checks of its stop token: a typical
// "check every few thousand records" granularity.
constexpr auto kWorkSlice = std::chrono::microseconds(10);
// Cancellations per CancelLatency run: enough for a p99 (the 5th worst), and at most ~0.5 s
// per pool size on an idle 2-core machine (several seconds when other processes compete).
constexpr benchmark::IterationCount kCancelSamples = 500;
constexpr auto kIdleTime = std::chrono::seconds(1);
// WakeLatency: wake-ups per run (enough for a p99, the 3rd worst) and the pause before each,
// long enough for the sleeper's CPU to go idle.
constexpr benchmark::IterationCount kWakeSamples = 300;
constexpr auto kWakePause = std::chrono::milliseconds(2);
// ForkJoinSteals: 2^12 leaves of ~1 us each (a few ms per iteration), deep enough that
// thieves find work at every level.
constexpr int kForkJoinDepth = 12;
constexpr int kLeafWork = 256;
// ParallelForSteals: 2^20 indices of one hash each, a few ms per iteration.
constexpr std::size_t kStealRangeElements = std::size_t{1} << 20;

std::size_t PoolSize(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

// The shared input, i & 0xff: built on first use so that a filtered run that skips the range
// benchmarks never pays 400 MB for it.
const std::vector<std::uint32_t>& RangeInput() {
  static const std::vector<std::uint32_t> input = [] {
    std::vector<std::uint32_t> v(kRangeElements);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint32_t>(i & 0xff);
    return v;
  }();
  return input;
}

// The map's output. Value-initialised, so its pages are touched here and not in the first
// timed iteration.
std::vector<std::uint32_t>& RangeOutput() {
  static std::vector<std::uint32_t> output(kRangeElements);
  return output;
}

// The k of out[i] = in[i] * 3 + k: unique to every map iteration in the process, so values
// left over from an earlier iteration (or from the other runtime) never pass the check.
std::uint32_t NextMapOffset() {
  static std::uint32_t next = 0;
  return ++next;
}

bool MapIsComplete(std::uint32_t k) {
  const auto& in = RangeInput();
  const auto& out = RangeOutput();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i] != in[i] * 3 + k) return false;
  }
  return true;
}

// ---- Empty-task spawn + wait -------------------------------------------------------------

void EmptySpawn(benchmark::State& state, bool caller_runs) {
  tally::Scheduler sched{{.threads = PoolSize(state)}};
  for (auto _ : state) {
    tally::TaskGroup group(sched, {.caller_runs = caller_runs});
    for (std::size_t i = 0; i < kSpawnTasks; ++i) group.spawn([] {});
    const tally::Status s = group.wait();
    if (!s.ok()) {
      state.SkipWithError(("wait() failed: " + s.to_string()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSpawnTasks));
}

void BM_TaskGroup_EmptySpawn(benchmark::State& state) { EmptySpawn(state, true); }
void BM_TaskGroup_EmptySpawnWorkersOnly(benchmark::State& state) { EmptySpawn(state, false); }

void TbbEmptySpawn(benchmark::State& state, int arena_slots) {
  tbb::task_arena arena(arena_slots);
  arena.initialize();  // so that the first timed iteration does not create the arena
  // The whole loop runs inside the arena: a task_group spawns into the arena of the thread
  // that calls run().
  arena.execute([&] {
    for (auto _ : state) {
      tbb::task_group group;
      for (std::size_t i = 0; i < kSpawnTasks; ++i) group.run([] {});
      group.wait();
    }
  });
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSpawnTasks));
}

void BM_TbbTaskGroup_EmptySpawn(benchmark::State& state) {
  TbbEmptySpawn(state, static_cast<int>(PoolSize(state)));
}
// As many threads as tally's EmptySpawn at the same threads:N: N besides the caller.
void BM_TbbTaskGroup_EmptySpawnPlusCaller(benchmark::State& state) {
  TbbEmptySpawn(state, static_cast<int>(PoolSize(state)) + 1);
}

// ---- parallel_reduce and parallel_for ------------------------------------------------------

// The timed loop of both tally reduce benchmarks, on whichever thread calls it.
void SumLoop(benchmark::State& state, tally::Scheduler& sched) {
  const auto& in = RangeInput();
  for (auto _ : state) {
    const std::uint64_t sum = tally::parallel_reduce(
        sched, 0, in.size(), std::uint64_t{0},
        [&](std::size_t lo, std::size_t hi, std::uint64_t acc) {
          for (std::size_t i = lo; i < hi; ++i) acc += in[i];
          return acc;
        },
        std::plus<>());
    if (sum != kRangeSum) {
      state.SkipWithError(("wrong sum " + std::to_string(sum)).c_str());
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(kRangeElements * sizeof(std::uint32_t)));
}

void BM_ParallelReduce_Sum(benchmark::State& state) {
  RangeInput();  // built before the pool starts, as in every range benchmark
  tally::Scheduler sched{{.threads = PoolSize(state)}};
  SumLoop(state, sched);
}

// The same calls made from a worker: the whole timed loop is one task, so each call starts on
// a running worker instead of handing its range to a parked pool and sleeping until the last
// piece wakes it. Next to BM_ParallelReduce_Sum it prices those two hand-offs per call (the
// host's wake-up latency, BM_Host_WakeLatency); next to oneTBB, whose calling thread runs
// pieces in its arena, it compares the partitioners alone.
void BM_ParallelReduce_SumFromWorker(benchmark::State& state) {
  RangeInput();
  tally::Scheduler sched{{.threads = PoolSize(state)}};
  tally::TaskGroup group(sched);
  group.spawn([&] { SumLoop(state, sched); });
  if (const tally::Status s = group.wait(); !s.ok()) state.SkipWithError(s.to_string().c_str());
}

void BM_TbbParallelReduce_Sum(benchmark::State& state) {
  const auto& in = RangeInput();
  tbb::task_arena arena(static_cast<int>(PoolSize(state)));
  arena.initialize();
  arena.execute([&] {
    for (auto _ : state) {
      const std::uint64_t sum = tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(0, in.size()), std::uint64_t{0},
          [&](const tbb::blocked_range<std::size_t>& r, std::uint64_t acc) {
            for (std::size_t i = r.begin(); i < r.end(); ++i) acc += in[i];
            return acc;
          },
          std::plus<>());
      if (sum != kRangeSum) {
        state.SkipWithError(("wrong sum " + std::to_string(sum)).c_str());
        break;
      }
    }
  });
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(kRangeElements * sizeof(std::uint32_t)));
}

void BM_ParallelFor_Map(benchmark::State& state) {
  const auto& in = RangeInput();
  auto& out = RangeOutput();
  tally::Scheduler sched{{.threads = PoolSize(state)}};
  std::uint32_t k = 0;
  for (auto _ : state) {
    k = NextMapOffset();
    tally::parallel_for(sched, 0, in.size(), [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) out[i] = in[i] * 3 + k;
    });
    benchmark::ClobberMemory();
  }
  // Only the last iteration is checked: a check per iteration would cost as much as the map.
  if (!MapIsComplete(k)) state.SkipWithError("parallel_for left elements unmapped");
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(kRangeElements * 2 * sizeof(std::uint32_t)));
}

void BM_TbbParallelFor_Map(benchmark::State& state) {
  const auto& in = RangeInput();
  auto& out = RangeOutput();
  tbb::task_arena arena(static_cast<int>(PoolSize(state)));
  arena.initialize();
  std::uint32_t k = 0;
  arena.execute([&] {
    for (auto _ : state) {
      k = NextMapOffset();
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size()),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t i = r.begin(); i < r.end(); ++i) out[i] = in[i] * 3 + k;
                        });
      benchmark::ClobberMemory();
    }
  });
  if (!MapIsComplete(k)) state.SkipWithError("tbb::parallel_for left elements unmapped");
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(kRangeElements * 2 * sizeof(std::uint32_t)));
}

// ---- Cancellation latency ------------------------------------------------------------------

// Sorts the per-iteration seconds in `samples` and reports their tail as `p99_us` and `max_us`.
void SetTailCounters(benchmark::State& state, std::vector<double>& samples) {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  state.counters["p99_us"] = samples[samples.size() * 99 / 100] * 1e6;
  state.counters["max_us"] = samples.back() * 1e6;
}

// Busy work, not a sleep: cancellation is cooperative, so a sleeping task would notice the stop
// only when its sleep ends, and the benchmark would measure the sleep.
void SpinFor(Clock::duration d) {
  const Clock::time_point until = Clock::now() + d;
  while (Clock::now() < until) {
  }
}

void BM_TaskGroup_CancelLatency(benchmark::State& state) {
  const std::size_t workers = PoolSize(state);
  tally::Scheduler sched{{.threads = workers}};
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(kCancelSamples));
  for (auto _ : state) {
    std::atomic<std::size_t> started{0};
    tally::TaskGroup group(sched);
    for (std::size_t i = 0; i < 2 * workers; ++i) {
      group.spawn([&](std::stop_token stop) {
        // Relaxed: only a count; the benchmark thread reads nothing else through it.
        if (started.fetch_add(1, std::memory_order_relaxed) + 1 == workers) started.notify_one();
        while (!stop.stop_requested()) SpinFor(kWorkSlice);
      });
    }
    // Wait until every worker is inside a task, so that cancel() hits running tasks and not
    // only queued ones. Block rather than yield: with as many workers as cores, a yielding
    // thread can queue behind the spinning tasks for a whole time slice (milliseconds), while
    // the kernel favours a thread it wakes from a futex.
    for (std::size_t n = 0; (n = started.load(std::memory_order_relaxed)) < workers;) {
      started.wait(n, std::memory_order_relaxed);
    }

    const Clock::time_point t0 = Clock::now();
    group.cancel();
    const tally::Status s = group.wait();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(seconds);
    samples.push_back(seconds);

    // The queued half must have been skipped: a task that started after cancel() would mean
    // the group kept running work it had been told to drop.
    if (s.code() != tally::StatusCode::kCancelled ||
        started.load(std::memory_order_relaxed) != workers) {
      state.SkipWithError(("wait() returned " + s.to_string() + " after " +
                           std::to_string(started.load(std::memory_order_relaxed)) +
                           " tasks started, expected kCancelled after " + std::to_string(workers))
                              .c_str());
      break;
    }
  }
  SetTailCounters(state, samples);
}

// ---- The host's wake-up latency -----------------------------------------------------------

// One thread parks on a futex (std::atomic::wait, as the pool's workers do) and another wakes
// it after a pause long enough for the sleeper's CPU to go idle; the iteration time is from
// just before notify_one to the sleeper running again. No tally code: this is the floor under
// every hand-off to a parked worker on this machine (a virtual CPU that went idle may first
// have to be scheduled by the host), so rows built on such hand-offs are read against it.
// Both threads are pinned to CPUs of their own when the process may use two, so the wake-up
// always crosses CPUs, as a pool's does.
void BM_Host_WakeLatency(benchmark::State& state) {
  constexpr std::uint32_t kStopEpoch = ~std::uint32_t{0};
  std::atomic<std::uint32_t> epoch{0};
  std::atomic<std::uint32_t> woken{0};
  std::atomic<Clock::rep> woke_at{0};
  std::vector<int> cpus;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
      if (CPU_ISSET(c, &mask)) cpus.push_back(c);
    }
  }
  auto pin = [&](std::size_t i) {
    if (cpus.size() < 2) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[i], &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  };
  // epoch carries no data but its own value, so relaxed suffices for it. woken's release
  // store and the waker's acquire load are the one happens-before edge: they make woke_at,
  // written just before, visible to the waker (hence relaxed on woke_at itself).
  std::thread sleeper([&] {
    pin(0);
    for (std::uint32_t seen = 0;;) {
      epoch.wait(seen, std::memory_order_relaxed);
      seen = epoch.load(std::memory_order_relaxed);
      if (seen == kStopEpoch) return;
      woke_at.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      woken.store(seen, std::memory_order_release);
      woken.notify_one();
    }
  });
  pin(1);
  std::vector<double> samples;
  std::uint32_t round = 0;
  for (auto _ : state) {
    std::this_thread::sleep_for(kWakePause);
    ++round;
    const Clock::time_point t0 = Clock::now();
    epoch.store(round, std::memory_order_relaxed);
    epoch.notify_one();
    for (std::uint32_t w = woken.load(std::memory_order_acquire); w != round;
         w = woken.load(std::memory_order_acquire)) {
      woken.wait(w, std::memory_order_acquire);
    }
    const Clock::duration d =
        Clock::duration(woke_at.load(std::memory_order_relaxed)) - t0.time_since_epoch();
    const double seconds = std::chrono::duration<double>(d).count();
    state.SetIterationTime(seconds);
    samples.push_back(seconds);
  }
  epoch.store(kStopEpoch, std::memory_order_relaxed);
  epoch.notify_one();
  sleeper.join();
  if (cpus.size() >= 2) sched_setaffinity(0, sizeof mask, &mask);  // this thread's own again
  SetTailCounters(state, samples);
  if (!samples.empty()) state.counters["p50_us"] = samples[samples.size() / 2] * 1e6;
}

// ---- Steals per task ---------------------------------------------------------------------

// A few ns of work the compiler cannot fold away: one round of a 64-bit mixer.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

// Sums the leaves of a binary tree of depth `depth` rooted at `node`, forking at every level.
std::uint64_t ForkJoin(tally::Scheduler& sched, int depth, std::uint64_t node) {
  if (depth == 0) {
    std::uint64_t h = node;
    for (int i = 0; i < kLeafWork; ++i) h = Mix(h + static_cast<std::uint64_t>(i));
    return h;
  }
  std::uint64_t left = 0;
  tally::TaskGroup group(sched);
  group.spawn([&] { left = ForkJoin(sched, depth - 1, 2 * node); });
  const std::uint64_t right = ForkJoin(sched, depth - 1, 2 * node + 1);
  static_cast<void>(group.wait());  // no task here fails or is cancelled
  return left ^ right;
}

tally::SchedulerStats SummedWorkerStats(const tally::Scheduler& sched) {
  tally::SchedulerStats sum;
  for (const tally::SchedulerStats& w : sched.worker_stats()) {
    sum.tasks_run += w.tasks_run;
    sum.tasks_stolen += w.tasks_stolen;
    sum.steal_failures += w.steal_failures;
  }
  return sum;
}

// Runs `iteration(sched)` per benchmark iteration and reports the pool's steal counters.
template <typename Iteration>
void StealsPerTask(benchmark::State& state, Iteration iteration) {
  tally::Scheduler sched{{.threads = PoolSize(state)}};
  const tally::SchedulerStats before = SummedWorkerStats(sched);
  for (auto _ : state) {
    if (!iteration(sched)) {
      state.SkipWithError("the workload computed a wrong result");
      break;
    }
  }
  // A snapshot while the pool runs is approximate (scheduler.hpp); here every task has
  // finished, but an idle worker may still be counting a failed steal: a few at most.
  const tally::SchedulerStats after = SummedWorkerStats(sched);
  const auto run = static_cast<double>(after.tasks_run - before.tasks_run);
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["tasks"] = iterations > 0 ? run / iterations : 0;
  state.counters["steals_per_task"] =
      run > 0 ? static_cast<double>(after.tasks_stolen - before.tasks_stolen) / run : 0;
  state.counters["failed_steals_per_task"] =
      run > 0 ? static_cast<double>(after.steal_failures - before.steal_failures) / run : 0;
}

void BM_Scheduler_ForkJoinSteals(benchmark::State& state) {
  // The expected result, computed once on this thread.
  static const std::uint64_t expected = [] {
    std::uint64_t x = 0;
    for (std::uint64_t leaf = 0; leaf < (std::uint64_t{1} << kForkJoinDepth); ++leaf) {
      std::uint64_t h = (std::uint64_t{1} << kForkJoinDepth) + leaf;
      for (int i = 0; i < kLeafWork; ++i) h = Mix(h + static_cast<std::uint64_t>(i));
      x ^= h;
    }
    return x;
  }();
  StealsPerTask(state, [](tally::Scheduler& sched) {
    std::uint64_t result = 0;
    tally::TaskGroup root(sched);
    root.spawn([&] { result = ForkJoin(sched, kForkJoinDepth, 1); });
    return root.wait().ok() && result == expected;
  });
  state.SetItemsProcessed(state.iterations() * (std::int64_t{1} << kForkJoinDepth));
}

void BM_Scheduler_ParallelForSteals(benchmark::State& state) {
  static const std::uint64_t expected = [] {
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < kStealRangeElements; ++i) x += Mix(i);
    return x;
  }();
  StealsPerTask(state, [](tally::Scheduler& sched) {
    std::atomic<std::uint64_t> total{0};
    tally::parallel_for(sched, 0, kStealRangeElements, [&](std::size_t lo, std::size_t hi) {
      std::uint64_t x = 0;
      for (std::size_t i = lo; i < hi; ++i) x += Mix(i);
      // Relaxed: a sum; parallel_for's return orders every piece before the check below.
      total.fetch_add(x, std::memory_order_relaxed);
    });
    return total.load(std::memory_order_relaxed) == expected;
  });
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kStealRangeElements));
}

// ---- Idle pool CPU use ---------------------------------------------------------------------

double CpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_Scheduler_IdleCpu(benchmark::State& state) {
  constexpr std::size_t kWorkers = 2;
  tally::Scheduler sched{{.threads = kWorkers}};

  // One task per worker, each holding its worker until all have arrived, so that every
  // worker reports the CPU clock of its thread. This is also the work the pool goes idle after.
  // Blocking in a task is safe here only because there are exactly as many tasks as workers:
  // no task waits for a worker that another task holds.
  std::vector<clockid_t> worker_clocks(kWorkers);
  {
    std::latch all_arrived(static_cast<std::ptrdiff_t>(kWorkers));
    tally::TaskGroup group(sched);
    for (std::size_t i = 0; i < kWorkers; ++i) {
      group.spawn([&] {
        const auto w = static_cast<std::size_t>(sched.current_worker_index());
        pthread_getcpuclockid(pthread_self(), &worker_clocks[w]);
        all_arrived.arrive_and_wait();
      });
    }
    if (!group.wait().ok()) {
      state.SkipWithError("the warm-up task group failed");
      return;
    }
  }
  auto worker_cpu = [&] {
    double total = 0;
    for (const clockid_t c : worker_clocks) total += CpuSeconds(c);
    return total;
  };

  double process_seconds = 0;
  double worker_seconds = 0;
  for (auto _ : state) {
    const double process_before = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    const double workers_before = worker_cpu();
    std::this_thread::sleep_for(kIdleTime);
    worker_seconds += worker_cpu() - workers_before;
    process_seconds += CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process_before;
  }
  state.counters["idle_cpu_ms"] = process_seconds * 1e3;
  state.counters["worker_cpu_ms"] = worker_seconds * 1e3;
}

void RegisterAll() {
  // Before anything starts a TBB thread or leaves a spinning worker behind (see the header).
  benchmark::RegisterBenchmark("BM_Scheduler_IdleCpu", BM_Scheduler_IdleCpu)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);

  // Real time everywhere: the work runs on pool threads while the benchmark thread sleeps in
  // wait() or runs only part of it (TBB, and tally's caller_runs), so its CPU time says
  // nothing.
  auto pool_sizes = [](benchmark::internal::Benchmark* b) {
    b->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();
  };
  benchmark::RegisterBenchmark("BM_TaskGroup_EmptySpawn", BM_TaskGroup_EmptySpawn)
      ->Apply(pool_sizes)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_TaskGroup_EmptySpawnWorkersOnly",
                               BM_TaskGroup_EmptySpawnWorkersOnly)
      ->Apply(pool_sizes)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_TbbTaskGroup_EmptySpawn", BM_TbbTaskGroup_EmptySpawn)
      ->Apply(pool_sizes)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_TbbTaskGroup_EmptySpawnPlusCaller",
                               BM_TbbTaskGroup_EmptySpawnPlusCaller)
      ->Apply(pool_sizes)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_ParallelReduce_Sum", BM_ParallelReduce_Sum)
      ->Apply(pool_sizes)
      ->Apply(tally::bench::one_thread_on_one_cpu)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_ParallelReduce_SumFromWorker", BM_ParallelReduce_SumFromWorker)
      ->Apply(pool_sizes)
      ->Apply(tally::bench::one_thread_on_one_cpu)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_TbbParallelReduce_Sum", BM_TbbParallelReduce_Sum)
      ->Apply(pool_sizes)
      ->Apply(tally::bench::one_thread_on_one_cpu)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_ParallelFor_Map", BM_ParallelFor_Map)
      ->Apply(pool_sizes)
      ->Apply(tally::bench::one_thread_on_one_cpu)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_TbbParallelFor_Map", BM_TbbParallelFor_Map)
      ->Apply(pool_sizes)
      ->Apply(tally::bench::one_thread_on_one_cpu)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_TaskGroup_CancelLatency", BM_TaskGroup_CancelLatency)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(kCancelSamples)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Host_WakeLatency", BM_Host_WakeLatency)
      ->Iterations(kWakeSamples)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  auto steal_pool_sizes = [](benchmark::internal::Benchmark* b) {
    b->ArgName("threads")->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseRealTime();
  };
  benchmark::RegisterBenchmark("BM_Scheduler_ForkJoinSteals", BM_Scheduler_ForkJoinSteals)
      ->Apply(steal_pool_sizes)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Scheduler_ParallelForSteals", BM_Scheduler_ParallelForSteals)
      ->Apply(steal_pool_sizes)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  tbb::info::default_concurrency();  // before any pinned run: bench/one_cpu.hpp says why
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
