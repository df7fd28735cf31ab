// `tally histogram` and `tally generate-corpus --kind bmp`, through the real binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "tests/support/bmp_file.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::bmp_file;
using tally::testing::BmpSpec;
using tally::testing::count_pixels;
using tally::testing::run_process;
using Counts = std::array<std::uint64_t, 768>;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t le(const std::string& f, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(f[at + i]);
  return v;
}

// The oracle's count of a file whose header is read here by hand: offset at byte 10, width
// at 18, height at 22 (positive in the files these tests use, or negated).
Counts count_file(const std::string& f) {
  const auto height = static_cast<std::int32_t>(le(f, 22, 4));
  return count_pixels(f, le(f, 10, 4), le(f, 18, 4),
                      static_cast<std::uint64_t>(height < 0 ? -std::int64_t{height} : height));
}

// What `tally histogram -f <format>` must print for `counts`: 256 rows, value, red, green,
// blue, where the keys of channel c (0 blue, 1 green, 2 red) are c * 256 + value.
std::string expected_output(const Counts& counts, const std::string& format) {
  std::vector<std::array<std::string, 4>> rows = {{"value", "red", "green", "blue"}};
  for (std::uint64_t v = 0; v < 256; ++v) {
    rows.push_back({std::to_string(v), std::to_string(counts[512 + v]),
                    std::to_string(counts[256 + v]), std::to_string(counts[v])});
  }
  std::string out;
  if (format == "text") {  // every column right-aligned to its widest cell, two spaces apart
    std::array<std::size_t, 4> width{};
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], row[c].size());
    }
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < 4; ++c) {
        out += (c == 0 ? "" : "  ") + std::string(width[c] - row[c].size(), ' ') + row[c];
      }
      out += '\n';
    }
  } else if (format == "tsv") {  // no header
    for (std::size_t r = 1; r < rows.size(); ++r) {
      out += rows[r][0] + '\t' + rows[r][1] + '\t' + rows[r][2] + '\t' + rows[r][3] + '\n';
    }
  } else if (format == "csv") {
    for (const auto& row : rows)
      out += row[0] + ',' + row[1] + ',' + row[2] + ',' + row[3] + "\r\n";
  } else {
    out = "{\"histogram\":[";
    for (std::size_t r = 1; r < rows.size(); ++r) {
      if (r != 1) out += ',';
      out += "{\"value\":" + rows[r][0] + ",\"red\":" + rows[r][1] + ",\"green\":" + rows[r][2] +
             ",\"blue\":" + rows[r][3] + '}';
    }
    out += "]}\n";
  }
  return out;
}

class HistogramCliTest : public tally::testing::ScratchDirTest {};

// ---------------------------------------------------------------------------------------------
// Output in every format, at 1, 2 and 4 threads
// ---------------------------------------------------------------------------------------------

class HistogramFormatTest
    : public tally::testing::ScratchDirTest,
      public ::testing::WithParamInterface<std::tuple<std::string, std::string>> {};

// Oracle: expected_output of count_file, byte for byte, written through -o (nothing on
// stdout or stderr) and, the same bytes, to stdout without -o. The image is 1 MiB or more,
// so it is mapped rather than read, and has padded rows and bytes after its pixels.
TEST_P(HistogramFormatTest, PrintsTheSequentialCounts) {
  const auto& [format, threads] = GetParam();
  const std::string file = bmp_file({.width = 1001, .height = 350, .seed = 11, .trailer = 5});
  ASSERT_GE(file.size(), 1u << 20);
  const std::string image = write("image.bmp", file);
  const std::string expected = expected_output(count_file(file), format);

  const fs::path out = dir_ / "out";
  const auto to_file =
      run_process({TALLY_EXE, "histogram", "-f", format, "-j", threads, image, "-o", out.string()});
  ASSERT_EQ(to_file.exit_status, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(to_file.err, "");
  EXPECT_EQ(read_file(out), expected);

  const auto to_stdout = run_process({TALLY_EXE, "histogram", "-f", format, "-j", threads, image});
  ASSERT_EQ(to_stdout.exit_status, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, expected);
}

INSTANTIATE_TEST_SUITE_P(Formats, HistogramFormatTest,
                         ::testing::Combine(::testing::Values("text", "tsv", "csv", "json"),
                                            ::testing::Values("1", "2", "4")),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_threads" + std::get<1>(p.param);
                         });

