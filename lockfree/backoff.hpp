// The spin -> yield -> block policy shared by every waiting loop in tally.
//
// A thread that finds a queue full or empty first spins briefly (the other side is usually
// a few hundred nanoseconds away), then yields its core (the other side may be descheduled,
// which is the norm when threads outnumber cores), and finally blocks on a futex via
// std::atomic::wait. The blocking stage is what keeps oversubscribed runs from collapsing:
// a spinner on a core that the thread it waits for needs burns that thread's time slice.
//
// Thread safety: a SpinWait is owned by one thread (it lives on that thread's stack).
#pragma once

#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tally::lockfree {

// Tells the core this is a spin-wait loop: on x86 `pause` stops speculative loads from
// piling up (and the memory-order machine clear on exit), and yields the pipeline to the
// hyper-thread sibling.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

class SpinWait {
 public:
  // Rounds of spinning, each twice as long as the one before: 1 + 2 + ... + 2^(kSpinRounds-1)
  // = 63 pauses. One `pause` costs ~10 cycles before Skylake and ~140 after, so the spin
  // phase lasts roughly 0.3-3 us: about one cache-line round trip between cores plus the
  // time a peer takes to finish a short critical section, and well under a futex
  // sleep/wake round trip (~5-10 us), which is what spinning tries to avoid.
  static constexpr int kSpinRounds = 6;
  // Rounds of sched_yield after spinning. Each lets a descheduled peer run on this core;
  // a handful is enough to hand the core over, more only delays the futex sleep.
  static constexpr int kYieldRounds = 4;

  // Waits a little (spins or yields). Returns false once spinning and yielding are used up:
  // the caller should now block (std::atomic::wait) rather than call this again.
  bool spin_once() noexcept {
    if (round_ < kSpinRounds) {
      for (std::uint32_t i = 0, n = 1u << round_; i < n; ++i) cpu_relax();
      ++round_;
      return true;
    }
    if (round_ < kSpinRounds + kYieldRounds) {
      std::this_thread::yield();
      ++round_;
      return true;
    }
    return false;
  }

  void reset() noexcept { round_ = 0; }

 private:
  int round_ = 0;
};

}  // namespace tally::lockfree
