// `tally kmeans` as a user runs it: the real binary, its output formats, exit statuses and
// messages; and `tally generate-corpus --kind points`, its input generator.
//
// Inputs whose answer does not depend on the initial centroids: k = 1 (the mean of every
// point) and k = n (every point its own cluster, clusters in row order, since the initial
// rows are taken in row order), with coordinates whose sums and means are exact.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::ProcessResult;
using tally::testing::run_process;

class KMeansCli : public tally::testing::ScratchDirTest {
 protected:
  ProcessResult tally(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), TALLY_EXE);
    return run_process(args, input);
  }
  ProcessResult kmeans(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), "kmeans");
    return tally(std::move(args), input);
  }
  std::string out_path() const { return (dir_ / "out.txt").string(); }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Asserts a failure: the exit status, stderr exactly `err`, nothing on stdout, and no -o
  // file (every failing run here is given -o out.txt).
  void expect_failure(const ProcessResult& r, int status, const std::string& err) {
    EXPECT_EQ(r.exit_status, status) << r.err;
    EXPECT_EQ(r.err, err);
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(out_path()));
    EXPECT_EQ(files_in_dir().size(), inputs_made_);
  }
  std::string input(const std::string& name, const std::string& text) {
    ++inputs_made_;
    return write(name, text);
  }

 private:
  std::size_t inputs_made_ = 0;
};

// Three 2-D points: (1, 2), (3, 4.5), (-0.25, 8); CRLF, a blank line and spaces on the way.
constexpr const char* kThree = "1,2\r\n3, 4.5\n\n-0.25,8\n";

TEST_F(KMeansCli, EveryPointItsOwnCluster) {
  const std::string path = input("pts.csv", kThree);
  const ProcessResult text = kmeans({path, "-k", "3"});
  EXPECT_EQ(text.exit_status, 0) << text.err;
  EXPECT_EQ(text.err, "");
  EXPECT_EQ(text.out,
            "cluster  size     x1   x2\n"
            "      1     1      1    2\n"
            "      2     1      3  4.5\n"
            "      3     1  -0.25    8\n");
  const ProcessResult tsv = kmeans({path, "-k", "3", "-f", "tsv"});
  EXPECT_EQ(tsv.out, "1\t1\t1\t2\n2\t1\t3\t4.5\n3\t1\t-0.25\t8\n");
  const ProcessResult csv = kmeans({path, "-k", "3", "-f", "csv"});
  EXPECT_EQ(csv.out, "cluster,size,x1,x2\r\n1,1,1,2\r\n2,1,3,4.5\r\n3,1,-0.25,8\r\n");
  const ProcessResult json = kmeans({path, "-k", "3", "-f", "json"});
  EXPECT_EQ(json.out,
            "{\"clusters\":[{\"cluster\":1,\"size\":1,\"x1\":1,\"x2\":2},"
            "{\"cluster\":2,\"size\":1,\"x1\":3,\"x2\":4.5},"
            "{\"cluster\":3,\"size\":1,\"x1\":-0.25,\"x2\":8}]}\n");
}