// Oracle: as above, for a small top-down image read from stdin ("-"), one of four-byte rows
// (a pixel and a byte of padding each).
TEST_F(HistogramCliTest, ReadsStdin) {
  const std::string file = bmp_file({.width = 1, .height = -200, .seed = 12});
  const auto r = run_process({TALLY_EXE, "histogram", "-f", "tsv", "-"}, file);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, expected_output(count_file(file), "tsv"));
}

TEST_F(HistogramCliTest, StatsGoToStderr) {
  const std::string image = write("x.bmp", bmp_file({.width = 2, .height = 2}));
  const auto r = run_process({TALLY_EXE, "histogram", "--stats", "-f", "csv", image});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.err.find("map"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, expected_output(count_file(bmp_file({.width = 2, .height = 2})), "csv"));
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: exit 3, one message naming the file and the fault, no output file
// ---------------------------------------------------------------------------------------------

struct BadInput {
  std::string label;
  std::string contents;  // written to bad.bmp, unless it is missing
  bool missing = false;
  std::string message;  // stderr, exactly, with PATH for bad.bmp's path
};

std::ostream& operator<<(std::ostream& os, const BadInput& b) { return os << b.label; }

class HistogramBadInputTest : public tally::testing::ScratchDirTest,
                              public ::testing::WithParamInterface<BadInput> {};

// Oracle: exit status 3, stderr exactly "tally: <message>\n", stdout empty, and the scratch
// directory holds the input alone: no -o file, no temporary file.
TEST_P(HistogramBadInputTest, ExitsThreeWithOneMessageAndNoOutput) {
  const BadInput& c = GetParam();
  const fs::path image = dir_ / "bad.bmp";
  if (!c.missing) write("bad.bmp", c.contents);
  const auto r =
      run_process({TALLY_EXE, "histogram", image.string(), "-o", (dir_ / "out.txt").string()});
  EXPECT_EQ(r.exit_status, 3);
  std::string message = c.message;
  message.replace(message.find("PATH"), 4, image.string());
  EXPECT_EQ(r.err, "tally: " + message + "\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(files_in_dir(),
            c.missing ? std::vector<std::string>{} : std::vector<std::string>{"bad.bmp"});
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, HistogramBadInputTest,
    ::testing::Values(
        BadInput{"Truncated", bmp_file({.width = 10, .height = 10}).substr(0, 54 + 250), false,
                 "'PATH' is truncated: 320 pixel bytes expected after offset 54, 250 found"},
        BadInput{"ThirtyTwoBit", bmp_file({.bits = 32}), false,
                 "'PATH' is a 32-bit BMP; only 24-bit BMPs are supported"},
        BadInput{"Rle8", bmp_file({.bits = 24, .compression = 1}), false,
                 "'PATH' is compressed (RLE8); compressed BMPs (RLE, bitfields, JPEG, PNG) are "
                 "not supported"},
        BadInput{"NotABmp", "GIF89a and more", false, "'PATH' is not a BMP file (no BM signature)"},
        BadInput{"Empty", "", false, "'PATH' is empty, not a BMP file"},
        BadInput{"Missing", "", true, "cannot open 'PATH': No such file or directory"}),
    [](const ::testing::TestParamInfo<BadInput>& p) { return p.param.label; });

TEST_F(HistogramCliTest, ADirectoryIsNotAnImage) {
  write("d/a.bmp", bmp_file({}));
  const auto r = run_process({TALLY_EXE, "histogram", (dir_ / "d").string()});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.err, "tally: '" + (dir_ / "d").string() + "' is a directory, not a BMP file\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(HistogramCliTest, OneImageOnly) {
  const std::string a = write("a.bmp", bmp_file({}));
  const auto r = run_process({TALLY_EXE, "histogram", a, a});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.out, "");
}

