// WorkStealingDeque<T>: the Chase-Lev work-stealing deque (SPAA 2005), growable, with the
// C11 memory orders of Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models" (PPoPP 2013), figure 1.
//
// Thread safety (the contract):
//  - One thread, the owner, calls push and pop. Never call them from two threads.
//  - Any number of threads (the owner too) call steal concurrently with the owner and each
//    other. size_approx and empty_approx may be called by anyone.
//  - Owner push/pop are LIFO at the bottom; steal takes the oldest item at the top (FIFO).
//  - Ordering promise: everything the owner wrote before push(x) is visible to the thread
//    that takes x, by pop or by steal.
//  - Every pushed item is returned exactly once, by one pop or one steal.
//  - Destroy the deque only when no thread can touch it any more. Items still in it are
//    dropped (T is trivially copyable and owns nothing).
//
// Requirements on T: trivially copyable and lock-free as std::atomic<T> (pointers, indices,
// small handles). Slots are atomics because a thief may read a slot while the owner, after
// wrapping around, writes it: the thief's CAS then fails and the value it read is discarded,
// but the read itself must not be a data race.
//
// Layout: by default top_ (written by thieves) and bottom_ (written by the owner) sit on
// separate cache lines, so an owner push/pop does not pull a line a thief just wrote.
// DequeLayout::kSharedLine puts both on one line; it exists only so that
// bench/lockfree/ws_deque_bench.cpp can measure what the separation buys. Both layouts run
// the same code and pass the same tests (tests/lockfree/ws_deque_test.cpp).
//
// Contention: a steal that loses the CAS on top_ is counted in the calling thread's
// lockfree::contention_counters().steal_cas_failures (lockfree/instrument.hpp).
//
// Memory orders: as in the paper, except that its seq_cst fences in pop() and steal() are
// folded into the neighbouring accesses of top_ and bottom_ (see pop()).
//
// Retired buffers: growing copies the live items into a buffer twice the size. The old
// buffer may still be read by a thief that loaded the old pointer, so it is kept until the
// deque is destroyed (as taskflow does). Buffers double, so retired ones total less than
// the live one: memory stays below 2x the high-water mark.
//
// Invariants:
//  I1. Items live at indices [top_, bottom_) of the current buffer (index mod its size).
//  I2. top_ only grows, and only by a successful CAS (by a thief, or the owner taking the
//      last item). bottom_ is written only by the owner.
//  I3. A buffer is only read at indices the reader observed in [top, bottom), and only
//      replaced by the owner after copying every item in [top_, bottom_) into the new one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "tally/lockfree/cache_line.hpp"
#include "tally/lockfree/instrument.hpp"

namespace tally::lockfree {

// Where top_ and bottom_ live (see the header comment).
enum class DequeLayout {
  kSeparateLines,  // top_ and bottom_ each on their own cache line: the default
  kSharedLine,     // both on one line, false-sharing between owner and thieves: benchmark only
};

namespace detail {

// A T with no padding, with CachePadded's accessors, so the deque's code reads the same for
// both layouts.
template <typename T>
struct Unpadded {
  T value;
  T& operator*() noexcept { return value; }
  const T& operator*() const noexcept { return value; }
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }
};

}  // namespace detail

template <typename T, DequeLayout kLayout = DequeLayout::kSeparateLines>
class WorkStealingDeque {
  static_assert(std::is_trivially_copyable_v<T>,
                "WorkStealingDeque<T>: T must be trivially copyable (store pointers or handles)");
  static_assert(std::atomic<T>::is_always_lock_free,
                "WorkStealingDeque<T>: std::atomic<T> must be lock-free");

 public:
  // Initial capacity is rounded up to a power of two; the deque grows without bound.
  explicit WorkStealingDeque(std::size_t initial_capacity = 64) {
    if (initial_capacity == 0) {
      throw std::invalid_argument("WorkStealingDeque: capacity must be at least 1");
    }
    std::size_t cap = 1;
    while (cap < initial_capacity) cap <<= 1;
    buffers_.push_back(std::make_unique<Buffer>(cap));
    owner_->buffer = buffers_.back().get();
    buffer_->store(owner_->buffer, std::memory_order_relaxed);  // no concurrency yet
  }

