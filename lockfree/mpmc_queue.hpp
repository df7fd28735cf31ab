// MpmcQueue<T>: a bounded multi-producer multi-consumer FIFO queue on a ring of slots with
// per-slot sequence numbers (Dmitry Vyukov's bounded MPMC queue), with blocking twins of the
// try_ operations and a close() for shutdown.
//
// Thread safety (the contract):
//  - try_push, push, try_pop, pop, close, capacity and size_approx may be called by any number
//    of threads concurrently.
//  - The constructor and destructor must not race with anything. Destroy the queue only after
//    every thread that uses it has returned from its last call (join them first). Items still
//    queued at destruction are destroyed then, exactly once.
//  - Ordering promise: everything a producer wrote before its push/try_push returned true is
//    visible to the consumer after the pop/try_pop that returns that item.
//  - FIFO: items are popped in the order their pushes claimed positions; in particular the
//    items of one producer are popped in the order it pushed them, and each consumer sees
//    any one producer's items in increasing push order.
//  - try_pop may report "empty" while a push that claimed an earlier position is still
//    writing its item (the item appears when that push returns). Blocking pop waits for it.
//  - close(): after it, every push/try_push fails; pop keeps returning queued items and
//    returns false only once the queue is closed and every item pushed before the close has
//    been popped. Nothing whose push returned true is ever lost. close() wakes every blocked
//    push and pop; calling it twice is harmless.
//
// Contention: every lost CAS on tail_/head_ and every stale position is counted in the calling
// thread's lockfree::contention_counters() (lockfree/instrument.hpp), on the retry path only.
//
// Requirements on T: nothrow move construction, move assignment and destruction (a throw
// after a position is claimed would wedge the ring). Move-only types are fine.
//
// Invariants (pos = a position counter value, cap = capacity, slot(pos) = slots_[pos % cap],
// lap(pos) = pos / cap):
//  I1. head_ <= index(tail_) <= head_ + cap: positions [head_, tail) are claimed by producers
//      and not yet by consumers.
//  I2. slot(pos).sequence == 2 * lap(pos)     : free for the producer of position pos.
//      slot(pos).sequence == 2 * lap(pos) + 1 : holds the item of position pos, for its
//      consumer. After moving the item out, the consumer stores 2 * (lap(pos) + 1): free
//      for the producer of the next lap. A sequence only grows. (Vyukov's original stores
//      pos, pos + 1 and pos + cap, which coincide when cap == 1; counting laps twice over, as
//      rigtorp/MPMCQueue does, keeps "full" and "free" apart for every capacity.)
//  I3. Only the thread whose CAS moved tail_ from pos (or head_ from pos) touches the storage
//      of slot(pos) until it publishes the next sequence value.
//  I4. Bit 63 of tail_ is the closed flag; once set it is never cleared, and no CAS on tail_
//      can succeed after it (every CAS expects the bit clear).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tally/lockfree/backoff.hpp"
#include "tally/lockfree/cache_line.hpp"
#include "tally/lockfree/instrument.hpp"

namespace tally::lockfree {

// How slots are laid out in memory. Neighbouring positions may be written by different
// threads at nearly the same time, and two of them on one cache line is then false sharing;
// but neighbours on one line also travel together, one line transfer for several items.
// bench/lockfree/mpmc_queue_bench.cpp measures the three side by side
// (bench/results/mpmc_queue_bench.json, bench/README.md).
enum class SlotLayout {
  kPadded,    // each slot on its own cache line: no sharing, but every item moves a line
  kRemapped,  // slots packed, consecutive positions spread over different lines
  kPacked,    // slots packed in position order: neighbours share a line
};

// The default is kPacked, chosen on measurement rather than argument: kPadded and kRemapped
// keep a producer and a consumer on adjacent positions off each other's line, but then every
// item costs a line transfer of its own, while in kPacked a consumer that trails its
// producer by more than a line takes several items per transfer. The benchmark has packed
// ahead of both at every producer and consumer count it runs (bench/README.md).
template <typename T, SlotLayout kLayout = SlotLayout::kPacked>
class MpmcQueue {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "MpmcQueue<T>: T's move constructor must be noexcept");
  static_assert(std::is_nothrow_move_assignable_v<T>,
                "MpmcQueue<T>: T's move assignment must be noexcept");
  static_assert(std::is_nothrow_destructible_v<T>, "MpmcQueue<T>: T's destructor must be noexcept");

