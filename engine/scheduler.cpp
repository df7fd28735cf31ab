#include "tally/engine/scheduler.hpp"

#include <pthread.h>

#include <cstdio>
#include <string>

#include "tally/engine/system.hpp"
#include "tally/lockfree/backoff.hpp"
#include "tally/lockfree/fence.hpp"

namespace tally {

// Parking and waking: a lost wake-up (a worker sleeps while a task waits in a queue) must be
// impossible, and an idle pool must not spin. Two eventcounts:
//  - work_epoch_ / sleeping_workers_: workers park here when they find no work, idle or
//    while helping in wait_for. push() wakes one after publishing a task; a WaitCounter
//    reaching zero wakes all (a helper among them may be waiting for it).
//  - done_epoch_ / sleeping_external_waiters_: threads outside the pool blocked in wait_for.
//    Kept apart so that a new task never spends its one wake-up on a thread that cannot
//    run it.
// Each is a Dekker handshake:
//   publisher: make the work (or the zero count) visible ; fence ; load the sleeper count
//   sleeper:   increment the sleeper count ; fence ; look for work (or the zero count)
// With a seq_cst fence (or seq_cst RMW + seq_cst load) on both sides, at least one side sees
// the other: either the sleeper finds the work and does not sleep, or the publisher sees the
// sleeper and bumps the epoch, and the sleeper's futex wait (on the epoch value read before
// it announced itself) returns.

struct alignas(lockfree::kCacheLine) Scheduler::Worker {
  explicit Worker(std::size_t i) : index(i), rng_state(0x9E3779B97F4A7C15ull * (i + 1)) {}

  const std::size_t index;
  lockfree::WorkStealingDeque<detail::Task*> deque{256};
  std::thread thread;
  // Owner-private: victim selection (xorshift64*: cheap, and statistically fine for picking
  // a starting victim).
  std::uint64_t rng_state;
  // Written only by the owner (relaxed load + store, no RMW), read by stats().
  lockfree::CachePadded<std::atomic<std::uint64_t>> tasks_run{};
  std::atomic<std::uint64_t> tasks_stolen{0};
  std::atomic<std::uint64_t> steal_failures{0};
  std::atomic<std::uint64_t> parks{0};

  std::uint64_t next_random() noexcept {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
  }
};

// An external slot: a deque owned by one thread outside the pool while a TaskGroup with
// caller_runs holds it (task_group.hpp). Its owner pushes and pops; workers steal.
struct alignas(lockfree::kCacheLine) Scheduler::ExternalSlot {
  lockfree::WorkStealingDeque<detail::Task*> deque{256};
  // Claimed by a CAS (acquire) and freed by a release store: the previous owner's last use
  // of the deque happens-before the next owner's first.
  lockfree::CachePadded<std::atomic<bool>> claimed{};
  // Tasks the owner ran; written only by the current owner, read by stats().
  std::atomic<std::uint64_t> tasks_run{0};
};

namespace {

// Single-writer counters: a relaxed load and store instead of a locked RMW, since only the
// owning worker writes. Readers (stats) only need an untorn value.
void bump(std::atomic<std::uint64_t>& counter) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// The worker the calling thread is, and the pool it belongs to (null outside any pool).
thread_local const Scheduler* tls_scheduler = nullptr;
thread_local void* tls_worker = nullptr;

}  // namespace

Scheduler::Scheduler(SchedulerOptions options)
    : injection_(options.injection_capacity == 0 ? 1 : options.injection_capacity) {
  const std::size_t n = options.threads == 0 ? usable_cores() : options.threads;
  workers_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(i));
  slots_.reserve(options.external_slots);
  for (std::size_t i = 0; i < options.external_slots; ++i) {
    slots_.push_back(std::make_unique<ExternalSlot>());
  }
  // Start the threads only after every Worker exists: a worker steals from all the others.
  for (auto& w : workers_) {
    Worker& self = *w;
    try {
      self.thread = std::thread([this, &self] { worker_main(self); });
    } catch (...) {
      // The system refused a thread (EAGAIN under a process limit): stop and join the ones
      // already started, which a std::thread destroyed unjoined would turn into terminate().
      stop_workers();
      throw;
    }
    // Named here rather than by the thread itself, so the name is in place before the
    // constructor returns (a profiler attached right away sees it).
    char name[16];  // the kernel's limit, with the terminating NUL
    std::snprintf(name, sizeof name, "tally-w%zu", self.index);
    pthread_setname_np(self.thread.native_handle(), name);
  }
}

