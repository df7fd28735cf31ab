// Inputs::views and Inputs::array: in-memory inputs the caller owns, cut into fixed-size
// records of whole elements (array_records), read back with elements_of.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RecordBlock;
using tally::RunOptions;
using tally::StatusCode;

// Sums every element of an array of uint64 one record at a time; key 1 counts the records.
// Each record must be exactly `per_record` elements, read in place.
struct SumRecords {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t per_record = 1;
  std::size_t key_count() const { return 2; }
  template <typename Out>
  void map(const Record& rec, Out& out) const {
    const std::span<const std::uint64_t> xs = tally::elements_of<std::uint64_t>(rec.bytes);
    if (xs.size() != per_record) throw std::logic_error("a record of the wrong size");
    for (const std::uint64_t x : xs) out.emit(0, x);
    out.emit(1, 1);
  }
  static Value combine(Value a, Value b) { return a + b; }
};

// The same, a block of records at a time.
struct SumBlocks {
  using Key = std::uint32_t;
  using Value = std::uint64_t;
  std::size_t key_count() const { return 2; }
  template <typename Out>
  void map(const RecordBlock& block, Out& out) const {
    for (const std::uint64_t x : tally::elements_of<std::uint64_t>(block.bytes)) out.emit(0, x);
    out.emit(1, block.size());
  }
  static Value combine(Value a, Value b) { return a + b; }
};

static_assert(tally::DenseJob<SumRecords>);
static_assert(tally::DenseJob<SumBlocks>);
static_assert(tally::MapsRecordBlocks<SumBlocks>);

std::vector<std::uint64_t> random_elements(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> xs(n);
  for (auto& x : xs) x = rng() >> 24;  // 40 bits: the sum of a few thousand cannot overflow
  return xs;
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

// Oracle: a view is the caller's bytes, not a copy: same address, size, name and total.
TEST(InputViews, AreTheCallersBytes) {
  const std::string a = "first input\n";
  const std::string b = "second\n";
  Inputs inputs = Inputs::views({{"a", a}, {"b", b}});
  ASSERT_TRUE(inputs.is_open());
  ASSERT_TRUE(inputs.open().ok());
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs.name(0), "a");
  EXPECT_EQ(inputs.name(1), "b");
  EXPECT_EQ(inputs.data(0).data(), a.data());
  EXPECT_EQ(inputs.data(1).data(), b.data());
  EXPECT_EQ(inputs.data(1), b);
  EXPECT_EQ(inputs.total_bytes(), a.size() + b.size());
  EXPECT_FALSE(inputs.shrank(0));
  EXPECT_TRUE(inputs.check_intact().ok());
}

// Oracle: an array input is one input over the elements' bytes, in place.
TEST(InputViews, ArrayViewsTheElements) {
  const std::vector<std::uint64_t> xs = {1, 2, 3};
  Inputs inputs = Inputs::array<std::uint64_t>("xs", xs);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs.name(0), "xs");
  EXPECT_EQ(static_cast<const void*>(inputs.data(0).data()), static_cast<const void*>(xs.data()));
  EXPECT_EQ(inputs.total_bytes(), 3 * sizeof(std::uint64_t));
  const std::span<const std::uint64_t> back = tally::elements_of<std::uint64_t>(inputs.data(0));
  EXPECT_EQ(back.data(), xs.data());
  EXPECT_EQ(back.size(), 3u);
}

// Oracle: elements_of refuses bytes that are not whole, aligned elements.
TEST(InputViews, ElementsOfChecksSizeAndAlignment) {
  alignas(8) const char bytes[17] = {};
  EXPECT_EQ(tally::elements_of<std::uint64_t>(std::string_view(bytes, 16)).size(), 2u);
  EXPECT_EQ(tally::elements_of<std::uint64_t>(std::string_view(bytes, 0)).size(), 0u);
  EXPECT_THROW(tally::elements_of<std::uint64_t>(std::string_view(bytes, 12)),
               std::invalid_argument);
  EXPECT_THROW(tally::elements_of<std::uint64_t>(std::string_view(bytes + 1, 8)),
               std::invalid_argument);
  EXPECT_EQ(tally::elements_of<char>(std::string_view(bytes + 1, 5)).size(), 5u);
}

TEST(InputViews, ArrayRecordsAreWholeElements) {
  constexpr tally::RecordLayout layout = tally::array_records<double>(3);
  EXPECT_EQ(layout.fixed_bytes, 24u);
  EXPECT_EQ(layout.header_bytes, 0u);
  EXPECT_EQ(tally::array_records<std::uint16_t>().fixed_bytes, 2u);
}