// Oracle, worked out by hand (kmeans.hpp's rules): k = n with a duplicate point starts two
// clusters at (1, 1); ties go to the lower cluster, so cluster 3 is empty and keeps its
// centroid, printed with size 0.
TEST_F(KMeansCli, EmptyClusterKeepsItsCentroid) {
  const std::string path = input("dup.csv", "1,1\n2,2\n1,1\n7,5\n");
  const ProcessResult r = kmeans({path, "-k", "4", "-f", "tsv"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "1\t2\t1\t1\n2\t1\t2\t2\n3\t0\t1\t1\n4\t1\t7\t5\n");
}

// Oracle: the mean, printed as the shortest decimal of the double: 14.5 / 3.
TEST_F(KMeansCli, OneClusterIsTheMean) {
  const std::string path = input("pts.tsv", "1\t2\n3\t4.5\n-0.25\t8\n");
  const ProcessResult r = kmeans({path, "-k", "1", "-f", "tsv", "-j", "2"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "1\t3\t1.25\t4.833333333333333\n");
}

// Oracle: stdin ("-") and several files are read as one list of points, in order.
TEST_F(KMeansCli, ReadsStdinAndSeveralFiles) {
  const std::string a = input("a.csv", "1,2\n");
  const std::string b = input("b.csv", "3,4.5\n");
  const ProcessResult r = kmeans({a, "-", b, "-k", "3", "-f", "tsv"}, "-0.25,8\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "1\t1\t1\t2\n2\t1\t-0.25\t8\n3\t1\t3\t4.5\n");
}

// Oracle: --stats reports the iterations and convergence (k = n: every point moves to its
// own cluster in iteration 1, none in 2); --report holds them; --max-iter 1 stops before.
TEST_F(KMeansCli, StatsAndReportTellTheIterations) {
  const std::string path = input("pts.csv", kThree);
  const std::string report = (dir_ / "report.json").string();
  const ProcessResult r = kmeans({path, "-k", "3", "--stats", "--report", report});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.err.find("\n2 rounds, converged\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\nkmeans: 2 iterations, converged (0 of 3 points changed cluster in the "
                       "last)\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(read(report).find(R"("iterations":{"rounds":2,"converged":true})"), std::string::npos)
      << read(report);
  fs::remove(report);

  const ProcessResult once = kmeans({path, "-k", "1", "--max-iter", "1", "--stats", "-f", "tsv"});
  EXPECT_EQ(once.exit_status, 0) << once.err;
  EXPECT_EQ(once.out, "1\t3\t1.25\t4.833333333333333\n");
  EXPECT_NE(once.err.find("kmeans: 1 iteration, did not converge (3 of 3 points changed cluster "
                          "in the last)\n"),
            std::string::npos)
      << once.err;
}

// Oracle: the points generator is deterministic, about the size asked for, 3 numbers a row;
// kmeans on its points prints the same bytes at 1 and 4 threads, k rows of 2 + 3 columns.
TEST_F(KMeansCli, GeneratedPointsSameAtAnyThreadCount) {
  const std::string points = (dir_ / "points.csv").string();
  const std::string again = (dir_ / "again.csv").string();
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "points", "--size", "100K", "--seed", "5", "-o", points})
          .exit_status,
      0);
  ASSERT_EQ(
      tally({"generate-corpus", "--kind", "points", "--size", "100K", "--seed", "5", "-o", again})
          .exit_status,
      0);
  const std::string text = read(points);
  EXPECT_EQ(text, read(again));
  EXPECT_GE(text.size(), 100u * 1024);
  EXPECT_LT(text.size(), 100u * 1024 + 64);
  std::size_t lines = 0;
  std::size_t commas = 0;
  for (const char c : text) {
    lines += c == '\n';
    commas += c == ',';
  }
  EXPECT_EQ(commas, 2 * lines);
  EXPECT_EQ(text.back(), '\n');
  const ProcessResult other =
      tally({"generate-corpus", "--kind", "points", "--size", "1K", "--seed", "6", "-o", "-"});
  EXPECT_NE(other.out, text.substr(0, other.out.size()));

  const ProcessResult one = kmeans({points, "-k", "12", "--seed", "3", "-j", "1", "-f", "tsv"});
  const ProcessResult four = kmeans({points, "-k", "12", "--seed", "3", "-j", "4", "-f", "tsv"});
  EXPECT_EQ(one.exit_status, 0) << one.err;
  EXPECT_EQ(four.exit_status, 0) << four.err;
  EXPECT_EQ(one.out, four.out);
  std::size_t rows = 0;
  for (std::size_t at = 0; (at = one.out.find('\n', at)) != std::string::npos; ++at) ++rows;
  EXPECT_EQ(rows, 12u);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: the exit status, one message, no output file.
// ---------------------------------------------------------------------------------------------

TEST_F(KMeansCli, MoreClustersThanPoints) {
  const std::string path = input("pts.csv", kThree);
  expect_failure(kmeans({path, "-k", "4", "-o", out_path()}), 3,
                 "tally: invalid argument: -k 4 is more than the 3 points in '" + path + "'\n");
}

TEST_F(KMeansCli, EmptyInput) {
  const std::string path = input("empty.csv", "");
  expect_failure(kmeans({path, "-k", "1", "-o", out_path()}), 3,
                 "tally: invalid argument: there are no points to cluster in '" + path + "'\n");
  const std::string blank = input("blank.csv", "\n\n");
  expect_failure(kmeans({path, blank, "-k", "1", "-o", out_path()}), 3,
                 "tally: invalid argument: there are no points to cluster in the 2 inputs\n");
}

TEST_F(KMeansCli, NonNumericCell) {
  const std::string path = input("bad.csv", "1,2\n3,abc\n5,6\n");
  expect_failure(kmeans({path, "-k", "1", "-o", out_path()}), 3,
                 "tally: invalid argument: input '" + path +
                     "' line 2 (byte offset 4): column 2: 'abc' is not a number\n");
}

TEST_F(KMeansCli, RowsOfDifferentDimensions) {
  const std::string path = input("dims.csv", "1,2\n3,4\n5,6,7\n");
  expect_failure(kmeans({path, "-k", "1", "-o", out_path()}), 3,
                 "tally: invalid argument: input '" + path +
                     "' line 3 (byte offset 8): has 3 numbers, expected 2 (the width of the "
                     "first row)\n");
}

TEST_F(KMeansCli, MissingInput) {
  const std::string path = (dir_ / "nope.csv").string();
  expect_failure(kmeans({path, "-k", "1", "-o", out_path()}), 3,
                 "tally: cannot open '" + path + "': No such file or directory\n");
}

// Oracle: with --max-bad-records, bad rows are left out (the result is that of the other
// rows), listed in --bad-records, and counted in a warning; one more fails the run.
TEST_F(KMeansCli, SkipsBadRowsUpToTheLimit) {
  const std::string path = input("bad.csv", "x,y\n1,2\n3,abc\n3,4.5\n-0.25,8\n");
  const std::string dead = (dir_ / "dead.tsv").string();
  const ProcessResult r =
      kmeans({path, "-k", "1", "-f", "tsv", "--max-bad-records", "2", "--bad-records", dead});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "1\t3\t1.25\t4.833333333333333\n");
  EXPECT_EQ(r.err, "tally: warning: skipped 2 bad record(s), listed in " + dead + "\n");
  EXPECT_EQ(read(dead), path + "\t0\t1\tcolumn 1: 'x' is not a number\n" + path +
                            "\t8\t3\tcolumn 2: 'abc' is not a number\n");
  fs::remove(dead);

  expect_failure(kmeans({path, "-k", "1", "--max-bad-records", "1", "-o", out_path()}), 3,
                 "tally: invalid argument: input '" + path +
                     "' line 3 (byte offset 8): column 2: 'abc' is not a number (more than 1 "
                     "bad records)\n");
}

// Oracle: bad option values are usage errors (2) that name the option, before any input is
// read.
TEST_F(KMeansCli, BadOptions) {
  const std::string path = input("pts.csv", kThree);
  const std::string help = "Run with --help for more information.\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{path, "-k", "0"}, "--clusters: must be at least 1\n"},
      {{path, "-k", "-3"}, "--clusters: must be at least 1\n"},
      {{path, "-k", "x"}, "Could not convert: --clusters = x\n"},
      {{path}, "--clusters is required\n"},
      {{"-k", "2"}, "paths is required\n"},
      {{path, "-k", "2", "--max-iter", "0"}, "--max-iter: must be at least 1\n"},
      {{path, "-k", "2", "--tolerance", "-1"}, "--tolerance: must be a number >= 0\n"},
      {{path, "-k", "2", "--tolerance", "inf"}, "--tolerance: must be a number >= 0\n"},
  };
  for (const auto& [args, err] : cases) {
    std::vector<std::string> with_output = args;
    with_output.insert(with_output.end(), {"-o", out_path()});
    expect_failure(kmeans(with_output), 2, err + help);
  }
}

}  // namespace