Scheduler::~Scheduler() { stop_workers(); }

void Scheduler::stop_workers() noexcept {
  // Release pairs with the acquire load in worker_main: a worker that sees stopping_ also
  // sees every task submitted before the destructor began.
  stopping_.store(true, std::memory_order_release);
  lockfree::store_load_fence();
  // Relaxed: the epoch only has to change (see the handshake above).
  work_epoch_->fetch_add(1, std::memory_order_relaxed);
  work_epoch_->notify_all();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

int Scheduler::current_worker_index() const noexcept {
  const Worker* w = current_worker();
  return w == nullptr ? -1 : static_cast<int>(w->index);
}

bool Scheduler::local_queue_empty() const noexcept {
  const Worker* w = current_worker();
  return w == nullptr || w->deque.empty_approx();
}

Scheduler::Worker* Scheduler::current_worker() const noexcept {
  return tls_scheduler == this ? static_cast<Worker*>(tls_worker) : nullptr;
}

std::vector<SchedulerStats> Scheduler::worker_stats() const {
  std::vector<SchedulerStats> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) {
    // Relaxed: statistics, read without synchronizing with the writers.
    out.push_back({.tasks_run = w->tasks_run->load(std::memory_order_relaxed),
                   .tasks_stolen = w->tasks_stolen.load(std::memory_order_relaxed),
                   .steal_failures = w->steal_failures.load(std::memory_order_relaxed),
                   .parks = w->parks.load(std::memory_order_relaxed)});
  }
  return out;
}

SchedulerStats Scheduler::stats() const noexcept {
  SchedulerStats total;
  for (const auto& w : workers_) {
    // Relaxed: as in worker_stats().
    total.tasks_run += w->tasks_run->load(std::memory_order_relaxed);
    total.tasks_stolen += w->tasks_stolen.load(std::memory_order_relaxed);
    total.steal_failures += w->steal_failures.load(std::memory_order_relaxed);
    total.parks += w->parks.load(std::memory_order_relaxed);
  }
  // Relaxed: as in worker_stats(). A slot's count is written by a single owner at a time.
  for (const auto& s : slots_) total.tasks_run += s->tasks_run.load(std::memory_order_relaxed);
  return total;
}

void Scheduler::push(detail::Task* task) {
  if (Worker* self = current_worker()) {
    self->deque.push(task);  // release: publishes the task to thieves
  } else {
    injection_.push(static_cast<detail::Task*>(task));  // waits while full; never closed
  }
  wake_one_worker();
}

void Scheduler::wake_one_worker() noexcept {
  lockfree::store_load_fence();  // publisher's half of the handshake
  // Relaxed: ordered by the fence.
  if (sleeping_workers_->load(std::memory_order_relaxed) == 0) return;
  work_epoch_->fetch_add(1, std::memory_order_relaxed);
  work_epoch_->notify_one();
}

void Scheduler::notify_counter_done() noexcept {
  // The counter's seq_cst decrement precedes this: both handshakes' publisher halves.
  lockfree::store_load_fence();
  if (sleeping_workers_->load(std::memory_order_relaxed) != 0) {
    work_epoch_->fetch_add(1, std::memory_order_relaxed);
    work_epoch_->notify_all();
  }
  if (sleeping_external_waiters_->load(std::memory_order_relaxed) != 0) {
    done_epoch_->fetch_add(1, std::memory_order_relaxed);
    done_epoch_->notify_all();
  }
}

detail::Task* Scheduler::find_work(Worker& self) noexcept {
  if (auto t = self.deque.pop()) return *t;
  detail::Task* t = nullptr;
  if (injection_.try_pop(t)) return t;
  return steal(self);
}

