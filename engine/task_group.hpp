// TaskGroup: fork-join with Go errgroup semantics, on a Scheduler.
//
//   tally::TaskGroup group(sched, {.deadline = steady_clock::now() + 30s});
//   for (auto& input : inputs) {
//     group.spawn([&](std::stop_token stop) -> tally::Status {
//       while (more_work()) {
//         if (stop.stop_requested()) return tally::Status::Cancelled("stopped");
//         ...
//       }
//       return tally::Status::Ok();
//     });
//   }
//   tally::Status s = group.wait();  // the first error, or OK
//
// Semantics:
//  - A task is a callable taking () or (std::stop_token) and returning void or Status. An
//    exception it throws becomes Status::FromException (the exception kept as the cause).
//  - The first failure (a non-OK Status or an exception) requests stop on the group's
//    std::stop_source, with that failure as the cause; siblings see it at their next check
//    of the token, and tasks not yet started are skipped. wait() returns the first failure.
//  - cancel(cause), the parent token, or the deadline stop the group the same way; wait()
//    then returns that cause (kCancelled, kDeadlineExceeded) unless a task failed first.
//  - limit > 0 runs at most that many of the group's tasks at once (errgroup's SetLimit);
//    spawn() never blocks: tasks over the limit wait in the group and start as others end.
//  - spawn() that throws (std::bad_alloc, or what copying the callable throws) has no effect:
//    the task never runs and wait() does not wait for it.
//  - wait() returns once every spawned task has finished or been skipped and has been
//    destroyed, with everything it captured (so captures may refer to the caller's locals,
//    and their destructors may too); a worker that calls it keeps running other tasks
//    meanwhile. The destructor waits too, so a group
//    never leaves a task running behind it.
//  - caller_runs: the first thread outside the pool that spawns into the group claims one of
//    the scheduler's external slots for it (a deque of its own, as a thread takes a slot in a
//    oneTBB arena). That thread's later spawns into the group go to the slot, workers steal
//    from it, and when that thread calls wait() it runs the group's tasks left in the slot,
//    newest first, before it sleeps. Spawns from other threads, and every spawn when no
//    slot is free, take the usual path (the spawning worker's deque, or the injection
//    queue). The slot is given back when the group is destroyed. Without caller_runs, or
//    from a worker, tasks run only on workers.
//    REQUIRES (caller_runs): the slot's owner (the first thread to spawn from outside the
//    pool) is the thread that calls wait() or destroys the group, and it does so. Its
//    wait() runs what workers did not take (a spawn into the slot does not fence against
//    parking workers: scheduler.cpp, push_to_slot) and gives back the counts it reserved
//    for its spawns (count_and_start), so a wait() on any other thread cannot return before
//    the owner's has begun.
//
// Thread safety: spawn, cancel, stop_token and stop_requested may be called from any thread,
// including the group's own tasks (nested spawns). wait() from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "tally/engine/deadline_timer.hpp"
#include "tally/engine/scheduler.hpp"
#include "tally/engine/status.hpp"
#include "tally/lockfree/cache_line.hpp"

namespace tally {

struct TaskGroupOptions {
  // When set, the group is stopped with kDeadlineExceeded once this time passes.
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  // Most tasks of this group running at once; 0 means no limit.
  std::size_t limit = 0;
  // Stopping this token (e.g. the job's) stops the group with kCancelled.
  std::stop_token parent{};
  // Lets the thread outside the pool that spawns (and waits) run the group's tasks itself
  // (see the header). Off by default: a task of such a group may run on a thread that is
  // not a worker (Scheduler::current_worker_index() == -1), and code that keeps per-worker
  // state indexed by it (the engine's map stages) must leave it off.
  bool caller_runs = false;
};

template <typename F>
concept GroupTask = std::invocable<F&> || std::invocable<F&, std::stop_token>;

class TaskGroup {
 public:
  explicit TaskGroup(Scheduler& scheduler, TaskGroupOptions options = {});
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  template <GroupTask F>
  void spawn(F&& f) {
    // The task finishes counter_ itself, once fn is destroyed (Task::make): wait() returns
    // only after every task's captures are gone.
    detail::Task* task = detail::Task::make(
        [this, fn = std::forward<F>(f)]() mutable noexcept { run_one(fn); }, &counter_);
    count_and_start(task);  // after make (which may throw)
  }

  // Waits for every task; returns OK, the first failure, or the cause of a stop.
  Status wait();

  // Stops the group with `cause` (first cause wins): running tasks see their token stopped,
  // tasks not yet started are skipped.
  void cancel(Status cause = Status::Cancelled("cancelled"));

