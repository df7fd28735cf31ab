// read_bmp_header and the plan of its pixel rows (jobs/bmp.hpp, BmpImage::rows()).
#include "tally/jobs/bmp.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tally/engine/input.hpp"
#include "tests/support/bmp_file.hpp"

namespace tally::jobs {
namespace {

using tally::testing::bmp_file;
using tally::testing::BmpSpec;

// ---------------------------------------------------------------------------------------------
// Valid headers
// ---------------------------------------------------------------------------------------------

// Oracle: the stride of width w is 3w rounded up to a multiple of 4, worked out by hand for
// each residue of w mod 4 (1 -> 4, 2 -> 8, 3 -> 12, 4 -> 12, ...), and every field is read
// back as written.
class BmpWidthTest : public ::testing::TestWithParam<std::pair<std::int32_t, std::uint64_t>> {};

TEST_P(BmpWidthTest, ReadsFieldsAndStride) {
  const auto [width, stride] = GetParam();
  const std::string f = bmp_file({.width = width, .height = 5});
  const Result<BmpImage> image = read_bmp_header(f, "x.bmp");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->width, static_cast<std::uint64_t>(width));
  EXPECT_EQ(image->height, 5u);
  EXPECT_FALSE(image->top_down);
  EXPECT_EQ(image->pixel_offset, 54u);
  EXPECT_EQ(image->row_stride, stride);
  EXPECT_EQ(bmp_row_stride(image->width), stride);
  EXPECT_EQ(image->row_pixel_bytes(), 3u * static_cast<std::uint64_t>(width));
  EXPECT_EQ(image->pixel_end(), 54 + 5 * stride);
  EXPECT_EQ(image->rows().fixed_bytes, stride);
  EXPECT_EQ(image->rows().header_bytes, 54u);
  EXPECT_EQ(f.size(), image->pixel_end());
}

INSTANTIATE_TEST_SUITE_P(Widths, BmpWidthTest,
                         ::testing::Values(std::pair{1, 4u}, std::pair{2, 8u}, std::pair{3, 12u},
                                           std::pair{4, 12u}, std::pair{5, 16u}, std::pair{6, 20u},
                                           std::pair{7, 24u}, std::pair{8, 24u},
                                           std::pair{4095, 12288u}, std::pair{4096, 12288u}));

TEST(BmpHeader, NegativeHeightIsTopDown) {
  const Result<BmpImage> image = read_bmp_header(bmp_file({.width = 2, .height = -7}), "t.bmp");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(image->top_down);
  EXPECT_EQ(image->height, 7u);
  EXPECT_EQ(image->pixel_end(), 54u + 7 * 8);
}

TEST(BmpHeader, LaterInfoHeadersAndAGapBeforeThePixels) {
  // A BITMAPV5HEADER (124 bytes), then 12 bytes (a color table, say) before the pixels.
  const Result<BmpImage> image =
      read_bmp_header(bmp_file({.width = 3, .height = 2, .info_bytes = 124, .gap = 12}), "v5");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->pixel_offset, 14u + 124 + 12);
}

TEST(BmpHeader, BytesAfterThePixelArrayAreAllowed) {
  const std::string f = bmp_file({.width = 3, .height = 2, .trailer = 1000});
  const Result<BmpImage> image = read_bmp_header(f, "x.bmp");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->pixel_end(), 54u + 2 * 12);
  EXPECT_EQ(f.size(), image->pixel_end() + 1000);
}

TEST(BmpHeader, TheLargestHeightHasAMagnitude) {
  // -2^31 rows of one pixel: only the headers are there, so the file is truncated, and the
  // message shows the magnitude was computed without overflow.
  std::string f = bmp_file({.width = 1, .height = 0});
  f[22] = 0;
  f[23] = 0;
  f[24] = 0;
  f[25] = static_cast<char>(0x80);
  const Result<BmpImage> image = read_bmp_header(f, "big.bmp");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().message(),
            "'big.bmp' is truncated: 8589934592 pixel bytes expected after offset 54, 0 found");
}

// ---------------------------------------------------------------------------------------------
// Every kind of bad file: kInvalidArgument with one message naming the file and the fault
// ---------------------------------------------------------------------------------------------

struct BadBmp {
  std::string label;
  std::function<std::string()> file;
  std::string message;  // after "'bad.bmp' "
};

std::ostream& operator<<(std::ostream& os, const BadBmp& b) { return os << b.label; }

