// Distributed runs (mpi/run.hpp) with ranks as threads (tests/support/thread_communicator.hpp):
// whatever the number of ranks, strategy, budget and round size, rank 0's result must equal
// the single-process run's entry for entry, in key and value order, and the report must
// count every record once. Failures on one rank must fail every rank with one status.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/mpi/run.hpp"
#include "tests/support/space_words.hpp"
#include "tests/support/strategy_printer.hpp"
#include "tests/support/thread_communicator.hpp"

namespace {

namespace fs = std::filesystem;
using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RunOptions;
using tally::StatusCode;
using tally::Strategy;
using tally::mpi::Communicator;
using tally::mpi::DistributedOptions;
using tally::testing::ThreadGroup;

using CountWords = tally::testing::SpaceWordCount;

using Entries = std::vector<std::pair<std::string, std::uint64_t>>;

// Uneven inputs: one large file, many tiny ones, empty ones, and a few very long words.
fs::path make_inputs() {
  const fs::path dir =
      fs::temp_directory_path() / ("tally-distributed-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::uint64_t x = 99;
  const auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  {
    std::ofstream big(dir / "big.txt");
    for (int i = 0; i < 60000; ++i) {
      big << "w" << next() % 20000 << (i % 9 == 8 ? "\n" : " ") << "the ";
    }
    big << "\n" << std::string(70000, 'z') << "\n";
  }
  for (int f = 0; f < 40; ++f) {
    std::ofstream tiny(dir / ("tiny" + std::to_string(f) + ".txt"));
    tiny << "w" << next() % 20000 << " tiny" << f % 3;
  }
  for (int f = 0; f < 3; ++f) std::ofstream(dir / ("empty" + std::to_string(f) + ".txt"));
  return dir;
}

const fs::path& inputs_dir() {
  static const fs::path dir = make_inputs();
  return dir;
}

template <typename Range>
Entries copy(const Range& range) {
  Entries out;
  for (const auto& [k, v] : range) out.emplace_back(std::string(k), v);
  return out;
}

struct Reference {
  Entries by_key;
  Entries by_value;
  std::uint64_t records = 0;
};

const Reference& reference() {
  static const Reference ref = [] {
    Engine engine({.threads = 2});
    Inputs inputs = Inputs::paths({inputs_dir().string()});
    auto result = engine.run(CountWords{}, inputs);
    EXPECT_TRUE(result.ok()) << result.status().to_string();
    return Reference{copy(result->table.by_key()), copy(result->table.by_value()),
                     result->report.records_in};
  }();
  return ref;
}

struct Case {
  int ranks;
  Strategy strategy;
  std::uint64_t budget;
  std::size_t round_bytes;
  std::size_t top;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.ranks << " ranks, " << tally::to_string(c.strategy) << ", budget " << c.budget
      << ", rounds of " << c.round_bytes << ", top " << c.top;
}

class DistributedRun : public ::testing::TestWithParam<Case> {};

TEST_P(DistributedRun, RankZeroHoldsTheSingleProcessResult) {
  const Case& c = GetParam();
  const Reference& ref = reference();
  ThreadGroup group(c.ranks);
  std::mutex mutex;
  std::map<int, tally::Status> statuses;
  Entries by_key, by_value, top;
  tally::RunReport report;
  std::vector<std::size_t> sizes(static_cast<std::size_t>(c.ranks));
  group.run([&](Communicator& comm) {
    Engine engine({.threads = 2});
    Inputs inputs = Inputs::paths({inputs_dir().string()});
    RunOptions options{.strategy = c.strategy, .memory_budget = c.budget};
    options.order = tally::ResultOrder::kByValue;
    auto result = tally::mpi::run(engine, CountWords{}, inputs, comm, options,
                                  DistributedOptions{.top = c.top, .round_bytes = c.round_bytes});
    const std::lock_guard lock(mutex);
    statuses[comm.rank()] = result.ok() ? tally::Status::Ok() : result.status();
    if (!result.ok()) return;
    sizes[static_cast<std::size_t>(comm.rank())] = result->table.size();
    if (comm.rank() != 0) return;
    report = result->report;
    if (c.top != 0) {
      top = copy(result->table.top(c.top));
    } else {
      by_key = copy(result->table.by_key());
      by_value = copy(result->table.by_value());
      for (const auto& [k, v] : ref.by_key) {
        EXPECT_EQ(result->table.find(k), v) << k;
      }
      EXPECT_FALSE(result->table.find("no such word").has_value());
    }
  });
  for (const auto& [rank, status] : statuses) {
    ASSERT_TRUE(status.ok()) << "rank " << rank << ": " << status.to_string();
  }
  if (c.top != 0) {
    const Entries want(
        ref.by_value.begin(),
        ref.by_value.begin() + static_cast<std::ptrdiff_t>(std::min(c.top, ref.by_value.size())));
    EXPECT_EQ(top, want);
  } else {
    EXPECT_EQ(by_key, ref.by_key);
    EXPECT_EQ(by_value, ref.by_value);
  }
  for (std::size_t r = 1; r < sizes.size(); ++r) EXPECT_EQ(sizes[r], 0u) << "rank " << r;
  EXPECT_EQ(report.ranks, static_cast<std::uint64_t>(c.ranks));
  EXPECT_EQ(report.records_in, ref.records);
  EXPECT_EQ(report.distinct_keys, ref.by_key.size());
  if (c.ranks == 1) {
    EXPECT_EQ(report.exchange_rounds, 0u) << "one rank has nothing to exchange";
  } else {
    EXPECT_GE(report.exchange_rounds, 1u);
  }
  if (c.round_bytes != 0 && c.round_bytes < 4096 && c.ranks > 1) {
    EXPECT_GT(report.exchange_rounds, 10u) << "small rounds must take many";
    EXPECT_GT(report.exchange_bytes, 0u);
  }
  if (c.budget != 0 && c.top == 0) {
    EXPECT_GT(report.spill_runs, 0u) << "the budget must spill";
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const int ranks : {1, 2, 3, 5}) {
    for (const Strategy s : {Strategy::kLocal, Strategy::kSharded, Strategy::kPartitioned}) {
      out.push_back({ranks, s, 0, 0, 0});
    }
    out.push_back({ranks, Strategy::kLocal, 0, 1000, 0});  // many small rounds
    out.push_back({ranks, Strategy::kLocal, 0, 0, 10});
    out.push_back({ranks, Strategy::kSharded, std::uint64_t{1} << 20, 0, 0});
    out.push_back({ranks, Strategy::kPartitioned, std::uint64_t{1} << 20, 3000, 0});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, DistributedRun, ::testing::ValuesIn(cases()));

// Every split in exactly one share, and each share within one split of an equal part of
// the bytes, however uneven the files.
TEST(SplitShare, SharesPartitionThePlanByBytes) {
  Inputs inputs = Inputs::paths({inputs_dir().string()});
  ASSERT_TRUE(inputs.open().ok());
  const tally::SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 64 << 10});
  std::uint64_t total = 0, largest = 0;
  for (const tally::Split& s : plan.splits) {
    total += s.bytes;
    largest = std::max(largest, s.bytes);
  }
  for (const std::size_t count : {2, 3, 7}) {
    std::vector<std::uint64_t> seen;
    for (std::size_t i = 0; i < count; ++i) {
      tally::SplitPlan share = plan;
      tally::keep_share(share, i, count);
      std::uint64_t bytes = 0;
      for (const tally::Split& s : share.splits) {
        bytes += s.bytes;
        seen.push_back(s.first);
      }
      EXPECT_LE(bytes, total / count + largest) << i << " of " << count;
      EXPECT_GE(bytes + largest, total / count) << i << " of " << count;
    }
    std::sort(seen.begin(), seen.end());
    std::vector<std::uint64_t> all;
    for (const tally::Split& s : plan.splits) all.push_back(s.first);
    EXPECT_EQ(seen, all) << count << " shares";
  }
}

// Runs `ranks` ranks, rank r over `paths_of(r)` with `options_of(r)`; every rank's status.
template <typename PathsOf, typename OptionsOf>
std::vector<tally::Status> statuses_of(int ranks, PathsOf paths_of, OptionsOf options_of) {
  ThreadGroup group(ranks);
  std::vector<tally::Status> out(static_cast<std::size_t>(ranks));
  group.run([&](Communicator& comm) {
    Engine engine({.threads = 1});
    Inputs inputs = Inputs::paths(paths_of(comm.rank()));
    auto result = tally::mpi::run(engine, CountWords{}, inputs, comm, options_of(comm.rank()));
    out[static_cast<std::size_t>(comm.rank())] =
        result.ok() ? tally::Status::Ok() : result.status();
  });
  return out;
}

TEST(DistributedFailure, AnInputMissingOnOneRankFailsEveryRankWithItsMessage) {
  const std::string missing = (inputs_dir() / "missing.txt").string();
  const auto statuses = statuses_of(
      3,
      [&](int rank) {
        std::vector<std::string> paths{inputs_dir().string()};
        if (rank == 2) paths.push_back(missing);
        return paths;
      },
      [](int) { return RunOptions{}; });
  for (const tally::Status& s : statuses) {
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
    EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("(rank 2)"), std::string::npos) << s.message();
  }
}

