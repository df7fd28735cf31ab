// MemoryBudget, and the engine enforcing it: a run that needs more than its budget fails
// with kResourceExhausted before taking the memory; one that fits gives the same result as an
// unbudgeted run, and reports what it held.
#include "tally/engine/memory_budget.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/detail/flat_table.hpp"
#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/engine.hpp"
#include "tests/support/space_words.hpp"

namespace {

using tally::MemoryBudget;
using tally::Status;
using tally::StatusCode;
using tally::StatusError;

TEST(MemoryBudget, ChargesUpToTheLimitAndRefusesPastIt) {
  MemoryBudget budget(1000);
  budget.charge(600, "a");
  budget.charge(400, "b");  // exactly at the limit is allowed
  EXPECT_EQ(budget.used(), 1000u);
  try {
    budget.charge(1, "one more byte");
    FAIL() << "no exception";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kResourceExhausted);
    EXPECT_NE(e.status().message().find("one more byte"), std::string::npos)
        << e.status().message();
  }
  EXPECT_EQ(budget.used(), 1000u);  // a refused charge records nothing
  budget.release(600);
  budget.charge(500, "c");
  EXPECT_EQ(budget.used(), 900u);
  EXPECT_EQ(budget.peak(), 1000u);
}

TEST(MemoryBudget, ZeroLimitCountsButNeverRefuses) {
  MemoryBudget budget;
  budget.charge(std::uint64_t{1} << 40, "a lot");
  EXPECT_EQ(budget.peak(), std::uint64_t{1} << 40);
}

TEST(MemoryBudget, StatusFromExceptionKeepsTheCode) {
  const Status s = Status::FromException(
      std::make_exception_ptr(StatusError(Status::ResourceExhausted("out of budget"))));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "out of budget");
}

TEST(FormatBytes, PicksTheUnit) {
  EXPECT_EQ(tally::format_bytes(0), "0 B");
  EXPECT_EQ(tally::format_bytes(1023), "1023 B");
  EXPECT_EQ(tally::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(tally::format_bytes(std::uint64_t{256} << 20), "256 MiB");
}

// A table's slots and keys are charged while it lives and released when it goes; a table
// that cannot grow stays as it was and usable.
TEST(FlatTableBudget, ChargesReleasesAndSurvivesARefusal) {
  MemoryBudget budget(64 << 10);
  {
    tally::detail::FlatTable<std::string_view, std::uint64_t> table(0, &budget);
    std::vector<std::string> keys;
    std::size_t inserted = 0;
    try {
      for (int i = 0; i < 100000; ++i) {
        keys.push_back("key" + std::to_string(i));
        ++*table.find_or_insert(keys.back(), tally::hash_key(std::string_view(keys.back()))).first;
        ++inserted;
      }
      FAIL() << "the budget never ran out";
    } catch (const StatusError& e) {
      EXPECT_EQ(e.status().code(), StatusCode::kResourceExhausted);
    }
    EXPECT_GT(budget.used(), 0u);
    EXPECT_LE(budget.used(), budget.limit());
    // Every key inserted before the refusal is still there, once, with its count.
    EXPECT_EQ(table.size(), inserted);
    std::size_t seen = 0;
    table.for_each([&](std::uint64_t, std::string_view key, std::uint64_t count) {
      EXPECT_EQ(count, 1u) << key;
      ++seen;
    });
    EXPECT_EQ(seen, inserted);
    // Moved-from tables are empty and usable.
    auto moved = std::move(table);
    EXPECT_EQ(table.size(), 0u);  // NOLINT(bugprone-use-after-move): the point of the test
    ++*table.find_or_insert("again", tally::hash_key(std::string_view("again"))).first;
    EXPECT_EQ(table.size(), 1u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

struct CountWords {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(tally::Record rec, tally::Emitter<Key, Value>& out) const {
    tally::testing::for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, 1); });
  }
  static Value combine(Value a, Value b) { return a + b; }
};

std::string distinct_words(std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) text += "word" + std::to_string(i) + (i % 10 ? " " : "\n");
  return text;
}

