// Out-of-core runs: Engine::run under a memory budget small enough to spill, against a
// sequential oracle.
//
// Oracle: a std::map built by reading the corpus word by word on one thread. Whatever the
// strategy, threads and budget, the result must hold exactly the oracle's keys with the
// oracle's values, read in key order (by_key), in value order (by_value: count descending,
// then key), by top(k) and by find(); and the report must show that the budget forced at
// least the number of runs the case is named for.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
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

using CountWords = tally::testing::SpaceWordCount;

// A reduce job (values grouped per key): per word, the sum of the byte offsets of the lines
// it is on, plus how many there are in the top bits: needs every value of a key exactly once.
struct OffsetSum {
  using Key = std::string_view;
  using Value = std::uint64_t;
  template <typename Out>
  void map(Record rec, Out& out) const {
    for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, rec.offset); });
  }
  Value reduce(const std::string_view&, std::span<const Value> values) const {
    Value sum = 0;
    for (Value v : values) sum += v;
    return sum + (static_cast<Value>(values.size()) << 48);
  }
};

// Many distinct keys (most seen once or twice), one key with two thirds of all the words,
// and a few keys longer than a spill block.
std::string make_corpus(std::size_t distinct) {
  std::string text;
  std::uint64_t x = 12345;
  for (std::size_t i = 0; i < distinct; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    text += "k" + std::to_string((x >> 33) % (distinct * 2));
    text += " the the";  // two words in three: one key with most of the volume
    text += (i % 12 == 11) ? "\n" : " ";
  }
  for (int i = 0; i < 3; ++i)
    text += "\n" + std::string(100000 + i, static_cast<char>('a' + i)) + "\n";
  return text;
}

template <typename J>
std::map<std::string, std::uint64_t> oracle(const J& job, const std::string& text) {
  struct Collect {
    std::map<std::string, std::vector<std::uint64_t>>* values;
    void emit(std::string_view k, std::uint64_t v) { (*values)[std::string(k)].push_back(v); }
  };
  std::map<std::string, std::vector<std::uint64_t>> values;
  Collect collect{&values};
  std::uint64_t offset = 0;
  while (offset <= text.size()) {
    std::size_t end = text.find('\n', offset);
    if (end == std::string::npos) end = text.size();
    job.map(Record{std::string_view(text).substr(offset, end - offset), 0, offset}, collect);
    offset = end + 1;
  }
  std::map<std::string, std::uint64_t> out;
  for (auto& [k, vs] : values) {
    if constexpr (tally::CombineJob<J>) {
      std::uint64_t sum = 0;
      for (std::uint64_t v : vs) sum = J::combine(sum, v);
      out[k] = sum;
    } else {
      out[k] = job.reduce(k, vs);
    }
  }
  return out;
}

std::string spill_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "tally-spill-test";
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Budgets: kFew spills a few runs, kTens at least 10, kThousands at least 1000.
enum class Level { kFew, kTens, kThousands };

struct Case {
  Strategy strategy;
  std::size_t threads;
  Level level;
};

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
  const char* levels[] = {"Few", "Tens", "Thousands"};
  return std::string(to_string(info.param.strategy)) + "_" + std::to_string(info.param.threads) +
         "threads_" + levels[static_cast<int>(info.param.level)];
}

// The corpus of the oracle tests, made once.
struct SpillTestCorpus {
  static const std::string& get() {
    static const std::string text = make_corpus(60000);
    return text;
  }
};

class SpillTest : public ::testing::TestWithParam<Case> {
 protected:
  static const std::string& corpus() { return SpillTestCorpus::get(); }