// Rank 1's share (the end of the second file) holds a record its map throws on; rank 0's
// share (the start of the first) starts with a record whose map waits until rank 0 has heard
// rank 1's alert. So rank 0 can only finish if the alert
// reaches it while it maps, and then it stops there instead of mapping the rest.
struct FailsOnPoison {
  using Key = std::string_view;
  using Value = std::uint64_t;
  ThreadGroup* group;
  template <typename Out>
  void map(Record rec, Out& out) const {
    if (rec.bytes == "poison") throw std::runtime_error("a poisoned record");
    if (rec.bytes == "wait for the alert" && !group->alert_heard(0, std::chrono::seconds(60))) {
      throw std::runtime_error("no alert came");
    }
    tally::testing::for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, 1); });
  }
  static Value combine(Value a, Value b) { return a + b; }
};

TEST(DistributedFailure, ARankThatFailsWhileMappingStopsTheOthersAtOnce) {
  const fs::path dir = inputs_dir() / "poison";
  fs::create_directories(dir);
  std::string words;
  for (int i = 0; i < 100000; ++i) words += "w" + std::to_string(i % 977) + " x\n";
  std::ofstream(dir / "a.txt") << "wait for the alert\n" << words;
  std::ofstream(dir / "b.txt") << words << "poison\n";
  ThreadGroup group(2);
  std::vector<tally::Status> statuses(2);
  group.run([&](Communicator& comm) {
    Engine engine({.threads = 1});
    Inputs inputs = Inputs::paths({(dir / "a.txt").string(), (dir / "b.txt").string()});
    auto result = tally::mpi::run(engine, FailsOnPoison{&group}, inputs, comm);
    statuses[static_cast<std::size_t>(comm.rank())] =
        result.ok() ? tally::Status::Ok() : result.status();
  });
  for (const tally::Status& s : statuses) {
    EXPECT_NE(s.message().find("a poisoned record"), std::string::npos) << s.to_string();
    EXPECT_NE(s.message().find("(rank 1)"), std::string::npos) << s.to_string();
  }
}

