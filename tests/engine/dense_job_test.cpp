// Dense jobs (DenseJob, detail/dense_stage.hpp) and record blocks (RecordBlock).
//
// Oracles:
//  - a dense histogram of bytes equals a sequential count over the same bytes, every key in
//    [0, key_count()) present (zero where no byte had that value), at threads {1, 2, 4} and
//    split sizes from one record up; whether map() takes its output as a template or through
//    the Emitter interface, and whether it maps records one by one or a block at a time;
//  - a key at or past key_count() fails the run naming the input and record;
//  - arrays that do not fit the memory budget fail the run before it starts;
//  - Engine::run over a plan from Engine::plan gives what a run that plans itself gives.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tally/engine/engine.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RecordBlock;
using tally::StatusCode;

// Counts each byte value of fixed-size records, one record per call.
struct ByteHistogram {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t key_count() const { return 256; }
  template <typename Out>
  void map(const Record& rec, Out& out) const {
    for (const char c : rec.bytes) out.emit(static_cast<unsigned char>(c), 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

// The same through the Emitter interface.
struct VirtualByteHistogram {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t key_count() const { return 256; }
  void map(const Record& rec, tally::Emitter<Key, Value>& out) const {
    for (const char c : rec.bytes) out.emit(static_cast<unsigned char>(c), 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

// The same a block of records at a time, counting locally first.
struct BlockByteHistogram {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t key_count() const { return 256; }
  template <typename Out>
  void map(const RecordBlock& block, Out& out) const {
    std::array<std::uint64_t, 256> local{};
    for (std::size_t i = 0; i < block.size(); ++i) {
      for (const char c : block[i]) ++local[static_cast<unsigned char>(c)];
    }
    for (std::uint32_t k = 0; k < 256; ++k) {
      if (local[k] != 0) out.emit(k, local[k]);
    }
  }
  static Value combine(Value a, Value b) { return a + b; }
};

static_assert(tally::DenseJob<ByteHistogram> && tally::DenseJob<BlockByteHistogram>);
static_assert(tally::MapsRecordBlocks<BlockByteHistogram>);
static_assert(!tally::MapsRecordBlocks<ByteHistogram>);

constexpr std::size_t kHeader = 5;
constexpr std::size_t kRecord = 3;

// Random bytes, skewed so that some values never occur (their keys must still be there).
std::string image_like(std::size_t records, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(kHeader + records * kRecord, '\0');
  for (char& c : s) c = static_cast<char>(rng() % 200);
  return s;
}

std::array<std::uint64_t, 256> oracle(const std::vector<std::string>& inputs) {
  std::array<std::uint64_t, 256> counts{};
  for (const std::string& in : inputs) {
    for (std::size_t i = kHeader; i < in.size(); ++i) ++counts[static_cast<unsigned char>(in[i])];
  }
  return counts;
}

template <typename J>
void expect_histogram(const J& job, std::size_t threads, std::uint64_t split_bytes) {
  const std::vector<std::string> data = {image_like(5000, threads), image_like(1, 7),
                                         image_like(0, 8)};
  Inputs inputs = Inputs::buffers({{"a", data[0]}, {"b", data[1]}, {"c", data[2]}});
  Engine engine({.threads = threads});
  tally::RunOptions options;
  options.split_bytes = split_bytes;
  options.records = {.fixed_bytes = kRecord, .header_bytes = kHeader};
  const auto result = engine.run(job, inputs, options);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const auto expected = oracle(data);
  ASSERT_EQ(result->table.size(), 256u);
  std::uint32_t key = 0;
  for (const auto& [k, v] : result->table.by_key()) {
    EXPECT_EQ(k, key);
    EXPECT_EQ(v, expected[key]) << "byte " << key;
    ++key;
  }
  EXPECT_EQ(result->report.strategy, "dense");
  EXPECT_EQ(result->report.records_in, 5001u);
  EXPECT_EQ(result->report.distinct_keys, 256u);
}

class DenseSweep : public ::testing::TestWithParam<std::tuple<std::size_t, std::uint64_t>> {};

TEST_P(DenseSweep, TemplateSinkMatchesTheOracle) {
  expect_histogram(ByteHistogram{}, std::get<0>(GetParam()), std::get<1>(GetParam()));
}
TEST_P(DenseSweep, EmitterInterfaceMatchesTheOracle) {
  expect_histogram(VirtualByteHistogram{}, std::get<0>(GetParam()), std::get<1>(GetParam()));
}
TEST_P(DenseSweep, RecordBlocksMatchTheOracle) {
  expect_histogram(BlockByteHistogram{}, std::get<0>(GetParam()), std::get<1>(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Sweep, DenseSweep,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(kRecord, 1000, 1 << 20)));

struct KeyTooLarge {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t key_count() const { return 4; }
  template <typename Out>
  void map(const Record& rec, Out& out) const {
    out.emit(rec.bytes == "x" ? 4 : 0, 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

TEST(DenseJob, KeyPastKeyCountFailsNamingTheRecord) {
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"keys.txt", "a\nb\nx\n"}});
  const auto result = engine.run(KeyTooLarge{}, inputs);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "input 'keys.txt' line 3 (byte offset 4): exception: key 4 is not below the job's "
            "key_count() 4");
}

TEST(DenseJob, ArraysOverTheBudgetFailBeforeTheRun) {
  struct Huge : ByteHistogram {
    std::size_t key_count() const { return std::size_t{1} << 24; }
  };
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"a", image_like(10, 1)}});
  tally::RunOptions options;
  options.memory_budget = 64u << 20;  // two arrays of 2^24 x 8 bytes: 256 MiB
  const auto result = engine.run(Huge{}, inputs, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
}

TEST(DenseJob, RunOverAReusedPlanMatchesAPlannedRun) {
  Engine engine({.threads = 2});
  const std::vector<std::string> data = {image_like(3000, 3)};
  Inputs inputs = Inputs::buffers({{"a", data[0]}});
  tally::RunOptions options;
  options.split_bytes = 300;
  options.records = {.fixed_bytes = kRecord, .header_bytes = kHeader};
  const auto plan = engine.plan(inputs, options);
  ASSERT_TRUE(plan.ok());
  EXPECT_GT(plan->splits.size(), 10u);
  const auto expected = oracle(data);
  for (int round = 0; round < 3; ++round) {
    const auto result = engine.run(ByteHistogram{}, inputs, *plan, options);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_EQ(result->report.splits, plan->splits.size());
    for (const auto& [k, v] : result->table.by_key()) EXPECT_EQ(v, expected[k]);
  }
}

}  // namespace