class BadBmpTest : public ::testing::TestWithParam<BadBmp> {};

TEST_P(BadBmpTest, FailsNamingTheFileAndTheFault) {
  const Result<BmpImage> image = read_bmp_header(GetParam().file(), "bad.bmp");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(image.status().message(), "'bad.bmp' " + GetParam().message);
}

std::string with_byte(std::string f, std::size_t at, char c) {
  f[at] = c;
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadBmpTest,
    ::testing::Values(
        BadBmp{"Empty", [] { return std::string(); }, "is empty, not a BMP file"},
        BadBmp{"OneByte", [] { return std::string("B"); }, "is not a BMP file (no BM signature)"},
        BadBmp{"Png", [] { return std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, 'x'); },
               "is not a BMP file (no BM signature)"},
        BadBmp{"Text", [] { return std::string("hello, world\n"); },
               "is not a BMP file (no BM signature)"},
        BadBmp{"TruncatedFileHeader", [] { return bmp_file({}).substr(0, 10); },
               "is truncated: its headers need 54 bytes, 10 found"},
        BadBmp{"TruncatedInfoHeader", [] { return bmp_file({}).substr(0, 30); },
               "is truncated: its headers need 54 bytes, 30 found"},
        BadBmp{"TruncatedV5Header", [] { return bmp_file({.info_bytes = 124}).substr(0, 100); },
               "is truncated: its headers need 138 bytes, 100 found"},
        BadBmp{"CoreHeader", [] { return bmp_file({.info_bytes = 12}); },
               "has a 12-byte info header (OS/2 BITMAPCOREHEADER or unknown); only BMPs with a "
               "BITMAPINFOHEADER (40 bytes) or later are supported"},
        BadBmp{"TwoPlanes", [] { return bmp_file({.planes = 2}); },
               "has 2 color planes; a valid BMP has exactly 1"},
        BadBmp{"ThirtyTwoBit", [] { return bmp_file({.bits = 32}); },
               "is a 32-bit BMP; only 24-bit BMPs are supported"},
        BadBmp{"ThirtyTwoBitBitfields", [] { return bmp_file({.bits = 32, .compression = 3}); },
               "is a 32-bit BMP; only 24-bit BMPs are supported"},
        BadBmp{"SixteenBit", [] { return bmp_file({.bits = 16}); },
               "is a 16-bit BMP; only 24-bit BMPs are supported"},
        BadBmp{"EightBitPalette", [] { return bmp_file({.bits = 8}); },
               "is an 8-bit BMP; only 24-bit BMPs are supported"},
        BadBmp{"ZeroBit", [] { return bmp_file({.bits = 0}); },
               "is a 0-bit BMP; only 24-bit BMPs are supported"},
        BadBmp{"OneBit", [] { return bmp_file({.bits = 1}); },
               "is a 1-bit BMP; only 24-bit BMPs are supported"},
        BadBmp{"EmbeddedJpeg", [] { return bmp_file({.bits = 0, .compression = 4}); },
               "holds a JPEG image, not BMP pixels; only 24-bit uncompressed BMPs are "
               "supported"},
        BadBmp{"EmbeddedPng", [] { return bmp_file({.bits = 0, .compression = 5}); },
               "holds a PNG image, not BMP pixels; only 24-bit uncompressed BMPs are supported"},
        BadBmp{"Rle8", [] { return bmp_file({.compression = 1}); },
               "is compressed (RLE8); compressed BMPs (RLE, bitfields, JPEG, PNG) are not "
               "supported"},
        BadBmp{"Bitfields", [] { return bmp_file({.compression = 3}); },
               "is compressed (bitfields); compressed BMPs (RLE, bitfields, JPEG, PNG) are not "
               "supported"},
        BadBmp{"UnknownCompression", [] { return bmp_file({.compression = 99}); },
               "is compressed (compression type 99); compressed BMPs (RLE, bitfields, JPEG, "
               "PNG) are not supported"},
        BadBmp{"ZeroWidth", [] { return bmp_file({.width = 0}); },
               "has width 0; a BMP's width must be positive"},
        BadBmp{"NegativeWidth", [] { return bmp_file({.width = -5}); },
               "has width -5; a BMP's width must be positive"},
        BadBmp{"ZeroHeight", [] { return bmp_file({.height = 0}); }, "has height 0: no pixel rows"},
        BadBmp{"PixelsInsideTheHeaders", [] { return with_byte(bmp_file({}), 10, 20); },
               "puts its pixel array at byte 20, inside its 54 bytes of headers"},
        BadBmp{"TruncatedPixels",
               [] { return bmp_file({.width = 5, .height = 10}).substr(0, 54 + 100); },
               "is truncated: 160 pixel bytes expected after offset 54, 100 found"},
        BadBmp{"OneRowShort", [] { return bmp_file({.width = 1, .height = -3}).substr(0, 62); },
               "is truncated: 12 pixel bytes expected after offset 54, 8 found"},
        BadBmp{"HeadersOnly", [] { return bmp_file({.width = 2, .height = 1}).substr(0, 54); },
               "is truncated: 8 pixel bytes expected after offset 54, 0 found"},
        BadBmp{"PixelsPastTheEnd", [] { return with_byte(bmp_file({}), 11, 1); },
               "is truncated: 24 pixel bytes expected after offset 310, 0 found"}),
    [](const ::testing::TestParamInfo<BadBmp>& p) { return p.param.label; });

