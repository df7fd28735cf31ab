#include "tally/engine/engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/support/space_words.hpp"
#include "tests/support/strategy_printer.hpp"

namespace {

using namespace std::chrono_literals;
using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RunOptions;
using tally::Status;
using tally::StatusCode;
using tally::Strategy;

}  // namespace

namespace {

using tally::testing::for_each_space_word;

struct CountWords {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, 1); });
  }
  static Value combine(Value a, Value b) { return a + b; }
};

// A reduce job: per word length, the largest line number-ish value seen (max of record
// offsets), which needs every value of a key, exercising the grouped path.
struct MaxOffsetByLength {
  using Key = std::uint64_t;
  using Value = std::uint64_t;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w.size(), rec.offset); });
  }
  Value reduce(const Key&, std::span<const Value> values) const {
    Value best = 0;
    for (Value v : values) best = std::max(best, v);
    return best;
  }
};

static_assert(tally::CombineJob<CountWords>);
static_assert(tally::ReduceJob<MaxOffsetByLength>);

struct Corpus {
  std::string name;
  std::vector<std::pair<std::string, std::string>> inputs;
};

std::string random_text(std::mt19937_64& rng, std::size_t lines, std::size_t vocabulary,
                        bool trailing_newline) {
  std::string text;
  std::uniform_int_distribution<std::size_t> words_per_line(0, 12);
  // Zipf-like: small word ids are much more frequent.
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::size_t l = 0; l < lines; ++l) {
    const std::size_t n = words_per_line(rng);
    for (std::size_t w = 0; w < n; ++w) {
      const auto id = static_cast<std::size_t>(std::pow(static_cast<double>(vocabulary), u(rng)));
      text += "w" + std::to_string(id);
      text += (w + 1 < n) ? (u(rng) < 0.1 ? "   " : " ") : "";
    }
    if (l + 1 < lines || trailing_newline) text += '\n';
  }
  return text;
}

std::vector<Corpus> corpora() {
  std::mt19937_64 rng(20261123);
  std::vector<Corpus> out;
  out.push_back({"empty", {{"empty.txt", ""}}});
  out.push_back({"no_trailing_newline", {{"a.txt", random_text(rng, 500, 300, false)}}});
  out.push_back({"one_huge_record",
                 {{"huge.txt", std::string(300000, 'x') + " y " + std::string(1000, 'z')}}});
  {
    Corpus tiny{"many_tiny_inputs", {}};
    for (int i = 0; i < 300; ++i) {
      tiny.inputs.emplace_back("tiny" + std::to_string(i), random_text(rng, 2, 50, i % 2 == 0));
    }
    tiny.inputs.emplace_back("empty-in-the-middle", "");
    out.push_back(std::move(tiny));
  }
  {
    std::string hot;
    for (int i = 0; i < 20000; ++i)
      hot += (i % 50 == 0) ? "rare" + std::to_string(i) + "\n" : "hot hot hot\n";
    out.push_back({"hot_key", {{"hot.txt", hot}}});
  }
  out.push_back(
      {"large_vocabulary",
       {{"big.txt", random_text(rng, 20000, 200000, true)}, {"blank_lines.txt", "\n\n\n  \n"}}});
  return out;
}

// The sequential oracle: a plain std::map fold over the same records, same tokenizer.
std::map<std::string, std::uint64_t> oracle_counts(const Corpus& c) {
  std::map<std::string, std::uint64_t> counts;
  for (const auto& [name, text] : c.inputs) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      for_each_space_word(std::string_view(text).substr(pos, nl - pos),
                          [&](std::string_view w) { ++counts[std::string(w)]; });
      pos = nl + 1;
    }
  }
  return counts;
}

std::map<std::uint64_t, std::uint64_t> oracle_max_offsets(const Corpus& c) {
  std::map<std::uint64_t, std::uint64_t> best;
  for (const auto& [name, text] : c.inputs) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      for_each_space_word(std::string_view(text).substr(pos, nl - pos), [&](std::string_view w) {
        auto& b = best[w.size()];
        b = std::max<std::uint64_t>(b, pos);
      });
      pos = nl + 1;
    }
  }
  return best;
}

