#include "tally/jobs/unicode_wordcount.hpp"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tests/support/unicode_reference.hpp"

namespace {

using tally::jobs::UnicodeWordCount;
namespace unicode_reference = tally::testing::unicode_reference;
using Counts = std::map<std::string, std::uint64_t>;

static_assert(tally::CombineJob<UnicodeWordCount>);

class CollectingEmitter final : public tally::Emitter<std::string_view, std::uint64_t> {
 public:
  void emit(std::string_view key, std::uint64_t value) override {
    counts[std::string(key)] += value;
  }
  Counts counts;
};

struct Outcome {
  Counts counts;
  std::uint64_t invalid = 0;
};

// Runs a fresh job over `text` as one record.
Outcome run_job(std::string_view text, bool case_sensitive = false) {
  const UnicodeWordCount job{.case_sensitive = case_sensitive};
  CollectingEmitter out;
  job.map({.bytes = text}, out);
  return {out.counts, job.invalid_sequences()};
}

// ---------------------------------------------------------------------------------------------
// The reference: tests/support/unicode_reference.hpp.

// The reference (tests/support/unicode_reference.hpp) adds a record's words to `into`.
void ref_count(std::string_view record, bool case_sensitive, Outcome& into) {
  const unicode_reference::RefWords ref =
      unicode_reference::reference_words(record, case_sensitive);
  EXPECT_TRUE(ref.consistent) << "utf8proc disagrees with the reference's decoding or folding";
  into.invalid += ref.invalid;
  for (const std::string& word : ref.words) into.counts[word] += 1;
}

Outcome reference(std::string_view record, bool case_sensitive = false) {
  Outcome r;
  ref_count(record, case_sensitive, r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Fixed cases. Oracle: the counts written out by hand from the rule, and the reference agrees.

void expect_counts(std::string_view text, const Counts& expected, std::uint64_t invalid = 0,
                   bool case_sensitive = false) {
  const Outcome got = run_job(text, case_sensitive);
  EXPECT_EQ(got.counts, expected);
  EXPECT_EQ(got.invalid, invalid);
  const Outcome ref = reference(text, case_sensitive);
  EXPECT_EQ(ref.counts, expected) << "the reference disagrees with the hand-written oracle";
  EXPECT_EQ(ref.invalid, invalid);
}

TEST(UnicodeWordCount, Ascii) {
  expect_counts("Hello, hello WORLD! x_y 3.14 tab\there $5 a+b", {{"hello", 2},
                                                                  {"world", 1},
                                                                  {"x", 1},
                                                                  {"y", 1},
                                                                  {"3", 1},
                                                                  {"14", 1},
                                                                  {"tab", 1},
                                                                  {"here", 1},
                                                                  {"5", 1},
                                                                  {"a", 1},
                                                                  {"b", 1}});
  expect_counts("", {});
  expect_counts("  \t ... !!", {});
}

// Oracle: the 256-entry table agrees with utf8proc on every ASCII code point.
TEST(UnicodeWordCount, AsciiTableMatchesUtf8proc) {
  for (int b = 0; b < 0x80; ++b) {
    const std::string text = std::string("x") + static_cast<char>(b) + "y";
    const Outcome got = run_job(text, true);
    EXPECT_EQ(got.counts, reference(text, true).counts) << "byte " << b;
  }
}

TEST(UnicodeWordCount, AccentedLatin) {
  expect_counts("Élan élan CAFÉ café naïve Ångström ÅNGSTRÖM",
                {{"élan", 2}, {"café", 2}, {"naïve", 1}, {"ångström", 2}});
}

TEST(UnicodeWordCount, GreekFoldsFinalSigma) {
  // Case folding maps Σ, σ and final ς alike to σ.
  expect_counts("ΣΊΣΥΦΟΣ σίσυφος Σίσυφος", {{"σίσυφοσ", 3}});
}

TEST(UnicodeWordCount, GermanSharpS) {
  // Full folding: ß and ẞ (U+1E9E) become "ss".
  expect_counts("Straße STRASSE strasse ẞ", {{"strasse", 3}, {"ss", 1}});
}

TEST(UnicodeWordCount, CjkRunsOfIdeographsAreOneWord) {
  // Ideographs and kana are letters (Lo): with no dictionary segmentation, a run of them is one
  // word, as the rule says. The ideographic comma and space (Po, Zs) separate.
  expect_counts("東京は大きい 東京、大阪　東京", {{"東京は大きい", 1}, {"東京", 2}, {"大阪", 1}});
}

TEST(UnicodeWordCount, CombiningMarksStayInTheWord) {
  // e + U+0301 is one word; without normalization it is another word than precomposed é.
  expect_counts("cafe\xCC\x81 CAFE\xCC\x81 caf\xC3\xA9", {{"cafe\xCC\x81", 2}, {"caf\xC3\xA9", 1}});
  // A mark with nothing before it still is a word character.
  expect_counts(" \xCC\x81x", {{"\xCC\x81x", 1}});
}

TEST(UnicodeWordCount, Digits) {
  // Arabic-Indic digits (Nd), superscripts (No) and Roman numerals (Nl, which fold) are word
  // characters.
  expect_counts("٣٤٥ x² Ⅻ ⅻ 2024", {{"٣٤٥", 1}, {"x²", 1}, {"ⅻ", 2}, {"2024", 1}});
}

TEST(UnicodeWordCount, ApostrophesAndHyphens) {
  expect_counts(
      "don't 'quoted' rock'n'roll l’homme L’HOMME well-known -edge edge- a--b c-'d it’’s "
      "e‐mail non‑breaking x - y ' ’ ‘left’",
      {{"don't", 1},
       {"quoted", 1},
       {"rock'n'roll", 1},
       {"l’homme", 2},
       {"well-known", 1},
       {"edge", 2},
       {"a", 1},
       {"b", 1},
       {"c", 1},
       {"d", 1},
       {"it", 1},
       {"s", 1},
       {"e‐mail", 1},
       {"non‑breaking", 1},
       {"x", 1},
       {"y", 1},
       {"left", 1}});
  // Joiners at the ends of a record separate.
  expect_counts("-a-", {{"a", 1}});
  expect_counts("a'", {{"a", 1}});
}

TEST(UnicodeWordCount, EmojiSeparate) {
  // Emoji are symbols (So). Note: a variation selector (U+FE0F) is a mark, so by the rule it is
  // a word character: "❤️x" gives "\uFE0Fx".
  expect_counts("😀smile👍 ok😀ok 🇫🇷", {{"smile", 1}, {"ok", 2}});
  expect_counts("❤\xEF\xB8\x8Fx", {{"\xEF\xB8\x8Fx", 1}});
}

TEST(UnicodeWordCount, CaseSensitiveKeepsCase) {
  expect_counts("Straße STRASSE Hello hello ΣΊΣΥΦΟΣ",
                {{"Straße", 1}, {"STRASSE", 1}, {"Hello", 1}, {"hello", 1}, {"ΣΊΣΥΦΟΣ", 1}}, 0,
                true);
  expect_counts("caf\xE9 CAF\xE9", {{"caf\xEF\xBF\xBD", 1}, {"CAF\xEF\xBF\xBD", 1}}, 2, true);
}

TEST(UnicodeWordCount, CrlfAndNul) {
  expect_counts("one two\r\nthree\r\n\r\n", {{"one", 1}, {"two", 1}, {"three", 1}});
  expect_counts(std::string_view("a\0b\0\0c\0", 8), {{"a", 1}, {"b", 1}, {"c", 1}});
  expect_counts(std::string_view("\0", 1), {});
}

TEST(UnicodeWordCount, LongWordsLeaveTheStackBuffer) {
  const std::string ascii(100000, 'A');
  expect_counts(ascii + " " + ascii, {{std::string(100000, 'a'), 2}});
  std::string greek;
  for (int i = 0; i < 5000; ++i) greek += "ΐß";  // each folds to 3 code points / "ss"
  const Outcome got = run_job(greek);
  EXPECT_EQ(got.counts, reference(greek).counts);
}

// Oracle for invalid input: one U+FFFD per maximal subpart (Unicode chapter 3, "U+FFFD
// Substitution of Maximal Subparts"), each counted once; U+FFFD is a word character.
struct InvalidCase {
  const char* name;
  std::string_view text;
  Counts words;
  std::uint64_t invalid;
};

const std::string kR = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

TEST(UnicodeWordCount, InvalidUtf8) {
  const std::vector<InvalidCase> cases = {
      {"Latin-1 byte inside a word",
       "caf\xE9 au lait",
       {{"caf" + kR, 1}, {"au", 1}, {"lait", 1}},
       1},
      {"lone continuation", "\x80", {{kR, 1}}, 1},
      {"two continuations",
       "a\x80\xBF"
       "b",
       {{"a" + kR + kR + "b", 1}},
       2},
      {"C0 C1 leads", "\xC0\xAF \xC1\xBF", {{kR + kR, 2}}, 4},
      {"F5..FF leads", "\xF5\x80 \xFE \xFF", {{kR + kR, 1}, {kR, 2}}, 4},
      {"truncated 2-byte by ASCII",
       "a\xC3"
       "b",
       {{"a" + kR + "b", 1}},
       1},
      {"truncated 3-byte", "a\xE2\x82 b", {{"a" + kR, 1}, {"b", 1}}, 1},
      {"truncated 4-byte at end", "ab\xF0\x9F\x98", {{"ab" + kR, 1}}, 1},
      {"truncated then valid", "\xE0\xA0\xC3\xA9", {{kR + "é", 1}}, 1},
      {"overlong 3-byte", "\xE0\x80\xAF", {{kR + kR + kR, 1}}, 3},
      {"overlong 4-byte", "\xF0\x80\x80\xAF", {{kR + kR + kR + kR, 1}}, 4},
      {"surrogate", "\xED\xA0\x80x", {{kR + kR + kR + "x", 1}}, 3},
      {"above U+10FFFF", "\xF4\x90\x80\x80", {{kR + kR + kR + kR, 1}}, 4},
      {"Unicode Table 3-8 example",
       "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
       {{"a" + kR + kR + kR + "b" + kR + "c" + kR + kR + "d", 1}},
       6},
      {"invalid between joiners", "a-\xFF-b", {{"a-" + kR + "-b", 1}}, 1},
      {"valid U+FFFD is a word, not an error", "x\xEF\xBF\xBDy", {{"x" + kR + "y", 1}}, 0},
      {"largest scalar value is valid", "\xF4\x8F\xBF\xBF", {}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expect_counts(c.text, c.words, c.invalid);
  }
}

// Oracle: copies share the counter, and concurrent map() calls on one job lose no addition.
TEST(UnicodeWordCount, InvalidCounterIsSharedAndConcurrent) {
  const UnicodeWordCount job;
  const UnicodeWordCount copy = job;  // NOLINT(performance-unnecessary-copy-initialization)
  constexpr int kThreads = 4;
  constexpr int kCalls = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      CollectingEmitter out;
      const UnicodeWordCount& j = t % 2 == 0 ? job : copy;
      for (int i = 0; i < kCalls; ++i) j.map({.bytes = "\xFF x \xC0\xAF"}, out);
      EXPECT_EQ(out.counts.at(kR), std::uint64_t{kCalls});
      EXPECT_EQ(out.counts.at(kR + kR), std::uint64_t{kCalls});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(job.invalid_sequences(), std::uint64_t{kThreads} * kCalls * 3);
  EXPECT_EQ(copy.invalid_sequences(), job.invalid_sequences());
  EXPECT_EQ(UnicodeWordCount{}.invalid_sequences(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Fuzzing against the reference. Oracle: on any bytes, cut into records anywhere (also inside
// a multi-byte sequence), the job emits exactly the reference's words with the reference's
// counts and counts the same replacements; under ASan+UBSan, no invalid access.

// Fragments for the "mixed" corpus: valid characters of every class, and broken sequences.
const std::vector<std::string> kFragments = {
    "a", "Z", "q", "7", " ", " ", "\n", "\r\n", "\t", ".", ",", "'", "-", "_", std::string(1, '\0'),
    "é", "É", "ß", "ẞ", "Σ", "ς", "ΐ", "ŉ", "ﬃ", "\xE2\x84\xAA", "ſ", "İ", "東", "は", "한", "٣",
    "²", "Ⅻ", "\xCC\x81", "\xEF\xB8\x8F", "’", "‐", "‑", "‘", "😀", "🇫", "\xEF\xBF\xBD",
    "\xF0\x90\x90\x80", "\xE2\x80\x8D", "\xC2\xA0", "\xEF\xBB\xBF",
    // broken
    "\x80", "\xBF", "\xC0", "\xC1\xBF", "\xC3", "\xE2\x82", "\xE0\x80\xAF", "\xED\xA0\x80",
    "\xF0\x9F\x98", "\xF4\x90\x80\x80", "\xF5", "\xFF", "\xF0\x80\x80\x80", "\xE0\xA0"};

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string random_mix(std::mt19937_64& rng, std::size_t n) {
  std::string s;
  std::uniform_int_distribution<std::size_t> pick(0, kFragments.size() - 1);
  while (s.size() < n) s += kFragments[pick(rng)];
  return s;
}

// Mostly-ASCII text with sprinkled bytes of every kind: the common case of real files.
std::string random_mostly_ascii(std::mt19937_64& rng, std::size_t n) {
  static constexpr std::string_view kAscii =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 '-.,\n";
  std::string s;
  while (s.size() < n) {
    if (rng() % 16 == 0) {
      s += kFragments[rng() % kFragments.size()];
    } else {
      s += kAscii[rng() % kAscii.size()];
    }
  }
  return s;
}

void expect_matches_reference(const std::string& data, std::mt19937_64& rng, bool case_sensitive,
                              std::size_t max_record) {
  const UnicodeWordCount job{.case_sensitive = case_sensitive};
  CollectingEmitter out;
  Outcome ref;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t len = std::min(data.size() - pos, rng() % (max_record + 1));
    // An exact-size heap copy, so that ASan catches any read past the record's end.
    const auto record = std::make_unique<char[]>(len == 0 ? 1 : len);
    std::copy(data.data() + pos, data.data() + pos + len, record.get());
    job.map({.bytes = std::string_view(record.get(), len)}, out);
    ref_count(std::string_view(data).substr(pos, len), case_sensitive, ref);
    pos += len;
  }
  ASSERT_EQ(out.counts.size(), ref.counts.size());
  EXPECT_TRUE(out.counts == ref.counts);
  EXPECT_EQ(job.invalid_sequences(), ref.invalid);
}

TEST(UnicodeWordCountFuzz, RandomBytes) {
  std::mt19937_64 rng(20240601);
  const std::string data = random_bytes(rng, 3 << 20);
  expect_matches_reference(data, rng, false, 200);
  expect_matches_reference(data, rng, true, 4000);
}

TEST(UnicodeWordCountFuzz, ValidAndBrokenSequencesMixed) {
  std::mt19937_64 rng(42);
  const std::string data = random_mix(rng, 2 << 20);
  expect_matches_reference(data, rng, false, 300);
  expect_matches_reference(data, rng, true, 300);
  expect_matches_reference(data, rng, false, 70000);  // words longer than the stack buffer
}

TEST(UnicodeWordCountFuzz, MostlyAscii) {
  std::mt19937_64 rng(7);
  const std::string data = random_mostly_ascii(rng, 2 << 20);
  expect_matches_reference(data, rng, false, 120);
  expect_matches_reference(data, rng, true, 120);
}

// ---------------------------------------------------------------------------------------------
// Through the engine. Oracle: for every thread count, strategy and split size, Engine::run's
// table equals the reference applied line by line, and invalid_sequences() equals the
// reference's replacement count.

TEST(UnicodeWordCountEngine, MatchesReferenceLineByLine) {
  std::mt19937_64 rng(99);
  std::string text = random_mix(rng, 300000) + "\n" + random_mostly_ascii(rng, 300000);
  Outcome expected;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    ref_count(std::string_view(text).substr(start, nl - start), false, expected);
    start = nl + 1;
  }
  for (auto strategy :
       {tally::Strategy::kLocal, tally::Strategy::kSharded, tally::Strategy::kPartitioned}) {
    for (std::size_t threads : {1, 3}) {
      for (std::uint64_t split : {std::uint64_t{0}, std::uint64_t{4096}}) {
        SCOPED_TRACE(std::string(tally::to_string(strategy)) + " threads " +
                     std::to_string(threads) + " split " + std::to_string(split));
        tally::Engine engine({.threads = threads});
        tally::Inputs inputs = tally::Inputs::buffers({{"mixed.txt", text}});
        const UnicodeWordCount job;
        auto result = engine.run(job, inputs, {.strategy = strategy, .split_bytes = split});
        ASSERT_TRUE(result.ok()) << result.status().to_string();
        Counts got;
        for (const auto& [word, count] : result->table) got[std::string(word)] = count;
        ASSERT_EQ(got.size(), expected.counts.size());
        EXPECT_TRUE(got == expected.counts);
        EXPECT_EQ(job.invalid_sequences(), expected.invalid);
      }
    }
  }
}

TEST(UnicodeWordCountEngine, SmallTextWithTopK) {
  tally::Engine engine({.threads = 2});
  tally::Inputs inputs = tally::Inputs::buffers(
      {{"a.txt", "Straße strasse STRASSE\r\nl’homme L’Homme caf\xE9\n"}, {"b.txt", "ΣΊΣΥΦΟΣ\n"}});
  const UnicodeWordCount job{.case_sensitive = false};
  auto result = engine.run(job, inputs);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  std::vector<std::pair<std::string, std::uint64_t>> top;
  for (const auto& [w, n] : result->table.top(10)) top.emplace_back(std::string(w), n);
  const std::vector<std::pair<std::string, std::uint64_t>> expected = {
      {"strasse", 3}, {"l’homme", 2}, {"caf" + kR, 1}, {"σίσυφοσ", 1}};
  EXPECT_EQ(top, expected);
  EXPECT_EQ(job.invalid_sequences(), 1u);
}

}  // namespace
