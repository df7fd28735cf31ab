#include "tally/jobs/grep.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/map_only.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Status;
using tally::jobs::FixedStrings;
using tally::jobs::Grep;
using tally::jobs::GrepCount;
using tally::jobs::input_labels;
using tally::jobs::MatchCounts;
using tally::jobs::pattern_file_lines;
using tally::jobs::split_patterns;

using NamedTexts = std::vector<std::pair<std::string, std::string>>;

// The lines of `text` as grep sees them: ended by '\n' or by the end of the text.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

bool line_matches(std::string_view line, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return line.find(p) != std::string_view::npos; });
}

// The sequential oracles: every line of every input in order, kept if it contains a
// pattern (std::string_view::find; "" is found in every line), printed "name:N:line\n";
// and "name:count\n" per input.
std::string oracle_lines(const NamedTexts& inputs, const std::vector<std::string>& patterns) {
  std::string out;
  for (const auto& [name, text] : inputs) {
    std::uint64_t number = 0;
    for (std::string_view line : lines_of(text)) {
      ++number;
      if (line_matches(line, patterns)) {
        out += name + ":" + std::to_string(number) + ":" + std::string(line) + "\n";
      }
    }
  }
  return out;
}

std::string oracle_counts(const NamedTexts& inputs, const std::vector<std::string>& patterns) {
  std::string out;
  for (const auto& [name, text] : inputs) {
    const auto lines = lines_of(text);
    out += name + ":" +
           std::to_string(
               std::count_if(lines.begin(), lines.end(),
                             [&](std::string_view l) { return line_matches(l, patterns); })) +
           "\n";
  }
  return out;
}

// Texts over a small alphabet so that patterns match often and overlap, with empty lines,
// long lines, an empty input, and inputs that do or do not end with a newline.
NamedTexts make_inputs(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  static constexpr std::string_view kAlphabet = "abcab ";
  NamedTexts inputs;
  for (int f = 0; f < 5; ++f) {
    std::string text;
    const int lines = f == 3 ? 0 : static_cast<int>(rng() % 400);
    for (int l = 0; l < lines; ++l) {
      const std::size_t length = rng() % 8 == 0 ? rng() % 200 : rng() % 12;
      for (std::size_t i = 0; i < length; ++i) text += kAlphabet[rng() % kAlphabet.size()];
      text += '\n';
    }
    if (f % 2 == 1 && !text.empty()) text.pop_back();
    if (f == 4) text += "bca";  // a last line without a newline
    inputs.emplace_back("in" + std::to_string(f), std::move(text));
  }
  return inputs;
}

// The pattern sets the sweep runs, each as grep would get it after cutting at newlines.
std::vector<std::string> pattern_case(int which) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(which));
  const auto random_patterns = [&](std::size_t count) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count; ++i) {
      std::string p;
      for (std::size_t n = 2 + rng() % 5; n > 0; --n) p += "abc "[rng() % 4];
      out.push_back(p);
    }
    return out;
  };
  switch (which) {
    case 0:
      return {"a"};  // one byte: most lines
    case 1:
      return {"cab"};  // one string
    case 2:
      return {"aba", "bab", "ab"};  // overlapping
    case 3:
      return {""};  // every line
    case 4:
      return split_patterns("cc\n");  // "cc" and "": every line
    case 5:
      return split_patterns("abc a\nbbb\ncc");  // a pattern with newlines is three
    case 6:
      return {};  // nothing matches
    case 7:
      return random_patterns(20);
    case 8:
      return random_patterns(150);  // past the vector algorithm's limit
    default:
      return {"zzz", "c c"};  // one never occurs
  }
}

using Param = std::tuple<std::size_t, std::uint64_t, int>;  // threads, split bytes, patterns

class GrepSweep : public ::testing::TestWithParam<Param> {};

