// Costs of tally::lockfree::WorkStealingDeque as a scheduler sees them:
//  - BM_WorkStealingDeque_PushPop/depth:D: the owner pushes one item and pops it back, single
//    thread, with D other items already in the deque; Time is ns per push+pop pair. This is
//    the price of every task nobody steals, the common case. Depth 0 takes the last-item path
//    (a CAS on top_ to race thieves), depth 64 the uncontended path (no CAS): the difference
//    is what an almost-empty deque costs.
//  - BM_WorkStealingDeque_OwnerWithThieves/thieves:N: the owner pushes kBatch items and then
//    pops until empty, like a task spawning kBatch children and running them itself, while N
//    thieves steal from the top. items_per_second counts items taken by anyone; `stolen` is the
//    fraction the thieves got. Thieves spinning on an almost-empty deque pull its top_ and
//    bottom_ lines away from the owner: this is the slowdown the owner pays for being
//    stealable. 3 thieves + owner oversubscribe a 2-core machine on purpose.
//  - BM_WorkStealingDeque_StealOnly/thieves:N: the deque is filled first (not timed), then N
//    thieves empty it: the cost of a steal, alone and under CAS contention on top_.
//  - BM_WorkStealingDequeSharedLine_*: the same benchmarks on DequeLayout::kSharedLine, top_
//    and bottom_ on one cache line (the default keeps them on separate lines). The ratio to
//    the default at the same arguments is what the separation buys.
//  - `steal_cas_failures` (OwnerWithThieves, StealOnly): steals that saw an item but lost the
//    CAS on top_, per item taken, from the thieves' contention counters
//    (lockfree/instrument.hpp).
//
// Multi-threaded runs time wall-clock from the start latch to the last thread finishing
// (manual time, so thread creation and joining are not counted), and check that every item
// was taken exactly once (count and sum), so a broken deque reports an error instead of a fast
// number.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tally/lockfree/backoff.hpp"
#include "tally/lockfree/cache_line.hpp"
#include "tally/lockfree/instrument.hpp"
#include "tally/lockfree/ws_deque.hpp"

namespace {

using tally::lockfree::contention_counters;
using tally::lockfree::cpu_relax;
using tally::lockfree::DequeLayout;
using tally::lockfree::SpinWait;
using tally::lockfree::WorkStealingDeque;
using Clock = std::chrono::steady_clock;

// Items per benchmark iteration of the multi-threaded runs: long enough to amortise the start
// latch, short enough that the ctest smoke run stays in seconds. A multiple of kBatch.
constexpr std::uint64_t kItemsPerRun = std::uint64_t{1} << 16;
// Children per task in OwnerWithThieves: the deque's initial capacity, so that it never grows
// and the run measures push/pop/steal, not reallocation.
constexpr std::uint64_t kBatch = 64;

// Items taken by one thread. Written by that thread only (per item), read after the join.
// Each on its own cache line, so that the takers' counters do not false-share.
struct alignas(tally::lockfree::kCacheLine) Taken {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  Clock::time_point start;
  Clock::time_point end;
  std::uint64_t steal_cas_failures = 0;  // this thread's lost CASes on top_ during the run