  RunOptions options_for(const Case& c) const {
    RunOptions options;
    options.strategy = c.strategy;
    options.spill_dir = spill_dir();
    const std::uint64_t minimum = tally::minimum_memory_budget(c.threads);
    switch (c.level) {
      case Level::kFew:
        options.memory_budget = 4 * minimum;
        options.partitions = 1;
        break;
      case Level::kTens:
        options.memory_budget = minimum;
        options.partitions = 2;
        break;
      case Level::kThousands:
        options.memory_budget = minimum;
        options.partitions = 128;
        options.combiner_keys = 64;
        break;
    }
    return options;
  }

  static std::uint64_t runs_at_least(Level level) {
    switch (level) {
      case Level::kFew:
        return 1;
      case Level::kTens:
        return 10;
      case Level::kThousands:
        return 1000;
    }
    return 0;
  }

  template <typename J>
  void check(const J& job) {
    const Case c = GetParam();
    const auto want = oracle(job, corpus());
    Engine engine({.threads = c.threads});
    auto inputs = Inputs::buffers({{"corpus", corpus()}});
    RunOptions options = options_for(c);
    options.order = tally::ResultOrder::kByValue;
    auto result = engine.run(job, inputs, options);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    const auto& table = result->table;
    EXPECT_GE(result->report.spill_runs, runs_at_least(c.level));
    EXPECT_TRUE(table.spilled());
    ASSERT_EQ(table.size(), want.size());

    std::vector<std::pair<std::string, std::uint64_t>> by_key;
    for (const auto& [k, v] : table.by_key()) by_key.emplace_back(std::string(k), v);
    const std::vector<std::pair<std::string, std::uint64_t>> want_by_key(want.begin(), want.end());
    EXPECT_EQ(by_key, want_by_key);

    std::vector<std::pair<std::string, std::uint64_t>> want_by_value = want_by_key;
    std::stable_sort(want_by_value.begin(), want_by_value.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::pair<std::string, std::uint64_t>> by_value;
    for (const auto& [k, v] : table.by_value()) by_value.emplace_back(std::string(k), v);
    EXPECT_EQ(by_value, want_by_value);

    const auto top = table.top(5);
    ASSERT_EQ(top.size(), 5u);
    for (std::size_t i = 0; i < top.size(); ++i) {
      EXPECT_EQ(std::string(top[i].first), want_by_value[i].first);
      EXPECT_EQ(top[i].second, want_by_value[i].second);
    }
    EXPECT_EQ(table.find("the"), want.at("the"));
    EXPECT_EQ(table.find("no such key"), std::nullopt);
  }
};

TEST_P(SpillTest, CombineJobEqualsOracle) { check(CountWords{}); }

// Oracle: more runs in one partition than a merge reads at once (the fan-in) take
// intermediate merge passes, and the result is still exactly the oracle's.
TEST(SpillMergePasses, ManyRunsInOnePartition) {
  const std::string text = make_corpus(240000);
  const auto want = oracle(CountWords{}, text);
  for (Strategy s : {Strategy::kLocal, Strategy::kSharded, Strategy::kPartitioned}) {
    Engine engine({.threads = 1});
    auto inputs = Inputs::buffers({{"corpus", text}});
    RunOptions options;
    options.strategy = s;
    options.spill_dir = spill_dir();
    options.memory_budget = tally::minimum_memory_budget(1);
    options.partitions = 1;
    auto result = engine.run(CountWords{}, inputs, options);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_GE(result->report.spill_merge_passes, 1u)
        << to_string(s) << ": " << result->report.spill_runs << " runs";
    std::map<std::string, std::uint64_t> got;
    for (const auto& [k, v] : result->table) got.emplace(std::string(k), v);
    EXPECT_EQ(got, want) << to_string(s);
  }
}
TEST_P(SpillTest, ReduceJobEqualsOracle) { check(OffsetSum{}); }

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (Strategy s : {Strategy::kLocal, Strategy::kSharded, Strategy::kPartitioned}) {
    for (std::size_t threads : {1, 2, 4}) {
      for (Level level : {Level::kFew, Level::kTens, Level::kThousands}) {
        out.push_back({s, threads, level});
      }
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Budgets, SpillTest, ::testing::ValuesIn(all_cases()), name_of);

// The descriptors this process holds open on files in `dir` (a spill file without a name
// shows in /proc as "<dir>/#<inode> (deleted)").
std::vector<int> descriptors_in(const std::string& dir) {
  std::vector<int> fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind(dir + "/", 0) == 0) fds.push_back(std::stoi(e.path().filename()));
  }
  return fds;
}

