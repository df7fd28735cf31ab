// `tally linreg` and its generators (`generate-corpus --kind pairs|pairs-csv`), through the
// real binary.
//
// Oracle, for every case: the documented exit status (0 ok, 2 usage, 3 input, 4 no line);
// on success the exact output (inputs chosen so that the fit is exact in doubles: small
// integers on the line y = 2x + 1); on failure one "tally: " line on stderr naming the
// input and problem, nothing on stdout, and no output file (the scratch directory holds
// exactly the inputs). Generated inputs: their documented size, the same bytes for the same
// seed, and a fit near the documented line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::ProcessResult;
using tally::testing::run_process;

// Points on y = 2x + 1.
constexpr const char* kLineCsv = "1,3\n2,5\n3,7\n4,9\n";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The pairs (x, 2x + 1) for x in [-3, 3], as int8 bytes.
std::string line_pairs() {
  std::string bytes;
  for (int x = -3; x <= 3; ++x) {
    bytes += static_cast<char>(x);
    bytes += static_cast<char>(2 * x + 1);
  }
  return bytes;
}

// The cells of a one-row TSV output: slope, intercept, r2, n.
std::vector<double> cells(const std::string& tsv) {
  std::vector<double> out;
  std::stringstream in(tsv);
  std::string cell;
  while (std::getline(in, cell, '\t')) out.push_back(std::stod(cell));
  return out;
}

class LinregCli : public tally::testing::ScratchDirTest {
 protected:
  ProcessResult tally(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), TALLY_EXE);
    return run_process(args, input);
  }
  ProcessResult linreg(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), "linreg");
    return tally(std::move(args), input);
  }
  std::string out_path() const { return (dir_ / "out.txt").string(); }

  // A failed run: exit `status`, `message` as all of stderr, no output, and -o not written.
  void expect_failure(const ProcessResult& r, int status, const std::string& message) {
    EXPECT_EQ(r.exit_status, status) << r.err;
    EXPECT_EQ(r.err, "tally: " + message + "\n");
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(out_path()));
  }
};

struct FormatCase {
  const char* format;
  const char* output;
};

class LinregFormats : public LinregCli, public ::testing::WithParamInterface<FormatCase> {};

// Oracle: slope 2, intercept 1, r2 1, n 4 in each format's documented layout.
TEST_P(LinregFormats, PrintsTheFit) {
  const std::string in = write("line.csv", kLineCsv);
  const ProcessResult r = linreg({"-j", "1", "-f", GetParam().format, in});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, GetParam().output);
  EXPECT_EQ(r.err, "");
}

INSTANTIATE_TEST_SUITE_P(
    Formats, LinregFormats,
    ::testing::Values(FormatCase{"text", "slope  intercept  r2  n\n    2          1   1  4\n"},
                      FormatCase{"tsv", "2\t1\t1\t4\n"},
                      FormatCase{"csv", "slope,intercept,r2,n\r\n2,1,1,4\r\n"},
                      FormatCase{"json",
                                 "{\"fit\":[{\"slope\":2,\"intercept\":1,\"r2\":1,\"n\":4}]}\n"}),
    [](const ::testing::TestParamInfo<FormatCase>& param) {
      return std::string(param.param.format);
    });

// Oracle: every y the same: a flat line, r2 printed as nan (null in JSON).
TEST_F(LinregCli, FlatLinePrintsNanRSquared) {
  const std::string in = write("flat.tsv", "1\t5\n2\t5\n4\t5\n");
  const ProcessResult text = linreg({"-j", "1", "-f", "tsv", in});
  EXPECT_EQ(text.exit_status, 0) << text.err;
  EXPECT_EQ(text.out, "0\t5\tnan\t3\n");
  const ProcessResult json = linreg({"-j", "1", "-f", "json", in});
  EXPECT_EQ(json.out, "{\"fit\":[{\"slope\":0,\"intercept\":5,\"r2\":null,\"n\":3}]}\n");
}

