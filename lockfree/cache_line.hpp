// Cache-line size and padding, so that data written by different threads never shares a line.
//
// Why 128 and not 64 on x86-64: the line itself is 64 bytes, but Intel cores since Sandy
// Bridge run a "spatial prefetcher" that fetches lines in 128-byte-aligned pairs, so two
// threads writing to neighbouring 64-byte lines still bounce the pair between cores (Intel
// Optimization Manual, section on the L2 streamer / adjacent line prefetch). oneTBB, folly
// (hardware_destructive_interference_size) and crossbeam (CachePadded) use 128 on x86-64 for
// the same reason. bench/lockfree/false_sharing_bench.cpp measures packed vs 64 vs 128: on
// the reference machine (AMD EPYC, no adjacent-line pairing) 64 and 128 measure the same and
// packed counters are ~3.8x slower at 2 threads (bench/README.md); 128 is kept for Intel.
//
// std::hardware_destructive_interference_size is not used: g++ defines it as 64 on x86-64
// and warns (-Winterference-size) that its value may change between compiler versions, which
// would make layouts ABI-fragile.
//
// Thread safety: only types and constants here; CachePadded<T> is as thread-safe as T.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace tally::lockfree {

#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__powerpc64__)
// x86-64: adjacent-line prefetch (above). AArch64: Apple M-series and Neoverse-V cores use
// 128-byte lines. POWER: 128-byte lines.
inline constexpr std::size_t kCacheLine = 128;
#else
inline constexpr std::size_t kCacheLine = 64;
#endif

// A T alone on its own cache line(s): aligned to kCacheLine and padded at the end, so neither
// the object before nor the object after it in memory can share its line.
//
//   struct Queue {
//     CachePadded<std::atomic<std::size_t>> head_;  // written by consumers
//     CachePadded<std::atomic<std::size_t>> tail_;  // written by producers
//   };
template <typename T>
struct alignas(kCacheLine) CachePadded {
  T value;

  CachePadded() = default;
  template <typename... Args>
  requires std::is_constructible_v<T, Args&&...>
  explicit CachePadded(std::in_place_t /*tag*/, Args&&... args)
      : value(std::forward<Args>(args)...) {}

  T& operator*() noexcept { return value; }
  const T& operator*() const noexcept { return value; }
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }
};

// alignas rounds sizeof up to a multiple of the alignment, which pads the end: an array of
// CachePadded<T> puts each element on its own line(s).
static_assert(alignof(CachePadded<char>) == kCacheLine);
static_assert(sizeof(CachePadded<char>) == kCacheLine);
static_assert(sizeof(CachePadded<char[kCacheLine + 1]>) == 2 * kCacheLine);

}  // namespace tally::lockfree