// ---------------------------------------------------------------------------------------------
// generate-corpus --kind bmp
// ---------------------------------------------------------------------------------------------

class GenerateBmpTest : public tally::testing::ScratchDirTest,
                        public ::testing::WithParamInterface<std::uint64_t> {};

// Oracle (generate_bmp.hpp): 4095 pixels wide from about 50 MB up, about square below, at
// least one pixel; 54 + stride x rows bytes, at most --size unless one row does not fit,
// and more than --size minus a row; a 24-bit bottom-up BMP that tally histogram reads, with
// the sequential counts.
TEST_P(GenerateBmpTest, WritesAValidImageOfAboutTheSize) {
  const std::uint64_t size = GetParam();
  const fs::path path = dir_ / "g.bmp";
  const auto gen = run_process({TALLY_EXE, "generate-corpus", "--kind", "bmp", "--size",
                                std::to_string(size), "--seed", "3", "-o", path.string()});
  ASSERT_EQ(gen.exit_status, 0) << gen.err;
  const std::string f = read_file(path);
  ASSERT_GE(f.size(), 58u);
  EXPECT_EQ(f.substr(0, 2), "BM");
  EXPECT_EQ(le(f, 10, 4), 54u);
  EXPECT_EQ(le(f, 14, 4), 40u);
  EXPECT_EQ(le(f, 26, 2), 1u);
  EXPECT_EQ(le(f, 28, 2), 24u);
  EXPECT_EQ(le(f, 30, 4), 0u);
  const std::uint64_t width = le(f, 18, 4);
  const std::uint64_t height = le(f, 22, 4);
  const std::uint64_t stride = (width * 3 + 3) / 4 * 4;
  EXPECT_GE(width, 1u);
  EXPECT_LE(width, 4095u);
  EXPECT_GE(height, 1u);
  EXPECT_LT(height, 1u << 31);
  EXPECT_EQ(f.size(), 54 + stride * height);
  if (f.size() > 58) {
    EXPECT_LE(f.size(), size);
    EXPECT_GT(f.size() + stride, size);
  }
  const auto r = run_process({TALLY_EXE, "histogram", "-f", "tsv", path.string()});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, expected_output(count_file(f), "tsv"));
}

INSTANTIATE_TEST_SUITE_P(Sizes, GenerateBmpTest,
                         ::testing::Values(0u, 57u, 100u, 1000u, 65536u, 3u << 20));

// Oracle: the same seed writes the same bytes, another seed other pixels; and no channel is
// flat: each channel's most frequent value has at least twice its mean count (256 values).
TEST_F(HistogramCliTest, GeneratedImagesAreDeterministicAndNotFlat) {
  const auto generate = [&](const std::string& name, const std::string& seed) {
    const fs::path p = dir_ / name;
    const auto r = run_process({TALLY_EXE, "generate-corpus", "--kind", "bmp", "--size", "1M",
                                "--seed", seed, "-o", p.string()});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    return read_file(p);
  };
  const std::string a = generate("a.bmp", "5");
  EXPECT_EQ(generate("b.bmp", "5"), a);
  const std::string c = generate("c.bmp", "6");
  ASSERT_EQ(c.size(), a.size());
  EXPECT_EQ(c.substr(0, 54), a.substr(0, 54));
  EXPECT_NE(c, a);
  const Counts counts = count_file(a);
  for (int channel = 0; channel < 3; ++channel) {
    std::uint64_t total = 0;
    std::uint64_t most = 0;
    for (int v = 0; v < 256; ++v) {
      total += counts[channel * 256 + v];
      most = std::max(most, counts[channel * 256 + v]);
    }
    EXPECT_GE(most * 256, 2 * total) << "channel " << channel;
  }
}

}  // namespace