bool is_empty_dir(const std::string& dir) {
  return std::filesystem::is_empty(std::filesystem::path(dir));
}

// A spill directory of the test's own, removed afterwards.
class SpillFailureTest : public ::testing::TestWithParam<Strategy> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '.');
    dir_ = (std::filesystem::temp_directory_path() /
            ("tally-spill-" + std::to_string(::getpid()) + "-" + name))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RunOptions spilling() const {
    RunOptions options;
    options.strategy = GetParam();
    options.spill_dir = dir_;
    options.memory_budget = tally::minimum_memory_budget(2);
    options.partitions = 4;
    return options;
  }

  static const std::string& corpus() {
    static const std::string text = make_corpus(40000);
    return text;
  }

  std::string dir_;
};

// Oracle: a byte flipped in the spill file after the map phase wrote its runs makes the
// merge that reads it fail the run with kDataLoss naming the spill directory: never a result
// with a wrong count.
TEST_P(SpillFailureTest, FlippedByteIsCaught) {
  Engine engine({.threads = 2});
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  RunOptions options = spilling();
  bool flipped = false;
  options.on_phase = [&](tally::Phase phase, bool starting) {
    if (phase != tally::Phase::kMerge || !starting) return;
    const std::vector<int> fds = descriptors_in(dir_);
    if (fds.size() != 1) return;
    // Byte 20: inside the first block's payload (its header is 16 bytes).
    char byte = 0;
    if (::pread(fds[0], &byte, 1, 20) != 1) return;
    byte = static_cast<char>(byte ^ 0x20);
    flipped = ::pwrite(fds[0], &byte, 1, 20) == 1;
  };
  auto result = engine.run(CountWords{}, inputs, options);
  ASSERT_TRUE(flipped) << "the map phase spilled nothing, or the file was not found";
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << result.status().to_string();
  EXPECT_NE(result.status().message().find("spill file in '" + dir_ + "' is corrupt"),
            std::string::npos)
      << result.status().message();
  EXPECT_TRUE(descriptors_in(dir_).empty());
}

// Oracle: a run stopped while it spills (in the map phase), or while it merges (the
// finalize phase), or whose deadline passes while it merges, returns that status, and
// leaves nothing behind: no file in the spill directory, during the run or after it, and no
// descriptor open on one.
TEST_P(SpillFailureTest, StopMidSpillLeavesNothing) {
  Engine engine({.threads = 2});
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  RunOptions options = spilling();
  std::stop_source stop;
  options.stop = stop.get_token();
  std::atomic<std::uint64_t> records{0};
  std::atomic<bool> spilled_before_stop{false};
  struct StopAfter {
    std::atomic<std::uint64_t>* records;
    std::stop_source* stop;
    std::atomic<bool>* spilled_before_stop;
    const std::string* dir;
    using Key = std::string_view;
    using Value = std::uint64_t;
    void map(Record rec, tally::Emitter<Key, Value>& out) const {
      // Half way through: by then the budget has made the workers spill (the spill file is
      // open), and they go on spilling while the stop spreads.
      if (records->fetch_add(1, std::memory_order_relaxed) == 2000) {
        spilled_before_stop->store(!descriptors_in(*dir).empty(), std::memory_order_relaxed);
        stop->request_stop();
      }
      for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, 1); });
    }
    static Value combine(Value a, Value b) { return a + b; }
  };
  bool empty_while_mapping = true;
  options.on_phase = [&](tally::Phase phase, bool starting) {
    if (phase == tally::Phase::kMap && !starting) empty_while_mapping = is_empty_dir(dir_);
  };
  auto result =
      engine.run(StopAfter{&records, &stop, &spilled_before_stop, &dir_}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  EXPECT_TRUE(spilled_before_stop.load()) << "the run had not spilled when it was stopped";
  EXPECT_TRUE(empty_while_mapping);
  EXPECT_TRUE(is_empty_dir(dir_));
  EXPECT_TRUE(descriptors_in(dir_).empty());
}

