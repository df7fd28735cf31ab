#include "tally/engine/detail/task.hpp"

#include <cstddef>

#include "tally/engine/scheduler.hpp"
#include "tally/lockfree/mpmc_queue.hpp"

namespace tally::detail {

// One per thread: a LIFO free list (the most recently freed node is the most likely to still
// be in this core's cache). Freed when the thread exits.
struct TaskFreeList {
  Task* head = nullptr;
  std::size_t size = 0;

  TaskFreeList() = default;
  TaskFreeList(const TaskFreeList&) = delete;
  TaskFreeList& operator=(const TaskFreeList&) = delete;
  ~TaskFreeList() {
    while (head != nullptr) {
      Task* next = head->next_free_;
      delete head;
      head = next;
    }
  }
};

namespace {

thread_local TaskFreeList free_list;

// Where nodes go when a thread's own list is full, and where a thread with an empty list
// looks before calling the allocator. Without it, a thread that only submits (outside the
// pool) would malloc every task while the workers that run them free them, on the hot path
// of BM_TaskGroup_EmptySpawn (bench/engine/scheduler_bench.cpp). Lock-free and bounded;
// nodes beyond its capacity go back to the allocator. Never destroyed (its nodes stay
// reachable through it), so tasks released during static destruction still find it.
lockfree::MpmcQueue<Task*>& shared_pool() {
  static auto* pool = new lockfree::MpmcQueue<Task*>(16384);
  return *pool;
}

}  // namespace

Task* Task::allocate() {
  TaskFreeList& list = free_list;
  if (list.head == nullptr) {
    Task* t = nullptr;
    return shared_pool().try_pop(t) ? t : new Task();
  }
  Task* t = list.head;
  list.head = t->next_free_;
  --list.size;
  return t;
}

void Task::release(Task* t) noexcept {
  TaskFreeList& list = free_list;
  if (list.size >= kMaxCachedPerThread) {
    if (!shared_pool().try_push(static_cast<Task*>(t)))
      delete t;  // a copy: t stays ours on failure
    return;
  }
  t->next_free_ = list.head;
  list.head = t;
  ++list.size;
}

void Task::retire(Task* t) noexcept {
  WaitCounter* done = t->done_;  // read before release reuses the word as next_free_
  release(t);
  // Last: once the count reaches zero the waiter may return and free the counter.
  if (done != nullptr) done->finish();
}

}  // namespace tally::detail