detail::Task* Scheduler::steal(Worker& self) noexcept {
  if (detail::Task* t = steal_from_workers(self)) return t;
  // Relaxed: a hint (see claimed_slots_); park() looks at every slot regardless.
  if (claimed_slots_.load(std::memory_order_relaxed) == 0) return nullptr;
  for (const auto& slot : slots_) {
    if (slot->deque.empty_approx()) continue;
    if (auto t = slot->deque.steal()) {
      bump(self.tasks_stolen);
      return *t;
    }
    bump(self.steal_failures);
  }
  return nullptr;
}

detail::Task* Scheduler::steal_from_workers(Worker& self) noexcept {
  const std::size_t n = workers_.size();
  if (n < 2) return nullptr;
  // One pass over every other worker from a random start: random so that thieves spread
  // over victims instead of all hitting worker 0; a full pass so that a single busy victim
  // is always found.
  const std::size_t start = static_cast<std::size_t>(self.next_random() % n);
  for (std::size_t k = 0; k < n; ++k) {
    Worker& victim = *workers_[(start + k) % n];
    if (&victim == &self) continue;
    if (auto t = victim.deque.steal()) {
      bump(self.tasks_stolen);
      return *t;
    }
    bump(self.steal_failures);
  }
  return nullptr;
}

void Scheduler::run_task(Worker& self, detail::Task* task) noexcept {
  task->run();
  bump(*self.tasks_run);
}

template <typename Predicate>
void Scheduler::park(Worker& self, Predicate wake_anyway) noexcept {
  // Relaxed: read before announcing ourselves (see the handshake), so any wake-up after our
  // check below changes it and the wait returns at once.
  const std::uint32_t epoch = work_epoch_->load(std::memory_order_relaxed);
  sleeping_workers_->fetch_add(1, std::memory_order_relaxed);
  // A slot's owner may wake us again (see push_to_slot). Relaxed: a hint.
  slot_wake_pending_->store(false, std::memory_order_relaxed);
  lockfree::store_load_fence();  // sleeper's half of the handshake
  // A final look: queues (a thief's view of every deque, and the injection queue) and the
  // caller's own reason to wake. Anything found is left in place and taken by the caller's
  // next find_work, which may lose it to another worker; that worker then runs it.
  bool work_visible = injection_.size_approx() != 0;
  for (const auto& w : workers_) {
    if (work_visible) break;
    work_visible = !w->deque.empty_approx();
  }
  for (const auto& slot : slots_) {
    if (work_visible) break;
    work_visible = !slot->deque.empty_approx();
  }
  if (!work_visible && !wake_anyway() && !stopping_.load(std::memory_order_relaxed)) {
    bump(self.parks);
    work_epoch_->wait(epoch, std::memory_order_relaxed);
    slot_wake_pending_->store(false, std::memory_order_relaxed);  // the wake-up arrived
  }
  // Relaxed: a stale count only costs a publisher one needless notify.
  sleeping_workers_->fetch_sub(1, std::memory_order_relaxed);
}

void Scheduler::worker_main(Worker& self) {
  tls_scheduler = this;
  tls_worker = &self;

  lockfree::SpinWait spin;
  for (;;) {
    if (detail::Task* t = find_work(self)) {
      run_task(self, t);
      spin.reset();
      continue;
    }
    // Acquire pairs with the destructor's release store: after it, a failed find_work means
    // everything submitted before the destructor has been taken. Tasks still running
    // elsewhere push only onto their own worker's deque, which that worker drains itself.
    if (stopping_.load(std::memory_order_acquire)) break;
    if (spin.spin_once()) continue;
    park(self, [] { return false; });
    spin.reset();
  }
  tls_scheduler = nullptr;
  tls_worker = nullptr;
}

void Scheduler::wait_for(const detail::WaitCounter& counter) {
  if (Worker* self = current_worker()) {
    // Help: run tasks (ours first, then stolen ones) until the counter reaches zero, so a
    // task waiting for its children never idles a worker or deadlocks the pool.
    lockfree::SpinWait spin;
    while (!counter.done()) {
      if (detail::Task* t = find_work(*self)) {
        run_task(*self, t);
        spin.reset();
        continue;
      }
      if (spin.spin_once()) continue;
      park(*self, [&] { return counter.done(); });
      spin.reset();
    }
    return;
  }
  sleep_until_done(counter);
}