TEST_P(SpillFailureTest, StopMidMergeLeavesNothing) {
  Engine engine({.threads = 2});
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  RunOptions options = spilling();
  std::stop_source stop;
  options.stop = stop.get_token();
  std::size_t open_while_merging = 0;
  options.on_phase = [&](tally::Phase phase, bool starting) {
    if (phase != tally::Phase::kFinalize || !starting) return;
    open_while_merging = descriptors_in(dir_).size();
    stop.request_stop();
  };
  auto result = engine.run(CountWords{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled) << result.status().to_string();
  EXPECT_EQ(open_while_merging, 1u) << "the run should have spilled before its merge";
  EXPECT_TRUE(is_empty_dir(dir_));
  EXPECT_TRUE(descriptors_in(dir_).empty());
}

TEST_P(SpillFailureTest, DeadlineMidMergeLeavesNothing) {
  Engine engine({.threads = 2});
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  RunOptions options = spilling();
  // The deadline passes as the merge starts: the run reads its options through the
  // reference it was given, and the phase callback runs before the merge tasks start.
  options.on_phase = [&options](tally::Phase phase, bool starting) {
    if (phase == tally::Phase::kFinalize && starting) {
      options.deadline = std::chrono::steady_clock::now();
    }
  };
  auto result = engine.run(CountWords{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded) << result.status().to_string();
  EXPECT_TRUE(is_empty_dir(dir_));
  EXPECT_TRUE(descriptors_in(dir_).empty());
}

// Oracle: a spill file that reaches the file size limit (EFBIG, as a full disk gives ENOSPC)
// fails the run with kResourceExhausted naming the spill directory.
TEST_P(SpillFailureTest, FileSizeLimitIsResourceExhausted) {
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 64 << 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Engine engine({.threads = 2});
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  auto result = engine.run(CountWords{}, inputs, spilling());
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted) << result.status().to_string();
  EXPECT_NE(result.status().message().find("out of space for spill files in '" + dir_ + "'"),
            std::string::npos)
      << result.status().message();
  EXPECT_TRUE(descriptors_in(dir_).empty());
}

// Oracle: a spilled result keeps its file open while it lives (and reads the same after the
// engine that made it is gone), and closes it with the last copy.
TEST_P(SpillFailureTest, SpilledResultOutlivesTheEngineAndClosesItsFile) {
  auto inputs = Inputs::buffers({{"corpus", corpus()}});
  const auto want = oracle(CountWords{}, corpus());
  std::optional<tally::RunOutput<CountWords>> kept;
  {
    Engine engine({.threads = 2});
    auto result = engine.run(CountWords{}, inputs, spilling());
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    kept = std::move(*result);
  }
  ASSERT_TRUE(kept->table.spilled());
  EXPECT_EQ(descriptors_in(dir_).size(), 1u);
  std::size_t n = 0;
  for (const auto& [k, v] : kept->table) {
    EXPECT_EQ(v, want.at(std::string(k)));
    ++n;
  }
  EXPECT_EQ(n, want.size());
  kept.reset();
  EXPECT_TRUE(descriptors_in(dir_).empty());
}

INSTANTIATE_TEST_SUITE_P(Strategies, SpillFailureTest,
                         ::testing::Values(Strategy::kLocal, Strategy::kSharded,
                                           Strategy::kPartitioned),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

}  // namespace
