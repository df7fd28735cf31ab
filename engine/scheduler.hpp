// Scheduler: a work-stealing pool of worker threads, the engine's task runtime.
//
// Each worker owns a Chase-Lev deque (lockfree/ws_deque.hpp): tasks it spawns go to its own
// deque's bottom and it runs them LIFO (cache-warm, depth-first); an idle worker steals the
// oldest task from the top of a random victim's deque (the largest piece of work, breadth-
// first). Tasks submitted from threads outside the pool go through an injection queue
// (lockfree/mpmc_queue.hpp), except those of a TaskGroup with `caller_runs`: such a group
// takes one of the pool's external slots, a deque of its own that the spawning thread pushes
// to and pops from in wait() while the workers steal from it (as a thread outside a oneTBB
// arena takes a slot in it). A worker with nothing to run spins briefly, then parks on a
// futex (std::atomic::wait): an idle pool uses no CPU, and submitting work wakes one worker.
//
//   tally::Scheduler sched{{.threads = 4}};
//   tally::TaskGroup group(sched);           // task_group.hpp: the usual way to spawn
//   group.spawn([] { ... });
//   tally::Status s = group.wait();
//
// Thread safety (the contract):
//  - submit() and wait_for() may be called from any thread, workers included.
//  - Tasks must not throw (the layers above catch user exceptions) and must not block on
//    something only another task can provide except through wait_for(), which keeps the
//    waiting worker running other tasks (so nested parallelism cannot deadlock the pool).
//  - Destruction drains: every task submitted before the destructor starts runs, including
//    tasks those tasks spawn; then every worker is joined. No thread outlives the scheduler.
//    Submitting while the destructor runs is a bug.
//
// Threads are named "tally-w<i>" (pthread_setname_np) so that perf, top -H and gdb show them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "tally/engine/deadline_timer.hpp"
#include "tally/engine/detail/task.hpp"
#include "tally/lockfree/cache_line.hpp"
#include "tally/lockfree/mpmc_queue.hpp"
#include "tally/lockfree/ws_deque.hpp"

