// WordCount (jobs/wordcount.hpp) and its word loop (jobs/word_scan.hpp) against sequential
// oracles written without them.
#include "tally/jobs/wordcount.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/detail/records.hpp"
#include "tally/engine/engine.hpp"
#include "tally/jobs/word_scan.hpp"
#include "tests/support/scratch_dir.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::jobs::WordCount;

static_assert(tally::MapsTextBlocks<WordCount>);

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The words of `text` in order: maximal runs of bytes other than the six ASCII whitespace
// bytes, A-Z lowercased when `lowercase`.
std::vector<std::string> oracle_words(std::string_view text, bool lowercase) {
  std::vector<std::string> words;
  std::string word;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ' ';
    if (is_space(c)) {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += (lowercase && c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
  }
  return words;
}

template <bool kLowercase>
std::vector<std::string> scanned_words(std::string_view text) {
  std::vector<std::string> words;
  tally::jobs::for_each_word<kLowercase>(text,
                                         [&words](std::string_view w) { words.emplace_back(w); });
  return words;
}

// Text whose words are 1 to `max_word` bytes (letters of both cases, digits, punctuation,
// bytes >= 0x80, NUL) between runs of 1 to 3 whitespace bytes of every kind.
std::string random_text(std::mt19937_64& rng, std::size_t words, std::size_t max_word) {
  const std::string spaces(" \t\n\v\f\r");
  const std::string others = std::string("AZaz09.,'-\x80\xc3\xa9\xff") + std::string(1, '\0');
  std::string text;
  for (std::size_t i = 0; i < words; ++i) {
    const std::size_t gap = 1 + rng() % 3;
    for (std::size_t k = 0; k < gap; ++k) text += spaces[rng() % spaces.size()];
    const std::size_t len = 1 + rng() % max_word;
    for (std::size_t k = 0; k < len; ++k) text += others[rng() % others.size()];
  }
  return text;
}

// Oracle: for_each_word yields exactly the oracle's words, in order, for every start and end
// offset into texts with words of 1 to 100 bytes (so words that end within, at and past a
// 16-byte load, and longer than its 64-byte buffer), lowercased or not.
TEST(ForEachWord, EqualsOracleAtEveryOffset) {
  std::mt19937_64 rng(17);
  for (std::size_t max_word : {3u, 15u, 16u, 17u, 40u, 100u}) {
    const std::string text = random_text(rng, 30, max_word);
    for (std::size_t begin = 0; begin < 40 && begin < text.size(); ++begin) {
      for (std::size_t end = begin; end <= text.size(); end += 1 + (end % 7)) {
        const std::string_view part = std::string_view(text).substr(begin, end - begin);
        ASSERT_EQ(scanned_words<true>(part), oracle_words(part, true))
            << "max_word " << max_word << " bytes [" << begin << ", " << end << ")";
        ASSERT_EQ(scanned_words<false>(part), oracle_words(part, false))
            << "max_word " << max_word << " bytes [" << begin << ", " << end << ")";
      }
    }
  }
}

// Oracle: one word of every length up to 300 bytes, alone, after 16 spaces and before 16
// spaces, is found whole.
TEST(ForEachWord, WordsOfEveryLength) {
  for (std::size_t len = 1; len <= 300; ++len) {
    const std::string word(len, 'Q');
    for (const std::string& text : {word, std::string(16, ' ') + word + std::string(16, '\n')}) {
      ASSERT_EQ(scanned_words<true>(text), std::vector<std::string>{std::string(len, 'q')})
          << "length " << len;
      ASSERT_EQ(scanned_words<false>(text), std::vector<std::string>{word}) << "length " << len;
    }
  }
}

using Counts = std::map<std::string, std::uint64_t>;

Counts oracle_counts(std::string_view text, bool lowercase) {
  Counts counts;
  for (const std::string& w : oracle_words(text, lowercase)) ++counts[w];
  return counts;
}

template <typename Table>
Counts counts_of(const Table& table) {
  Counts counts;
  for (const auto& [w, n] : table) counts[std::string(w)] = n;
  return counts;
}

// Lines of 1 to 12 words, and every 50th line ~40 KiB long (longer than a TextBlock).
std::string lines_text(std::uint64_t seed, std::size_t lines) {
  std::mt19937_64 rng(seed);
  std::string text;
  for (std::size_t i = 0; i < lines; ++i) {
    const std::size_t words = i % 50 == 49 ? 8000 : 1 + rng() % 12;
    for (std::size_t k = 0; k < words; ++k) {
      if (k > 0) text += k % 5 == 0 ? "\t" : " ";
      const std::size_t id = rng() % 3000;
      text += (id % 3 == 0 ? "Word" : "word") + std::to_string(id % 1000);
    }
    text += i % 7 == 0 ? "\r\n" : "\n";
  }
  return text;
}

std::uint64_t lines_in(std::string_view text, char delimiter) {
  std::uint64_t n = 0;
  for (char c : text) n += c == delimiter ? 1 : 0;
  return n + (!text.empty() && text.back() != delimiter ? 1 : 0);
}

// Oracle: at 1, 2 and 4 threads and at split sizes from tiny to whole, the counts equal the
// sequential count of the whole text, and the report counts every line once (the blocks
// WordCount maps are counted line by line).
TEST(WordCountJob, EqualsOracleAtEveryThreadCountAndSplitSize) {
  for (bool trailing_newline : {true, false}) {
    std::string text = lines_text(5, 2000);
    if (!trailing_newline) text += "Last words";
    const Counts want = oracle_counts(text, true);
    for (std::size_t threads : {1u, 2u, 4u}) {
      Engine engine({.threads = threads});
      for (std::uint64_t split :
           {std::uint64_t{1}, std::uint64_t{1000}, std::uint64_t{100000}, std::uint64_t{0}}) {
        Inputs inputs = Inputs::buffers({{"text", text}});
        auto result = engine.run(WordCount{}, inputs, {.split_bytes = split});
        ASSERT_TRUE(result.ok()) << result.status().to_string();
        EXPECT_EQ(counts_of(result->table), want) << threads << " threads, split " << split;
        EXPECT_EQ(result->report.records_in, lines_in(text, '\n'))
            << threads << " threads, split " << split;
      }
    }
  }
}

// A file of 1 MiB or more, which map tasks read through a buffer rather than its mapping
// (Inputs::readable_at, records.hpp): lines cross the buffer's edges, and one is longer than
// the buffer (mapped instead). Oracle: the counts equal the sequential count of the text, at
// 1, 2 and 4 threads and split sizes from tiny to whole, with and without a last newline.
class WordCountFileTest : public tally::testing::ScratchDirTest {};

TEST_F(WordCountFileTest, ReadThroughABufferEqualsOracle) {
  for (bool trailing_newline : {true, false}) {
    std::string text = lines_text(9, 2000);
    std::string longest;
    for (int i = 0; longest.size() < tally::detail::kTextReadBytes + 1000; ++i) {
      longest += "Long" + std::to_string(i % 5000) + " ";
    }
    text += longest + "\n" + lines_text(10, 200);
    if (!trailing_newline) text += "Last words";
    ASSERT_GE(text.size(), std::size_t{1} << 20);  // mapped, so read through the buffer
    const std::string path = write("text.txt", text);
    const Counts want = oracle_counts(text, true);
    for (std::size_t threads : {1u, 2u, 4u}) {
      Engine engine({.threads = threads});
      for (std::uint64_t split : {std::uint64_t{1000}, std::uint64_t{300000}, std::uint64_t{0}}) {
        Inputs inputs = Inputs::paths({path});
        ASSERT_TRUE(inputs.open().ok());
        ASSERT_TRUE(inputs.readable_at(0));
        auto result = engine.run(WordCount{}, inputs, {.split_bytes = split});
        ASSERT_TRUE(result.ok()) << result.status().to_string();
        EXPECT_EQ(counts_of(result->table), want) << threads << " threads, split " << split;
        EXPECT_EQ(result->report.records_in, lines_in(text, '\n'))
            << threads << " threads, split " << split;
      }
    }
  }
}

// Oracle: with a delimiter that is not whitespace to the word rule, a word never spans two
// records: each record is counted on its own, as the oracle counts each piece.
TEST(WordCountJob, NonWhitespaceDelimiterSplitsWords) {
  const std::string text = "a,b c,Cat\nDOG,,x\ny z,last";
  Counts want;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    for (const auto& [w, n] :
         oracle_counts(std::string_view(text).substr(pos, comma - pos), true)) {
      want[w] += n;
    }
    pos = comma + 1;
  }
  for (std::size_t threads : {1u, 2u}) {
    Engine engine({.threads = threads});
    Inputs inputs = Inputs::buffers({{"text", text}});
    auto result =
        engine.run(WordCount{}, inputs, {.split_bytes = 4, .records = {.delimiter = ','}});
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_EQ(counts_of(result->table), want);
    EXPECT_EQ(result->report.records_in, lines_in(text, ','));
  }
}

// Oracle: case_sensitive keeps every byte as it is.
TEST(WordCountJob, CaseSensitive) {
  const std::string text = lines_text(9, 300);
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"text", text}});
  auto result = engine.run(WordCount{.case_sensitive = true}, inputs, {.split_bytes = 5000});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(counts_of(result->table), oracle_counts(text, false));
}

}  // namespace
