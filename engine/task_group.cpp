#include "tally/engine/task_group.hpp"

#include <string>
#include <utility>

namespace tally {

TaskGroup::TaskGroup(Scheduler& scheduler, TaskGroupOptions options)
    : scheduler_(scheduler), limit_(options.limit), counter_(scheduler) {
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
  scheduler_.wait_for(counter_);
  parent_callback_.reset();  // waits for a running parent callback, then none can start
  if (deadline_timer_) scheduler_.timer().cancel(*deadline_timer_);
}

Status TaskGroup::wait() {
  scheduler_.wait_for(counter_);
  std::lock_guard lock(mu_);
  return outcome_.value_or(Status::Ok());
}

void TaskGroup::cancel(Status cause) { stop_with(std::move(cause)); }

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
    scheduler_.push(task);
  } catch (...) {
    release_slot();
    task->discard();  // last: the count may reach zero and a waiter free the group
    throw;
  }
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
    if (next != nullptr) scheduler_.push(next);
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