  std::stop_token stop_token() const noexcept { return stop_.get_token(); }
  bool stop_requested() const noexcept { return stop_.stop_requested(); }

 private:
  template <typename Fn>
  void run_one(Fn& fn) noexcept {
    if (!stop_.stop_requested()) {
      try {
        if constexpr (returns_void<Fn>()) {
          invoke(fn);
        } else {
          Status s = invoke(fn);
          if (!s.ok()) stop_with(std::move(s));
        }
      } catch (...) {
        stop_with(Status::FromException(std::current_exception()));
      }
    }
    release_slot();
  }

  template <typename Fn>
  static constexpr bool returns_void() {
    if constexpr (std::invocable<Fn&, std::stop_token>) {
      return std::is_void_v<std::invoke_result_t<Fn&, std::stop_token>>;
    } else {
      return std::is_void_v<std::invoke_result_t<Fn&>>;
    }
  }

  // Calls fn, with the group's stop token if it takes one, and returns what fn returns (void
  // or Status).
  template <typename Fn>
  decltype(auto) invoke(Fn& fn) {
    if constexpr (std::invocable<Fn&, std::stop_token>) {
      return fn(stop_.get_token());
    } else {
      return fn();
    }
  }

  // Counts `task` in counter_, before it can run and finish it, then start_or_hold. The slot's
  // owner counts from spawn credits: it adds kSpawnCredits to counter_ at once and spends
  // them one per spawn, instead of a locked add per spawn on the line every finishing task
  // also writes. The unspent credits keep counter_ above the tasks still to finish, so it
  // cannot reach zero early; the owner gives them back when it waits (wait_for_tasks), and
  // spawns while it waits (from the tasks it runs) are counted one by one.
  void count_and_start(detail::Task* task);
  void start_or_hold(detail::Task* task);
  // Hands a task that may start now to the scheduler: to the group's external slot when the
  // calling thread owns it, otherwise Scheduler::push.
  void start(detail::Task* task);
  // The group's external slot if the calling thread owns it (claiming one first when
  // caller_runs and none was claimed yet), else null.
  Scheduler::ExternalSlot* own_slot();
  // The group's external slot if one was claimed and the calling thread owns it, else null.
  Scheduler::ExternalSlot* own_slot_if_claimed() const noexcept;
  // wait_for(counter_), in the group's slot when the calling thread owns it.
  void wait_for_tasks();
  // Gives the slot of a task that ended (limit only) to the next held task, or back.
  void release_slot() noexcept;
  // Records `cause` as the outcome unless one is recorded already, and stops the group.
  void stop_with(Status cause);

  // The members are grouped by who writes them, each group on cache lines of its own: a
  // spawn reads the first group and writes the owner's, and a task that ends reads the
  // first and writes counter_ (bench/engine/scheduler_bench.cpp, EmptySpawn).
  //
  // Written once (slot_ and slot_owner_ when the slot is claimed), read by every spawn and
  // every task.
  Scheduler& scheduler_;
  const std::size_t limit_;
  const bool caller_runs_;
  std::stop_source stop_;
  // caller_runs: the claimed external slot (set once, never changed until the destructor
  // frees it) and its owner (an id from this_thread_id() in task_group.cpp), published by
  // the release store of slot_.
  std::atomic<Scheduler::ExternalSlot*> slot_{nullptr};
  std::atomic<std::uint64_t> slot_owner_{0};

  // Written by every task that ends.
  alignas(lockfree::kCacheLine) detail::WaitCounter counter_;

  // Written by the slot's owner on every spawn (see count_and_start), read by no one else.
  static constexpr std::size_t kSpawnCredits = 64;
  alignas(lockfree::kCacheLine) std::size_t spawn_credits_ = 0;
  bool owner_waiting_ = false;

  // The rest, under mu_ or written rarely.
  alignas(lockfree::kCacheLine) mutable std::mutex mu_;
  std::optional<Status> outcome_;   // guarded by mu_: the first failure or stop cause
  std::size_t running_ = 0;         // guarded by mu_: started, unfinished tasks (limit only)
  std::deque<detail::Task*> held_;  // guarded by mu_: tasks waiting for a slot (limit only)
  bool slot_claim_tried_ = false;   // guarded by mu_: claim only once

  std::optional<DeadlineTimer::Id> deadline_timer_;
  // Last: destroyed first, so a parent stop can no longer call into a dying group.
  std::optional<std::stop_callback<std::function<void()>>> parent_callback_;
};

}  // namespace tally
