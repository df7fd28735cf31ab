#include "tally/engine/detail/task.hpp"

#include <cstddef>
#include <utility>

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

// Nodes move between a thread's list and the shared pool in chains of this many, linked
// through next_free_: one queue operation per chain instead of one per node. A thread that
// only spawns (outside the pool) and a worker that only runs its tasks make exactly that
// one-way flow, on the hot path of BM_TaskGroup_EmptySpawn (bench/engine/scheduler_bench.cpp).
constexpr std::size_t kChainLength = Task::kMaxCachedPerThread / 4;

// Where a thread whose list is full leaves a chain, and where a thread with an empty list
// takes one before calling the allocator. Lock-free and bounded (as many nodes as 16 full
// thread lists); chains beyond its capacity go back to the allocator. Never destroyed (its
// nodes stay reachable through it), so tasks released during static destruction still find
// it.
lockfree::MpmcQueue<Task*>& shared_pool() {
  static auto* pool = new lockfree::MpmcQueue<Task*>(16 * Task::kMaxCachedPerThread / kChainLength);
  return *pool;
}

}  // namespace

Task* Task::allocate() {
  TaskFreeList& list = free_list;
  if (list.head == nullptr) {
    Task* chain = nullptr;
    if (!shared_pool().try_pop(chain)) return new Task();
    list.head = chain;
    list.size = kChainLength;
  }
  Task* t = list.head;
  list.head = t->next_free_;
  --list.size;
  return t;
}

void Task::release(Task* t) noexcept {
  TaskFreeList& list = free_list;
  t->next_free_ = list.head;
  list.head = t;
  if (++list.size <= kMaxCachedPerThread) return;
  // Over the cap: hand the kChainLength nodes at the head over as one chain.
  Task* chain = list.head;
  Task* last = chain;
  for (std::size_t i = 1; i < kChainLength; ++i) last = last->next_free_;
  list.head = last->next_free_;
  list.size -= kChainLength;
  last->next_free_ = nullptr;
  if (!shared_pool().try_push(static_cast<Task*>(chain))) {  // a copy: chain stays ours
    while (chain != nullptr) {
      Task* next = chain->next_free_;
      delete chain;
      chain = next;
    }
  }
}

namespace {
thread_local FinishBatch* current_batch = nullptr;  // the innermost FinishBatch of this thread
}  // namespace

FinishBatch::FinishBatch(WaitCounter& counter) noexcept
    : counter_(&counter), outer_(current_batch) {
  current_batch = this;
}

FinishBatch::~FinishBatch() {
  flush();
  current_batch = outer_;
}

void FinishBatch::flush() noexcept {
  if (pending_ != 0) counter_->finish(std::exchange(pending_, 0));
}

void Task::retire(Task* t) noexcept {
  WaitCounter* done = t->done_;  // read before release reuses the word as next_free_
  release(t);
  // Last: once the count reaches zero the waiter may return and free the counter.
  if (done == nullptr) return;
  if (FinishBatch* batch = current_batch; batch != nullptr && batch->counter_ == done) {
    ++batch->pending_;  // finished by the batch's flush, on this thread
    return;
  }
  done->finish();
}

}  // namespace tally::detail
