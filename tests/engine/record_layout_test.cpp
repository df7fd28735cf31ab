// Record layouts (record_layout.hpp): fixed-size records after a header, and record numbers.
//
// Oracles:
//  - fixed-size records: the plan's segments tile each input's bytes after its header in whole
//    records, in order; every split but those of one oversized record stays within the
//    target; a map run sees exactly the records an index loop over the bytes sees, each with
//    its offset and number (its index + 1).
//  - check_record_layout names the first input whose size after its header is not a
//    multiple of the record size, or that is shorter than its header.
//  - numbered delimited records: every Record::number equals one plus the count of
//    delimiters before the record in its input, whatever the split size and thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/count_byte.hpp"
#include "tally/engine/engine.hpp"
#include "tally/engine/map_only.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RecordLayout;
using tally::SplitPlan;
using tally::StatusCode;

// The bytes of record i of an input: distinct enough to be identified.
std::string binary_input(std::size_t header, std::size_t records, std::size_t size,
                         std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(header + records * size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class FixedRecords : public ::testing::TestWithParam<std::tuple<std::size_t, std::uint64_t>> {};

TEST_P(FixedRecords, SegmentsTileWholeRecordsAfterTheHeader) {
  const auto [record, target] = GetParam();
  const std::size_t header = 7;
  Inputs inputs = Inputs::buffers({{"a", binary_input(header, 100, record, 1)},
                                   {"empty", binary_input(header, 0, record, 2)},
                                   {"b", binary_input(header, 37, record, 3)}});
  ASSERT_TRUE(inputs.open().ok());
  const RecordLayout layout{.fixed_bytes = record, .header_bytes = header};
  ASSERT_TRUE(tally::check_record_layout(inputs, layout).ok());
  const SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = target, .records = layout});
  std::map<std::size_t, std::uint64_t> next;  // per input: where the next segment must start
  for (const tally::Split& split : plan.splits) {
    std::uint64_t bytes = 0;
    for (const tally::Segment& seg : plan.segments_of(split)) {
      const std::uint64_t expected = next.contains(seg.input) ? next[seg.input] : header;
      EXPECT_EQ(seg.begin, expected) << "input " << seg.input;
      EXPECT_EQ((seg.end - seg.begin) % record, 0u);
      EXPECT_GT(seg.end, seg.begin);
      next[seg.input] = seg.end;
      bytes += seg.end - seg.begin;
    }
    EXPECT_EQ(bytes, split.bytes);
    if (split.bytes > target) {
      EXPECT_EQ(split.bytes, record) << "only one oversized record";
    }
  }
  EXPECT_EQ(next[0], inputs.data(0).size());
  EXPECT_FALSE(next.contains(1)) << "an input of a header alone has no segment";
  EXPECT_EQ(next[2], inputs.data(2).size());
}

INSTANTIATE_TEST_SUITE_P(Sweep, FixedRecords,
                         ::testing::Combine(::testing::Values(1, 2, 3, 64),
                                            ::testing::Values(1, 5, 64, 1000, 1 << 20)));

TEST(FixedRecords, CheckNamesTheInputWithAPartialRecord) {
  Inputs inputs = Inputs::buffers({{"good", std::string(4 + 6, 'x')},
                                   {"odd.bin", std::string(4 + 7, 'x')},
                                   {"short.bin", "xy"}});
  ASSERT_TRUE(inputs.open().ok());
  const auto s = tally::check_record_layout(inputs, {.fixed_bytes = 2, .header_bytes = 4});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'odd.bin' has 1 bytes after its last whole 2-byte record");
  Inputs short_one = Inputs::buffers({{"short.bin", "xy"}});
  ASSERT_TRUE(short_one.open().ok());
  EXPECT_EQ(tally::check_record_layout(short_one, {.fixed_bytes = 2, .header_bytes = 4}).message(),
            "input 'short.bin' is 2 bytes, shorter than its 4-byte header");
  EXPECT_TRUE(tally::check_record_layout(inputs, {}).ok()) << "delimited records always fit";
}

