// RunOptions::on_phase: the phase callbacks of Engine::run.
//
// Oracle: for a run that succeeds, the callbacks are exactly split start/end, map start/end,
// merge start/end, finalize start/end, in that order, every one on the thread that called
// run(); no map() call happens outside the map phase's start and end (the map phase starts
// before the first record and ends after the last), so the number of records mapped is 0
// at map start and every record at map end and after. For a run that fails in a phase, every
// phase that started has ended, and no later phase starts. A phase's seconds in the report
// exclude the time spent inside its callbacks: callbacks that sleep 150 ms each add nothing
// to any *_seconds (each stays far below 150 ms on this tiny input).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Phase;
using tally::Record;
using tally::RunOptions;
using tally::Strategy;

// Counts records (one key per record's first byte) and how many map() calls have happened.
struct CountingJob {
  using Key = std::string_view;
  using Value = std::uint64_t;
  std::atomic<std::uint64_t>* mapped;
  bool throw_in_map = false;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    mapped->fetch_add(1, std::memory_order_relaxed);  // read after run's joins: relaxed
    if (throw_in_map) throw std::runtime_error("map failed on purpose");
    if (!rec.bytes.empty()) out.emit(rec.bytes.substr(0, 1), 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

struct Event {
  Phase phase;
  bool starting;
  std::thread::id thread;
  std::uint64_t mapped;  // records mapped when the callback ran
  bool operator==(const Event&) const = default;
};

std::string describe(const std::vector<Event>& events) {
  std::string s;
  for (const Event& e : events) {
    s += std::string(to_string(e.phase)) + (e.starting ? "+ " : "- ");
  }
  return s;
}

// `records` short records over 4 inputs (with a small split size, many map tasks).
Inputs make_inputs(std::size_t records) {
  std::vector<std::pair<std::string, std::string>> named;
  for (int i = 0; i < 4; ++i) {
    std::string text;
    for (std::size_t r = 0; r < records / 4; ++r) text += "line " + std::to_string(r) + "\n";
    named.emplace_back("input" + std::to_string(i), std::move(text));
  }
  return Inputs::buffers(std::move(named));
}

class PhaseHook : public ::testing::TestWithParam<std::tuple<Strategy, std::size_t>> {};

TEST_P(PhaseHook, CallsEveryPhaseInOrderOnTheCallingThread) {
  const auto [strategy, threads] = GetParam();
  constexpr std::size_t kRecords = 4000;
  std::atomic<std::uint64_t> mapped{0};
  std::vector<Event> events;
  RunOptions options;
  options.strategy = strategy;
  options.split_bytes = 1024;
  options.combiner_keys = 2;  // kSharded, kPartitioned: hand tables on during the map phase
  options.on_phase = [&](Phase p, bool starting) {
    events.push_back(
        {p, starting, std::this_thread::get_id(), mapped.load(std::memory_order_relaxed)});
  };
  Engine engine({.threads = threads});
  Inputs inputs = make_inputs(kRecords);
  auto result = engine.run(CountingJob{.mapped = &mapped}, inputs, options);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_GT(result->report.splits, 4u);

  const auto me = std::this_thread::get_id();
  const std::vector<Event> expected = {
      {Phase::kSplit, true, me, 0},
      {Phase::kSplit, false, me, 0},
      {Phase::kMap, true, me, 0},
      {Phase::kMap, false, me, kRecords},
      {Phase::kMerge, true, me, kRecords},
      {Phase::kMerge, false, me, kRecords},
      {Phase::kFinalize, true, me, kRecords},
      {Phase::kFinalize, false, me, kRecords},
  };
  EXPECT_EQ(events, expected) << describe(events);
}

INSTANTIATE_TEST_SUITE_P(StrategiesAndThreads, PhaseHook,
                         ::testing::Combine(::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                                              Strategy::kPartitioned),
                                            ::testing::Values(std::size_t{1}, std::size_t{2},
                                                              std::size_t{4})),
                         [](const auto& param_info) {
                           return std::string(to_string(std::get<0>(param_info.param))) + "_" +
                                  std::to_string(std::get<1>(param_info.param)) + "threads";
                         });

TEST(PhaseHookFailure, AFailedMapPhaseEndsAndNothingFollows) {
  std::atomic<std::uint64_t> mapped{0};
  std::vector<std::pair<Phase, bool>> events;
  RunOptions options;
  options.on_phase = [&](Phase p, bool starting) { events.emplace_back(p, starting); };
  Engine engine({.threads = 2});
  Inputs inputs = make_inputs(400);
  auto result = engine.run(CountingJob{.mapped = &mapped, .throw_in_map = true}, inputs, options);
  ASSERT_FALSE(result.ok());
  const std::vector<std::pair<Phase, bool>> expected = {
      {Phase::kSplit, true}, {Phase::kSplit, false}, {Phase::kMap, true}, {Phase::kMap, false}};
  EXPECT_EQ(events, expected);
}

TEST(PhaseHookFailure, AnInputThatCannotOpenEndsTheSplitPhase) {
  std::atomic<std::uint64_t> mapped{0};
  std::vector<std::pair<Phase, bool>> events;
  RunOptions options;
  options.on_phase = [&](Phase p, bool starting) { events.emplace_back(p, starting); };
  Engine engine({.threads = 1});
  Inputs inputs = Inputs::paths({"/nonexistent/tally-phase-hook-test"});
  auto result = engine.run(CountingJob{.mapped = &mapped}, inputs, options);
  ASSERT_FALSE(result.ok());
  const std::vector<std::pair<Phase, bool>> expected = {{Phase::kSplit, true},
                                                        {Phase::kSplit, false}};
  EXPECT_EQ(events, expected);
}

TEST(PhaseHookTiming, PhaseSecondsExcludeTheCallbacks) {
  constexpr auto kSleep = std::chrono::milliseconds(150);
  std::atomic<std::uint64_t> mapped{0};
  RunOptions options;
  options.on_phase = [&](Phase, bool) { std::this_thread::sleep_for(kSleep); };
  Engine engine({.threads = 2});
  Inputs inputs = make_inputs(400);
  auto result = engine.run(CountingJob{.mapped = &mapped}, inputs, options);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const tally::RunReport& r = result->report;
  // Half the sleep: room for a loaded or sanitized machine, far from the 150 ms (or 300 ms)
  // the callbacks would add.
  constexpr double kLimit = 0.075;
  EXPECT_LT(r.split_seconds, kLimit);
  EXPECT_LT(r.map_seconds, kLimit);
  EXPECT_LT(r.merge_seconds, kLimit);
  EXPECT_LT(r.finalize_seconds, kLimit);
}

TEST(PhaseNames, AreTheLowercaseNames) {
  EXPECT_EQ(to_string(Phase::kSplit), "split");
  EXPECT_EQ(to_string(Phase::kMap), "map");
  EXPECT_EQ(to_string(Phase::kMerge), "merge");
  EXPECT_EQ(to_string(Phase::kFinalize), "finalize");
}

}  // namespace
