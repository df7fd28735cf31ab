// Task: the scheduler's unit of work, a type-erased callable stored inline in a pooled node.
//
// Tasks are created and recycled through a per-thread free list, so spawning a task does
// not call the global allocator once the list is warm (the scheduler issue's requirement).
// A task freed on another thread than the one that made it joins that thread's list, as in
// most thread-caching allocators; each list keeps at most kMaxCachedPerThread nodes and
// passes the rest, in chains of a fixed length, to a shared lock-free pool, where threads
// that only submit (and so never free) find them again, a chain at a time.
//
// A task may carry a WaitCounter (scheduler.hpp) to finish when it is done. It finishes it
// last: after the callable returned and was destroyed, with everything it captured, and after
// the node went back to a free list. So a thread that sees the counter reach zero (a
// TaskGroup's or parallel_for's wait) also sees every captured object destroyed, and may free
// what their destructors touch (oneTBB likewise destroys a task's functor before it releases
// the task's wait context).
//
// Thread safety: a Task is owned by exactly one thread at a time; handing it over (deque,
// queue) publishes it. The free lists are thread-local.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace tally::detail {

class WaitCounter;

class Task {
 public:
  // Callables up to this size (e.g. a lambda capturing five pointers) are stored inline; a
  // larger one is moved to the heap and only its pointer stored.
  static constexpr std::size_t kInlineBytes = 48;

  // Makes a task that calls f() once and then, if `done` is not null, finishes `done` (see
  // above; the caller counts the task in it). f must be noexcept when called: the layers
  // above (TaskGroup, parallel_for) catch user exceptions before they reach the scheduler.
  // Throws what taking in f throws (its copy or move, or the allocation of a heap box); the
  // node then goes back to the free list.
  template <typename F>
  static Task* make(F&& f, WaitCounter* done = nullptr) {
    Task* t = allocate();
    try {
      t->store(std::forward<F>(f));
    } catch (...) {
      release(t);
      throw;
    }
    t->done_ = done;
    return t;
  }

  // Runs the callable, destroys it, returns the node to this thread's free list and then
  // finishes the task's counter.
  void run() noexcept { invoke_(this, true); }

  // The same without calling the callable: for a task that will never run (handing it over
  // failed). Its counter is finished all the same.
  void discard() noexcept { invoke_(this, false); }

  static constexpr std::size_t kMaxCachedPerThread = 1024;

 private:
  Task() = default;
  static Task* allocate();
  static void release(Task* t) noexcept;
  // The last step of run and discard, once the callable is destroyed: release, then finish.
  static void retire(Task* t) noexcept;
  friend struct TaskFreeList;

  // Moves or copies f into storage_ (or a heap box) and sets invoke_; on a throw, nothing is
  // stored.
  template <typename F>
  void store(F&& f) {
    using Fn = std::decay_t<F>;
    // NOLINTNEXTLINE(misc-redundant-expression): both sides vary with Fn; equal for some Fn only
    if constexpr (sizeof(Fn) <= kInlineBytes && alignof(Fn) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<Fn>) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      invoke_ = [](Task* self, bool call) noexcept {
        Fn* fn = std::launder(reinterpret_cast<Fn*>(self->storage_));
        if (call) (*fn)();
        fn->~Fn();
        retire(self);
      };
    } else {
      using Boxed = std::unique_ptr<Fn>;
      ::new (static_cast<void*>(storage_)) Boxed(std::make_unique<Fn>(std::forward<F>(f)));
      invoke_ = [](Task* self, bool call) noexcept {
        Boxed* fn = std::launder(reinterpret_cast<Boxed*>(self->storage_));
        if (call) (**fn)();
        fn->~Boxed();
        retire(self);
      };
    }
  }

  // Calls the callable if `call`, destroys it, then retire.
  void (*invoke_)(Task*, bool call) noexcept = nullptr;
  // One word for two roles that never overlap: done_ while the task is live (from make to
  // retire), next_free_ while the node is on a free list.
  union {
    WaitCounter* done_;
    Task* next_free_ = nullptr;
  };
  alignas(std::max_align_t) std::byte storage_[kInlineBytes];
};

// While a FinishBatch lives on a thread, the tasks retired on that thread whose counter is
// the batch's do not finish it one at a time: the batch counts them, and flush() (or its
// destructor) finishes them with one subtraction. For the owner of an external slot running
// its own group's tasks, the one thread that waits on that counter (Scheduler::wait_in_slot):
// it flushes before it looks at the count. Batches nest; the innermost one is in effect.
class FinishBatch {
 public:
  explicit FinishBatch(WaitCounter& counter) noexcept;
  ~FinishBatch();
  FinishBatch(const FinishBatch&) = delete;
  FinishBatch& operator=(const FinishBatch&) = delete;

  void flush() noexcept;

 private:
  friend class Task;
  WaitCounter* counter_;
  std::size_t pending_ = 0;
  FinishBatch* outer_;
};

}  // namespace tally::detail