// Oracle: Grep's ordered output is oracle_lines byte for byte, and GrepCount's (through
// MatchCounts) oracle_counts, at every thread count and split size (splits of 48 bytes cut
// inputs into many spans, most of them starting mid-input).
TEST_P(GrepSweep, OutputEqualsTheSequentialOracle) {
  const auto [threads, split, which] = GetParam();
  const NamedTexts texts = make_inputs(threads * 100 + split + static_cast<std::uint64_t>(which));
  const std::vector<std::string> patterns = pattern_case(which);
  const FixedStrings strings(patterns);
  Engine engine({.threads = threads});

  Inputs inputs = Inputs::buffers(texts);
  std::string lines;
  auto report = tally::run_map_only(engine, Grep(strings, input_labels(inputs, true)), inputs,
                                    [&](std::string_view chunk) {
                                      lines.append(chunk);
                                      return Status::Ok();
                                    },
                                    {.split_bytes = split, .records = {.numbered = true}});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(lines, oracle_lines(texts, patterns));

  Inputs again = Inputs::buffers(texts);
  MatchCounts counts(input_labels(inputs, true));
  std::string counted;
  report = tally::run_map_only(engine, GrepCount(strings), again,
                               [&](std::string_view chunk) {
                                 counts.add(chunk, counted);
                                 return Status::Ok();
                               },
                               {.split_bytes = split});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  counts.finish(counted);
  EXPECT_EQ(counted, oracle_counts(texts, patterns));
  EXPECT_EQ(counts.any_match(), !oracle_lines(texts, patterns).empty());
}

INSTANTIATE_TEST_SUITE_P(Sweep, GrepSweep,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(48, 1000, 0),
                                            ::testing::Range(0, 10)));

// Oracle: grep -e cuts a pattern at every newline, so a trailing one adds an empty pattern.
TEST(Grep, SplitPatternsCutsAtEveryNewline) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_patterns(""), V{""});
  EXPECT_EQ(split_patterns("abc"), V{"abc"});
  EXPECT_EQ(split_patterns("a\nb"), (V{"a", "b"}));
  EXPECT_EQ(split_patterns("a\n"), (V{"a", ""}));
  EXPECT_EQ(split_patterns("\n\n"), (V{"", "", ""}));
}

// Oracle: grep -f reads one pattern per line: an empty file has none, and one final newline
// ends the last pattern instead of adding an empty one.
TEST(Grep, PatternFileLinesAsGrepReadsThem) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pattern_file_lines(""), V{});
  EXPECT_EQ(pattern_file_lines("\n"), V{""});
  EXPECT_EQ(pattern_file_lines("a\n"), V{"a"});
  EXPECT_EQ(pattern_file_lines("a"), V{"a"});
  EXPECT_EQ(pattern_file_lines("a\nb\n"), (V{"a", "b"}));
  EXPECT_EQ(pattern_file_lines("a\n\n"), (V{"a", ""}));
}

// Oracle: labels are "name:", stdin is "(standard input):", and all are empty without file
// names (grep -h); counts then have no label either.
TEST(Grep, LabelsAsGrepPrintsThem) {
  Inputs inputs = Inputs::buffers({{"x.txt", "ab\n"}, {"-", "b\nab\n"}});
  EXPECT_EQ(input_labels(inputs, true), (std::vector<std::string>{"x.txt:", "(standard input):"}));
  EXPECT_EQ(input_labels(inputs, false), (std::vector<std::string>{"", ""}));

  const FixedStrings strings({"a"});
  Engine engine({.threads = 2});
  std::string lines;
  auto report = tally::run_map_only(engine, Grep(strings, input_labels(inputs, false)), inputs,
                                    [&](std::string_view chunk) {
                                      lines.append(chunk);
                                      return Status::Ok();
                                    },
                                    {.records = {.numbered = true}});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(lines, "1:ab\n2:ab\n");
  MatchCounts counts(input_labels(inputs, false));
  std::string counted;
  counts.add("1 1\n", counted);
  counts.finish(counted);
  EXPECT_EQ(counted, "0\n1\n");
}

// Oracle: a job whose strings hold a newline is misuse (it would match across lines).
TEST(Grep, PatternsWithNewlinesAreRejected) {
  const FixedStrings strings({"a\nb"});
  EXPECT_THROW(Grep(strings, {}), std::invalid_argument);
  EXPECT_THROW(GrepCount{strings}, std::invalid_argument);
}

}  // namespace