// With a record count, bytes after the records are no error and in no segment; too few
// records are.
TEST(FixedRecords, ARecordCountLeavesTheTrailerOut) {
  Inputs inputs = Inputs::buffers({{"img", std::string(4 + 3 * 5 + 7, 'x')}});
  ASSERT_TRUE(inputs.open().ok());
  const RecordLayout layout{.fixed_bytes = 3, .header_bytes = 4, .record_count = 5};
  ASSERT_TRUE(tally::check_record_layout(inputs, layout).ok());
  const SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 6, .records = layout});
  ASSERT_FALSE(plan.segments.empty());
  EXPECT_EQ(plan.segments.front().begin, 4u);
  EXPECT_EQ(plan.segments.back().end, 4u + 15u);
  const RecordLayout more{.fixed_bytes = 3, .header_bytes = 4, .record_count = 8};
  EXPECT_EQ(tally::check_record_layout(inputs, more).message(),
            "input 'img' holds 7 whole 3-byte records after its header, 8 expected");
}

// Collects every record a map-only run sees, keyed by (input, offset).
struct Collect {
  std::mutex* mutex;
  std::map<std::pair<std::size_t, std::uint64_t>, std::pair<std::string, std::uint64_t>>* seen;
  void map(const Record& rec, tally::RecordSink&) const {
    std::lock_guard lock(*mutex);
    const bool fresh = seen->emplace(std::pair(rec.input, rec.offset),
                                     std::pair(std::string(rec.bytes), rec.number))
                           .second;
    if (!fresh) throw std::logic_error("a record was mapped twice");
  }
};

class NumberedRuns : public ::testing::TestWithParam<std::tuple<std::size_t, std::uint64_t>> {};

TEST_P(NumberedRuns, FixedRecordsArriveOnceWithTheirNumbers) {
  const auto [threads, split_bytes] = GetParam();
  const std::size_t header = 3;
  const std::size_t record = 5;
  const std::vector<std::string> data = {binary_input(header, 200, record, 4),
                                         binary_input(header, 1, record, 5)};
  Inputs inputs = Inputs::buffers({{"a", data[0]}, {"b", data[1]}});
  Engine engine({.threads = threads});
  std::mutex mutex;
  std::map<std::pair<std::size_t, std::uint64_t>, std::pair<std::string, std::uint64_t>> seen;
  const auto report = tally::run_map_only(
      engine, Collect{&mutex, &seen}, inputs, [](std::string_view) { return tally::Status::Ok(); },
      {.split_bytes = split_bytes,
       .records = {.fixed_bytes = record, .header_bytes = header, .numbered = true}});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  std::size_t expected = 0;
  for (std::size_t in = 0; in < data.size(); ++in) {
    for (std::size_t i = 0; header + (i + 1) * record <= data[in].size(); ++i, ++expected) {
      const auto it = seen.find({in, header + i * record});
      ASSERT_NE(it, seen.end()) << "input " << in << " record " << i;
      EXPECT_EQ(it->second.first, data[in].substr(header + i * record, record));
      EXPECT_EQ(it->second.second, i + 1);
    }
  }
  EXPECT_EQ(seen.size(), expected);
  EXPECT_EQ(report->records_in, expected);
}