using Param = std::tuple<Strategy, std::size_t, std::uint64_t>;  // strategy, threads, split

class EngineOracle : public ::testing::TestWithParam<Param> {};

// Oracle: for every corpus, strategy, thread count and split size, the result equals the
// sequential std::map fold exactly (same keys, same counts), the entries come sorted by key,
// and the report counts every input byte once.
TEST_P(EngineOracle, WordCountMatchesSequentialFold) {
  const auto [strategy, threads, split] = GetParam();
  Engine engine({.threads = threads});
  for (const Corpus& c : corpora()) {
    SCOPED_TRACE(c.name);
    Inputs inputs = Inputs::buffers(c.inputs);
    // Small combiner tables and channels force many flushes, batches and full channels.
    auto result = engine.run(
        CountWords{}, inputs,
        {.strategy = strategy, .split_bytes = split, .combiner_keys = 64, .channel_capacity = 2});
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    const auto expected = oracle_counts(c);
    ASSERT_EQ(result->table.size(), expected.size());
    auto it = expected.begin();
    for (const auto& [word, count] : result->table) {
      ASSERT_EQ(word, it->first);
      ASSERT_EQ(count, it->second) << word;
      ++it;
    }
    std::uint64_t bytes = 0;
    for (const auto& in : c.inputs) bytes += in.second.size();
    EXPECT_EQ(result->report.bytes_in, bytes);
    EXPECT_EQ(result->report.distinct_keys, expected.size());
  }
}

// Oracle: a reduce job sees every value of a key: max offset per word length equals the
// sequential fold.
TEST_P(EngineOracle, ReduceJobMatchesSequentialFold) {
  const auto [strategy, threads, split] = GetParam();
  Engine engine({.threads = threads});
  for (const Corpus& c : corpora()) {
    SCOPED_TRACE(c.name);
    Inputs inputs = Inputs::buffers(c.inputs);
    auto result = engine.run(
        MaxOffsetByLength{}, inputs,
        {.strategy = strategy, .split_bytes = split, .combiner_keys = 4, .channel_capacity = 1});
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    const auto expected = oracle_max_offsets(c);
    ASSERT_EQ(result->table.size(), expected.size());
    auto it = expected.begin();
    for (const auto& [len, best] : result->table) {
      ASSERT_EQ(len, it->first);
      ASSERT_EQ(best, it->second) << "length " << len;
      ++it;
    }
  }
}

std::string oracle_name(const ::testing::TestParamInfo<Param>& param_info) {
  std::ostringstream name;
  name << tally::to_string(std::get<0>(param_info.param)) << "_" << std::get<1>(param_info.param)
       << "threads_split" << std::get<2>(param_info.param);
  return name.str();
}

INSTANTIATE_TEST_SUITE_P(Sweep, EngineOracle,
                         ::testing::Combine(::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                                              Strategy::kPartitioned),
                                            ::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(1, 100, 65536, 0)),
                         oracle_name);

// Oracle: results are identical (same entries, same top-k order) whatever the strategy and
// thread count; top(k) orders by count descending, then word ascending.
TEST(Engine, DeterministicAcrossStrategiesAndThreads) {
  std::mt19937_64 rng(7);
  const std::string text = random_text(rng, 5000, 2000, true);
  std::vector<std::pair<std::string, std::uint64_t>> reference;
  for (Strategy s : {Strategy::kLocal, Strategy::kSharded, Strategy::kPartitioned}) {
    for (std::size_t threads : {1, 3}) {
      Engine engine({.threads = threads});
      Inputs inputs = Inputs::buffers({{"t", text}});
      auto result = engine.run(CountWords{}, inputs, {.strategy = s, .split_bytes = 1000});
      ASSERT_TRUE(result.ok());
      std::vector<std::pair<std::string, std::uint64_t>> top;
      for (const auto& [w, n] : result->table.top(50)) top.emplace_back(std::string(w), n);
      for (std::size_t i = 1; i < top.size(); ++i) {
        ASSERT_TRUE(top[i - 1].second > top[i].second ||
                    (top[i - 1].second == top[i].second && top[i - 1].first < top[i].first));
      }
      if (reference.empty()) {
        reference = top;
      } else {
        EXPECT_EQ(top, reference);
      }
    }
  }
}