 public:
  using value_type = T;

  // Capacity is rounded up to a power of two (so a position maps to a slot with a mask).
  // Throws std::invalid_argument for 0 or a capacity too large to represent.
  explicit MpmcQueue(std::size_t capacity) : capacity_(round_capacity(capacity)) {
    mask_ = capacity_ - 1;
    lap_shift_ = std::countr_zero(capacity_);
    remap_shift_ = remap_shift_for(capacity_);
    // Value-initialized: every sequence starts at 0 = 2 * lap(pos) for the first lap (I2).
    slots_ = std::make_unique<Slot[]>(capacity_);
  }

  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;

  ~MpmcQueue() {
    // No concurrent users (contract), so relaxed loads see the final values.
    const std::size_t tail = index(tail_->load(std::memory_order_relaxed));
    for (std::size_t pos = head_->load(std::memory_order_relaxed); pos != tail; ++pos) {
      Slot& s = slot(pos);
      if (s.sequence.load(std::memory_order_relaxed) == full_sequence(pos)) s.item()->~T();
    }
  }

  std::size_t capacity() const noexcept { return capacity_; }

  // The number of queued items at some recent moment; exact only when the queue is quiet.
  std::size_t size_approx() const noexcept {
    // Relaxed: an estimate by definition; no other data is read through it.
    const std::size_t head = head_->load(std::memory_order_relaxed);
    const std::size_t tail = index(tail_->load(std::memory_order_relaxed));
    if (tail <= head) return 0;
    return tail - head < capacity_ ? tail - head : capacity_;
  }

  bool is_closed() const noexcept {
    // Acquire pairs with the fetch_or in close(): a thread that sees the flag also sees
    // everything the closing thread did before close().
    return (tail_->load(std::memory_order_acquire) & kClosedBit) != 0;
  }

  // Pushes if a slot is free and the queue is open; never blocks. On false, `item` is left
  // untouched (not moved from).
  bool try_push(T&& item) noexcept {
    if (!try_push_no_wake(item)) return false;
    wake_one_waiter(pop_waiters_, pop_epoch_);
    return true;
  }

  // Pops the oldest item into `out` if one is ready; never blocks.
  bool try_pop(T& out) noexcept {
    if (!try_pop_no_wake(out)) return false;
    wake_one_waiter(push_waiters_, push_epoch_);
    return true;
  }

  // Pushes, waiting while the queue is full. Returns false (leaving `item` untouched) if the
  // queue is or becomes closed first.
  bool push(T&& item) noexcept {
    return wait_until_done(
        push_waiters_, push_epoch_, [&] { return try_push(std::move(item)); },
        [&] { return is_closed(); },
        [&] {
          // Worth retrying: closed, or a consumer claimed a position since the ring was full.
          // head_ first: tail_ read later is >= that head (I1), so the difference cannot wrap.
          const std::size_t head = head_->load(std::memory_order_seq_cst);
          const std::size_t tail = tail_->load(std::memory_order_seq_cst);
          return (tail & kClosedBit) != 0 || index(tail) - head < capacity_;
        });
  }

  // Pops into `out`, waiting while the queue is empty. Returns false once the queue is closed
  // and every item pushed before close() has been popped.
  bool pop(T& out) noexcept {
    return wait_until_done(
        pop_waiters_, pop_epoch_, [&] { return try_pop(out); },
        [&] { return is_closed_and_drained(); },
        [&] {
          // Worth retrying: closed, or a producer claimed a position not yet popped.
          const std::size_t head = head_->load(std::memory_order_seq_cst);
          const std::size_t tail = tail_->load(std::memory_order_seq_cst);
          return (tail & kClosedBit) != 0 || index(tail) != head;
        });
  }