// ---------------------------------------------------------------------------------------------
// The plan of image.rows(): the pixel rows, and no trailer
// ---------------------------------------------------------------------------------------------

struct PlanCase {
  std::int32_t width;
  std::int32_t height;
  std::uint64_t trailer;
  std::uint64_t split_bytes;
};

std::ostream& operator<<(std::ostream& os, const PlanCase& c) {
  return os << c.width << "x" << c.height << " trailer " << c.trailer << " split " << c.split_bytes;
}

class PlanPixelRowsTest : public ::testing::TestWithParam<PlanCase> {};

// Oracle: the splits, in order, cover [pixel_offset, pixel_end) exactly once, with segments
// of whole rows (starting at offset + k x stride, a multiple of stride long), each split's
// bytes the sum of its segments, no split empty; nothing of the trailer is in any segment.
TEST_P(PlanPixelRowsTest, CoversThePixelArrayExactly) {
  const PlanCase c = GetParam();
  Inputs inputs = Inputs::buffers(
      {{"x.bmp", bmp_file({.width = c.width, .height = c.height, .trailer = c.trailer})}});
  ASSERT_TRUE(inputs.open().ok());
  const Result<BmpImage> image = read_bmp_header(inputs.data(0), inputs.name(0));
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  ASSERT_TRUE(tally::check_record_layout(inputs, image->rows()).ok());
  const SplitPlan plan =
      tally::plan_splits(inputs, {.target_bytes = c.split_bytes, .records = image->rows()});
  std::uint64_t next = image->pixel_offset;
  std::size_t segments = 0;
  for (const Split& split : plan.splits) {
    EXPECT_EQ(split.first, segments);
    std::uint64_t bytes = 0;
    for (const Segment& seg : plan.segments_of(split)) {
      EXPECT_EQ(seg.input, 0u);
      EXPECT_EQ(seg.begin, next);
      EXPECT_EQ((seg.end - seg.begin) % image->row_stride, 0u);
      EXPECT_GT(seg.end, seg.begin);
      bytes += seg.end - seg.begin;
      next = seg.end;
      ++segments;
    }
    EXPECT_EQ(split.bytes, bytes);
    EXPECT_GT(split.bytes, 0u);
  }
  EXPECT_EQ(segments, plan.segments.size());
  EXPECT_EQ(next, image->pixel_end());
}

INSTANTIATE_TEST_SUITE_P(
    Plans, PlanPixelRowsTest,
    ::testing::Values(PlanCase{3, 10, 0, 1}, PlanCase{3, 10, 0, 1 << 20},
                      PlanCase{3, 10, 5, 1},         // less than a row after the pixels
                      PlanCase{3, 10, 5, 1 << 20},   //
                      PlanCase{3, 10, 36, 25},       // exactly three rows after them
                      PlanCase{3, 10, 37, 1},        // three rows and a byte
                      PlanCase{3, 10, 1000, 30},     // many rows' worth, splits of two rows
                      PlanCase{1, -40, 999, 17},     // top-down, four-byte rows
                      PlanCase{1, 1, 3, 1},          // one pixel
                      PlanCase{64, 3, 10000, 1000},  // a trailer longer than the pixels
                      PlanCase{5, 7, 16, 16 * 3}));

}  // namespace
}  // namespace tally::jobs