TEST_P(NumberedRuns, LinesCarryTheirLineNumbers) {
  const auto [threads, split_bytes] = GetParam();
  std::mt19937_64 rng(threads * 1000 + split_bytes);
  std::vector<std::string> texts(3);
  for (std::string& t : texts) {
    const std::size_t lines = rng() % 300;
    for (std::size_t i = 0; i < lines; ++i) {
      t += std::string(rng() % 40, 'a' + static_cast<char>(rng() % 26));
      if (i + 1 < lines || rng() % 2 == 0) t += '\n';  // half the inputs end without one
    }
  }
  Inputs inputs = Inputs::buffers({{"x", texts[0]}, {"y", texts[1]}, {"z", texts[2]}});
  Engine engine({.threads = threads});
  std::mutex mutex;
  std::map<std::pair<std::size_t, std::uint64_t>, std::pair<std::string, std::uint64_t>> seen;
  const auto report = tally::run_map_only(
      engine, Collect{&mutex, &seen}, inputs, [](std::string_view) { return tally::Status::Ok(); },
      {.split_bytes = split_bytes, .records = {.numbered = true}});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  std::size_t expected = 0;
  for (std::size_t in = 0; in < texts.size(); ++in) {
    std::uint64_t line = 1;
    for (std::size_t pos = 0; pos < texts[in].size(); ++line, ++expected) {
      std::size_t end = texts[in].find('\n', pos);
      if (end == std::string::npos) end = texts[in].size();
      const auto it = seen.find({in, pos});
      ASSERT_NE(it, seen.end()) << "input " << in << " line " << line;
      EXPECT_EQ(it->second.first, texts[in].substr(pos, end - pos));
      EXPECT_EQ(it->second.second, line);
      pos = end + 1;
    }
  }
  EXPECT_EQ(seen.size(), expected);
}

INSTANTIATE_TEST_SUITE_P(Sweep, NumberedRuns,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(1, 17, 4096)));

// A map() error names the record: its line for lines, its record number for fixed-size ones.
struct FailsAt {
  std::uint64_t offset;
  void map(const Record& rec, tally::RecordSink&) const {
    if (rec.offset == offset) throw std::runtime_error("broken");
  }
};

TEST(RecordErrors, NameTheLineOrRecordNumber) {
  Engine engine({.threads = 2});
  Inputs lines = Inputs::buffers({{"t.txt", "aa\nbb\ncc\n"}});
  const auto by_line = tally::run_map_only(engine, FailsAt{6}, lines,
                                           [](std::string_view) { return tally::Status::Ok(); });
  ASSERT_FALSE(by_line.ok());
  EXPECT_EQ(by_line.status().message(), "input 't.txt' line 3 (byte offset 6): exception: broken");
  Inputs fixed = Inputs::buffers({{"f.bin", std::string(2 + 4 * 3, 'x')}});
  const auto by_record = tally::run_map_only(engine, FailsAt{2 + 2 * 3}, fixed,
                                             [](std::string_view) { return tally::Status::Ok(); },
                                             {.records = {.fixed_bytes = 3, .header_bytes = 2}});
  ASSERT_FALSE(by_record.ok());
  EXPECT_EQ(by_record.status().message(),
            "input 'f.bin' record 3 (byte offset 8): exception: broken");
  Inputs partial = Inputs::buffers({{"p.bin", std::string(5, 'x')}});
  const auto misfit = tally::run_map_only(engine, FailsAt{1000}, partial,
                                          [](std::string_view) { return tally::Status::Ok(); },
                                          {.records = {.fixed_bytes = 2}});
  ASSERT_FALSE(misfit.ok());
  EXPECT_EQ(misfit.status().code(), StatusCode::kInvalidArgument);
}

// Oracle: count_byte equals std::count at every length and alignment around the
// vector loop's 16-byte blocks and its 255-block flushes.
TEST(CountByte, EqualsStdCount) {
  std::mt19937_64 rng(7);
  std::string text(9000, 'x');
  for (char& c : text) c = rng() % 3 == 0 ? '\n' : static_cast<char>(rng());
  for (std::size_t from = 0; from < 40; ++from) {
    for (std::size_t n : {0, 1, 15, 16, 17, 255 * 16, 255 * 16 + 1, 8000}) {
      const std::string_view s = std::string_view(text).substr(from, n);
      EXPECT_EQ(tally::count_byte(s, '\n'),
                static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n')));
    }
  }
}

}  // namespace