TEST(DistributedFailure, RanksThatSeeDifferentInputsFailBeforeCounting) {
  const auto statuses = statuses_of(
      2,
      [](int rank) {
        return std::vector<std::string>{
            (inputs_dir() / (rank == 0 ? "big.txt" : "tiny1.txt")).string()};
      },
      [](int) { return RunOptions{}; });
  for (const tally::Status& s : statuses) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
    EXPECT_NE(s.message().find("different inputs"), std::string::npos) << s.message();
  }
}

TEST(DistributedFailure, AStopOnOneRankStopsEveryRank) {
  std::stop_source stopped;
  stopped.request_stop();
  const auto statuses = statuses_of(
      3, [](int) { return std::vector<std::string>{inputs_dir().string()}; },
      [&](int rank) {
        RunOptions options;
        if (rank == 1) options.stop = stopped.get_token();
        return options;
      });
  for (const tally::Status& s : statuses) {
    EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.to_string();
  }
}

TEST(DistributedFailure, APassedDeadlineFailsEveryRank) {
  const auto statuses = statuses_of(
      2, [](int) { return std::vector<std::string>{inputs_dir().string()}; },
      [](int) {
        RunOptions options;
        options.deadline = std::chrono::steady_clock::now();
        return options;
      });
  for (const tally::Status& s : statuses) {
    EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.to_string();
  }
}

}  // namespace