struct ThrowsAtBadRecord {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    if (rec.bytes == "BAD") throw std::runtime_error("cannot parse record");
    out.emit(rec.bytes, 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

// Oracle: an exception in map() fails the run with a status naming the input, the line and
// the byte offset of the offending record, and the original exception as its cause.
TEST(Engine, MapExceptionNamesInputAndOffset) {
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"good.txt", "a\nb\n"}, {"data.txt", "ok\nok\nBAD\nok\n"}});
  auto result = engine.run(ThrowsAtBadRecord{}, inputs, {.split_bytes = 1});
  ASSERT_FALSE(result.ok());
  const Status s = result.status();
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("input 'data.txt' line 3 (byte offset 6)"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("cannot parse record"), std::string::npos) << s.message();
  EXPECT_TRUE(s.cause());
}

struct SlowWords {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    std::this_thread::sleep_for(50us);
    out.emit(rec.bytes, 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

std::string many_lines(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += "line\n";
  return s;
}

// Oracle: a stop request mid-run makes run() return kCancelled (no partial result), long
// before the job would have finished.
TEST(Engine, StopTokenCancelsRun) {
  Engine engine({.threads = 2});
  Inputs inputs =
      Inputs::buffers({{"slow.txt", many_lines(400000)}});  // ~10 s of map work on 2 threads
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto result = engine.run(SlowWords{}, inputs, {.split_bytes = 4096, .stop = stop.get_token()});
  stopper.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

// Oracle: a deadline that passes mid-run makes run() return kDeadlineExceeded.
TEST(Engine, DeadlineStopsRun) {
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"slow.txt", many_lines(400000)}});
  auto result =
      engine.run(SlowWords{}, inputs,
                 {.split_bytes = 4096, .deadline = std::chrono::steady_clock::now() + 50ms});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
}

// Oracle: keys outlive the inputs: the result's string keys stay readable (and correct)
// after the Inputs that held the text are destroyed.
TEST(Engine, KeysOutliveInputs) {
  Engine engine({.threads = 2});
  std::optional<tally::RunOutput<CountWords>> kept;
  {
    Inputs inputs = Inputs::buffers({{"t", "alpha beta\nbeta\n"}});
    auto result = engine.run(CountWords{}, inputs);
    ASSERT_TRUE(result.ok());
    kept = std::move(*result);
  }
  ASSERT_EQ(kept->table.size(), 2u);
  const std::optional<std::uint64_t> beta = kept->table.find("beta");
  ASSERT_TRUE(beta.has_value());
  EXPECT_EQ(*beta, 2u);
  EXPECT_EQ((*kept->table.begin()).first, "alpha");
}

// Oracle: the JSON report is one object carrying the run's counters.
TEST(Engine, ReportJson) {
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"t", "a b c\nd\n"}});
  auto result = engine.run(CountWords{}, inputs, {.strategy = Strategy::kSharded});
  ASSERT_TRUE(result.ok());
  const std::string json = result->report.to_json();
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_NE(json.find("\"strategy\":\"sharded\""), std::string::npos);
  EXPECT_NE(json.find("\"distinct_keys\":4"), std::string::npos);
  EXPECT_NE(json.find("\"records_in\":2"), std::string::npos);
  EXPECT_NE(result->report.to_text().find("4 distinct keys"), std::string::npos);
}

// RunOptions::progress_bytes: every split's bytes are added exactly once, so a finished run
// has counted the whole input, whatever the split size.
TEST(EngineProgress, CountsEveryInputByteOnce) {
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "w" + std::to_string(i % 97) + (i % 7 ? " " : "\n");
  auto inputs = Inputs::buffers({{"a", text}, {"b", text.substr(0, 1000)}, {"empty", ""}});
  Engine engine({.threads = 3});
  for (std::uint64_t split : {std::uint64_t{0}, std::uint64_t{100}, std::uint64_t{1} << 20}) {
    std::atomic<std::uint64_t> done{0};
    RunOptions options;
    options.split_bytes = split;
    options.progress_bytes = &done;
    auto result = engine.run(CountWords{}, inputs, options);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_EQ(done.load(), inputs.total_bytes()) << "split " << split;
  }
}

}  // namespace
