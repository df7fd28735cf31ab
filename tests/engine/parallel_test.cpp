#include "tally/engine/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

using tally::Scheduler;

using Param = std::tuple<std::size_t, std::size_t, std::size_t>;  // threads, n, grain

class ParallelSweep : public ::testing::TestWithParam<Param> {};

// Oracle: parallel_for calls the body on disjoint subranges that cover [begin, end) exactly
// once: every index is visited once, none outside the range.
TEST_P(ParallelSweep, ForVisitsEveryIndexOnce) {
  const auto [threads, n, grain] = GetParam();
  Scheduler sched({.threads = threads});
  const std::size_t begin = 7;  // a non-zero start catches offset mistakes
  std::vector<std::atomic<int>> visits(n + begin + 1);
  tally::parallel_for(
      sched, begin, begin + n,
      [&](std::size_t lo, std::size_t hi) {
        ASSERT_LE(lo, hi);
        for (std::size_t i = lo; i < hi; ++i) visits[i].fetch_add(1, std::memory_order_relaxed);
      },
      grain);
  for (std::size_t i = 0; i < visits.size(); ++i) {
    const int expected = (i >= begin && i < begin + n) ? 1 : 0;
    ASSERT_EQ(visits[i].load(), expected) << "index " << i;
  }
}

// Oracle: parallel_for_each_index calls fn(i) exactly once for every i in [0, n), and for
// no other i.
TEST_P(ParallelSweep, ForEachIndexVisitsEveryIndexOnce) {
  const auto [threads, count, grain] = GetParam();
  (void)grain;                  // one task per index, whatever the sweep's grain
  const std::size_t n = count;  // a lambda captures a variable, not a structured binding
  Scheduler sched({.threads = threads});
  std::vector<std::atomic<int>> visits(n + 1);
  tally::parallel_for_each_index(sched, n, [&](std::size_t i) {
    ASSERT_LT(i, n);
    // Relaxed: a count; the return of parallel_for_each_index orders it before the reads below.
    visits[i].fetch_add(1, std::memory_order_relaxed);
  });
  for (std::size_t i = 0; i < visits.size(); ++i) {
    ASSERT_EQ(visits[i].load(), i < n ? 1 : 0) << "index " << i;
  }
}

// Oracle: parallel_reduce of i over [0, n) equals n(n-1)/2, whatever the split.
TEST_P(ParallelSweep, ReduceSumMatchesClosedForm) {
  const auto [threads, n, grain] = GetParam();
  Scheduler sched({.threads = threads});
  const std::uint64_t sum = tally::parallel_reduce(
      sched, 0, n, std::uint64_t{0},
      [](std::size_t lo, std::size_t hi, std::uint64_t acc) {
        for (std::size_t i = lo; i < hi; ++i) acc += i;
        return acc;
      },
      [](std::uint64_t a, std::uint64_t b) { return a + b; }, grain);
  EXPECT_EQ(sum, static_cast<std::uint64_t>(n) * (n - 1) / 2);
}

std::string sweep_name(const ::testing::TestParamInfo<Param>& param_info) {
  std::ostringstream name;
  name << std::get<0>(param_info.param) << "threads_n" << std::get<1>(param_info.param) << "_grain"
       << std::get<2>(param_info.param);
  return name.str();
}

INSTANTIATE_TEST_SUITE_P(Sweep, ParallelSweep,
                         ::testing::Combine(::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(1, 1000, 100003),
                                            ::testing::Values(0, 1, 64)),
                         sweep_name);

// Oracle: an empty range never calls the body; reduce returns the identity.
TEST(Parallel, EmptyRange) {
  Scheduler sched({.threads = 2});
  bool called = false;
  tally::parallel_for(sched, 5, 5, [&](std::size_t, std::size_t) { called = true; });
  EXPECT_FALSE(called);
  const int r = tally::parallel_reduce(
      sched, 3, 3, 42, [](std::size_t, std::size_t, int acc) { return acc + 1; },
      [](int a, int b) { return a + b; });
  EXPECT_EQ(r, 42);
}

// Oracle: nested parallel_for (each outer index runs an inner parallel_for on the same pool)
// visits every (i, j) exactly once and does not deadlock, at 1 worker too.
TEST(Parallel, NestedLoopsCompleteAndCoverEverything) {
  for (std::size_t threads : {1, 2, 4}) {
    Scheduler sched({.threads = threads});
    constexpr std::size_t kOuter = 40;
    constexpr std::size_t kInner = 500;
    std::vector<std::atomic<int>> visits(kOuter * kInner);
    tally::parallel_for(
        sched, 0, kOuter,
        [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) {
            tally::parallel_for(
                sched, 0, kInner,
                [&, i](std::size_t jlo, std::size_t jhi) {
                  for (std::size_t j = jlo; j < jhi; ++j) visits[i * kInner + j].fetch_add(1);
                },
                7);
          }
        },
        1);
    for (std::size_t k = 0; k < visits.size(); ++k) {
      ASSERT_EQ(visits[k].load(), 1) << "threads " << threads << " cell " << k;
    }
  }
}

// Oracle: nested parallel_reduce inside a parallel_reduce body gives the exact double sum.
TEST(Parallel, NestedReduceIsExact) {
  Scheduler sched({.threads = 2});
  constexpr std::size_t kN = 300;
  const std::uint64_t total = tally::parallel_reduce(
      sched, 0, kN, std::uint64_t{0},
      [&](std::size_t lo, std::size_t hi, std::uint64_t acc) {
        for (std::size_t i = lo; i < hi; ++i) {
          acc += tally::parallel_reduce(
              sched, 0, kN, std::uint64_t{0},
              [i](std::size_t jlo, std::size_t jhi, std::uint64_t a) {
                for (std::size_t j = jlo; j < jhi; ++j) a += i * j;
                return a;
              },
              [](std::uint64_t a, std::uint64_t b) { return a + b; }, 3);
        }
        return acc;
      },
      [](std::uint64_t a, std::uint64_t b) { return a + b; }, 1);
  const std::uint64_t s = kN * (kN - 1) / 2;
  EXPECT_EQ(total, s * s);
}

// Oracle: an exception thrown by the body reaches the caller (same type and message), after
// every running piece finished; later pieces stop starting.
TEST(Parallel, BodyExceptionIsRethrown) {
  Scheduler sched({.threads = 2});
  std::atomic<std::size_t> visited{0};
  try {
    tally::parallel_for(
        sched, 0, 100000,
        [&](std::size_t lo, std::size_t hi) {
          visited.fetch_add(hi - lo);
          if (lo <= 5000 && 5000 < hi) throw std::runtime_error("bad record at 5000");
        },
        10);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "bad record at 5000");
  }
  EXPECT_LT(visited.load(), 100000u);
}

}  // namespace