  // Closes the queue: later pushes fail, queued items stay poppable, blocked callers wake.
  void close() noexcept {
    // seq_cst RMW: ordered with every producer's CAS on tail_ (I4), so a push either claimed
    // its position before the close (and its item will be popped) or fails.
    tail_->fetch_or(kClosedBit, std::memory_order_seq_cst);
    // Wake every waiter: each re-checks finished(). Release: pairs with the waiter's acquire
    // load of the epoch in wait_until_done ("The close() wake-up" below); relaxed would let a
    // waiter read this bump and still miss the closed bit, then sleep for good.
    pop_epoch_->fetch_add(1, std::memory_order_release);
    push_epoch_->fetch_add(1, std::memory_order_release);
    pop_epoch_->notify_all();
    push_epoch_->notify_all();
  }

 private:
  static constexpr std::size_t kClosedBit = std::size_t{1} << 63;

  struct PackedSlot {
    std::atomic<std::size_t> sequence{0};
    // NOLINTNEXTLINE(bugprone-sizeof-expression): T may itself be a pointer; its size is meant
    alignas(T) std::byte storage[sizeof(T)];
    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };
  struct alignas(kCacheLine) PaddedSlot : PackedSlot {};
  using Slot = std::conditional_t<kLayout == SlotLayout::kPadded, PaddedSlot, PackedSlot>;

  static std::size_t round_capacity(std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("MpmcQueue: capacity must be at least 1");
    if (capacity > (kClosedBit >> 2)) throw std::invalid_argument("MpmcQueue: capacity too large");
    return std::bit_ceil(capacity);
  }

  // kRemapped: with S = slots per cache line (a power of two), write a position's slot index
  // as [high | a | b] with a and b log2(S) bits each, and swap a and b. Positions p and p+1
  // then differ in the line-selecting bits, so S consecutive positions land on S different
  // lines. Needs capacity >= S * S; smaller rings keep the identity mapping.
  static constexpr std::size_t kSlotsPerLine =
      sizeof(PackedSlot) >= kCacheLine ? 1 : kCacheLine / std::bit_ceil(sizeof(PackedSlot));
  static int remap_shift_for(std::size_t capacity) noexcept {
    if constexpr (kLayout != SlotLayout::kRemapped || kSlotsPerLine < 2) {
      return 0;
    } else {
      return capacity >= kSlotsPerLine * kSlotsPerLine ? std::countr_zero(kSlotsPerLine) : 0;
    }
  }

  Slot& slot(std::size_t pos) noexcept {
    std::size_t i = pos & mask_;
    if constexpr (kLayout == SlotLayout::kRemapped) {
      if (remap_shift_ != 0) {
        const std::size_t group = (std::size_t{1} << remap_shift_) - 1;
        const std::size_t a = (i >> remap_shift_) & group;
        const std::size_t b = i & group;
        i = (i & ~((group << remap_shift_) | group)) | (b << remap_shift_) | a;
      }
    }
    return slots_[i];
  }

  static std::size_t index(std::size_t tail_word) noexcept { return tail_word & ~kClosedBit; }

  // The sequence values of I2.
  std::size_t free_sequence(std::size_t pos) const noexcept { return (pos >> lap_shift_) * 2; }
  std::size_t full_sequence(std::size_t pos) const noexcept { return free_sequence(pos) + 1; }

  bool try_push_no_wake(T& item) noexcept {
    // Relaxed: only a guess at the next free position; the slot's sequence, loaded with
    // acquire below, decides, and the CAS confirms nobody else took the position.
    std::size_t tail = tail_->load(std::memory_order_relaxed);
    for (;;) {
      if (tail & kClosedBit) return false;
      Slot& s = slot(tail);
      // Acquire pairs with the release store of the consumer that freed this slot on the
      // previous lap (I2), so its move-out of the old item happens-before our construction.
      const std::size_t seq = s.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq - free_sequence(tail));
      if (diff == 0) {
        // The CAS arbitrates which producer owns position `tail` (I3); it publishes no
        // data (the acquire above orders the slot's reuse, the release store below publishes
        // the item). seq_cst on success is for blocked consumers: it is the publisher's half
        // of the handshake in wait_until_done. On x86-64 and AArch64 it costs nothing over
        // relaxed: the CAS is a locked / acquire-release instruction either way. Relaxed on
        // failure: we only learn the new tail.
        if (tail_->compare_exchange_weak(tail, tail + 1, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
          ::new (static_cast<void*>(s.storage)) T(std::move(item));
          // Release pairs with the consumer's acquire load of this sequence: the item's
          // construction (and everything the producer did before) happens-before its pop.
          s.sequence.store(full_sequence(tail), std::memory_order_release);
          return true;
        }
        // CAS failure reloaded `tail`; retry at the new position.
        detail::count_contention(&ContentionCounters::push_cas_failures);
      } else if (diff < 0) {
        // The slot still holds the item of the previous lap: the ring is full, unless
        // tail_ moved meanwhile (then retry there).
        const std::size_t now = tail_->load(std::memory_order_relaxed);
        if (now == tail) return false;
        detail::count_contention(&ContentionCounters::push_stale_positions);
        tail = now;
      } else {
        // Another producer claimed this position and we read a stale tail; catch up.
        detail::count_contention(&ContentionCounters::push_stale_positions);
        tail = tail_->load(std::memory_order_relaxed);
      }
    }
  }

