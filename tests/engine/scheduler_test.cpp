#include "tally/engine/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tally/engine/system.hpp"
#include "tally/engine/task_group.hpp"
#include "tests/support/destruction_probe.hpp"

namespace {

using tally::Scheduler;
using tally::testing::DestructionProbe;

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

std::vector<std::string> thread_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.push_back(name);
  }
  return names;
}

// Oracle: a scheduler starts exactly `threads` workers, named tally-w0.., and after its
// destruction the process has exactly as many threads as before (none leaked).
TEST(Scheduler, StartsNamedWorkersAndJoinsThemAll) {
  // ThreadSanitizer starts a helper thread at the first thread creation; create one first so
  // that the baseline already includes it.
  std::thread([] {}).join();
  const std::size_t before = thread_count();
  {
    Scheduler sched({.threads = 3});
    EXPECT_EQ(sched.num_workers(), 3u);
    EXPECT_EQ(thread_count(), before + 3);
    std::multiset<std::string> names;
    for (const auto& n : thread_names()) names.insert(n);
    EXPECT_EQ(names.count("tally-w0"), 1u);
    EXPECT_EQ(names.count("tally-w1"), 1u);
    EXPECT_EQ(names.count("tally-w2"), 1u);
  }
  // A joined thread can linger in /proc/self/task for a moment after join() returns (the
  // kernel wakes the joiner before the task is fully gone), so allow it a short while to
  // disappear; a leaked thread never does.
  for (int i = 0; i < 2000 && thread_count() != before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(thread_count(), before);
}

// Oracle: the default size is the number of CPUs in the affinity mask.
TEST(Scheduler, DefaultSizeIsUsableCores) {
  Scheduler sched;
  EXPECT_EQ(sched.num_workers(), tally::usable_cores());
}

// Oracle: destruction drains: every task submitted before the destructor ran exactly once,
// including tasks that those tasks submitted, though nobody waited for them.
TEST(Scheduler, DestructionRunsEverySubmittedTask) {
  std::atomic<int> ran{0};
  {
    Scheduler sched({.threads = 2});
    for (int i = 0; i < 1000; ++i) {
      sched.submit([&sched, &ran]() noexcept {
        ran.fetch_add(1, std::memory_order_relaxed);
        sched.submit([&ran]() noexcept { ran.fetch_add(1, std::memory_order_relaxed); });
      });
    }
  }
  EXPECT_EQ(ran.load(), 2000);
}

// Oracle: tasks submitted from many outside threads at once, more than the injection queue
// holds, all run exactly once (checked per task id), and stats count every one of them.
TEST(Scheduler, ExternalSubmittersExactlyOnce) {
  constexpr int kSubmitters = 4;
  constexpr int kPerSubmitter = 5000;
  std::vector<std::atomic<int>> runs(kSubmitters * kPerSubmitter);
  Scheduler sched({.threads = 2, .injection_capacity = 64});
  tally::detail::WaitCounter counter(sched);
  counter.add(runs.size());
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&, s] {
      for (int i = 0; i < kPerSubmitter; ++i) {
        auto& slot = runs[static_cast<std::size_t>(s * kPerSubmitter + i)];
        sched.submit([&slot, &counter]() noexcept {
          slot.fetch_add(1, std::memory_order_relaxed);
          counter.finish();
        });
      }
    });
  }
  for (auto& t : submitters) t.join();
  sched.wait_for(counter);
  for (std::size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << "task " << i;
  // A worker counts a task after running it, and the last tasks' counts may trail the wait:
  // statistics are approximate while the pool runs. They must catch up, and never overcount.
  for (int i = 0; i < 2000 && sched.stats().tasks_run < runs.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(sched.stats().tasks_run, runs.size());
}

// Oracle: with submit(f, counter), a wait_for(counter) that returns has seen every f run and
// destroyed with what it captured (destructors that record into the caller's state have all
// run), checked right after each wait over many rounds.
TEST(Scheduler, CountedSubmitFinishesAfterTheTaskIsDestroyed) {
  std::atomic<int> live{0};  // outlives the scheduler: a late destructor still finds it
  std::atomic<int> ran{0};
  Scheduler sched({.threads = 2});
  for (int round = 1; round <= 200; ++round) {
    tally::detail::WaitCounter counter(sched);
    for (int i = 0; i < 4; ++i) {
      sched.submit([&ran, probe = DestructionProbe(live)]() noexcept { ran.fetch_add(1); },
                   counter);
    }
    sched.wait_for(counter);
    ASSERT_EQ(live.load(), 0) << "a capture outlived wait_for: round " << round;
    ASSERT_EQ(ran.load(), 4 * round);
  }
}

// The scheduler state of a thread ('S' sleeping, 'R' running).
char state_of(const std::filesystem::path& task_dir) {
  std::ifstream stat(task_dir / "stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

// Oracle: an idle pool parks: every worker ends up asleep in the kernel (a spinning or
// yielding worker would stay runnable), and new work still gets done after that.
TEST(Scheduler, IdleWorkersSleepAndWakeForWork) {
  Scheduler sched({.threads = 2});
  bool all_asleep = false;
  for (int i = 0; i < 5000 && !all_asleep; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    int asleep = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(entry.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name.rfind("tally-w", 0) == 0 && state_of(entry.path()) == 'S') ++asleep;
    }
    all_asleep = asleep == 2;
  }
  EXPECT_TRUE(all_asleep) << "idle workers never went to sleep";
  EXPECT_GE(sched.stats().parks, 2u);

  std::atomic<bool> ran{false};
  tally::detail::WaitCounter counter(sched);
  counter.add();
  sched.submit([&]() noexcept {
    ran.store(true);
    counter.finish();
  });
  sched.wait_for(counter);
  EXPECT_TRUE(ran.load());
}

// Oracle: current_worker_index is -1 outside the pool and a valid, distinct index inside.
TEST(Scheduler, CurrentWorkerIndex) {
  Scheduler sched({.threads = 2});
  EXPECT_EQ(sched.current_worker_index(), -1);
  std::atomic<int> index{-2};
  tally::detail::WaitCounter counter(sched);
  counter.add();
  sched.submit([&]() noexcept {
    index.store(sched.current_worker_index());
    counter.finish();
  });
  sched.wait_for(counter);
  EXPECT_GE(index.load(), 0);
  EXPECT_LT(index.load(), 2);
}

std::uint64_t fib_tasks(Scheduler& sched, int n) {
  if (n < 2) return static_cast<std::uint64_t>(n);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  tally::TaskGroup group(sched);
  group.spawn([&] { a = fib_tasks(sched, n - 1); });
  group.spawn([&] { b = fib_tasks(sched, n - 2); });
  EXPECT_TRUE(group.wait().ok());
  return a + b;
}

class SchedulerThreads : public ::testing::TestWithParam<std::size_t> {};

// Oracle: recursive fork-join (a task group per call, waiting inside tasks) computes
// fib(n) exactly at every pool size, oversubscribed included, without deadlock: waiting
// workers run other tasks.
TEST_P(SchedulerThreads, RecursiveFibonacci) {
  Scheduler sched({.threads = GetParam()});
  std::uint64_t result = 0;
  tally::TaskGroup root(sched);
  root.spawn([&] { result = fib_tasks(sched, 18); });
  ASSERT_TRUE(root.wait().ok());
  EXPECT_EQ(result, 2584u);
}

INSTANTIATE_TEST_SUITE_P(Sweep, SchedulerThreads, ::testing::Values(1, 2, 4, 8));

}  // namespace
