// Exactly-once stress tests of TaskGroup, with and without caller_runs (the spawning thread
// outside the pool keeps its tasks in an external slot and runs them in wait()), swept over
// pool sizes. Each task has an id; the oracle is a per-id count of runs and of destroyed
// callables, checked against what the test spawned, never a total alone.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <latch>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/scheduler.hpp"
#include "tally/engine/status.hpp"
#include "tally/engine/task_group.hpp"

namespace {

using tally::Scheduler;
using tally::Status;
using tally::StatusCode;
using tally::TaskGroup;
using tally::TaskGroupOptions;

// Per-id counts, each on its own atomic so that a duplicate run shows as a 2, not as a total
// that happens to match.
class Ledger {
 public:
  explicit Ledger(std::size_t n) : runs_(n), destroyed_(n) {}

  void ran(std::size_t id) { runs_[id].fetch_add(1, std::memory_order_relaxed); }
  void destroyed(std::size_t id) { destroyed_[id].fetch_add(1, std::memory_order_relaxed); }
  int runs(std::size_t id) const { return runs_[id].load(std::memory_order_relaxed); }
  int destroyed_count(std::size_t id) const {
    return destroyed_[id].load(std::memory_order_relaxed);
  }
  std::size_t size() const { return runs_.size(); }

  // Every id ran exactly once and its callable was destroyed exactly once.
  void expect_each_ran_once() const {
    for (std::size_t id = 0; id < size(); ++id) {
      ASSERT_EQ(runs(id), 1) << "task " << id;
      ASSERT_EQ(destroyed_count(id), 1) << "task " << id;
    }
  }

 private:
  std::vector<std::atomic<int>> runs_;
  std::vector<std::atomic<int>> destroyed_;
};

// Records in the ledger when the callable that owns it is destroyed (a moved-from one does
// not count), so a callable destroyed twice, or never, shows per id.
class Receipt {
 public:
  Receipt(Ledger& ledger, std::size_t id) : ledger_(&ledger), id_(id) {}
  Receipt(Receipt&& other) noexcept
      : ledger_(std::exchange(other.ledger_, nullptr)), id_(other.id_) {}
  Receipt& operator=(Receipt&&) = delete;
  ~Receipt() {
    if (ledger_ != nullptr) ledger_->destroyed(id_);
  }
  void ran() const { ledger_->ran(id_); }