// Oracle: exact sums, so the same bytes at every thread count; -o writes the same.
TEST_F(LinregCli, BinaryPairs) {
  const std::string in = write("line.bin", line_pairs());
  for (const char* threads : {"1", "2", "4"}) {
    const ProcessResult r = linreg({"--binary", "-j", threads, "-f", "tsv", in});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(r.out, "2\t1\t1\t7\n") << threads;
  }
  const ProcessResult r = linreg({"--binary", "-f", "tsv", "-o", out_path(), in});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(read(out_path()), "2\t1\t1\t7\n");
}

TEST_F(LinregCli, BinaryOddSizeIsAnInputError) {
  const std::string in = write("odd.bin", line_pairs() + "x");
  expect_failure(
      linreg({"--binary", "-o", out_path(), in}), 3,
      "invalid argument: input '" + in + "' has 1 bytes after its last whole 2-byte record");
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"odd.bin"});
}

TEST_F(LinregCli, NonNumericCellNamesLineAndColumn) {
  const std::string in = write("bad.csv", "1,3\n2,abc\n3,7\n");
  expect_failure(linreg({"-o", out_path(), in}), 3,
                 "invalid argument: input '" + in +
                     "' line 2 (byte offset 4): column 2: 'abc' is not a number");
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"bad.csv"});
}

TEST_F(LinregCli, TooFewColumnsNamesTheColumn) {
  const std::string in = write("short.csv", "1,3,0\n2,5\n");
  expect_failure(linreg({"--y", "3", in}), 3,
                 "invalid argument: input '" + in +
                     "' line 2 (byte offset 6): column 3: missing (the line has 2 fields)");
}

// Oracle: the fit of the good lines (the line y = 2x + 1 again), the two bad lines in the
// dead-letter file (input, byte offset, line, error), a warning; at one bad record too
// many, a failure and no file at all.
TEST_F(LinregCli, BadRecordsSkippedUpToTheLimit) {
  const std::string in = write("some_bad.csv", "1,3\n2,oops\n2,5\n7\n3,7\n4,9\n");
  const std::string dead = (dir_ / "dead.tsv").string();
  const ProcessResult r = linreg({"-j", "1", "-f", "tsv", "--max-bad-records", "2", "--bad-records",
                                  dead, "-o", out_path(), in});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(read(out_path()), "2\t1\t1\t4\n");
  EXPECT_EQ(read(dead), in + "\t4\t2\tcolumn 2: 'oops' is not a number\n" + in +
                            "\t15\t4\tcolumn 2: missing (the line has 1 field)\n");
  EXPECT_EQ(r.err, "tally: warning: skipped 2 bad record(s), listed in " + dead + "\n");

  fs::remove(dead);
  fs::remove(out_path());
  const ProcessResult over =
      linreg({"-j", "1", "--max-bad-records", "1", "--bad-records", dead, "-o", out_path(), in});
  EXPECT_EQ(over.exit_status, 3) << over.err;
  EXPECT_NE(over.err.find("line 4 (byte offset 15): column 2: missing (the line has 1 field) "
                          "(more than 1 bad records)"),
            std::string::npos)
      << over.err;
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"some_bad.csv"});
}

TEST_F(LinregCli, NoLineIsAJobFailure) {
  const std::string empty = write("empty.csv", "");
  expect_failure(linreg({"-o", out_path(), empty}), 4,
                 "cannot fit a line: no points (the input holds no data)");
  const std::string blank = write("blank.csv", "\n \n\r\n");
  expect_failure(linreg({blank}), 4, "cannot fit a line: no points (the input holds no data)");
  const std::string empty_bin = write("empty.bin", "");
  expect_failure(linreg({"--binary", empty_bin}), 4,
                 "cannot fit a line: no points (the input holds no data)");
  const std::string one = write("one.csv", "1,2\n");
  expect_failure(linreg({one}), 4, "cannot fit a line: only one point");
  const std::string vertical = write("vertical.csv", "3,1\n3,2\n3,5\n");
  expect_failure(linreg({vertical}), 4,
                 "cannot fit a line: all 3 points have x = 3 (the slope is undefined)");
}

