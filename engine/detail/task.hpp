// Task: the scheduler's unit of work, a type-erased callable stored inline in a pooled node.
//
// Tasks are created and recycled through a per-thread free list, so spawning a task does
// not call the global allocator once the list is warm (the scheduler issue's requirement).
// A task freed on another thread than the one that made it joins that thread's list, as in
// most thread-caching allocators; each list keeps at most kMaxCachedPerThread nodes and
// passes the rest to a shared lock-free pool, where threads that only submit (and so never
// free) find them again.
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

class Task {
 public:
  // Callables up to this size (e.g. a lambda capturing five pointers) are stored inline; a
  // larger one is moved to the heap and only its pointer stored.
  static constexpr std::size_t kInlineBytes = 48;

  // Makes a task that calls f() once. f must be noexcept when called: the layers above
  // (TaskGroup, parallel_for) catch user exceptions before they reach the scheduler.
  // Throws what taking in f throws (its copy or move, or the allocation of a heap box); the
  // node then goes back to the free list.
  template <typename F>
  static Task* make(F&& f) {
    Task* t = allocate();
    try {
      t->store(std::forward<F>(f));
    } catch (...) {
      release(t);
      throw;
    }
    return t;
  }

  // Runs the callable, destroys it and returns the node to this thread's free list.
  void run() noexcept { invoke_(this); }

  static constexpr std::size_t kMaxCachedPerThread = 1024;

 private:
  Task() = default;
  static Task* allocate();
  static void release(Task* t) noexcept;
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
      invoke_ = [](Task* self) noexcept {
        Fn* fn = std::launder(reinterpret_cast<Fn*>(self->storage_));
        (*fn)();
        fn->~Fn();
        release(self);
      };
    } else {
      using Boxed = std::unique_ptr<Fn>;
      ::new (static_cast<void*>(storage_)) Boxed(std::make_unique<Fn>(std::forward<F>(f)));
      invoke_ = [](Task* self) noexcept {
        Boxed* fn = std::launder(reinterpret_cast<Boxed*>(self->storage_));
        (**fn)();
        fn->~Boxed();
        release(self);
      };
    }
  }

  void (*invoke_)(Task*) noexcept = nullptr;
  Task* next_free_ = nullptr;
  alignas(std::max_align_t) std::byte storage_[kInlineBytes];
};

}  // namespace tally::detail