namespace tally {

struct SchedulerOptions {
  // Worker threads; 0 means usable_cores() (the process's CPU affinity mask).
  std::size_t threads = 0;
  // Capacity of the queue for tasks submitted from outside the pool; a full queue makes
  // such submitters wait (backpressure), workers never do.
  std::size_t injection_capacity = 4096;
  // External slots: how many TaskGroups with `caller_runs` (task_group.hpp) can hold a deque
  // of their own at once. A group that finds none free hands its tasks to the workers as a
  // group without `caller_runs` does.
  std::size_t external_slots = 8;
};

// Counters summed over the workers. Each worker writes only its own copy (no shared writes on
// the hot path); a snapshot taken while the pool runs is approximate.
struct SchedulerStats {
  std::uint64_t tasks_run = 0;       // tasks executed (stats(): by external slots' owners too)
  std::uint64_t tasks_stolen = 0;    // tasks a worker took from another deque (or slot)
  std::uint64_t steal_failures = 0;  // steal attempts that found nothing or lost a race
  std::uint64_t parks = 0;           // times a worker went to sleep for lack of work
};

namespace detail {
class WaitCounter;
}
class TaskGroup;

class Scheduler {
 public:
  // Starts the workers. Throws std::system_error when the system refuses a thread (the ones
  // already started are stopped and joined first).
  explicit Scheduler(SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  std::size_t num_workers() const noexcept { return workers_.size(); }

  // Runs f() on some worker, eventually. f must be noexcept-callable (see the contract).
  // From a worker of this pool: pushed on that worker's deque, no allocation once warm.
  // From any other thread: through the injection queue, waiting if it is full.
  template <typename F>
  void submit(F&& f) {
    push(detail::Task::make(std::forward<F>(f)));
  }

  // Counts f in `counter` and runs it as submit(f) does; after f returns, f is destroyed with
  // everything it captured, and only then is the count finished. So a wait_for(counter) that
  // returns has seen every such f run and destroyed. If this throws, f was neither counted
  // nor run.
  template <typename F>
  void submit(F&& f, detail::WaitCounter& counter);

  // Returns when `counter` reaches zero. A worker of this pool runs other tasks meanwhile
  // (and parks if there are none); any other thread sleeps.
  void wait_for(const detail::WaitCounter& counter);

  // The number of external slots (SchedulerOptions::external_slots).
  std::size_t num_external_slots() const noexcept { return slots_.size(); }

  // The index of the calling thread among this pool's workers, or -1 for other threads.
  int current_worker_index() const noexcept;

  // Whether the calling worker's own deque looks empty (true for threads outside the pool).
  // The range partitioner splits work only then: an empty deque means thieves may be
  // hungry, a non-empty one means the piece split off last has not been stolen yet.
  bool local_queue_empty() const noexcept;

  SchedulerStats stats() const noexcept;
  // The same counters per worker, indexed like current_worker_index().
  std::vector<SchedulerStats> worker_stats() const;

  // The pool's timer thread for deadlines (started on first use, joined with the pool).
  DeadlineTimer& timer() noexcept { return timer_; }

 private:
  friend class detail::WaitCounter;
  friend class TaskGroup;  // submits pre-made tasks it had to hold back (its concurrency limit)
                           // and uses external slots (caller_runs)
  struct Worker;
  struct ExternalSlot;

  // External slots (for TaskGroup). claim_external_slot returns a free slot, now owned by the
  // calling thread (the only one that may push to or pop from it), or null if none is free.
  // release_external_slot frees it. REQUIRES: its deque is empty and its owner is done with
  // it.
  ExternalSlot* claim_external_slot() noexcept;
  void release_external_slot(ExternalSlot& slot) noexcept;
  // Owner of `slot` only: publishes `task` in the slot (workers may steal it).
  void push_to_slot(ExternalSlot& slot, detail::Task* task);
  // Owner of `slot` only: wait_for(counter), running the slot's tasks meanwhile.
  void wait_in_slot(ExternalSlot& slot, detail::WaitCounter& counter);
  // Sleeps until `counter` reaches zero (threads outside the pool).
  void sleep_until_done(const detail::WaitCounter& counter);

  void push(detail::Task* task);
  void worker_main(Worker& self);
  // Tells every worker to exit and joins the threads started so far.
  void stop_workers() noexcept;
  detail::Task* find_work(Worker& self) noexcept;
  detail::Task* steal(Worker& self) noexcept;
  detail::Task* steal_from_workers(Worker& self) noexcept;
  void run_task(Worker& self, detail::Task* task) noexcept;
  // Parks the calling worker until work may be available or `wake_anyway()` holds.
  template <typename Predicate>
  void park(Worker& self, Predicate wake_anyway) noexcept;
  void wake_one_worker() noexcept;
  // Called when a WaitCounter reaches zero: wakes the threads that may be waiting on it.
  void notify_counter_done() noexcept;
  Worker* current_worker() const noexcept;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<ExternalSlot>> slots_;
  lockfree::MpmcQueue<detail::Task*> injection_;
  // Slots currently claimed: lets a thief skip the slots when none is in use. A hint only
  // (parking always looks at every slot).
  std::atomic<std::uint32_t> claimed_slots_{0};

  // Parking (see scheduler.cpp for the handshake). Written only when a thread parks or is
  // woken, read on every submit: each on its own line so the read stays a cache hit.
  lockfree::CachePadded<std::atomic<std::uint32_t>> sleeping_workers_{};
  lockfree::CachePadded<std::atomic<std::uint32_t>> work_epoch_{};
  lockfree::CachePadded<std::atomic<std::uint32_t>> sleeping_external_waiters_{};
  lockfree::CachePadded<std::atomic<std::uint32_t>> done_epoch_{};
  // Set by a slot's owner when it wakes a worker, cleared by parking workers: one slot
  // wake-up in flight at a time (scheduler.cpp, push_to_slot).
  lockfree::CachePadded<std::atomic<bool>> slot_wake_pending_{};
  std::atomic<bool> stopping_{false};
  DeadlineTimer timer_;
};

namespace detail {

// Counts outstanding tasks of one fork-join region (a TaskGroup, a parallel_for); a thread
// waits for it to reach zero with Scheduler::wait_for.
//
// Contract: add() before the submit of the task it counts; finish() once when that task is
// done, as its last access to shared state. A task submitted with the counter
// (Scheduler::submit(f, counter), Task::make(f, &counter)) does both itself, finishing after
// its callable is destroyed. After the count reaches zero a waiter may return and destroy the
// counter at once, so finish() touches only the scheduler after its decrement. Everything a
// task did before its finish() is visible to the thread that sees the count at 0.
class WaitCounter {
 public:
  explicit WaitCounter(Scheduler& scheduler) noexcept : scheduler_(&scheduler) {}
  WaitCounter(const WaitCounter&) = delete;
  WaitCounter& operator=(const WaitCounter&) = delete;
  ~WaitCounter() = default;

  void add(std::size_t n = 1) noexcept {
    // Relaxed: the counter's modification order alone makes the matching finish() see this
    // increment (it runs after the submit, which publishes the task with release).
    pending_.fetch_add(n, std::memory_order_relaxed);
  }

  // Finishes n counts at once (n == 1: one task done).
  void finish(std::size_t n = 1) noexcept {
    Scheduler* s = scheduler_;  // read before the decrement: *this may die right after it
    // seq_cst: a release (the task's effects happen-before the waiter's acquire of 0) and
    // the finisher's half of the wake-up handshake with waiters (scheduler.cpp).
    if (pending_.fetch_sub(n, std::memory_order_seq_cst) == n) s->notify_counter_done();
  }

  bool done() const noexcept {
    // Acquire pairs with the release in finish(): the tasks' effects are visible. seq_cst
    // because a parking waiter uses this as its half of the handshake.
    return pending_.load(std::memory_order_seq_cst) == 0;
  }

 private:
  Scheduler* scheduler_;
  std::atomic<std::size_t> pending_{0};
};

}  // namespace detail

template <typename F>
void Scheduler::submit(F&& f, detail::WaitCounter& counter) {
  detail::Task* task = detail::Task::make(std::forward<F>(f), &counter);
  counter.add();  // after make, which may throw; before the task can run and finish it
  try {
    push(task);
  } catch (...) {
    task->discard();  // finishes the count added above
    throw;
  }
}

}  // namespace tally
