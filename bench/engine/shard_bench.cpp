// A sharded-lock aggregator in miniature: false sharing between shards, and lock contention
// as a function of shard count and threads. The engine's Strategy::kSharded (engine/engine.hpp)
// is built the same way (one mutex and one table per shard, each shard alone on its cache
// lines); this file keeps the pattern self-contained so that its two costs can be measured
// without the rest of a word-count run around them.
//
// Each thread draws random keys (a per-thread xorshift, kDistinctKeys distinct values),
// hashes each to one of `shards` shards, takes that shard's mutex and adds the key to the
// shard's counter. Every acquisition first tries try_lock(); one that finds the mutex taken
// counts as contended and then blocks in lock(), as the engine does.
//
//  - BM_ShardedAggregate_<Layout>/shards:S/real_time/threads:T, for S in 1, 2, 4, ... 256 and
//    T in 1, 2, 4, 8 (4 and 8 oversubscribe a 2-core machine on purpose: a lock holder that
//    loses its core makes every waiter wait for the scheduler).
//    Layout Padded: each shard alignas(kCacheLine), so no two shards share a line (what the
//    engine does). Layout Packed: shards side by side (a std::mutex is 40 bytes on glibc, so
//    two or three shards share each line): updates to different shards still fight over lines.
//  - items_per_second: key updates per second, all threads together.
//  - contended: the fraction of acquisitions whose try_lock failed (averaged over threads; each
//    thread counts its own, in a local variable, so counting shares nothing).
//
// Two ratios come out of one run: Packed / Padded at the same S and T is the price of false
// sharing between shards; best / worst S at the same T shows how much sharding buys against
// one global lock, and where more shards stop helping.
//
// After each run the shards' update counts are checked against the updates made, so a broken
// lock (lost increments) reports an error instead of a fast number.
#include <benchmark/benchmark.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "tally/lockfree/cache_line.hpp"

namespace {

using tally::lockfree::kCacheLine;

// Updates per benchmark iteration of one thread: enough to make the loop overhead noise.
constexpr int kBatch = 64;
// Distinct keys drawn: many more than shards, so every shard sees traffic.
constexpr std::uint64_t kDistinctKeys = std::uint64_t{1} << 16;

enum class ShardLayout { kPadded, kPacked };

struct PackedShard {
  std::mutex mu;
  std::uint64_t updates = 0;  // guarded by mu
  std::uint64_t sum = 0;      // guarded by mu: the work done under the lock
};
struct alignas(kCacheLine) PaddedShard : PackedShard {};

static_assert(sizeof(PaddedShard) % kCacheLine == 0, "padded shards must not share lines");
static_assert(sizeof(PackedShard) < kCacheLine, "packed shards must share lines");

template <ShardLayout kLayout>
using Shard = std::conditional_t<kLayout == ShardLayout::kPadded, PaddedShard, PackedShard>;

// The shards of one run. Built by thread 0 before the timed loop and torn down after it; the
// benchmark library's start and stop barriers order that against the other threads' use.
template <ShardLayout kLayout>
struct Aggregator {
  // REQUIRES: count is a power of two.
  explicit Aggregator(std::size_t count)
      : shards(count), shift(count == 1 ? 0 : 64 - std::countr_zero(count)) {}

  // Fibonacci hashing: the top bits of key * 2^64/phi, which spreads consecutive keys.
  std::size_t shard_of(std::uint64_t key) const noexcept {
    return shift == 0 ? 0 : static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift);
  }

  std::vector<Shard<kLayout>> shards;
  const int shift;  // 64 - log2(shards), or 0 for a single shard
};

template <ShardLayout kLayout>
std::unique_ptr<Aggregator<kLayout>>& Current() {
  static std::unique_ptr<Aggregator<kLayout>> current;
  return current;
}

template <ShardLayout kLayout>
void BM_ShardedAggregate(benchmark::State& state) {
  const auto shards = static_cast<std::size_t>(state.range(0));
  if (state.thread_index() == 0) Current<kLayout>() = std::make_unique<Aggregator<kLayout>>(shards);

  // xorshift64, seeded per thread so threads draw different keys.
  std::uint64_t rng = 0x2545F4914F6CDD1DULL * static_cast<std::uint64_t>(state.thread_index() + 1);
  std::uint64_t acquisitions = 0;
  std::uint64_t contended = 0;
  for (auto _ : state) {
    Aggregator<kLayout>& agg = *Current<kLayout>();
    for (int i = 0; i < kBatch; ++i) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      const std::uint64_t key = rng % kDistinctKeys;
      Shard<kLayout>& shard = agg.shards[agg.shard_of(key)];
      std::unique_lock lock(shard.mu, std::try_to_lock);
      if (!lock.owns_lock()) {
        ++contended;
        lock.lock();
      }
      ++shard.updates;
      shard.sum += key;
    }
    acquisitions += kBatch;
  }

  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["contended"] = benchmark::Counter(
      acquisitions == 0 ? 0.0 : static_cast<double>(contended) / static_cast<double>(acquisitions),
      benchmark::Counter::kAvgThreads);
  // Every thread has left the timed loop (the library's stop barrier), so thread 0 can check
  // that the shards hold every update of every thread, and then tear them down.
  if (state.thread_index() == 0) {
    std::uint64_t updates = 0;
    for (auto& s : Current<kLayout>()->shards) {
      std::scoped_lock lock(s.mu);
      updates += s.updates;
    }
    const auto expected = static_cast<std::uint64_t>(state.iterations()) * kBatch *
                          static_cast<std::uint64_t>(state.threads());
    if (updates != expected) {
      state.SkipWithError(("shards hold " + std::to_string(updates) + " updates, expected " +
                           std::to_string(expected))
                              .c_str());
    }
    Current<kLayout>().reset();
  }
}

void RegisterAll() {
  const auto register_layout = [](const char* name, auto bench) {
    for (int threads : {1, 2, 4, 8}) {
      benchmark::RegisterBenchmark(name, bench)
          ->ArgName("shards")
          ->RangeMultiplier(2)
          ->Range(1, 256)
          ->Threads(threads)
          ->UseRealTime()
          ->MinTime(0.1);
    }
  };
  register_layout("BM_ShardedAggregate_Padded", BM_ShardedAggregate<ShardLayout::kPadded>);
  register_layout("BM_ShardedAggregate_Packed", BM_ShardedAggregate<ShardLayout::kPacked>);
}

}  // namespace

int main(int argc, char** argv) {
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
