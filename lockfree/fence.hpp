// store_load_fence(): the full fence of a Dekker-style wake-up handshake.
//
// A publisher makes work visible and then checks for sleepers; a sleeper announces itself and
// then checks for work. Each side must not read before its own write is visible, the one
// reordering x86-64 allows (store -> load), so each side puts this fence between the two:
// one of them is then guaranteed to see the other ([atomics.fences]: two seq_cst fences are
// ordered in the single total order S).
//
// Only for liveness: these handshakes decide whether to wake a sleeper. They never order
// data; data is published by release/acquire pairs that ThreadSanitizer sees.
#pragma once

#include <atomic>

namespace tally::lockfree {

inline void store_load_fence() noexcept {
#if defined(__SANITIZE_THREAD__) && (defined(__x86_64__) || defined(__i386__))
  // g++ refuses std::atomic_thread_fence under -fsanitize=thread (-Wtsan: TSan does not model
  // fences). The same instruction through inline asm keeps the wake-ups correct, and since
  // the fence orders no data (above), hiding it from TSan hides no race.
  asm volatile("mfence" ::: "memory");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace tally::lockfree
