// Reduce jobs whose reduce() returns another type than they emit (`using Reduced = ...;`,
// job.hpp): the result holds what reduce() returned, in memory and, for a trivially copyable
// Reduced, after spilling; a Reduced that cannot be spilled makes a budget a wall.
#include <gtest/gtest.h>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tests/support/space_words.hpp"
#include "tests/support/strategy_printer.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RunOptions;
using tally::StatusCode;
using tally::Strategy;
using tally::testing::for_each_space_word;

// Per word, the sorted line numbers it occurs on, each once: a list, not a Value.
struct LinesOfWord {
  using Key = std::string_view;
  using Value = std::uint64_t;  // a line number (Record::number)
  using Reduced = std::vector<std::uint64_t>;
  template <typename Out>
  void map(Record rec, Out& out) const {
    for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, rec.number); });
  }
  Reduced reduce(const Key&, std::span<const Value> lines) const {
    Reduced out(lines.begin(), lines.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
};

// Per word, its first and last line and how many times it occurs: a plain struct, so the
// job spills.
struct Span {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t occurrences = 0;
  friend bool operator==(const Span&, const Span&) = default;
};

struct SpanOfWord {
  using Key = std::string_view;
  using Value = std::uint64_t;
  using Reduced = Span;
  template <typename Out>
  void map(Record rec, Out& out) const {
    for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, rec.number); });
  }
  Reduced reduce(const Key&, std::span<const Value> lines) const {
    const auto [lo, hi] = std::minmax_element(lines.begin(), lines.end());
    return {*lo, *hi, lines.size()};
  }
};

static_assert(tally::ReduceJob<LinesOfWord> && tally::Job<LinesOfWord>);
static_assert(std::is_same_v<tally::ResultValue<LinesOfWord>, std::vector<std::uint64_t>>);
static_assert(std::is_same_v<tally::ResultValue<tally::testing::SpaceWordCount>, std::uint64_t>);
static_assert(std::is_same_v<decltype(tally::RunOutput<SpanOfWord>::table),
                             tally::ResultTable<std::string_view, Span>>);
// Spillable needs both the values and the result to be plain bytes.
static_assert(!tally::detail::Spillable<LinesOfWord>);
static_assert(tally::detail::Spillable<SpanOfWord>);

// A combine job may not declare a result of another type: its combined value is its result.
struct CountWithOtherResult : tally::testing::SpaceWordCount {
  using Reduced = std::string;
};
static_assert(tally::CombineJob<CountWithOtherResult> && !tally::Job<CountWithOtherResult>);

// Lines of words w0..w{vocabulary-1}, the small ids much more frequent, some words twice on
// a line, some lines empty.
std::string make_text(std::size_t lines, std::size_t vocabulary, std::uint64_t seed) {
  std::string text;
  std::uint64_t x = seed;
  const auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  for (std::size_t l = 0; l < lines; ++l) {
    const std::size_t words = next() % 9;
    for (std::size_t w = 0; w < words; ++w) {
      const std::uint64_t range = 1 + next() % vocabulary;  // two statements: a fixed order
      const std::uint64_t id = next() % range;
      text += (w == 0 ? "" : " ") + ("w" + std::to_string(id));
    }
    text += '\n';
  }
  return text;
}

// The oracle: every line of `text` read on one thread, numbered from 1.
std::map<std::string, std::set<std::uint64_t>> oracle_lines(const std::string& text) {
  std::map<std::string, std::set<std::uint64_t>> out;
  std::uint64_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    ++number;
    for_each_space_word(std::string_view(text).substr(pos, nl - pos),
                        [&](std::string_view w) { out[std::string(w)].insert(number); });
    pos = nl + 1;
  }
  return out;
}

std::map<std::string, std::uint64_t> oracle_occurrences(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    for_each_space_word(std::string_view(text).substr(pos, nl - pos),
                        [&](std::string_view w) { ++out[std::string(w)]; });
    pos = nl + 1;
  }
  return out;
}

const std::string& corpus() {
  static const std::string text = make_text(6000, 2000, 7);
  return text;
}

// Enough distinct words that a run under the smallest budget spills, at 4 workers too.
const std::string& many_words_corpus() {
  static const std::string text = make_text(10000, 400000, 11);
  return text;
}

class ReducedTest : public ::testing::TestWithParam<std::tuple<Strategy, std::size_t>> {
 protected:
  RunOptions options() const {
    RunOptions o;
    o.strategy = std::get<0>(GetParam());
    o.records.numbered = true;
    o.split_bytes = 4096;   // many splits: a word's lines come from many tables
    o.combiner_keys = 256;  // tables handed on while mapping
    return o;
  }
  std::size_t threads() const { return std::get<1>(GetParam()); }
};