// A job whose values cannot be written to a spill file (not trivially copyable): its budget
// is a wall.
struct FirstLine {
  using Key = std::string_view;
  using Value = std::string;
  void map(tally::Record rec, tally::Emitter<Key, Value>& out) const {
    tally::testing::for_each_space_word(
        rec.bytes, [&](std::string_view w) { out.emit(w, std::to_string(rec.offset)); });
  }
  static Value combine(Value a, Value b) { return std::min(a, b); }
};
static_assert(!tally::detail::Spillable<FirstLine>);
static_assert(tally::detail::Spillable<CountWords>);

class EngineBudget : public ::testing::TestWithParam<tally::Strategy> {};

TEST_P(EngineBudget, TooSmallForAJobThatCannotSpillFailsWithResourceExhausted) {
  tally::Engine engine({.threads = 2});
  auto inputs = tally::Inputs::buffers({{"words", distinct_words(200000)}});
  tally::RunOptions options;
  options.strategy = GetParam();
  options.memory_budget = 256 << 10;
  auto result = engine.run(FirstLine{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(result.status().message().find("memory budget of 256 KiB exceeded"), std::string::npos)
      << result.status().message();
}

// Oracle: a spilling run needs minimum_memory_budget(workers) for its buffers; below it,
// run() refuses with kInvalidArgument and a message that states the minimum, and starts
// nothing.
TEST_P(EngineBudget, BelowTheMinimumIsAnInvalidArgumentThatStatesIt) {
  tally::Engine engine({.threads = 2});
  auto inputs = tally::Inputs::buffers({{"words", distinct_words(1000)}});
  tally::RunOptions options;
  options.strategy = GetParam();
  options.memory_budget = tally::minimum_memory_budget(2) - 1;
  auto result = engine.run(CountWords{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("below the minimum of 512 KiB for 2 workers"),
            std::string::npos)
      << result.status().message();
  options.memory_budget = tally::minimum_memory_budget(2);
  auto at_minimum = engine.run(CountWords{}, inputs, options);
  ASSERT_TRUE(at_minimum.ok()) << at_minimum.status().to_string();
  EXPECT_EQ(at_minimum->table.size(), 1000u);
}

TEST_P(EngineBudget, LargeEnoughGivesTheUnbudgetedResult) {
  tally::Engine engine({.threads = 2});
  auto inputs = tally::Inputs::buffers({{"words", distinct_words(20000) + distinct_words(500)}});
  tally::RunOptions options;
  options.strategy = GetParam();
  auto plain = engine.run(CountWords{}, inputs, options);
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  options.memory_budget = 64 << 20;
  auto budgeted = engine.run(CountWords{}, inputs, options);
  ASSERT_TRUE(budgeted.ok()) << budgeted.status().to_string();
  const auto in_key_order = [](const auto& table) {
    std::vector<std::pair<std::string_view, std::uint64_t>> out;
    for (const auto& e : table) out.push_back(e);
    return out;
  };
  EXPECT_EQ(in_key_order(budgeted->table), in_key_order(plain->table));
  EXPECT_EQ(budgeted->table.size(), 20000u);
  EXPECT_EQ(budgeted->report.memory_budget_bytes, std::uint64_t{64} << 20);
  EXPECT_GT(budgeted->report.tracked_peak_bytes, 20000u * 8);  // at least the key bytes
  EXPECT_LE(budgeted->report.tracked_peak_bytes, std::uint64_t{64} << 20);
  EXPECT_EQ(budgeted->report.spill_runs, 0u);  // a budget never reached spills nothing
  EXPECT_FALSE(budgeted->table.spilled());
}

INSTANTIATE_TEST_SUITE_P(Strategies, EngineBudget,
                         ::testing::Values(tally::Strategy::kLocal, tally::Strategy::kSharded,
                                           tally::Strategy::kPartitioned),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

}  // namespace
