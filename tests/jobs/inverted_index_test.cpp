// InvertedIndex (jobs/inverted_index.hpp) on the engine against a sequential oracle.
#include "tally/jobs/inverted_index.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/strategy_printer.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::RunOptions;
using tally::Strategy;
using tally::jobs::InvertedIndex;
using tally::jobs::Posting;

static_assert(tally::ReduceJob<InvertedIndex>);
static_assert(!tally::detail::Spillable<InvertedIndex>);

using Named = std::vector<std::pair<std::string, std::string>>;
// word -> {(input, line)}: what the index must hold.
using Oracle = std::map<std::string, std::set<std::pair<std::size_t, std::uint64_t>>>;

// The oracle, written without the job's scanner: each input cut at '\n' into lines numbered
// from 1 (a last line without '\n' counts; nothing after a final '\n' does), each line cut
// at the six ASCII whitespace bytes, A-Z lowercased unless case-sensitive.
Oracle oracle(const Named& inputs, bool case_sensitive) {
  const std::string_view spaces(" \t\n\v\f\r", 6);
  Oracle out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& text = inputs[i].second;
    std::uint64_t line = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      ++line;
      std::string word;
      for (std::size_t k = pos; k <= nl; ++k) {
        const char c = k < nl ? text[k] : ' ';
        if (spaces.find(c) != std::string_view::npos) {
          if (!word.empty()) out[word].insert({i, line});
          word.clear();
        } else {
          word += (!case_sensitive && c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        }
      }
      pos = nl + 1;
    }
  }
  return out;
}

// The table as the oracle's type; fails the test if a word's postings are not strictly
// increasing (sorted, no line twice) or the words not in bytewise order.
template <typename Table>
Oracle collect(const Table& table) {
  Oracle out;
  std::string previous;
  bool first = true;
  for (const auto& [word, postings] : table.by_key()) {
    const std::string w(word);
    EXPECT_TRUE(first || previous < w) << "'" << previous << "' before '" << w << "'";
    previous = w;
    first = false;
    for (std::size_t k = 0; k < postings.size(); ++k) {
      if (k > 0) {
        EXPECT_LT(postings[k - 1], postings[k]) << w << " at " << k;
      }
      out[w].insert({static_cast<std::size_t>(postings[k].input), postings[k].line});
    }
  }
  return out;
}

// Inputs of every shape: mixed case, every whitespace byte, words twice on a line, words
// longer than the job's 64-byte buffer, bytes >= 0x80, an empty input, one without a final
// newline, blank lines, and one large input cut into many splits.
Named generated_inputs() {
  std::mt19937_64 rng(16);
  const std::vector<std::string> vocabulary = {"the",
                                               "The",
                                               "THE",
                                               "of",
                                               "and",
                                               "a",
                                               "index",
                                               "Index",
                                               "caf\xc3\xa9",
                                               "\xff\xfe",
                                               "x,y",
                                               "p:q",
                                               std::string(70, 'L') + "ong",
                                               std::string(64, 'e'),
                                               std::string(80, 'Z')};
  const std::string_view separators[] = {" ", " ", " ", "\t", "  ", "\r", "\v", "\f"};
  const auto text = [&](std::size_t lines, bool final_newline) {
    std::string out;
    for (std::size_t l = 0; l < lines; ++l) {
      const std::size_t words = rng() % 10;
      for (std::size_t w = 0; w < words; ++w) {
        if (w > 0) out += separators[rng() % std::size(separators)];
        // Zipf-ish: the first words of the vocabulary are drawn far more often, and a few
        // numbered rare words make the vocabulary large.
        const std::size_t r = rng() % 100;
        out += r < 90 ? vocabulary[rng() % (1 + rng() % vocabulary.size())]
                      : "w" + std::to_string(rng() % 3000);
      }
      if (l + 1 < lines || final_newline) out += '\n';
    }
    return out;
  };
  Named inputs;
  inputs.emplace_back("big.txt", text(6000, true));
  inputs.emplace_back("empty.txt", "");
  inputs.emplace_back("no-final-newline.txt", text(300, false));
  inputs.emplace_back("blank.txt", "\n\n  \n\t\n");
  for (int i = 0; i < 20; ++i) inputs.emplace_back("small" + std::to_string(i), text(5, i % 2));
  inputs.emplace_back("last.txt", text(1000, true));
  return inputs;
}

class InvertedIndexTest : public ::testing::TestWithParam<std::tuple<Strategy, std::size_t>> {
 protected:
  RunOptions options() const {
    RunOptions o;
    o.strategy = std::get<0>(GetParam());
    o.records.numbered = true;
    o.split_bytes = 2048;   // many splits: a word's postings come from many map tasks
    o.combiner_keys = 128;  // tables handed on while mapping
    return o;
  }
  std::size_t threads() const { return std::get<1>(GetParam()); }

  Oracle run(const Named& named, bool case_sensitive = false) {
    Engine engine({.threads = threads()});
    auto inputs = Inputs::buffers(named);
    auto result = engine.run(InvertedIndex{.case_sensitive = case_sensitive}, inputs, options());
    EXPECT_TRUE(result.ok()) << result.status().to_string();
    if (!result.ok()) return {};
    return collect(result->table);
  }
};

// Oracle: oracle() over the same inputs; the words in bytewise order, each word's postings
// strictly increasing by (input, line).
TEST_P(InvertedIndexTest, GeneratedInputsEqualOracle) {
  static const Named inputs = generated_inputs();
  static const Oracle want = oracle(inputs, false);
  EXPECT_EQ(run(inputs), want);
}