void Scheduler::sleep_until_done(const detail::WaitCounter& counter) {
  // Outside the pool: sleep on the done eventcount until the counter reaches zero.
  while (!counter.done()) {
    const std::uint32_t epoch = done_epoch_->load(std::memory_order_relaxed);
    sleeping_external_waiters_->fetch_add(1, std::memory_order_relaxed);
    lockfree::store_load_fence();  // sleeper's half of the handshake
    if (!counter.done()) done_epoch_->wait(epoch, std::memory_order_relaxed);
    sleeping_external_waiters_->fetch_sub(1, std::memory_order_relaxed);
  }
}

Scheduler::ExternalSlot* Scheduler::claim_external_slot() noexcept {
  for (const auto& slot : slots_) {
    // Relaxed pre-check: skips a taken slot without a locked instruction.
    if (slot->claimed->load(std::memory_order_relaxed)) continue;
    bool expected = false;
    // Acquire pairs with release_external_slot's release store (see ExternalSlot::claimed); relaxed
    // on failure: the slot is someone else's and we read nothing of it.
    if (slot->claimed->compare_exchange_strong(expected, true, std::memory_order_acquire,
                                               std::memory_order_relaxed)) {
      // Relaxed: a hint for thieves; a task pushed to the slot is found by park()'s look at
      // every slot even while thieves skip the slots.
      claimed_slots_.fetch_add(1, std::memory_order_relaxed);
      return slot.get();
    }
  }
  return nullptr;
}

void Scheduler::release_external_slot(ExternalSlot& slot) noexcept {
  claimed_slots_.fetch_sub(1, std::memory_order_relaxed);  // a hint, as in claim_external_slot
  // Release pairs with the acquire of the next claim_external_slot.
  slot.claimed->store(false, std::memory_order_release);
}

void Scheduler::push_to_slot(ExternalSlot& slot, detail::Task* task) {
  slot.deque.push(task);  // release: publishes the task to thieves
  // Half a handshake, on purpose: no fence between the push and the look at the sleepers,
  // so a worker parking right now may miss this task and this look may miss that worker.
  // That costs parallelism, never progress: the slot's owner runs whatever is left in its
  // slot when it waits (task_group.hpp: caller_runs), and the full fence here would be paid
  // on every spawn, most of them with every worker awake. (oneTBB's arena makes the same
  // trade when a thread spawns into its own slot.) Relaxed: see above.
  if (sleeping_workers_->load(std::memory_order_relaxed) == 0) return;
  // One wake-up in flight at a time: a spawner outpaces a worker's wake-up by thousands of
  // tasks, and each of them would otherwise pay a futex call while the woken worker is still
  // on its way. park() clears the flag. Relaxed: a hint, like the look above.
  if (slot_wake_pending_->load(std::memory_order_relaxed)) return;
  slot_wake_pending_->store(true, std::memory_order_relaxed);
  work_epoch_->fetch_add(1, std::memory_order_relaxed);
  work_epoch_->notify_one();
}

void Scheduler::wait_in_slot(ExternalSlot& slot, detail::WaitCounter& counter) {
  // Run the slot's tasks, newest first, until it is empty; the rest of the count is with the
  // workers (stolen tasks, and what they spawned), so then spin briefly and sleep. Nothing
  // new can reach the slot meanwhile: only this thread pushes to it. The tasks run here
  // finish the counter in one batch, flushed before each look at the count (only this
  // thread waits on it: task_group.hpp, caller_runs).
  {
    detail::FinishBatch batch(counter);
    lockfree::SpinWait spin;
    for (;;) {
      if (auto t = slot.deque.pop()) {
        (*t)->run();
        bump(slot.tasks_run);
        continue;
      }
      batch.flush();
      if (counter.done() || !spin.spin_once()) break;
    }
  }
  sleep_until_done(counter);
}

}  // namespace tally
