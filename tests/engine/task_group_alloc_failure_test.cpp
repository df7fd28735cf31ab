// TaskGroup (engine/task_group.hpp) when an allocation inside spawn fails. A binary of its own:
// tests/support/failing_allocations.cpp replaces the global operator new.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "tally/engine/task_group.hpp"
#include "tests/support/bounded_wait.hpp"
#include "tests/support/failing_allocations.hpp"

namespace {

using tally::Scheduler;
using tally::Status;
using tally::TaskGroup;
using tally::testing::FailLargeAllocations;

// Runs group.wait() on a thread of its own and gives it `limit` to return: the result, or
// nullopt if it did not return in time. The waiting thread is detached; after a nullopt it
// still uses the group and its scheduler, which must then never be destroyed.
std::optional<Status> wait_within(TaskGroup& group, std::chrono::steady_clock::duration limit) {
  struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Status> status;
  };
  auto outcome = std::make_shared<Outcome>();
  std::thread([&group, outcome] {
    Status s = group.wait();
    const std::lock_guard lock(outcome->mu);
    outcome->status = std::move(s);
    outcome->cv.notify_all();
  }).detach();
  std::unique_lock lock(outcome->mu);
  outcome->cv.wait_for(lock, limit, [&] { return outcome->status.has_value(); });
  return outcome->status;
}

// Oracle: a spawn that throws has no effect. Here the group (limit 1, its one slot held by a
// blocked task) holds the spawned tasks back in a queue whose growth fails: some spawn then
// throws std::bad_alloc. Once the blocked task is released, wait() returns OK, and the tasks
// run are exactly those whose spawn returned (the one whose spawn threw never runs, and
// nothing waits for it).
TEST(TaskGroupAllocationFailure, SpawnThatThrowsLeavesNothingPending) {
  auto sched = std::make_unique<Scheduler>(tally::SchedulerOptions{.threads = 2});
  auto group = std::make_unique<TaskGroup>(*sched, tally::TaskGroupOptions{.limit = 1});
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  group->spawn([&] { tally::testing::eventually([&] { return release.load(); }); });

  int spawned = 0;
  bool threw = false;
  {
    // A task node and these small callables stay below the threshold; the hold queue's
    // blocks do not.
    const FailLargeAllocations fail(256);
    for (int i = 0; i < 10000 && !threw; ++i) {
      try {
        group->spawn([&] { ran.fetch_add(1); });
        ++spawned;
      } catch (const std::bad_alloc&) {
        threw = true;
      }
    }
  }
  release.store(true);
  EXPECT_TRUE(threw) << "no spawn failed: the test did not reach the failure it is about";

  const std::optional<Status> s = wait_within(*group, tally::testing::kBoundedWait);
  if (!s) {
    ADD_FAILURE() << "wait() did not return: the failed spawn left a task pending";
    // The waiting thread still uses both: leak them rather than destroy them under it.
    (void)group.release();
    (void)sched.release();
    return;
  }
  EXPECT_TRUE(s->ok());
  EXPECT_EQ(ran.load(), spawned);
}

}  // namespace