  bool try_pop_no_wake(T& out) noexcept {
    // Relaxed: a guess, confirmed by the slot's sequence and the CAS, as in try_push.
    std::size_t head = head_->load(std::memory_order_relaxed);
    for (;;) {
      Slot& s = slot(head);
      // Acquire pairs with the producer's release store of full_sequence(head): the item is
      // fully constructed before we move it out.
      const std::size_t seq = s.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq - full_sequence(head));
      if (diff == 0) {
        // Arbitrates ownership of position `head` (I3); seq_cst on success for blocked
        // producers' handshake, free as in try_push_no_wake.
        if (head_->compare_exchange_weak(head, head + 1, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
          T* item = s.item();
          out = std::move(*item);
          item->~T();
          // Release pairs with the acquire load of the producer of the next lap: our
          // move-out and destruction happen-before it constructs a new item here.
          s.sequence.store(free_sequence(head) + 2, std::memory_order_release);
          return true;
        }
        // CAS failure reloaded `head`; retry at the new position.
        detail::count_contention(&ContentionCounters::pop_cas_failures);
      } else if (diff < 0) {
        // Not yet published for this lap: empty, or a producer is still writing it.
        const std::size_t now = head_->load(std::memory_order_relaxed);
        if (now == head) return false;
        detail::count_contention(&ContentionCounters::pop_stale_positions);
        head = now;
      } else {
        // Another consumer claimed this position and we read a stale head; catch up.
        detail::count_contention(&ContentionCounters::pop_stale_positions);
        head = head_->load(std::memory_order_relaxed);
      }
    }
  }

  bool is_closed_and_drained() const noexcept {
    // Acquire on tail_ pairs with close()'s seq_cst fetch_or. Once the closed bit is set
    // tail_ never moves again (I4), so head_ reaching it means every claimed position has
    // been claimed by a consumer too; a consumer that claimed it will return that item.
    const std::size_t tail = tail_->load(std::memory_order_acquire);
    return (tail & kClosedBit) != 0 && head_->load(std::memory_order_acquire) >= index(tail);
  }