TEST_F(LinregCli, MissingFileIsAnInputError) {
  const std::string missing = (dir_ / "missing.csv").string();
  expect_failure(linreg({"-o", out_path(), missing}), 3,
                 "cannot open '" + missing + "': No such file or directory");
}

// Oracle: --header skips each input's first line; without it that line fails, with a hint.
TEST_F(LinregCli, HeaderLines) {
  const std::string a = write("a.csv", "x,y\n1,3\n2,5\n");
  const std::string b = write("b.csv", "x,y\n3,7\n4,9\n");
  const ProcessResult r = linreg({"-j", "1", "-f", "tsv", "--header", a, b});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "2\t1\t1\t4\n");
  expect_failure(linreg({a}), 3,
                 "invalid argument: input '" + a +
                     "' line 1 (byte offset 0): column 1: 'x' is not a number (a header line? "
                     "--header skips it)");
}

// Oracle: x and y from the columns named, 1-based; stdin as "-".
TEST_F(LinregCli, ColumnsAndStdin) {
  const ProcessResult r =
      linreg({"-j", "1", "-f", "tsv", "--x", "3", "--y", "1", "-"}, "3 0 1\n5 0 2\n7 0 3\n9 0 4\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "2\t1\t1\t4\n");
}

TEST_F(LinregCli, UsageErrors) {
  const std::string in = write("line.csv", kLineCsv);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--binary", "--x", "2", in},
        std::vector<std::string>{"--binary", "--header", in},
        std::vector<std::string>{"--x", "0", in}, std::vector<std::string>{"--y", "-1", in},
        std::vector<std::string>{"--bad-records", "f", in}, std::vector<std::string>{}}) {
    const ProcessResult r = linreg(args);
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(r.err.empty());
  }
}

// Oracle: the documented sizes and determinism, and a fit near the generator's line: for
// pairs the integer division 3x/4 rounds towards zero, which bends the slope to about
// 0.7445; for pairs-csv, slope 0.75 and intercept 5 within what the noise allows.
TEST_F(LinregCli, GeneratedPairs) {
  const std::string a = (dir_ / "a.bin").string();
  const std::string b = (dir_ / "b.bin").string();
  const std::string c = (dir_ / "c.bin").string();
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "pairs", "--size", "100001", "--seed", "3", "-o", a})
          .exit_status,
      0);
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "pairs", "--size", "100001", "--seed", "3", "-o", b})
          .exit_status,
      0);
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "pairs", "--size", "100001", "--seed", "4", "-o", c})
          .exit_status,
      0);
  EXPECT_EQ(fs::file_size(a), 100000u);
  EXPECT_EQ(read(a), read(b));
  EXPECT_NE(read(a), read(c));
  const ProcessResult r = linreg({"--binary", "-f", "tsv", a});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const std::vector<double> fit = cells(r.out);
  ASSERT_EQ(fit.size(), 4u) << r.out;
  EXPECT_NEAR(fit[0], 0.7445, 0.01);
  EXPECT_NEAR(fit[1], 5, 0.2);
  EXPECT_GT(fit[2], 0.9);
  EXPECT_EQ(fit[3], 50000);
}

TEST_F(LinregCli, GeneratedPairsCsv) {
  const std::string a = (dir_ / "a.csv").string();
  const std::string b = (dir_ / "b.csv").string();
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "pairs-csv", "--size", "200K", "--seed", "5", "-o", a})
          .exit_status,
      0);
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "pairs-csv", "--size", "200K", "--seed", "5", "-o", b})
          .exit_status,
      0);
  const std::string text = read(a);
  EXPECT_EQ(text, read(b));
  EXPECT_LE(text.size(), 200u * 1024);
  EXPECT_GT(text.size(), 200u * 1024 - 64);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const ProcessResult r = linreg({"-f", "tsv", a});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const std::vector<double> fit = cells(r.out);
  ASSERT_EQ(fit.size(), 4u) << r.out;
  EXPECT_NEAR(fit[0], 0.75, 0.001);
  EXPECT_NEAR(fit[1], 5, 0.1);
  EXPECT_GT(fit[2], 0.99);
}

}  // namespace
