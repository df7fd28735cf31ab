#include "tally/engine/task_group.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "tests/support/bounded_wait.hpp"
#include "tests/support/destruction_probe.hpp"

namespace {

using namespace std::chrono_literals;
using tally::Scheduler;
using tally::Status;
using tally::StatusCode;
using tally::TaskGroup;
using tally::testing::DestructionProbe;
using tally::testing::eventually;

// Waits for `stop` like a well-behaved task: checks the token between slices of work.
void run_until_stopped(const std::stop_token& stop) {
  while (!stop.stop_requested()) std::this_thread::sleep_for(100us);
}

// Oracle: with no failures, wait() returns OK after every task ran exactly once; tasks may
// return void or Status and take a stop_token or not.
TEST(TaskGroup, AllTasksRunAndWaitReturnsOk) {
  Scheduler sched({.threads = 2});
  std::atomic<int> ran{0};
  TaskGroup group(sched);
  for (int i = 0; i < 100; ++i) {
    group.spawn([&] { ran.fetch_add(1); });
    group.spawn([&](std::stop_token) -> Status {
      ran.fetch_add(1);
      return Status::Ok();
    });
  }
  EXPECT_TRUE(group.wait().ok());
  EXPECT_EQ(ran.load(), 200);
}

// Oracle: the first failure stops the group: siblings running at that moment, blocked on
// their token, see the stop and return; wait() returns that failure (its code and message).
// (4 workers: the 3 siblings and the failing task run at once.)
TEST(TaskGroup, FirstErrorCancelsSiblings) {
  Scheduler sched({.threads = 4});
  TaskGroup group(sched);
  std::atomic<int> started{0};
  std::atomic<int> stopped_siblings{0};
  for (int i = 0; i < 3; ++i) {
    group.spawn([&](std::stop_token stop) {
      started.fetch_add(1);
      run_until_stopped(stop);
      stopped_siblings.fetch_add(1);
    });
  }
  group.spawn([&] {
    while (started.load() < 3) std::this_thread::yield();
    return Status::IoError("cannot read 'x.txt'");
  });
  const Status s = group.wait();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(s.message(), "cannot read 'x.txt'");
  EXPECT_EQ(stopped_siblings.load(), 3);
  EXPECT_TRUE(group.stop_requested());
}

// Oracle: an exception thrown deep inside nested groups surfaces at the outer wait() as a
// kInternal status whose cause rethrows the original exception (type and message).
TEST(TaskGroup, ExceptionFromNestedTaskReachesOuterWait) {
  Scheduler sched({.threads = 2});
  TaskGroup outer(sched);
  outer.spawn([&]() -> Status {
    TaskGroup middle(sched);
    middle.spawn([&]() -> Status {
      TaskGroup inner(sched);
      inner.spawn([] { throw std::out_of_range("offset 1234 past end"); });
      return inner.wait();
    });
    return middle.wait();
  });
  const Status s = outer.wait();
  ASSERT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("offset 1234 past end"), std::string::npos);
  ASSERT_TRUE(s.cause());
  EXPECT_THROW(std::rethrow_exception(s.cause()), std::out_of_range);
}

// Oracle: cancel() from outside stops running tasks and wait() returns the given cause.
TEST(TaskGroup, CancelFromOutside) {
  Scheduler sched({.threads = 2});
  TaskGroup group(sched);
  std::atomic<int> started{0};
  for (int i = 0; i < 4; ++i) {
    group.spawn([&](std::stop_token stop) {
      started.fetch_add(1);
      run_until_stopped(stop);
    });
  }
  while (started.load() < 2) std::this_thread::yield();
  group.cancel(Status::Cancelled("user pressed Ctrl-C"));
  const Status s = group.wait();
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_EQ(s.message(), "user pressed Ctrl-C");
}

// Oracle: a task may cancel its own group; tasks spawned after the stop are skipped (never
// run), and wait() returns the cancel cause.
TEST(TaskGroup, CancelFromTaskSkipsUnstartedTasks) {
  Scheduler sched({.threads = 1});
  TaskGroup group(sched);
  std::atomic<int> ran_after{0};
  group.spawn([&] {
    group.cancel(Status::Cancelled("enough"));
    for (int i = 0; i < 10; ++i) group.spawn([&] { ran_after.fetch_add(1); });
  });
  EXPECT_EQ(group.wait().code(), StatusCode::kCancelled);
  EXPECT_EQ(ran_after.load(), 0);
}

// Oracle: a deadline in the near future stops tasks that wait on their token, and wait()
// reports kDeadlineExceeded (distinct from a plain cancel).
TEST(TaskGroup, DeadlineExpiry) {
  Scheduler sched({.threads = 2});
  TaskGroup group(sched, {.deadline = std::chrono::steady_clock::now() + 20ms});
  group.spawn([](std::stop_token stop) { run_until_stopped(stop); });
  EXPECT_EQ(group.wait().code(), StatusCode::kDeadlineExceeded);
}