// Oracle: for every word, the table holds exactly the sorted set of line numbers it is on
// (oracle_lines), read in key order, and find() returns the same list.
TEST_P(ReducedTest, ListResultEqualsOracle) {
  const auto want = oracle_lines(corpus());
  Engine engine({.threads = threads()});
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  auto result = engine.run(LinesOfWord{}, inputs, options());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  std::map<std::string, std::set<std::uint64_t>> got;
  std::string previous;
  for (const auto& [word, lines] : result->table.by_key()) {
    EXPECT_LT(previous, std::string(word));
    previous = std::string(word);
    EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()));
    got[std::string(word)] = std::set<std::uint64_t>(lines.begin(), lines.end());
    EXPECT_EQ(got[std::string(word)].size(), lines.size()) << word << ": a line twice";
  }
  EXPECT_EQ(got, want);
  const auto w0 = result->table.find("w0");
  ASSERT_TRUE(w0.has_value());
  EXPECT_EQ(std::set<std::uint64_t>(w0->begin(), w0->end()), want.at("w0"));
}

// Oracle: per word, first and last line and occurrences (words twice on a line counted
// twice) from oracle_lines and oracle_occurrences; the same through a spilled run whose
// result stays on disk, where Reduced is what the spill files hold.
TEST_P(ReducedTest, PlainResultEqualsOracleInMemoryAndSpilled) {
  const std::string& text = many_words_corpus();
  static const std::map<std::string, Span> want = [&text] {
    const auto lines = oracle_lines(text);
    const auto occurrences = oracle_occurrences(text);
    std::map<std::string, Span> out;
    for (const auto& [word, set] : lines) {
      out[word] = {*set.begin(), *set.rbegin(), occurrences.at(word)};
    }
    return out;
  }();
  for (const bool spilling : {false, true}) {
    SCOPED_TRACE(spilling ? "spilling" : "in memory");
    Engine engine({.threads = threads()});
    auto inputs = Inputs::buffers({{"corpus", text}});
    RunOptions o = options();
    o.split_bytes = 16384;
    if (spilling) {
      const auto dir = std::filesystem::temp_directory_path() / "tally-reduced-test";
      std::filesystem::create_directories(dir);
      o.spill_dir = dir.string();
      o.memory_budget = tally::minimum_memory_budget(threads());
      o.partitions = 2;
      o.combiner_keys = 64;
    }
    auto result = engine.run(SpanOfWord{}, inputs, o);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    if (spilling) {
      EXPECT_GE(result->report.spill_runs, 1u);
      EXPECT_TRUE(result->table.spilled());
    }
    std::map<std::string, Span> got;
    for (const auto& [word, span] : result->table.by_key()) got[std::string(word)] = span;
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want);
    const auto& [some_word, its_span] = *want.begin();
    EXPECT_EQ(result->table.find(some_word), its_span);
  }
}

// Oracle: a job whose result cannot be spilled keeps its budget as a wall: a few keys with
// many values (lines), far more bytes of values than the budget, fail with
// kResourceExhausted naming the value lists, whatever the strategy.
TEST_P(ReducedTest, ListResultUnderATooSmallBudgetFailsWithResourceExhausted) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "a b c\n";
  Engine engine({.threads = threads()});
  auto inputs = Inputs::buffers({{"abc", text}});
  RunOptions o = options();
  o.memory_budget = 256 << 10;
  auto result = engine.run(LinesOfWord{}, inputs, o);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(result.status().message().find("memory budget of 256 KiB exceeded"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("the next block of the keys' values needs"),
            std::string::npos)
      << result.status().message();
}

// Oracle: the same run with a budget large enough succeeds with every line of each key.
TEST_P(ReducedTest, ListResultWithinItsBudgetSucceeds) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "a b c\n";
  Engine engine({.threads = threads()});
  auto inputs = Inputs::buffers({{"abc", text}});
  RunOptions o = options();
  o.memory_budget = 16 << 20;
  auto result = engine.run(LinesOfWord{}, inputs, o);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  std::vector<std::uint64_t> every_line(20000);
  for (std::size_t i = 0; i < every_line.size(); ++i) every_line[i] = i + 1;
  ASSERT_EQ(result->table.size(), 3u);
  for (const auto& [word, lines] : result->table) EXPECT_EQ(lines, every_line) << word;
}

std::string name_of(const ::testing::TestParamInfo<std::tuple<Strategy, std::size_t>>& info) {
  return std::string(to_string(std::get<0>(info.param))) + "_" +
         std::to_string(std::get<1>(info.param)) + "threads";
}

INSTANTIATE_TEST_SUITE_P(StrategiesAndThreads, ReducedTest,
                         ::testing::Combine(::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                                              Strategy::kPartitioned),
                                            ::testing::Values(std::size_t{1}, std::size_t{2},
                                                              std::size_t{4})),
                         name_of);

}  // namespace
