// False sharing between per-thread counters, and why kCacheLine is 128 on x86-64.
//
// Each benchmark thread increments its own counter; the counters sit in one array whose
// element stride is the layout under test:
//   Packed  : 8-byte counters side by side, all in one cache line;
//   Pad64   : one counter per 64-byte slot (the nominal line size);
//   Pad128  : one counter per 128-byte slot (kCacheLine: adjacent-line prefetch pairs);
// No thread reads another's counter, so any slowdown with more threads is the coherence
// traffic of sharing lines, nothing else. Run at 1 and 2 threads (and 4, oversubscribed):
// the ratio Packed/Pad128 at 2 threads is the price of false sharing on this machine, and
// Pad64 vs Pad128 shows whether neighbouring lines interfere here.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tally/lockfree/cache_line.hpp"

namespace {

constexpr int kMaxThreads = 8;

template <std::size_t kStride>
struct alignas(kStride) Slot {
  std::atomic<std::uint64_t> value{0};
};

// One array per layout, aligned to 128 so that element 0 starts a line pair; the packed
// array is smaller than one line, so all its counters share it.
template <std::size_t kStride>
struct alignas(128) Counters {
  Slot<kStride> slots[kMaxThreads];
};

template <std::size_t kStride>
void BM_FalseSharing(benchmark::State& state) {
  static Counters<kStride> counters;
  auto& mine = counters.slots[state.thread_index()].value;
  for (auto _ : state) {
    // Relaxed load + store rather than fetch_add: a plain increment, as a per-thread
    // statistics counter does; the cost measured is the line moving between cores. The
    // empty asm is a compiler barrier: without it the compiler may merge the 64 increments
    // into one add, and no line would move at all.
    for (int i = 0; i < 64; ++i) {
      mine.store(mine.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      asm volatile("" ::: "memory");
    }
  }
  state.SetItemsProcessed(state.iterations() * 64);
}

static_assert(sizeof(Slot<8>) == 8);
static_assert(sizeof(Slot<64>) == 64);
static_assert(sizeof(Slot<tally::lockfree::kCacheLine>) == tally::lockfree::kCacheLine);

void BM_FalseSharing_Packed(benchmark::State& state) { BM_FalseSharing<8>(state); }
void BM_FalseSharing_Pad64(benchmark::State& state) { BM_FalseSharing<64>(state); }
void BM_FalseSharing_Pad128(benchmark::State& state) { BM_FalseSharing<128>(state); }

BENCHMARK(BM_FalseSharing_Packed)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_FalseSharing_Pad64)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_FalseSharing_Pad128)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