  void add(std::uint64_t item) noexcept {
    ++count;
    sum += item;
  }
};

// Items are 1 .. kItemsPerRun. Returns what went wrong, or an empty string.
std::string CheckTaken(const std::vector<Taken>& takers) {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  for (const Taken& t : takers) {
    count += t.count;
    sum += t.sum;
  }
  const std::uint64_t expected_sum = kItemsPerRun * (kItemsPerRun + 1) / 2;
  if (count == kItemsPerRun && sum == expected_sum) return {};
  return "items taken " + std::to_string(count) + " (expected " + std::to_string(kItemsPerRun) +
         "), sum " + std::to_string(sum) + " (expected " + std::to_string(expected_sum) + ")";
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double StealCasFailuresPerItem(const std::vector<Taken>& takers, std::int64_t items) {
  std::uint64_t failures = 0;
  for (const Taken& t : takers) failures += t.steal_cas_failures;
  return items > 0 ? static_cast<double>(failures) / static_cast<double>(items) : 0;
}

template <DequeLayout kLayout>
void BM_PushPop(benchmark::State& state) {
  WorkStealingDeque<std::uint64_t, kLayout> deque;
  const auto depth = static_cast<std::uint64_t>(state.range(0));
  for (std::uint64_t i = 0; i < depth; ++i) deque.push(i);
  std::uint64_t item = depth;
  for (auto _ : state) {
    deque.push(item);
    const std::optional<std::uint64_t> popped = deque.pop();
    if (popped != item) {
      state.SkipWithError("pop did not return the item just pushed");
      break;
    }
    ++item;
  }
  state.SetItemsProcessed(state.iterations());
}

template <DequeLayout kLayout>
void BM_OwnerWithThieves(benchmark::State& state) {
  const auto thieves = static_cast<std::size_t>(state.range(0));
  // Reused across iterations: it is empty after each one, and a fresh deque per run would
  // only add an allocation.
  WorkStealingDeque<std::uint64_t, kLayout> deque(kBatch);
  std::uint64_t stolen = 0;
  std::vector<Taken> all_taken;  // every iteration's takers, for the contention counter
  for (auto _ : state) {
    // Slot 0 is the owner.
    std::vector<Taken> taken(thieves + 1);
    std::atomic<bool> owner_done{false};
    std::latch start(static_cast<std::ptrdiff_t>(thieves + 1));
    {
      std::vector<std::jthread> threads;
      threads.reserve(thieves);
      for (std::size_t t = 1; t <= thieves; ++t) {
        threads.emplace_back([&, t] {
          Taken& mine = taken[t];
          SpinWait spin;
          start.arrive_and_wait();
          const std::uint64_t failures_before = contention_counters().steal_cas_failures;
          // Acquire pairs with the owner's release store below; the join orders everything
          // anyway, the flag only ends the loop.
          while (!owner_done.load(std::memory_order_acquire)) {
            if (const std::optional<std::uint64_t> item = deque.steal()) {
              mine.add(*item);
              spin.reset();
            } else if (!spin.spin_once()) {
              // As a scheduler's idle worker would: yield, so that on an oversubscribed
              // machine the owner gets the core back.
              std::this_thread::yield();
            }
          }
          mine.steal_cas_failures = contention_counters().steal_cas_failures - failures_before;
        });
      }
      Taken& owner = taken[0];
      start.arrive_and_wait();
      owner.start = Clock::now();
      for (std::uint64_t first = 1; first <= kItemsPerRun; first += kBatch) {
        for (std::uint64_t item = first; item < first + kBatch; ++item) deque.push(item);
        // nullopt means empty or the last item went to a thief: either way every pushed item
        // has been claimed, so the next batch starts on an empty deque.
        while (const std::optional<std::uint64_t> item = deque.pop()) owner.add(*item);
      }
      owner.end = Clock::now();
      owner_done.store(true, std::memory_order_release);
    }  // the jthreads join here
    state.SetIterationTime(Seconds(taken[0].end - taken[0].start));

    const std::string error = CheckTaken(taken);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    stolen += kItemsPerRun - taken[0].count;
    all_taken.insert(all_taken.end(), taken.begin(), taken.end());
  }
  const auto items =
      static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kItemsPerRun);
  state.SetItemsProcessed(items);
  state.counters["stolen"] =
      items > 0 ? static_cast<double>(stolen) / static_cast<double>(items) : 0;
  state.counters["steal_cas_failures"] = StealCasFailuresPerItem(all_taken, items);
}

template <DequeLayout kLayout>
void BM_StealOnly(benchmark::State& state) {
  const auto thieves = static_cast<std::size_t>(state.range(0));
  WorkStealingDeque<std::uint64_t, kLayout> deque(kItemsPerRun);  // never grows while filling
  std::vector<Taken> all_taken;  // every iteration's takers, for the contention counter
  for (auto _ : state) {
    for (std::uint64_t item = 1; item <= kItemsPerRun; ++item) deque.push(item);
    std::vector<Taken> taken(thieves);
    std::latch start(static_cast<std::ptrdiff_t>(thieves));
    {
      std::vector<std::jthread> threads;
      threads.reserve(thieves);
      for (std::size_t t = 0; t < thieves; ++t) {
        threads.emplace_back([&, t] {
          Taken& mine = taken[t];
          start.arrive_and_wait();
          const std::uint64_t failures_before = contention_counters().steal_cas_failures;
          mine.start = Clock::now();
          for (;;) {
            if (const std::optional<std::uint64_t> item = deque.steal()) {
              mine.add(*item);
            } else if (deque.empty_approx()) {
              // Nobody pushes during the run, so once top_ has reached bottom_ it stays.
              break;
            } else {
              cpu_relax();  // lost a race for top_: back off a moment before the next CAS
            }
          }
          mine.end = Clock::now();
          mine.steal_cas_failures = contention_counters().steal_cas_failures - failures_before;
        });
      }
    }  // the jthreads join here

    Clock::time_point first_start = taken.front().start;
    Clock::time_point last_end = taken.front().end;
    for (const Taken& t : taken) {
      first_start = std::min(first_start, t.start);
      last_end = std::max(last_end, t.end);
    }
    state.SetIterationTime(Seconds(last_end - first_start));

    const std::string error = CheckTaken(taken);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    all_taken.insert(all_taken.end(), taken.begin(), taken.end());
  }
  const auto items =
      static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kItemsPerRun);
  state.SetItemsProcessed(items);
  state.counters["steal_cas_failures"] = StealCasFailuresPerItem(all_taken, items);
}

template <DequeLayout kLayout>
void RegisterLayout(const std::string& prefix) {
  benchmark::RegisterBenchmark((prefix + "_PushPop").c_str(), BM_PushPop<kLayout>)
      ->ArgName("depth")
      ->Arg(0)
      ->Arg(64);
  benchmark::RegisterBenchmark((prefix + "_OwnerWithThieves").c_str(), BM_OwnerWithThieves<kLayout>)
      ->ArgName("thieves")
      ->Arg(1)
      ->Arg(3)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark((prefix + "_StealOnly").c_str(), BM_StealOnly<kLayout>)
      ->ArgName("thieves")
      ->Arg(1)
      ->Arg(2)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  RegisterLayout<DequeLayout::kSeparateLines>("BM_WorkStealingDeque");
  RegisterLayout<DequeLayout::kSharedLine>("BM_WorkStealingDequeSharedLine");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
