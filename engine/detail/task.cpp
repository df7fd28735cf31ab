#include "engine/detail/task.hpp"

#include <cstddef>

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
}  // namespace

Task* Task::allocate() {
  TaskFreeList& list = free_list;
  if (list.head == nullptr) return new Task();
  Task* t = list.head;
  list.head = t->next_free_;
  --list.size;
  return t;
}

void Task::release(Task* t) noexcept {
  TaskFreeList& list = free_list;
  if (list.size >= kMaxCachedPerThread) {
    delete t;
    return;
  }
  t->next_free_ = list.head;
  list.head = t;
  ++list.size;
}

}  // namespace tally::detail
