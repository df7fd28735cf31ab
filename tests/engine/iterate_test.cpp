// iterate(): a job run round after round over one plan, with state carried between rounds.
//
// The job of these tests: the k-th smallest of an array of integers by bisection. The state
// is an interval [lo, hi) holding the answer; each round counts the elements below its middle
// (a dense job of one key) and keeps the half that holds the answer, until hi - lo == 1.
// From [0, 2^b) it takes exactly b rounds, whatever the data: a known fixed point (the k-th
// smallest, std::nth_element's) reached in a known number of rounds.
#include "tally/engine/iterate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tests/support/scratch_dir.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::IterateOptions;
using tally::Phase;
using tally::RunOptions;
using tally::RunOutput;
using tally::StatusCode;

constexpr int kBits = 20;  // elements are below 2^kBits: kBits rounds from [0, 2^kBits)

// How many elements are below `threshold`; throws if `fail` (a failing round).
struct CountBelow {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::uint64_t threshold = 0;
  bool fail = false;
  std::size_t key_count() const { return 1; }
  template <typename Out>
  void map(const tally::Record& rec, Out& out) const {
    if (fail) throw std::runtime_error("this round fails");
    if (tally::elements_of<std::uint64_t>(rec.bytes)[0] < threshold) out.emit(0, 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

struct Interval {
  std::uint64_t lo = 0;
  std::uint64_t hi = std::uint64_t{1} << kBits;
  std::size_t steps = 0;  // step calls, to check that no round runs twice or is skipped
};

std::vector<std::uint64_t> random_elements(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> xs(n);
  for (auto& x : xs) x = rng() >> (64 - kBits);
  return xs;
}

std::uint64_t kth_smallest(std::vector<std::uint64_t> xs, std::size_t k) {
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k - 1), xs.end());
  return xs[k - 1];
}

// Bisection towards the k-th smallest (1-based): the answer a satisfies
// count(< a) < k <= count(< a + 1); the interval keeps count(< lo) < k <= count(< hi).
struct Bisect {
  std::uint64_t k;
  std::size_t fail_on_round = 0;  // 0: no round fails
  std::uint64_t middle(const Interval& s) const { return s.lo + (s.hi - s.lo) / 2; }
  CountBelow job(const Interval& s) const {
    return CountBelow{.threshold = middle(s), .fail = s.steps + 1 == fail_on_round};
  }
  bool step(Interval& s, RunOutput<CountBelow>& out) const {
    ++s.steps;
    const std::uint64_t below = *out.table.find(0);
    if (below >= k) {
      s.hi = middle(s);
    } else {
      s.lo = middle(s);
    }
    return s.hi - s.lo == 1;
  }
};

class Iterate : public ::testing::TestWithParam<std::size_t> {
 protected:
  Engine engine_{{.threads = GetParam()}};
  std::vector<std::uint64_t> xs_ = random_elements(3000, 42);
  Inputs inputs_ = Inputs::array<std::uint64_t>("xs", xs_);
  // Tiny splits: many map tasks per round.
  RunOptions options_{.split_bytes = 37 * sizeof(std::uint64_t),
                      .records = tally::array_records<std::uint64_t>()};
};

// Oracle: the fixed point is std::nth_element's k-th smallest, reached after exactly kBits
// rounds (each halves [0, 2^kBits)); the report is the rounds' together: every element
// mapped once per round, over the one plan's 82 splits (of 37 elements), rounds and
// converged set.
TEST_P(Iterate, ReachesTheFixedPoint) {
  for (const std::uint64_t k : {std::uint64_t{1}, std::uint64_t{1500}, std::uint64_t{3000}}) {
    const Bisect bisect{.k = k};
    auto result = tally::iterate(
        engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return bisect.job(s); },
        [&](Interval& s, RunOutput<CountBelow>& out) { return bisect.step(s, out); });
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_EQ(result->state.lo, kth_smallest(xs_, k)) << "k " << k;
    EXPECT_TRUE(result->converged);
    EXPECT_EQ(result->rounds, static_cast<std::size_t>(kBits));
    EXPECT_EQ(result->state.steps, result->rounds);
    EXPECT_EQ(result->report.rounds, result->rounds);
    EXPECT_TRUE(result->report.converged);
    EXPECT_EQ(result->report.splits, 82u);  // ceil(3000 / 37)
    EXPECT_EQ(result->report.records_in, kBits * xs_.size());
    EXPECT_EQ(result->report.workers, GetParam());
    EXPECT_EQ(result->report.strategy, "dense");
  }
}

