// The histogram job (jobs/histogram.hpp) run by the engine, against a sequential count.
#include "tally/jobs/histogram.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>

#include "tally/engine/engine.hpp"
#include "tally/jobs/bmp.hpp"
#include "tests/support/bmp_file.hpp"

namespace tally::jobs {
namespace {

using tally::testing::bmp_file;
using tally::testing::BmpSpec;
using tally::testing::count_pixels;

struct Image {
  std::string label;
  BmpSpec spec;
};

std::ostream& operator<<(std::ostream& os, const Image& i) { return os << i.label; }

// (image, threads, split bytes: 0 is the default)
class HistogramTest
    : public ::testing::TestWithParam<std::tuple<Image, std::size_t, std::uint64_t>> {};

// Oracle: count_pixels, a plain loop over each row's first 3 x width bytes, counts byte b at
// position 3x + c of a row under key c * 256 + b. The engine's result must hold all 768 keys,
// in key order, with exactly those counts, whatever the threads and split sizes (splits as
// small as one row), the row padding (filled with nonzero bytes here) and the bytes after
// the pixel array (never counted).
TEST_P(HistogramTest, MatchesASequentialCount) {
  const auto& [image, threads, split_bytes] = GetParam();
  const std::string file = bmp_file(image.spec);
  const std::array<std::uint64_t, 768> expected = count_pixels(file, image.spec);

  Inputs inputs = Inputs::buffers({{"x.bmp", file}});
  ASSERT_TRUE(inputs.open().ok());
  const Result<BmpImage> header = read_bmp_header(inputs.data(0), inputs.name(0));
  ASSERT_TRUE(header.ok()) << header.status().to_string();
  Engine engine({.threads = threads});
  const auto result = run_histogram(engine, inputs, *header, {.split_bytes = split_bytes});
  ASSERT_TRUE(result.ok()) << result.status().to_string();

  ASSERT_EQ(result->table.size(), 768u);
  std::uint32_t key = 0;
  for (const auto& [k, count] : result->table) {
    ASSERT_EQ(k, key);
    EXPECT_EQ(count, expected[key]) << "channel " << key / 256 << " value " << key % 256;
    ++key;
  }
  EXPECT_EQ(result->report.records_in, header->height);
  EXPECT_EQ(result->report.bytes_in, header->row_stride * header->height);
}

INSTANTIATE_TEST_SUITE_P(
    Images, HistogramTest,
    ::testing::Combine(
        ::testing::Values(
            Image{"OnePixel", {.width = 1, .height = 1}},
            // Widths 1-4 mod 4: three, two, one and no bytes of padding per row.
            Image{"Width1", {.width = 1, .height = 301, .seed = 2}},
            Image{"Width2", {.width = 2, .height = 300, .seed = 3}},
            Image{"Width3", {.width = 3, .height = 299, .seed = 4}},
            Image{"Width4", {.width = 4, .height = 298, .seed = 5}},
            Image{"Wide", {.width = 4095, .height = 9, .seed = 6}},
            Image{"TopDown", {.width = 37, .height = -51, .seed = 7}},
            // Bytes after the pixel array: fewer than a row, and many rows and a bit.
            Image{"ShortTrailer", {.width = 5, .height = 40, .seed = 8, .trailer = 7}},
            Image{"LongTrailer", {.width = 5, .height = 40, .seed = 9, .trailer = 16 * 25 + 3}},
            Image{"GapAndV5Header",
                  {.width = 6,
                   .height = 33,
                   .info_bytes = 124,
                   .gap = 20,
                   .seed = 10,
                   .trailer = 100}}),
        ::testing::Values(std::size_t{1}, std::size_t{2}, std::size_t{4}),
        ::testing::Values(std::uint64_t{1}, std::uint64_t{100}, std::uint64_t{0})),
    [](const auto& p) {
      return std::get<0>(p.param).label + "_threads" + std::to_string(std::get<1>(p.param)) +
             "_split" + std::to_string(std::get<2>(p.param));
    });

// Oracle: map() of one row emits key c * 256 + b once for each of the row's first
// row_pixel_bytes bytes (c = position mod 3) and nothing for the padding.
TEST(HistogramJob, MapsOneRowWithoutItsPadding) {
  struct Collect {
    std::array<std::uint64_t, 768> counts{};
    std::size_t emitted = 0;
    void emit(std::uint32_t key, std::uint64_t value) {
      counts.at(key) += value;
      ++emitted;
    }
  } out;
  const std::string row = std::string("\x00\x01\xff\x10\x20\x30", 6) + "\x7f\x7f";  // 2 pixels
  const Histogram job{.row_pixel_bytes = 6};
  job.map(Record{.bytes = row}, out);
  EXPECT_EQ(out.emitted, 6u);
  EXPECT_EQ(out.counts[Histogram::key(Histogram::kBlue, 0x00)], 1u);
  EXPECT_EQ(out.counts[Histogram::key(Histogram::kGreen, 0x01)], 1u);
  EXPECT_EQ(out.counts[Histogram::key(Histogram::kRed, 0xff)], 1u);
  EXPECT_EQ(out.counts[Histogram::key(Histogram::kBlue, 0x10)], 1u);
  EXPECT_EQ(out.counts[Histogram::key(Histogram::kGreen, 0x20)], 1u);
  EXPECT_EQ(out.counts[Histogram::key(Histogram::kRed, 0x30)], 1u);
  EXPECT_EQ(Histogram::key(Histogram::kRed, 0xff), 767u);
}

}  // namespace
}  // namespace tally::jobs