  // Blocking: how a waiter sleeps and who wakes it.
  //
  // A waiter sleeps on an epoch counter (std::atomic::wait, a futex) after announcing itself
  // in a waiter count; a successful operation of the other side bumps the epoch and wakes
  // one waiter, but only if the count is non-zero, so the fast path pays one load of a
  // quiet cache line. The danger is a lost wake-up: the waiter checks "full/empty", the other
  // side changes that and sees no waiter, then the waiter sleeps forever. It is prevented by
  // a Dekker handshake on seq_cst operations, which all lie in one total order S:
  //   other side: CAS on tail_/head_ (seq_cst)   ; load waiters (seq_cst)
  //   waiter:     waiters += 1 (seq_cst)          ; load tail_ and head_ (seq_cst), i.e. ready()
  // If the CAS precedes the waiter's loads in S, ready() sees it and the waiter does not
  // sleep; otherwise the increment precedes the other side's load of waiters, which then
  // wakes it. The epoch is read before the increment, so a wake-up that lands between the
  // check and the sleep changes the epoch and the futex wait returns at once.
  //
  // The signal is "a position was claimed", which precedes the slot's publication by a few
  // instructions; a waiter woken in that window finds ready() true, does not sleep, and
  // retries with the spin -> yield policy until the slot is published.
  //
  // The close() wake-up is not that handshake: close() bumps both epochs without reading the
  // waiter counts, so nothing in S orders a waiter's ready() after its fetch_or. A waiter must
  // not read the bumped epoch as `seen` and yet miss the closed bit (on AArch64 the bump may
  // become visible before the fetch_or's store, and the waiter's plain epoch load may be
  // satisfied after its ready() loads): it would then sleep on a value that no longer changes.
  // The edge: close() bumps with release after its fetch_or, the waiter loads `seen` with
  // acquire before ready().
  //  - If `seen` comes from close()'s bump, or from a later bump (every bump is a read-modify-
  //    write, so it continues close()'s release sequence), the load synchronizes with close():
  //    the fetch_or happens-before ready(), which sees the closed bit, and the waiter does not
  //    sleep.
  //  - Otherwise `seen` precedes close()'s bump in the epoch's modification order: the futex
  //    wait finds the epoch already changed and returns, or is asleep before the bump and is
  //    woken by close()'s notify_all.

  static void wake_one_waiter(CachePadded<std::atomic<std::uint32_t>>& waiters,
                              CachePadded<std::atomic<std::uint32_t>>& epoch) noexcept {
    // seq_cst: the other side's half of the handshake, after its seq_cst CAS.
    if (waiters->load(std::memory_order_seq_cst) == 0) return;
    // Relaxed: the epoch only has to change. A waiter counted in the value we just read
    // loaded its `seen` before its seq_cst increment, which our seq_cst load read: that load
    // happens-before this bump and cannot have read it, so the futex wait returns. A waiter
    // not counted yet sees our CAS in ready() (the handshake). Its retry reads the queue
    // state through the slot sequences (acquire), not through the epoch.
    epoch->fetch_add(1, std::memory_order_relaxed);
    epoch->notify_one();
  }

  // Retries `attempt` with the spin -> yield -> block policy until it succeeds (true) or
  // `finished` says it never will (false). `ready` says whether a retry could succeed now;
  // the waiter sleeps only while it is false.
  template <typename Attempt, typename Finished, typename Ready>
  static bool wait_until_done(CachePadded<std::atomic<std::uint32_t>>& waiters,
                              CachePadded<std::atomic<std::uint32_t>>& epoch, Attempt attempt,
                              Finished finished, Ready ready) noexcept {
    SpinWait spin;
    for (;;) {
      if (attempt()) return true;
      if (finished()) return false;
      if (spin.spin_once()) continue;
      spin.reset();
      // Acquire: pairs with close()'s release bump, so a `seen` that already counts it comes
      // with the closed bit visible to ready() ("The close() wake-up" above). Against
      // wake_one_waiter's relaxed bumps the seq_cst handshake on the counts does the work.
      const std::uint32_t seen = epoch->load(std::memory_order_acquire);
      // seq_cst: the waiter's half of the handshake, before ready()'s seq_cst loads.
      waiters->fetch_add(1, std::memory_order_seq_cst);
      if (!ready()) epoch->wait(seen, std::memory_order_relaxed);
      // Relaxed: a stale count only costs the other side one needless notify.
      waiters->fetch_sub(1, std::memory_order_relaxed);
    }
  }

  // Written by consumers (head_) and producers (tail_): each on its own line (I1).
  CachePadded<std::atomic<std::size_t>> head_{};
  CachePadded<std::atomic<std::size_t>> tail_{};
  // Written only by callers about to block and by publishers that found a waiter: quiet
  // lines in the common case, read on every publish.
  CachePadded<std::atomic<std::uint32_t>> pop_waiters_{};
  CachePadded<std::atomic<std::uint32_t>> push_waiters_{};
  CachePadded<std::atomic<std::uint32_t>> pop_epoch_{};
  CachePadded<std::atomic<std::uint32_t>> push_epoch_{};
  // Read-only after construction.
  std::size_t capacity_;
  std::size_t mask_ = 0;
  int lap_shift_ = 0;
  int remap_shift_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace tally::lockfree