  WorkStealingDeque(const WorkStealingDeque&) = delete;
  WorkStealingDeque& operator=(const WorkStealingDeque&) = delete;
  ~WorkStealingDeque() {
    // Here rather than at namespace scope: the members are private.
    static_assert(
        kLayout != DequeLayout::kSharedLine || (offsetof(WorkStealingDeque, top_) / kCacheLine ==
                                                offsetof(WorkStealingDeque, bottom_) / kCacheLine),
        "kSharedLine: top_ and bottom_ must share a cache line");
    static_assert(
        kLayout != DequeLayout::kSeparateLines ||
            offsetof(WorkStealingDeque, bottom_) - offsetof(WorkStealingDeque, top_) >= kCacheLine,
        "kSeparateLines: top_ and bottom_ must be a cache line apart");
  }

  // Owner only. Never fails (grows when full).
  void push(T item) {
    const std::int64_t b = owner_->bottom;
    Buffer* buf = owner_->buffer;
    if (b - owner_->top_seen > static_cast<std::int64_t>(buf->capacity) - 1) {
      // Looks full by the last top_ we saw; top_ only grows (I2), so look again before
      // growing. Acquire pairs with a thief's successful CAS on top_ (seq_cst includes
      // release): once we see top moved past an index, that thief has finished reading the
      // slot, so reusing it below cannot clobber an item still being stolen. Slots below an
      // older top_seen were covered by the acquire that read it.
      owner_->top_seen = top_->load(std::memory_order_acquire);
      if (b - owner_->top_seen > static_cast<std::int64_t>(buf->capacity) - 1) {
        buf = grow(buf, owner_->top_seen, b);
      }
    }
    buf->put(b, item);
    // Release pairs with the thief's acquire load of bottom_: a thief that counts this
    // item also sees its slot, the buffer that holds it, and everything the owner wrote
    // before push. The paper writes a release fence + relaxed store; a release store is the
    // same instruction on x86-64 and ThreadSanitizer understands it (it ignores fences).
    bottom_->store(b + 1, std::memory_order_release);
    owner_->bottom = b + 1;
  }

