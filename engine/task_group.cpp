#include "tally/engine/task_group.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

namespace tally {
namespace {

// A process-wide id for the calling thread, never reused (unlike a thread's TLS address or
// std::thread::id after the thread exits), so a slot's owner cannot be mistaken for a later
// thread. 0 is never an id.
std::uint64_t this_thread_id() noexcept {
  // Relaxed: only uniqueness matters, which the RMW's modification order gives.
  static std::atomic<std::uint64_t> next{1};
  thread_local const std::uint64_t id = next.fetch_add(1, std::memory_order_relaxed);
  return id;
}

}  // namespace

TaskGroup::TaskGroup(Scheduler& scheduler, TaskGroupOptions options)
    : scheduler_(scheduler),
      limit_(options.limit),
      caller_runs_(options.caller_runs),
      counter_(scheduler) {
  if (options.deadline) {
    deadline_timer_ = scheduler_.timer().schedule(*options.deadline, [this] {
      stop_with(Status::DeadlineExceeded("the task group's deadline passed"));
    });
  }
  if (options.parent.stop_possible()) {
    parent_callback_.emplace(options.parent, std::function<void()>([this] {
                               stop_with(Status::Cancelled("the parent was cancelled"));
                             }));
  }
}

TaskGroup::~TaskGroup() {
  // Never leave a task running behind the group: it would touch a dead object.
  wait_for_tasks();
  parent_callback_.reset();  // waits for a running parent callback, then none can start
  if (deadline_timer_) scheduler_.timer().cancel(*deadline_timer_);
  // Every task has run, so the slot is empty, and no spawn can race with the destructor.
  // Acquire pairs with own_slot's release store (another thread may have claimed it).
  if (Scheduler::ExternalSlot* slot = slot_.load(std::memory_order_acquire)) {
    scheduler_.release_external_slot(*slot);
  }
}

void TaskGroup::wait_for_tasks() {
  if (Scheduler::ExternalSlot* slot = own_slot_if_claimed()) {
    owner_waiting_ = true;
    if (spawn_credits_ != 0) {
      counter_.finish(std::exchange(spawn_credits_, 0));  // see count_and_start
    }
    scheduler_.wait_in_slot(*slot, counter_);
    owner_waiting_ = false;
  } else {
    scheduler_.wait_for(counter_);
  }
}

Status TaskGroup::wait() {
  wait_for_tasks();
  std::lock_guard lock(mu_);
  return outcome_.value_or(Status::Ok());
}

void TaskGroup::cancel(Status cause) { stop_with(std::move(cause)); }

void TaskGroup::count_and_start(detail::Task* task) {
  // own_slot() is non-null only on the slot's owner, the one thread that touches the credits
  // and owner_waiting_.
  bool from_credits = false;
  try {
    from_credits = caller_runs_ && own_slot() != nullptr && !owner_waiting_;
  } catch (...) {  // own_slot's mutex
    counter_.add();
    task->discard();  // finishes the count just added
    throw;
  }
  if (from_credits) {
    if (spawn_credits_ == 0) {
      counter_.add(kSpawnCredits);
      spawn_credits_ = kSpawnCredits;
    }
    --spawn_credits_;  // now the task's count: its finish (or discard) spends it
  } else {
    counter_.add();
  }
  start_or_hold(task);
}

void TaskGroup::start_or_hold(detail::Task* task) {
  // Either hand-over may throw (the hold queue's or a worker deque's growth). The task is then
  // discarded, which finishes the count spawn added, and the slot it took is given back: the
  // group is as if spawn had not been called, and wait() does not wait for the task.
  if (limit_ != 0) {
    std::unique_lock lock(mu_);
    if (running_ >= limit_) {
      try {
        held_.push_back(task);
      } catch (...) {
        lock.unlock();
        task->discard();
        throw;
      }
      return;
    }
    ++running_;
  }
  try {
    start(task);
  } catch (...) {
    release_slot();
    task->discard();  // last: the count may reach zero and a waiter free the group
    throw;
  }
}

void TaskGroup::start(detail::Task* task) {
  if (caller_runs_) {
    if (Scheduler::ExternalSlot* slot = own_slot()) {
      scheduler_.push_to_slot(*slot, task);
      return;
    }
  }
  scheduler_.push(task);
}

Scheduler::ExternalSlot* TaskGroup::own_slot_if_claimed() const noexcept {
  // Acquire pairs with the release store in own_slot: the owner id is visible.
  Scheduler::ExternalSlot* slot = slot_.load(std::memory_order_acquire);
  if (slot == nullptr) return nullptr;
  // Relaxed: published by slot_ (above).
  return slot_owner_.load(std::memory_order_relaxed) == this_thread_id() ? slot : nullptr;
}

Scheduler::ExternalSlot* TaskGroup::own_slot() {
  if (Scheduler::ExternalSlot* slot = slot_.load(std::memory_order_acquire)) {
    // Acquire above pairs with the release store below: the owner id is visible.
    return slot_owner_.load(std::memory_order_relaxed) == this_thread_id() ? slot : nullptr;
  }
  if (scheduler_.current_worker_index() >= 0) return nullptr;  // workers use their own deque
  std::lock_guard lock(mu_);
  if (slot_claim_tried_) {
    // Another thread claimed one (or found none) meanwhile. Relaxed: mu_ orders it.
    Scheduler::ExternalSlot* slot = slot_.load(std::memory_order_relaxed);
    return slot != nullptr && slot_owner_.load(std::memory_order_relaxed) == this_thread_id()
               ? slot
               : nullptr;
  }
  slot_claim_tried_ = true;
  Scheduler::ExternalSlot* slot = scheduler_.claim_external_slot();
  if (slot == nullptr) return nullptr;
  slot_owner_.store(this_thread_id(), std::memory_order_relaxed);  // published by the next
  // Release pairs with the acquire loads above and in own_slot_if_claimed.
  slot_.store(slot, std::memory_order_release);
  return slot;
}

void TaskGroup::release_slot() noexcept {
  if (limit_ != 0) {
    detail::Task* next = nullptr;
    {
      std::lock_guard lock(mu_);
      if (held_.empty()) {
        --running_;
      } else {
        next = held_.front();  // takes over this task's slot: running_ unchanged
        held_.pop_front();
      }
    }
    // Whoever ended the task starts the next: a worker on its own deque, the slot's owner
    // in the slot.
    if (next != nullptr) start(next);
  }
}

void TaskGroup::stop_with(Status cause) {
  {
    std::lock_guard lock(mu_);
    if (!outcome_) outcome_ = std::move(cause);
  }
  stop_.request_stop();
}

}  // namespace tally