// Oracle: max_rounds rounds and no more; not converged; the interval after them is the one
// the same number of sequential bisection steps gives, and still holds the answer.
TEST_P(Iterate, StopsAtMaxRounds) {
  const Bisect bisect{.k = 700};
  auto result = tally::iterate(
      engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return bisect.job(s); },
      [&](Interval& s, RunOutput<CountBelow>& out) { return bisect.step(s, out); },
      IterateOptions{.max_rounds = 5});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->rounds, 5u);
  EXPECT_FALSE(result->converged);
  EXPECT_FALSE(result->report.converged);
  EXPECT_EQ(result->report.rounds, 5u);
  EXPECT_EQ(result->state.hi - result->state.lo, std::uint64_t{1} << (kBits - 5));
  const std::uint64_t answer = kth_smallest(xs_, 700);
  EXPECT_LE(result->state.lo, answer);
  EXPECT_LT(answer, result->state.hi);

  auto none = tally::iterate(
      engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return bisect.job(s); },
      [&](Interval& s, RunOutput<CountBelow>& out) { return bisect.step(s, out); },
      IterateOptions{.max_rounds = 0});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->rounds, 0u);
  EXPECT_FALSE(none->converged);
  EXPECT_EQ(none->state.lo, 0u);
}

// Oracle: a stop requested between rounds (by round 3's step) starts no fourth round, and
// iterate returns kCancelled naming the round that did not start.
TEST_P(Iterate, StopBetweenRoundsStartsNoOther) {
  std::stop_source stop;
  options_.stop = stop.get_token();
  const Bisect bisect{.k = 10};
  std::size_t jobs_made = 0;
  auto result = tally::iterate(
      engine_, inputs_, options_, Interval{},
      [&](const Interval& s) {
        ++jobs_made;
        return bisect.job(s);
      },
      [&](Interval& s, RunOutput<CountBelow>& out) {
        if (s.steps + 1 == 3) stop.request_stop();
        return bisect.step(s, out);
      });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(result.status().message(), "stopped before round 4");
  EXPECT_EQ(jobs_made, 3u);
}

// Oracle: a deadline already past ends the iteration before its first round.
TEST_P(Iterate, DeadlineReachesTheRounds) {
  options_.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  const Bisect bisect{.k = 10};
  std::size_t jobs_made = 0;
  auto result = tally::iterate(
      engine_, inputs_, options_, Interval{},
      [&](const Interval& s) {
        ++jobs_made;
        return bisect.job(s);
      },
      [&](Interval& s, RunOutput<CountBelow>& out) { return bisect.step(s, out); });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(jobs_made, 0u);
}

// Oracle: a round whose map throws ends the iteration with that round's error, named; no
// step runs for it or after it. An exception from step is a failed round too.
TEST_P(Iterate, FailedRoundReturnsItsStatus) {
  const Bisect failing{.k = 10, .fail_on_round = 2};
  std::size_t steps = 0;
  auto result = tally::iterate(
      engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return failing.job(s); },
      [&](Interval& s, RunOutput<CountBelow>& out) {
        ++steps;
        return failing.step(s, out);
      });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
  EXPECT_EQ(result.status().message().rfind("round 2: input 'xs' record ", 0), 0u)
      << result.status().message();
  EXPECT_NE(result.status().message().find("this round fails"), std::string::npos);
  EXPECT_EQ(steps, 1u);

  const Bisect bisect{.k = 10};
  auto thrown = tally::iterate(
      engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return bisect.job(s); },
      [&](Interval& s, RunOutput<CountBelow>& out) -> bool {
        if (s.steps == 1) throw std::runtime_error("step gave up");
        return bisect.step(s, out);
      });
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.status().message(), "round 2: exception: step gave up");
}