  // Owner only. Takes the newest item, or nullopt if the deque is empty.
  std::optional<T> pop() noexcept {
    // The owner's own copies of bottom_ and buffer_ (only the owner writes those).
    const std::int64_t b = owner_->bottom - 1;
    Buffer* buf = owner_->buffer;
    // Reserve the bottom item, then look at top_: a Dekker handshake with steal(), which
    // reads top_ then bottom_, so the owner and a thief cannot both miss each other's claim
    // on the last item. The paper writes relaxed accesses around a seq_cst fence; we make the
    // four accesses themselves seq_cst, so they lie in one total order and one of the two
    // sides must see the other's write. On x86-64 this is an xchg instead of mov + mfence (no
    // slower), and ThreadSanitizer, which does not model fences, understands it.
    bottom_->store(b, std::memory_order_seq_cst);
    std::int64_t t = top_->load(std::memory_order_seq_cst);
    owner_->top_seen = t;
    if (t < b) {
      // More than one item: the bottom one is ours, no thief can reach it. (Early returns
      // rather than one optional filled in branches: g++ then returns it in registers
      // instead of building it in memory and reading it back across the xchg above.)
      owner_->bottom = b;
      return buf->get(b);
    }
    if (t == b) {
      const T item = buf->get(b);
      // The last item: race the thieves for it through top_. seq_cst on success orders it
      // with the thieves' CASes; relaxed on failure: we just give up the item.
      const bool won = top_->compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                                     std::memory_order_relaxed);
      // Restore bottom to top's new value (t + 1): the deque is empty. Relaxed: the next
      // owner push publishes it to thieves with its release store.
      bottom_->store(b + 1, std::memory_order_relaxed);
      owner_->bottom = b + 1;
      if (won) return item;
      return std::nullopt;  // a thief won it
    }
    // Empty: undo the reservation. Relaxed, as above.
    bottom_->store(b + 1, std::memory_order_relaxed);
    owner_->bottom = b + 1;
    return std::nullopt;
  }

  // Any thread. Takes the oldest item, or nullopt if the deque looked empty or another
  // thread won the race for that item (try another victim, or again).
  std::optional<T> steal() noexcept {
    // The thief's half of the Dekker handshake with pop() (see there): both loads seq_cst.
    // They are also acquires: the top_ load pairs with the CAS of the previous claimer, and
    // the bottom_ load pairs with the release store in push(), so if we see an item counted
    // in bottom_ we see its slot and the buffer that holds it.
    std::int64_t t = top_->load(std::memory_order_seq_cst);
    const std::int64_t b = bottom_->load(std::memory_order_seq_cst);
    if (t >= b) return std::nullopt;
    // Acquire pairs with grow()'s release store of the new buffer pointer, so the copied
    // slots are visible. (The paper uses consume, which compilers promote to acquire.)
    Buffer* buf = buffer_->load(std::memory_order_acquire);
    const T item = buf->get(t);
    // seq_cst success: one total order among claims on top_ (thieves and the owner's
    // last-item CAS). Relaxed failure: we lost and discard the value read above.
    if (!top_->compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
      detail::count_contention(&ContentionCounters::steal_cas_failures);
      return std::nullopt;
    }
    return item;
  }

  // Approximate: exact only when no thread is operating on the deque.
  std::size_t size_approx() const noexcept {
    // Relaxed: an estimate; nothing is read through it.
    const std::int64_t b = bottom_->load(std::memory_order_relaxed);
    const std::int64_t t = top_->load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }
  bool empty_approx() const noexcept { return size_approx() == 0; }

  // Current buffer capacity (owner thread, or when quiet).
  std::size_t capacity() const noexcept { return owner_->buffer->capacity; }

 private:
  struct Buffer {
    explicit Buffer(std::size_t cap)
        : capacity(cap), mask(cap - 1), slots(std::make_unique<std::atomic<T>[]>(cap)) {}
    // Relaxed slot accesses: the ordering comes from bottom_/top_/buffer_ as commented at
    // each call site; the slots are atomic only so that a racing read is not UB (see top).
    T get(std::int64_t i) const noexcept {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    void put(std::int64_t i, T v) noexcept {
      slots[static_cast<std::size_t>(i) & mask].store(v, std::memory_order_relaxed);
    }
    const std::size_t capacity;
    const std::size_t mask;
    std::unique_ptr<std::atomic<T>[]> slots;
  };

  // Owner only: doubles the buffer, copying the live items [t, b).
  Buffer* grow(Buffer* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<Buffer>(old->capacity * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    Buffer* raw = bigger.get();
    buffers_.push_back(std::move(bigger));  // keep the old one alive for late thieves
    // Release pairs with the acquire load in steal(): a thief that reads the new pointer
    // sees the copied slots.
    buffer_->store(raw, std::memory_order_release);
    owner_->buffer = raw;
    return raw;
  }

  template <typename A>
  using Index = std::conditional_t<kLayout == DequeLayout::kSeparateLines, CachePadded<A>,
                                   detail::Unpadded<A>>;

  // The first members, so that with kSharedLine they share the object's first cache line (the
  // object is kCacheLine-aligned because buffer_ is).
  // Written by thieves (CAS) and by the owner for the last item.
  Index<std::atomic<std::int64_t>> top_{};
  // Written only by the owner; read by thieves.
  Index<std::atomic<std::int64_t>> bottom_{};
  // Written only by the owner, rarely (grow); read by thieves.
  CachePadded<std::atomic<Buffer*>> buffer_{};
  // Owner-private, on a line no thief reads: the owner's copies of bottom_ and buffer_ (so
  // its loads never wait on its own stores to the shared lines), and the last top_ it saw,
  // which push uses to tell "not full" without reading the line thieves write (top_ only
  // grows, so a stale value errs towards "full", and push then reads top_ itself).
  struct OwnerView {
    std::int64_t bottom = 0;
    std::int64_t top_seen = 0;
    Buffer* buffer = nullptr;
  };
  CachePadded<OwnerView> owner_{};
  // Owner-private: every buffer ever used, the current one last.
  std::vector<std::unique_ptr<Buffer>> buffers_;
};

}  // namespace tally::lockfree
