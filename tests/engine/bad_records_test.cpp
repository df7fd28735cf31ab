// Skipping bad records (bad_records.hpp).
//
// Oracle: a word count whose map() emits a line's words and then throws on lines holding
// "BAD" (after emitting some of them). With max_bad_records >= the bad lines, the result is
// the word count of the good lines alone (the bad lines' words are dropped, not half
// counted), report.bad_records is their number, and the sink received each bad line once:
// its input, offset, line number and message. With one bad line more than the limit, the run
// fails with that code and "more than N bad records". Errors that are the run's (a spent
// budget, StatusError(kResourceExhausted)) fail it whatever the limit. At threads {1, 2, 4},
// every strategy and a dense job.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tests/support/strategy_printer.hpp"

namespace {

using tally::BadRecord;
using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::Status;
using tally::StatusCode;
using tally::Strategy;

template <typename Out>
void emit_words_then_check(const Record& rec, Out& out) {
  std::size_t pos = 0;
  while (pos < rec.bytes.size()) {
    std::size_t end = rec.bytes.find(' ', pos);
    if (end == std::string_view::npos) end = rec.bytes.size();
    if (end > pos) out.emit(rec.bytes.substr(pos, end - pos), 1);
    pos = end + 1;
  }
  if (rec.bytes.find("BAD") != std::string_view::npos) {
    throw tally::StatusError(Status::InvalidArgument("bad line"));
  }
  if (rec.bytes.find("FATAL") != std::string_view::npos) {
    throw tally::StatusError(Status::ResourceExhausted("out of something"));
  }
}

struct CheckedWordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;
  template <typename Out>
  void map(const Record& rec, Out& out) const {
    emit_words_then_check(rec, out);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

// Lines of words from a small vocabulary; every 7th line holds "BAD" after some words.
struct Corpus {
  std::string text;
  std::map<std::string, std::uint64_t> good_counts;
  std::set<std::pair<std::uint64_t, std::uint64_t>> bad;  // (offset, line)
};

Corpus make_corpus(std::uint64_t seed, std::size_t lines) {
  std::mt19937_64 rng(seed);
  Corpus c;
  for (std::size_t line = 1; line <= lines; ++line) {
    const std::uint64_t offset = c.text.size();
    std::vector<std::string> words;
    for (std::size_t w = rng() % 6; w > 0; --w) words.push_back("w" + std::to_string(rng() % 30));
    const bool bad = line % 7 == 3;
    if (bad) words.insert(words.begin() + static_cast<long>(rng() % (words.size() + 1)), "BAD");
    for (std::size_t i = 0; i < words.size(); ++i) c.text += (i ? " " : "") + words[i];
    c.text += '\n';
    if (bad) {
      c.bad.insert({offset, line});
    } else {
      for (const std::string& w : words) ++c.good_counts[w];
    }
  }
  return c;
}

class BadRecordSweep
    : public ::testing::TestWithParam<std::tuple<std::size_t, Strategy, std::uint64_t>> {};

TEST_P(BadRecordSweep, SkippedLinesLeaveNothingBehind) {
  const auto [threads, strategy, split_bytes] = GetParam();
  const Corpus corpus = make_corpus(threads + split_bytes, 700);
  Inputs inputs = Inputs::buffers({{"in.txt", corpus.text}});
  Engine engine({.threads = threads});
  std::vector<BadRecord> seen;
  tally::RunOptions options;
  options.strategy = strategy;
  options.split_bytes = split_bytes;
  options.records.numbered = true;
  options.max_bad_records = corpus.bad.size();
  options.on_bad_record = [&seen](const BadRecord& r) { seen.push_back(r); };
  const auto result = engine.run(CheckedWordCount{}, inputs, options);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  std::map<std::string, std::uint64_t> got;
  for (const auto& [w, n] : result->table.by_key()) got[std::string(w)] = n;
  EXPECT_EQ(got, corpus.good_counts);
  EXPECT_EQ(result->report.bad_records, corpus.bad.size());
  std::set<std::pair<std::uint64_t, std::uint64_t>> bad_seen;
  for (const BadRecord& r : seen) {
    EXPECT_EQ(r.input, "in.txt");
    EXPECT_EQ(r.error, "bad line");
    EXPECT_TRUE(bad_seen.insert({r.offset, r.number}).second) << "offset " << r.offset;
  }
  EXPECT_EQ(bad_seen, corpus.bad);
}

TEST_P(BadRecordSweep, OneBadRecordPastTheLimitFailsTheRun) {
  const auto [threads, strategy, split_bytes] = GetParam();
  const Corpus corpus = make_corpus(threads * split_bytes, 300);
  Inputs inputs = Inputs::buffers({{"in.txt", corpus.text}});
  Engine engine({.threads = threads});
  tally::RunOptions options;
  options.strategy = strategy;
  options.split_bytes = split_bytes;
  options.max_bad_records = corpus.bad.size() - 1;
  const auto result = engine.run(CheckedWordCount{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  const std::string m = result.status().message();
  EXPECT_NE(
      m.find("bad line (more than " + std::to_string(corpus.bad.size() - 1) + " bad records)"),
      std::string::npos)
      << m;
  EXPECT_EQ(m.rfind("input 'in.txt' line ", 0), 0u) << m;
}

INSTANTIATE_TEST_SUITE_P(Sweep, BadRecordSweep,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                                              Strategy::kPartitioned),
                                            ::testing::Values(64, 1 << 20)));

TEST(BadRecords, TheRunsOwnFailuresAreNeverSkipped) {
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"in.txt", "a b\nc FATAL\nd\n"}});
  tally::RunOptions options;
  options.max_bad_records = 100;
  const auto result = engine.run(CheckedWordCount{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(result.status().message(), "input 'in.txt' line 2 (byte offset 4): out of something");
}

// A dense job counting lines by their first byte's value mod 8, rejecting lines that hold
// "BAD" after emitting.
struct CheckedDense {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t key_count() const { return 8; }
  template <typename Out>
  void map(const Record& rec, Out& out) const {
    out.emit(rec.bytes.empty() ? 0 : static_cast<unsigned char>(rec.bytes[0]) % 8, 1);
    if (rec.bytes.find("BAD") != std::string_view::npos) {
      throw std::runtime_error("rejected");
    }
  }
  static Value combine(Value a, Value b) { return a + b; }
};

TEST(BadRecords, DenseJobsSkipWholeRecordsToo) {
  const Corpus corpus = make_corpus(11, 500);
  std::vector<std::uint64_t> expected(8);
  std::size_t pos = 0;
  while (pos < corpus.text.size()) {
    const std::size_t end = corpus.text.find('\n', pos);
    const std::string_view line = std::string_view(corpus.text).substr(pos, end - pos);
    if (line.find("BAD") == std::string_view::npos) {
      ++expected[line.empty() ? 0 : static_cast<unsigned char>(line[0]) % 8];
    }
    pos = end + 1;
  }
  for (const std::size_t threads : {1, 2, 4}) {
    Engine engine({.threads = threads});
    Inputs inputs = Inputs::buffers({{"in.txt", corpus.text}});
    tally::RunOptions options;
    options.split_bytes = 100;
    options.max_bad_records = corpus.bad.size();
    const auto result = engine.run(CheckedDense{}, inputs, options);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    for (const auto& [k, v] : result->table.by_key()) EXPECT_EQ(v, expected[k]) << "key " << k;
    EXPECT_EQ(result->report.bad_records, corpus.bad.size());
  }
}

}  // namespace