// Oracle: the plan is made once: the split phase runs once for it, before any round, then
// once per round around the given plan (no opening or splitting: Engine::run's split phase
// over a plan); and the report's splits are the plan's, not the rounds' sum.
TEST_P(Iterate, PlansOnce) {
  std::vector<std::pair<Phase, bool>> phases;
  options_.on_phase = [&](Phase p, bool starting) { phases.emplace_back(p, starting); };
  const Bisect bisect{.k = 10};
  auto result = tally::iterate(
      engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return bisect.job(s); },
      [&](Interval& s, RunOutput<CountBelow>& out) { return bisect.step(s, out); },
      IterateOptions{.max_rounds = 3});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  // The plan's split, then each round's split, map, merge, finalize.
  ASSERT_EQ(phases.size(), 2 + 3 * 8u);
  EXPECT_EQ(phases[0], std::make_pair(Phase::kSplit, true));
  EXPECT_EQ(phases[1], std::make_pair(Phase::kSplit, false));
  for (std::size_t round = 0; round < 3; ++round) {
    const std::size_t at = 2 + round * 8;
    EXPECT_EQ(phases[at], std::make_pair(Phase::kSplit, true));
    EXPECT_EQ(phases[at + 2], std::make_pair(Phase::kMap, true));
  }
  EXPECT_EQ(result->report.splits, 82u);
}

// Oracle: the report's text and JSON say how many rounds ran and whether they converged; a
// report of one run says nothing of rounds.
TEST_P(Iterate, ReportShowsTheRounds) {
  const Bisect bisect{.k = 10};
  auto result = tally::iterate(
      engine_, inputs_, options_, Interval{}, [&](const Interval& s) { return bisect.job(s); },
      [&](Interval& s, RunOutput<CountBelow>& out) { return bisect.step(s, out); },
      IterateOptions{.max_rounds = 4});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_NE(result->report.to_text().find("\n4 rounds, did not converge\n"), std::string::npos)
      << result->report.to_text();
  EXPECT_NE(result->report.to_json().find(R"("iterations":{"rounds":4,"converged":false})"),
            std::string::npos);
  const tally::RunReport single;
  EXPECT_EQ(single.to_text().find("round"), std::string::npos);
  EXPECT_EQ(single.to_json().find("iterations"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Threads, Iterate, ::testing::Values(1, 2, 4), [](const auto& param_info) {
  return "threads" + std::to_string(param_info.param);
});

// Oracle: add_run sums times and counters, per-worker lists element by element (to the
// longer length), and keeps the larger of inputs, splits and peaks.
TEST(AddRun, SumsTheRuns) {
  tally::RunReport total;
  total.map_seconds = 1.5;
  total.records_in = 10;
  total.splits = 4;
  total.peak_rss_bytes = 100;
  total.tasks_run_per_worker = {1, 2};
  tally::RunReport later;
  later.strategy = "dense";
  later.map_seconds = 0.5;
  later.split_seconds = 0.25;
  later.records_in = 5;
  later.splits = 3;
  later.peak_rss_bytes = 300;
  later.distinct_keys = 7;
  later.tasks_run_per_worker = {10, 20, 30};
  tally::add_run(total, later);
  EXPECT_EQ(total.strategy, "dense");
  EXPECT_EQ(total.map_seconds, 2.0);
  EXPECT_EQ(total.split_seconds, 0.25);
  EXPECT_EQ(total.records_in, 15u);
  EXPECT_EQ(total.splits, 4u);
  EXPECT_EQ(total.peak_rss_bytes, 300u);
  EXPECT_EQ(total.distinct_keys, 7u);
  EXPECT_EQ(total.tasks_run_per_worker, (std::vector<std::uint64_t>{11, 22, 30}));
}

// Oracle: the inputs are opened once, by the plan: a file removed after the first round is
// still read from what was opened, and the fixed point is the same as over the array.
class IterateOverFile : public tally::testing::ScratchDirTest {};

TEST_F(IterateOverFile, OpensTheInputsOnce) {
  const std::vector<std::uint64_t> xs = random_elements(500, 7);
  const std::string path = write("xs.bin", std::string(reinterpret_cast<const char*>(xs.data()),
                                                       xs.size() * sizeof(std::uint64_t)));
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::paths({path});
  const RunOptions options{.split_bytes = 64, .records = tally::array_records<std::uint64_t>()};
  const Bisect bisect{.k = 250};
  const auto job = [&](const Interval& s) { return bisect.job(s); };
  auto result = tally::iterate(engine, inputs, options, Interval{}, job,
                               [&](Interval& s, RunOutput<CountBelow>& out) {
                                 std::filesystem::remove(path);
                                 return bisect.step(s, out);
                               });
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(result->state.lo, kth_smallest(xs, 250));
  EXPECT_EQ(result->rounds, static_cast<std::size_t>(kBits));
}

}  // namespace