// Oracle: a deadline that has not passed by the time the work finishes changes nothing.
TEST(TaskGroup, DeadlineNotReachedIsOk) {
  Scheduler sched({.threads = 2});
  TaskGroup group(sched, {.deadline = std::chrono::steady_clock::now() + 1h});
  group.spawn([] {});
  EXPECT_TRUE(group.wait().ok());
}

// Oracle: a stopped parent token stops the group with kCancelled.
TEST(TaskGroup, ParentTokenCancels) {
  Scheduler sched({.threads = 2});
  std::stop_source parent;
  TaskGroup group(sched, {.parent = parent.get_token()});
  std::atomic<bool> started{false};
  group.spawn([&](std::stop_token stop) {
    started.store(true);
    run_until_stopped(stop);
  });
  while (!started.load()) std::this_thread::yield();
  parent.request_stop();
  EXPECT_EQ(group.wait().code(), StatusCode::kCancelled);
}

// Oracle: with limit k, k of the group's tasks run at once and no more. Every task holds its
// slot at a gate until the test opens it: k tasks reach the gate together (a serial group never
// gets there), and while they wait no further task of the group starts although two workers
// are idle: a probe task of another group, spawned after all of them, runs on one of those
// (a group that ignored its limit would have queued its tasks ahead of the probe, and each
// idle worker would be stuck at the gate with one of them). Then every task runs, never more
// than k at once.
class TaskGroupLimit : public ::testing::TestWithParam<int> {};

TEST_P(TaskGroupLimit, RunsLimitTasksAtOnceAndNoMore) {
  const int k = GetParam();
  const int tasks = 3 * k + 2;  // more than the workers, so an unlimited group fills them all
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> ran{0};
  std::atomic<bool> gate_open{false};
  Scheduler sched({.threads = static_cast<std::size_t>(k) + 2});
  TaskGroup group(sched, {.limit = static_cast<std::size_t>(k)});
  for (int i = 0; i < tasks; ++i) {
    group.spawn([&] {
      const int now = running.fetch_add(1) + 1;
      int seen = max_running.load();
      while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
      }
      eventually([&] { return gate_open.load(); });  // bounded: a broken group fails, not hangs
      running.fetch_sub(1);
      ran.fetch_add(1);
    });
  }
  const bool limit_reached = eventually([&] { return running.load() >= k; });
  std::atomic<bool> probe_ran{false};
  TaskGroup probe(sched);
  probe.spawn([&] { probe_ran.store(true); });
  const bool probe_ran_while_held = eventually([&] { return probe_ran.load(); });
  const int running_while_held = running.load();
  gate_open.store(true);

  EXPECT_TRUE(limit_reached) << "never " << k << " tasks at once";
  EXPECT_TRUE(probe_ran_while_held) << "the idle workers were running the group's tasks";
  EXPECT_EQ(running_while_held, k);
  EXPECT_TRUE(group.wait().ok());
  EXPECT_TRUE(probe.wait().ok());
  EXPECT_EQ(ran.load(), tasks);
  EXPECT_LE(max_running.load(), k);
}

INSTANTIATE_TEST_SUITE_P(Limits, TaskGroupLimit, ::testing::Values(1, 2, 3));

// Oracle: when wait() returns, every task's callable has been destroyed with everything it
// captured: the captures' destructors, which record into the caller's state, have all run.
// Checked right after each wait() over many groups, with and without a limit (a held task
// starts from the task that gives up its slot).
TEST(TaskGroup, WaitReturnsAfterEveryCaptureIsDestroyed) {
  std::atomic<int> live{0};  // outlives the scheduler: a late destructor still finds it
  Scheduler sched({.threads = 2});
  for (int rep = 0; rep < 200; ++rep) {
    for (const std::size_t limit : {0, 1}) {
      TaskGroup group(sched, {.limit = limit});
      for (int i = 0; i < 4; ++i) group.spawn([probe = DestructionProbe(live)] {});
      ASSERT_TRUE(group.wait().ok());
      ASSERT_EQ(live.load(), 0) << "a capture outlived wait(): repetition " << rep << ", limit "
                                << limit;
    }
  }
}

// Oracle: the destructor waits for running tasks (they finish before it returns), so a task
// never outlives its group.
TEST(TaskGroup, DestructorWaitsForTasks) {
  Scheduler sched({.threads = 2});
  std::atomic<bool> finished{false};
  {
    TaskGroup group(sched);
    group.spawn([&] {
      std::this_thread::sleep_for(20ms);
      finished.store(true);
    });
  }
  EXPECT_TRUE(finished.load());
}

}  // namespace