 private:
  Ledger* ledger_;
  std::size_t id_;
};

// (workers, caller_runs)
class TaskGroupStress : public ::testing::TestWithParam<std::tuple<std::size_t, bool>> {
 protected:
  std::size_t workers() const { return std::get<0>(GetParam()); }
  bool caller_runs() const { return std::get<1>(GetParam()); }
  TaskGroupOptions options() const { return {.caller_runs = caller_runs()}; }
};

// Oracle: one thread outside the pool spawns kTasks tasks, every eighth of which spawns one
// child into the same group from wherever it runs (a worker, or the waiting caller); after
// wait() each of the kTasks + kTasks / 8 ids ran once and was destroyed once. Repeated, so
// that slots are claimed, released and claimed again.
TEST_P(TaskGroupStress, ExternalSpawnerEveryTaskOnce) {
  constexpr std::size_t kTasks = 4000;
  constexpr std::size_t kChildren = kTasks / 8;
  Scheduler sched({.threads = workers()});
  for (int rep = 0; rep < 5; ++rep) {
    Ledger ledger(kTasks + kChildren);
    TaskGroup group(sched, options());
    for (std::size_t i = 0; i < kTasks; ++i) {
      group.spawn([&group, &ledger, i, receipt = Receipt(ledger, i)] {
        receipt.ran();
        if (i % 8 == 0) {
          const std::size_t child = kTasks + i / 8;
          group.spawn([r = Receipt(ledger, child)] { r.ran(); });
        }
      });
    }
    ASSERT_TRUE(group.wait().ok());
    ledger.expect_each_ran_once();
  }
}

// Oracle: several threads outside the pool, each with a group of its own, spawn and wait at
// once, more of them than the scheduler has external slots (the rest take the usual path);
// each group's ids ran once. A second thread also spawns into each group while its owner
// spawns (those tasks take the injection queue). The owner spawns first, so that with
// caller_runs the slot is the waiter's (task_group.hpp requires it).
TEST_P(TaskGroupStress, ConcurrentSpawnersEveryTaskOnce) {
  constexpr std::size_t kOwners = 4;
  constexpr std::size_t kTasksPerThread = 1500;
  Scheduler sched({.threads = workers(), .external_slots = 2});
  std::vector<std::unique_ptr<Ledger>> ledgers;
  for (std::size_t g = 0; g < kOwners; ++g) {
    ledgers.push_back(std::make_unique<Ledger>(2 * kTasksPerThread));
  }
  std::vector<Status> results(kOwners);
  std::latch start(static_cast<std::ptrdiff_t>(2 * kOwners));
  std::vector<std::thread> threads;
  for (std::size_t g = 0; g < kOwners; ++g) {
    threads.emplace_back([&, g] {
      Ledger& ledger = *ledgers[g];
      TaskGroup group(sched, options());
      std::latch helper_done(1);
      std::thread helper([&] {
        start.arrive_and_wait();
        for (std::size_t i = kTasksPerThread; i < 2 * kTasksPerThread; ++i) {
          group.spawn([r = Receipt(ledger, i)] { r.ran(); });
        }
        helper_done.count_down();
      });
      group.spawn([r = Receipt(ledger, 0)] { r.ran(); });
      start.arrive_and_wait();
      for (std::size_t i = 1; i < kTasksPerThread; ++i) {
        group.spawn([r = Receipt(ledger, i)] { r.ran(); });
      }
      helper_done.wait();  // every spawn happens before wait() (the group's contract)
      results[g] = group.wait();
      helper.join();
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t g = 0; g < kOwners; ++g) {
    EXPECT_TRUE(results[g].ok()) << "group " << g << ": " << results[g].to_string();
    ledgers[g]->expect_each_ran_once();
  }
}

// Oracle: a tree of nested groups (every inner node is a task that opens a group of its own,
// spawns its children there and waits) runs each leaf exactly once, whichever thread runs
// the inner nodes: workers, or the caller in its slot with the inner groups claiming slots
// of their own (more levels than slots, so the deepest fall back to the usual path).
TEST_P(TaskGroupStress, NestedGroupsEveryLeafOnce) {
  constexpr int kDepth = 4;
  constexpr std::size_t kFanout = 5;
  std::size_t leaves = 1;
  for (int d = 0; d < kDepth; ++d) leaves *= kFanout;
  Scheduler sched({.threads = workers(), .external_slots = 3});
  Ledger ledger(leaves);
  const TaskGroupOptions opts = options();
  std::function<void(int, std::size_t)> node = [&](int depth, std::size_t first_leaf) {
    if (depth == 0) {
      ledger.ran(first_leaf);
      ledger.destroyed(first_leaf);  // leaves capture nothing to destroy: count it here
      return;
    }
    std::size_t span = 1;
    for (int d = 1; d < depth; ++d) span *= kFanout;
    TaskGroup group(sched, opts);
    for (std::size_t c = 0; c < kFanout; ++c) {
      group.spawn([&, depth, leaf = first_leaf + c * span] { node(depth - 1, leaf); });
    }
    ASSERT_TRUE(group.wait().ok());
  };
  node(kDepth, 0);
  ledger.expect_each_ran_once();
}

// Oracle: a task cancels the group midway; every task ran at most once, every callable was
// destroyed exactly once (run or skipped), the cancelling task ran, and wait() returns the
// cancel's cause.
TEST_P(TaskGroupStress, CancelMidRunAtMostOnceAndDestroyedOnce) {
  constexpr std::size_t kTasks = 3000;
  constexpr std::size_t kCanceller = kTasks / 3;
  Scheduler sched({.threads = workers()});
  for (int rep = 0; rep < 5; ++rep) {
    Ledger ledger(kTasks);
    Status s;
    {
      TaskGroup group(sched, options());
      for (std::size_t i = 0; i < kTasks; ++i) {
        group.spawn([&group, i, r = Receipt(ledger, i)] {
          r.ran();
          if (i == kCanceller) group.cancel(Status::Cancelled("stop at " + std::to_string(i)));
        });
      }
      s = group.wait();
    }
    EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.to_string();
    EXPECT_EQ(ledger.runs(kCanceller), 1);
    for (std::size_t id = 0; id < kTasks; ++id) {
      ASSERT_LE(ledger.runs(id), 1) << "task " << id;
      ASSERT_EQ(ledger.destroyed_count(id), 1) << "task " << id;
    }
  }
}

// Oracle: with a limit, never more than `limit` tasks of the group run at once, and each task
// runs exactly once (held tasks start from whichever thread ends a task, the caller's slot
// included).
TEST_P(TaskGroupStress, LimitEveryTaskOnceAndNeverMoreAtOnce) {
  constexpr std::size_t kTasks = 2000;
  Scheduler sched({.threads = workers()});
  for (const std::size_t limit : {1, 2, 3}) {
    Ledger ledger(kTasks);
    std::atomic<std::size_t> running{0};
    std::atomic<std::size_t> most{0};
    TaskGroupOptions opts = options();
    opts.limit = limit;
    TaskGroup group(sched, opts);
    for (std::size_t i = 0; i < kTasks; ++i) {
      group.spawn([&, r = Receipt(ledger, i)] {
        const std::size_t now = running.fetch_add(1) + 1;
        std::size_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        r.ran();
        running.fetch_sub(1);
      });
    }
    ASSERT_TRUE(group.wait().ok());
    ledger.expect_each_ran_once();
    EXPECT_LE(most.load(), limit);
  }
}

// Oracle: an exception from one task becomes wait()'s status (the first error wins); the other
// tasks ran at most once and every callable was destroyed once.
TEST_P(TaskGroupStress, ExceptionFirstErrorWinsAtMostOnce) {
  constexpr std::size_t kTasks = 2000;
  Scheduler sched({.threads = workers()});
  Ledger ledger(kTasks);
  Status s;
  {
    TaskGroup group(sched, options());
    for (std::size_t i = 0; i < kTasks; ++i) {
      group.spawn([i, r = Receipt(ledger, i)] {
        r.ran();
        if (i == 7) throw std::runtime_error("task 7 failed");
      });
    }
    s = group.wait();
  }
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.to_string().find("task 7 failed"), std::string::npos) << s.to_string();
  EXPECT_EQ(ledger.runs(7), 1);
  for (std::size_t id = 0; id < kTasks; ++id) {
    ASSERT_LE(ledger.runs(id), 1) << "task " << id;
    ASSERT_EQ(ledger.destroyed_count(id), 1) << "task " << id;
  }
}

// Oracle: the destructor alone (no wait()) runs or waits for every task, caller_runs or not.
TEST_P(TaskGroupStress, DestructorWithoutWaitEveryTaskOnce) {
  constexpr std::size_t kTasks = 2000;
  Scheduler sched({.threads = workers()});
  Ledger ledger(kTasks);
  {
    TaskGroup group(sched, options());
    for (std::size_t i = 0; i < kTasks; ++i) {
      group.spawn([r = Receipt(ledger, i)] { r.ran(); });
    }
  }
  ledger.expect_each_ran_once();
}

INSTANTIATE_TEST_SUITE_P(Sweep, TaskGroupStress,
                         ::testing::Combine(::testing::Values(1, 2, 4), ::testing::Bool()),
                         [](const auto& param_info) {
                           return std::to_string(std::get<0>(param_info.param)) + "workers_" +
                                  (std::get<1>(param_info.param) ? "caller_runs" : "workers_only");
                         });

// Oracle: with caller_runs, wait() on the spawning thread runs the group's tasks itself: with
// the only worker held by a task of another group until the group is done, every task runs
// on the caller (without caller_runs this would never finish), and the pool's stats count
// them.
TEST(TaskGroupCallerRuns, WaiterRunsItsTasksWhenEveryWorkerIsBusy) {
  constexpr std::size_t kTasks = 500;
  Scheduler sched({.threads = 1});
  std::latch blocker_running(1);
  std::atomic<bool> release{false};
  TaskGroup blocker(sched);
  blocker.spawn([&] {
    blocker_running.count_down();
    release.wait(false);
  });
  blocker_running.wait();  // the one worker is now inside the blocker

  const std::uint64_t run_before = sched.stats().tasks_run;  // the blocker is still running
  const std::thread::id caller = std::this_thread::get_id();
  Ledger ledger(kTasks);
  std::atomic<std::size_t> on_caller{0};
  {
    TaskGroup group(sched, {.caller_runs = true});
    for (std::size_t i = 0; i < kTasks; ++i) {
      group.spawn([&, r = Receipt(ledger, i)] {
        r.ran();
        if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
      });
    }
    EXPECT_TRUE(group.wait().ok());
  }
  // The caller counts each task it runs before its wait() returns; the blocker still runs.
  const std::uint64_t run_after = sched.stats().tasks_run;
  release.store(true);
  release.notify_all();
  EXPECT_TRUE(blocker.wait().ok());

  ledger.expect_each_ran_once();
  EXPECT_EQ(on_caller.load(), kTasks);
  EXPECT_EQ(run_after - run_before, kTasks);
}

// Oracle: with every external slot taken, a caller_runs group takes the usual path: its tasks
// still run exactly once (on the workers), and wait() still returns.
TEST(TaskGroupCallerRuns, NoFreeSlotFallsBackToWorkers) {
  constexpr std::size_t kTasks = 1000;
  Scheduler sched({.threads = 2, .external_slots = 1});
  Ledger outer_ledger(1);
  Ledger ledger(kTasks);
  TaskGroup outer(sched, {.caller_runs = true});
  outer.spawn([r = Receipt(outer_ledger, 0)] { r.ran(); });  // claims the only slot
  {
    TaskGroup inner(sched, {.caller_runs = true});
    for (std::size_t i = 0; i < kTasks; ++i) {
      inner.spawn([r = Receipt(ledger, i)] { r.ran(); });
    }
    EXPECT_TRUE(inner.wait().ok());
  }
  EXPECT_TRUE(outer.wait().ok());
  ledger.expect_each_ran_once();
  outer_ledger.expect_each_ran_once();
}

}  // namespace
