// The benchmarks behind the gbench_* fixtures: one family per shape of entry that Google
// Benchmark's JSON reporter writes, so that `tally compare` is tested on the real output of
// the library rather than on hand-written imitations. Not part of the build:
// ./measure_gbench_shapes compiles it against Debian's libbenchmark-dev and runs it.
//
// The work is deliberately trivial: the fixtures are about the shape of the report, and the
// numbers only need to be real.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace {

std::vector<std::int64_t> descending(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.rbegin(), v.rend(), 0);
  return v;
}

// gbench_complexity: a family with ->Complexity(), which adds the aggregates
// BM_Complexity_Sort_BigO (cpu_coefficient, real_coefficient, big_o; no real_time) and
// BM_Complexity_Sort_RMS (rms only; no time_unit either).
void BM_Complexity_Sort(benchmark::State& state) {
  const std::vector<std::int64_t> input = descending(state.range(0));
  for (auto _ : state) {
    std::vector<std::int64_t> v = input;
    std::sort(v.begin(), v.end());
    benchmark::DoNotOptimize(v.data());
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_Complexity_Sort)->RangeMultiplier(4)->Range(64, 4096)->Complexity(benchmark::oNLogN);

// gbench_errors: a benchmark whose every run fails (error_occurred, error_message, and no
// aggregates) next to one whose odd-numbered runs fail (aggregates over the others) and one
// that never fails.
void BM_Errors_Always(benchmark::State& state) {
  for (auto _ : state) {
    state.SkipWithError("the resource is unavailable");
    break;
  }
}
BENCHMARK(BM_Errors_Always);

void BM_Errors_Sometimes(benchmark::State& state) {
  static int calls = 0;
  const bool fail = calls++ % 2 == 1;
  for (auto _ : state) {
    if (fail) {
      state.SkipWithError("every other run fails");
      break;
    }
    benchmark::DoNotOptimize(calls);
  }
}
BENCHMARK(BM_Errors_Sometimes);

void BM_Errors_Never(benchmark::State& state) {
  std::int64_t x = 0;
  for (auto _ : state) benchmark::DoNotOptimize(++x);
}
BENCHMARK(BM_Errors_Never);

// gbench_nonfinite: counters the JSON reporter writes as NaN, Infinity and -Infinity (bare
// tokens, not JSON numbers), next to finite ones; their aggregates are non-finite too.
void BM_NonFinite_Counters(benchmark::State& state) {
  std::int64_t x = 0;
  for (auto _ : state) benchmark::DoNotOptimize(++x);
  state.counters["nan"] = std::numeric_limits<double>::quiet_NaN();
  state.counters["infinity"] = std::numeric_limits<double>::infinity();
  state.counters["minus_infinity"] = -std::numeric_limits<double>::infinity();
  state.counters["finite"] = 42;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NonFinite_Counters);

// gbench_units: every time unit, thread counts, a label, the built-in rate counters, user
// counters with flags, and a user-defined statistic next to mean/median/stddev/cv.
void BM_Units_Sum(benchmark::State& state) {
  const std::vector<std::int64_t> input = descending(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::accumulate(input.begin(), input.end(), std::int64_t{0}));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * state.range(0) *
                          static_cast<std::int64_t>(sizeof(std::int64_t)));
  state.counters["elements"] = static_cast<double>(state.range(0));
  state.counters["sums"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                              benchmark::Counter::kAvgThreadsRate);
  state.SetLabel("sum of " + std::to_string(state.range(0)) + " integers");
}
double largest(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }
BENCHMARK(BM_Units_Sum)
    ->Arg(1 << 10)
    ->Unit(benchmark::kNanosecond)
    ->ComputeStatistics("max", largest);
BENCHMARK(BM_Units_Sum)->Arg(1 << 12)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Units_Sum)->Arg(1 << 14)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Units_Sum)->Arg(1 << 16)->Unit(benchmark::kSecond);
BENCHMARK(BM_Units_Sum)->Arg(1 << 10)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