// Oracle: with array_records, every segment of every plan (at split targets that are not
// multiples of a record) starts and ends on a record boundary, and the segments cover the
// array once, in order.
TEST(InputViews, SplitsFallOnElementBoundaries) {
  const std::vector<std::uint64_t> xs = random_elements(3 * 101, 1);
  Inputs inputs = Inputs::array<std::uint64_t>("xs", xs);
  const tally::RecordLayout layout = tally::array_records<std::uint64_t>(3);
  for (const std::uint64_t target : {1u, 7u, 24u, 25u, 100u, 1000u, 1u << 20}) {
    const tally::SplitPlan plan =
        tally::plan_splits(inputs, {.target_bytes = target, .records = layout});
    std::uint64_t next = 0;
    for (const tally::Segment& seg : plan.segments) {
      EXPECT_EQ(seg.begin, next) << "target " << target;
      EXPECT_EQ(seg.begin % 24, 0u) << "target " << target;
      EXPECT_EQ(seg.end % 24, 0u) << "target " << target;
      next = seg.end;
    }
    EXPECT_EQ(next, inputs.total_bytes()) << "target " << target;
  }
}

// Oracle: a layout the array does not fill with whole records fails the run, naming it.
TEST(InputViews, ArrayOfPartRecordsFails) {
  const std::vector<std::uint64_t> xs(10);
  Inputs inputs = Inputs::array<std::uint64_t>("xs", xs);
  Engine engine({.threads = 1});
  auto result = engine.run(SumRecords{.per_record = 3}, inputs,
                           {.records = tally::array_records<std::uint64_t>(3)});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "input 'xs' has 8 bytes after its last whole 24-byte record");
}

// ---------------------------------------------------------------------------------------------
// Runs over arrays, at threads {1, 2, 4}
// ---------------------------------------------------------------------------------------------

struct ArrayCase {
  std::size_t elements;
  std::size_t per_record;
  std::uint64_t split_records;  // split_bytes = this many records (0: the engine's default)
};

class ArraySum : public ::testing::TestWithParam<std::tuple<std::size_t, ArrayCase>> {};

// Oracle: std::accumulate over the array, and elements / per_record records; whether the job
// maps records or blocks, and however small the splits.
TEST_P(ArraySum, MatchesAccumulate) {
  const auto [threads, c] = GetParam();
  const std::vector<std::uint64_t> xs = random_elements(c.elements, c.elements + c.per_record);
  const std::uint64_t expected = std::accumulate(xs.begin(), xs.end(), std::uint64_t{0});
  const std::uint64_t record_bytes = c.per_record * sizeof(std::uint64_t);
  Engine engine({.threads = threads});
  Inputs inputs = Inputs::array<std::uint64_t>("xs", xs);
  const RunOptions options{.split_bytes = c.split_records * record_bytes,
                           .records = tally::array_records<std::uint64_t>(c.per_record)};

  auto by_record = engine.run(SumRecords{.per_record = c.per_record}, inputs, options);
  ASSERT_TRUE(by_record.ok()) << by_record.status().to_string();
  EXPECT_EQ(by_record->table.find(0), expected);
  EXPECT_EQ(by_record->table.find(1), c.elements / c.per_record);
  EXPECT_EQ(by_record->report.records_in, c.elements / c.per_record);
  EXPECT_EQ(by_record->report.bytes_in, c.elements * sizeof(std::uint64_t));
  if (c.split_records != 0) {
    const std::uint64_t records = c.elements / c.per_record;
    EXPECT_EQ(by_record->report.splits, (records + c.split_records - 1) / c.split_records);
  }

  auto by_block = engine.run(SumBlocks{}, inputs, options);
  ASSERT_TRUE(by_block.ok()) << by_block.status().to_string();
  EXPECT_EQ(by_block->table.find(0), expected);
  EXPECT_EQ(by_block->table.find(1), c.elements / c.per_record);
}

INSTANTIATE_TEST_SUITE_P(
    ThreadsAndSplits, ArraySum,
    ::testing::Combine(::testing::Values(1, 2, 4),
                       ::testing::Values(ArrayCase{0, 1, 1}, ArrayCase{1, 1, 1},
                                         ArrayCase{5000, 1, 7}, ArrayCase{3 * 2000, 3, 13},
                                         ArrayCase{5 * 999, 5, 1}, ArrayCase{20000, 4, 0},
                                         ArrayCase{4 * 3000, 4, 2500})),
    [](const auto& param_info) {
      const ArrayCase& c = std::get<1>(param_info.param);
      return "threads" + std::to_string(std::get<0>(param_info.param)) + "_n" +
             std::to_string(c.elements) + "_per" + std::to_string(c.per_record) + "_split" +
             std::to_string(c.split_records);
    });

// Oracle: an empty array has no split and no record; a dense job's result is every key at 0.
TEST(InputViews, EmptyArrayRunsToZero) {
  const std::vector<double> none;
  Inputs inputs = Inputs::array<double>("none", none);
  EXPECT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs.total_bytes(), 0u);
  Engine engine({.threads = 2});
  auto result = engine.run(SumBlocks{}, inputs, {.records = tally::array_records<double>(3)});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->report.splits, 0u);
  EXPECT_EQ(result->report.records_in, 0u);
  EXPECT_EQ(result->table.size(), 2u);
  EXPECT_EQ(result->table.find(0), 0u);
  EXPECT_EQ(result->table.find(1), 0u);
}

}  // namespace