// Oracle: the same, with case kept ("The" and "the" are two words).
TEST_P(InvertedIndexTest, CaseSensitiveEqualsOracle) {
  static const Named inputs = generated_inputs();
  static const Oracle want = oracle(inputs, true);
  ASSERT_TRUE(want.contains("The") && want.contains("the"));
  EXPECT_EQ(run(inputs, true), want);
}

// Oracle: no input, or only empty and blank ones, gives an empty index.
TEST_P(InvertedIndexTest, EmptyInputsGiveAnEmptyIndex) {
  EXPECT_TRUE(run({{"empty", ""}}).empty());
  EXPECT_TRUE(run({{"empty", ""}, {"blank", "\n \n\t\n"}}).empty());
}

// Oracle: the last line of an input without a final newline is a line: its words are
// posted with its number, and the next input starts again at line 1.
TEST_P(InvertedIndexTest, LastLineWithoutNewline) {
  const Oracle want = {{"a", {{0, 1}, {1, 1}}}, {"b", {{0, 2}}}, {"c", {{0, 3}, {1, 2}}}};
  EXPECT_EQ(run({{"x", "a\nb\nc"}, {"y", "a\nc"}}), want);
}

// Oracle: a word on every line of a large input, many times on some lines, has exactly one
// posting per line, 1..n in order, though its lines are mapped by many tasks.
TEST_P(InvertedIndexTest, SameWordOnManyLines) {
  constexpr std::uint64_t kLines = 20000;
  std::string text;
  for (std::uint64_t l = 1; l <= kLines; ++l) text += l % 7 == 0 ? "hot HOT hot x\n" : "hot\n";
  Engine engine({.threads = threads()});
  auto inputs = Inputs::buffers({{"hot", text}});
  auto result = engine.run(InvertedIndex{}, inputs, options());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const auto hot = result->table.find("hot");
  ASSERT_TRUE(hot.has_value());
  std::vector<Posting> want;
  for (std::uint64_t l = 1; l <= kLines; ++l) want.push_back({0, l});
  EXPECT_EQ(*hot, want);
  ASSERT_EQ(result->table.size(), 2u);
  EXPECT_EQ(result->table.find("x")->size(), kLines / 7);
}

std::string name_of(const ::testing::TestParamInfo<std::tuple<Strategy, std::size_t>>& info) {
  return std::string(to_string(std::get<0>(info.param))) + "_" +
         std::to_string(std::get<1>(info.param)) + "threads";
}

INSTANTIATE_TEST_SUITE_P(StrategiesAndThreads, InvertedIndexTest,
                         ::testing::Combine(::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                                              Strategy::kPartitioned),
                                            ::testing::Values(std::size_t{1}, std::size_t{2},
                                                              std::size_t{4})),
                         name_of);

class InvertedIndexFiles : public tally::testing::ScratchDirTest {};

// Oracle: postings number the inputs in the order Inputs lists them: the paths as given,
// a directory's files in bytewise path order (so "d/B.txt" before "d/a.txt").
TEST_F(InvertedIndexFiles, InputsInTheOrderGivenDirectoriesSorted) {
  const std::string last = write("z-first.txt", "w\n");
  write("d/a.txt", "x\nw\n");
  write("d/B.txt", "w\n");
  write("d/sub/c.txt", "\nw\n");
  Engine engine({.threads = 2});
  auto inputs = Inputs::paths({last, (dir_ / "d").string()});
  RunOptions options;
  options.records.numbered = true;
  auto result = engine.run(InvertedIndex{}, inputs, options);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  ASSERT_EQ(inputs.size(), 4u);
  const auto d = (dir_ / "d").string();
  EXPECT_EQ(inputs.name(0), last);
  EXPECT_EQ(inputs.name(1), d + "/B.txt");
  EXPECT_EQ(inputs.name(2), d + "/a.txt");
  EXPECT_EQ(inputs.name(3), d + "/sub/c.txt");
  const std::vector<Posting> want = {{0, 1}, {1, 1}, {2, 2}, {3, 2}};
  EXPECT_EQ(result->table.find("w"), want);
}

// Oracle: without numbered records there are no line numbers to post: the run fails and
// says why.
TEST(InvertedIndexOptions, UnnumberedRecordsFailTheRun) {
  Engine engine({.threads = 1});
  auto inputs = Inputs::buffers({{"in", "a b\n"}});
  auto result = engine.run(InvertedIndex{}, inputs, RunOptions{});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("numbered records"), std::string::npos)
      << result.status().to_string();
}

// Oracle: the index cannot spill (its values are lists), so a budget smaller than its
// postings fails the run with kResourceExhausted, at every strategy, rather than growing past
// it.
TEST(InvertedIndexOptions, PostingsBeyondTheBudgetFailWithResourceExhausted) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "a b c\n";  // 300,000 postings of 16 bytes
  for (Strategy s : {Strategy::kLocal, Strategy::kSharded, Strategy::kPartitioned}) {
    Engine engine({.threads = 2});
    auto inputs = Inputs::buffers({{"abc", text}});
    RunOptions options;
    options.strategy = s;
    options.records.numbered = true;
    options.memory_budget = 1 << 20;
    auto result = engine.run(InvertedIndex{}, inputs, options);
    ASSERT_FALSE(result.ok()) << to_string(s);
    EXPECT_EQ(result.status().code(), tally::StatusCode::kResourceExhausted)
        << to_string(s) << ": " << result.status().to_string();
  }
}

}  // namespace
