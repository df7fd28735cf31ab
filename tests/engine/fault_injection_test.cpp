// Fault injection: Engine::run with a fault fired at a seeded random point, 1,000 seeds per
// strategy. The faults: map() throws; an allocation anywhere in the run fails
// (tests/support/failing_allocations.hpp); a stop is requested; the deadline passes; a read error
// (map() fails with kIoError, as a shrunken input does).
//
// Oracle, for every run: it returns (a hang fails the test by ctest's timeout); no thread is
// left behind (/proc/self/task counts the same before and after); and the result is either
// exactly the sequential count of every line, or the error that fault gives (kCancelled,
// kDeadlineExceeded, kResourceExhausted for the allocation, the injected message for the
// throws) and nothing else. A fault whose point lies past the run's end must not show.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tests/support/failing_allocations.hpp"
#include "tests/support/strategy_printer.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RunOptions;
using tally::Status;
using tally::StatusCode;
using tally::Strategy;
using tally::testing::FailAllocationAfter;

enum class Fault { kThrowInMap, kAllocation, kStop, kDeadline, kReadError };
constexpr int kFaultKinds = 5;

// Where and how the fault fires: map() counts records down to it.
struct FaultPlan {
  Fault kind = Fault::kThrowInMap;
  std::atomic<std::int64_t> records_left{0};
  std::stop_source stop;
  std::chrono::steady_clock::time_point deadline;
};

struct CountLines {
  using Key = std::string_view;
  using Value = std::uint64_t;
  FaultPlan* plan = nullptr;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    // acq_rel: exactly one record sees the count reach zero.
    if (plan->records_left.fetch_sub(1, std::memory_order_acq_rel) == 0) fire();
    out.emit(rec.bytes, 1);
  }
  static Value combine(Value a, Value b) { return a + b; }

 private:
  void fire() const {
    switch (plan->kind) {
      case Fault::kThrowInMap:
        throw std::runtime_error("injected map failure");
      case Fault::kReadError:
        throw tally::StatusError(Status::IoError("injected read error"));
      case Fault::kStop:
        plan->stop.request_stop();
        return;
      case Fault::kDeadline:
        std::this_thread::sleep_until(plan->deadline);  // the run's deadline passes here
        return;
      case Fault::kAllocation:
        return;  // armed before the run instead
    }
  }
};

std::size_t live_threads() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Inputs with many repeated lines and many splits (split_bytes is small).
std::vector<std::pair<std::string, std::string>> make_inputs(
    std::map<std::string, std::uint64_t>& oracle, std::size_t& records) {
  std::mt19937_64 rng(42);
  std::vector<std::pair<std::string, std::string>> inputs;
  records = 0;
  for (int i = 0; i < 4; ++i) {
    std::string text;
    for (int line = 0; line < 300; ++line) {
      const std::string key = "k" + std::to_string(rng() % 97);
      text += key + "\n";
      ++oracle[key];
      ++records;
    }
    inputs.emplace_back("in" + std::to_string(i), std::move(text));
  }
  return inputs;
}

constexpr int kSeeds = 1000;

class FaultInjection : public ::testing::TestWithParam<Strategy> {};

TEST_P(FaultInjection, EveryRunReturnsExactlyOrWithItsFaultsError) {
  std::map<std::string, std::uint64_t> oracle;
  std::size_t records = 0;
  const auto buffers = make_inputs(oracle, records);
  // A thread started and joined first: a sanitizer's runtime starts a thread of its own with
  // the process's first one, which must not count as the engine's.
  std::thread([] {}).join();
  const std::size_t threads_outside = live_threads();
  std::optional<Engine> engine(std::in_place, tally::EngineOptions{.threads = 3});

  // The allocations a clean run makes, to place allocation faults among them.
  std::int64_t allocations_per_run = 0;
  {
    FaultPlan plan;
    plan.records_left.store(INT64_MAX / 2);
    Inputs inputs = Inputs::buffers(buffers);
    // With a deadline, so that the scheduler's timer thread (started by the first deadline,
    // kept until the engine goes) is counted among the engine's own threads.
    RunOptions options{.strategy = GetParam(), .split_bytes = 256, .combiner_keys = 16};
    options.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
    constexpr std::int64_t kPlenty = INT64_MAX / 2;
    const FailAllocationAfter counting(kPlenty);
    auto clean = engine->run(CountLines{.plan = &plan}, inputs, options);
    allocations_per_run = kPlenty - counting.remaining();
    ASSERT_TRUE(clean.ok()) << clean.status().to_string();
  }
  const std::size_t threads_before = live_threads();

  std::map<StatusCode, int> outcomes;
  int exact = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 7919 + 1);
    FaultPlan plan;
    plan.kind = static_cast<Fault>(seed % kFaultKinds);
    // A point anywhere in the run, or (one time in ten) past its end.
    plan.records_left.store(static_cast<std::int64_t>(rng() % (records + records / 10)));
    RunOptions options{.strategy = GetParam(), .split_bytes = 256, .combiner_keys = 16};
    options.stop = plan.stop.get_token();
    if (plan.kind == Fault::kDeadline) {
      plan.deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 2000);
      options.deadline = plan.deadline;
    }
    Inputs inputs = Inputs::buffers(buffers);
    std::optional<FailAllocationAfter> allocation_fault;
    if (plan.kind == Fault::kAllocation) {
      allocation_fault.emplace(
          static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(allocations_per_run + 1)));
    }
    auto result = engine->run(CountLines{.plan = &plan}, inputs, options);
    allocation_fault.reset();

    ASSERT_EQ(live_threads(), threads_before) << "seed " << seed;
    if (result.ok()) {
      std::map<std::string, std::uint64_t> got;
      for (const auto& [key, count] : result->table) got[std::string(key)] = count;
      ASSERT_EQ(got, oracle) << "seed " << seed;
      ++exact;
      continue;
    }
    const Status& s = result.status();
    ++outcomes[s.code()];
    switch (plan.kind) {
      case Fault::kThrowInMap:
        EXPECT_NE(s.message().find("injected map failure"), std::string::npos) << s.to_string();
        break;
      case Fault::kReadError:
        EXPECT_EQ(s.code(), StatusCode::kIoError) << s.to_string();
        EXPECT_NE(s.message().find("injected read error"), std::string::npos) << s.to_string();
        break;
      case Fault::kStop:
        EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.to_string();
        break;
      case Fault::kDeadline:
        EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.to_string();
        break;
      case Fault::kAllocation:
        EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.to_string();
        break;
    }
  }
  engine.reset();
  EXPECT_EQ(live_threads(), threads_outside) << "the engine left a thread behind";
  // Each kind of fault happened at least once, and some runs went through.
  EXPECT_GT(exact, 0);
  for (StatusCode code : {StatusCode::kCancelled, StatusCode::kDeadlineExceeded,
                          StatusCode::kResourceExhausted, StatusCode::kIoError}) {
    EXPECT_GT(outcomes[code], 0) << "no run ended with code " << static_cast<int>(code);
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, FaultInjection,
                         ::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                           Strategy::kPartitioned),
                         [](const auto& param_info) {
                           return std::string(tally::to_string(param_info.param));
                         });

}  // namespace
