// The linreg jobs (jobs/linreg.hpp) run by the engine at 1, 2 and 4 threads over tiny splits
// (many more splits than workers, records cut at every split boundary), against sequential
// oracles written here:
//  - binary: the int64 sums of every (int8 x, int8 y) byte pair, summed in one plain loop.
//    The job's sums must equal them exactly, whatever the thread count.
//  - text: the points of every data line, in a vector; the fit from two passes in long
//    double (the means first, then the sums of deviations from them). The job's fit must
//    match to a relative 1e-12 (its merges round differently at each thread count), and its
//    point count exactly.
//  - fit_line: hand-made sums whose line is exact, and the documented failures.
#include "tally/jobs/linreg.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"

namespace {

using tally::BadRecord;
using tally::Engine;
using tally::Inputs;
using tally::RunOptions;
using tally::StatusCode;
using tally::jobs::BinaryLinreg;
using tally::jobs::fit_line;
using tally::jobs::LinearFit;
using tally::jobs::Moments;
using tally::jobs::PairSums;
using tally::jobs::TextLinreg;

using NamedInputs = std::vector<std::pair<std::string, std::string>>;

// ------------------------------------------------------------------------------------------
// Oracles
// ------------------------------------------------------------------------------------------

PairSums oracle_sums(const NamedInputs& inputs) {
  PairSums s;
  for (const auto& [name, bytes] : inputs) {
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
      const std::int64_t x = static_cast<signed char>(bytes[i]);
      const std::int64_t y = static_cast<signed char>(bytes[i + 1]);
      s.n += 1;
      s.sx += x;
      s.sy += y;
      s.sxx += x * x;
      s.syy += y * y;
      s.sxy += x * y;
    }
  }
  return s;
}

struct Point {
  double x;
  double y;
};

struct OracleFit {
  long double slope;
  long double intercept;
  long double r2;
  long double mean_x;
  std::uint64_t n;
};

OracleFit oracle_fit(const std::vector<Point>& points) {
  long double mx = 0;
  long double my = 0;
  for (const Point& p : points) {
    mx += p.x;
    my += p.y;
  }
  const auto n = static_cast<long double>(points.size());
  mx /= n;
  my /= n;
  long double sxx = 0;
  long double syy = 0;
  long double sxy = 0;
  for (const Point& p : points) {
    sxx += (p.x - mx) * (p.x - mx);
    syy += (p.y - my) * (p.y - my);
    sxy += (p.x - mx) * (p.y - my);
  }
  const long double slope = sxy / sxx;
  return {slope, my - slope * mx, sxy * sxy / (sxx * syy), mx, points.size()};
}

// The job's fit agrees with the oracle's to `tolerance`, relative. The intercept is the
// line's height at x = 0, which inherits the slope's error times the distance of the points
// from there: it is compared on that scale.
void expect_close(const LinearFit& fit, const OracleFit& want, double tolerance) {
  EXPECT_EQ(fit.n, want.n);
  const auto rel = [](long double got, long double expected) {
    return std::fabs(static_cast<double>((got - expected) / expected));
  };
  EXPECT_LE(rel(fit.slope, want.slope), tolerance) << fit.slope << " vs " << want.slope;
  EXPECT_LE(rel(fit.r2, want.r2), tolerance) << fit.r2 << " vs " << want.r2;
  const long double scale = std::fabs(want.intercept) + std::fabs(want.slope * want.mean_x);
  EXPECT_LE(std::fabs(static_cast<double>((fit.intercept - want.intercept) / scale)), tolerance)
      << fit.intercept << " vs " << want.intercept;
}

// ------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------

// `pairs` random byte pairs, the extremes (-128, 127, 0) among them.
std::string random_pairs(std::size_t pairs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(2 * pairs, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const std::uint64_t r = rng();
    bytes[i] = (r & 15) == 0   ? static_cast<char>(-128)
               : (r & 15) == 1 ? '\x7f'
                               : static_cast<char>(r >> 8);
  }
  return bytes;
}

// Points around y = -1.5 x + 40, x in [-500, 500], as doubles with every bit random.
std::vector<Point> random_points(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> x(-500, 500);
  std::normal_distribution<double> noise(0, 30);
  std::vector<Point> points;
  for (std::size_t i = 0; i < n; ++i) {
    const double xi = x(rng);
    points.push_back({xi, -1.5 * xi + 40 + noise(rng)});
  }
  return points;
}

// A double written so that it reads back exactly.
std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The text of `points`, one a line, in one of several layouts chosen by `style`: CSV,
// CSV with CRLF line ends and spaces, TSV with runs of blanks; blank lines sprinkled in.
std::string text_of(const std::vector<Point>& points, int style) {
  std::string text;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::string x = exact(points[i].x);
    const std::string y = exact(points[i].y);
    switch (style % 3) {
      case 0:
        text += x + "," + y + "\n";
        break;
      case 1:
        text += " " + x + " , " + y + "\r\n";
        break;
      case 2:
        text += x + " \t " + y + "\n";
        break;
    }
    if (i % 17 == 3) text += i % 2 == 0 ? "\n" : " \t\r\n";
  }
  return text;
}

// ------------------------------------------------------------------------------------------
// Runs at 1, 2 and 4 threads
// ------------------------------------------------------------------------------------------

class LinregRun : public ::testing::TestWithParam<int> {
 protected:
  // Splits of 64 bytes: dozens of map tasks even for these small inputs.
  static RunOptions tiny_splits() {
    RunOptions options;
    options.split_bytes = 64;
    return options;
  }
  static RunOptions binary_options() {
    RunOptions options = tiny_splits();
    options.records = BinaryLinreg::kRecords;
    return options;
  }

  // The run's one value; fails the test (and returns Value{}) if the run failed.
  template <typename Job>
  typename Job::Value run(const Job& job, const NamedInputs& named, const RunOptions& options) {
    Inputs inputs = Inputs::buffers(named);
    auto result = engine_.run(job, inputs, options);
    EXPECT_TRUE(result.ok()) << result.status().to_string();
    if (!result.ok()) return {};
    EXPECT_EQ(result->table.size(), 1u);
    return result->table.find(0).value_or(typename Job::Value{});
  }

  // The failure of a run that must fail.
  template <typename Job>
  tally::Status failure(const Job& job, const NamedInputs& named, const RunOptions& options) {
    Inputs inputs = Inputs::buffers(named);
    auto result = engine_.run(job, inputs, options);
    EXPECT_FALSE(result.ok());
    return result.status();
  }

  Engine engine_{{.threads = static_cast<std::size_t>(GetParam())}};
};

// Oracle: oracle_sums, exactly; and the fit is fit_line of those sums, bit for bit.
TEST_P(LinregRun, BinarySumsAreExact) {
  // Inputs longer and shorter than one record block (1024 pairs), and an empty one.
  const NamedInputs named = {{"a.bin", random_pairs(5000, 1)},
                             {"empty.bin", ""},
                             {"b.bin", random_pairs(3, 2)},
                             {"c.bin", random_pairs(1025, 3)}};
  const PairSums sums = run(BinaryLinreg{}, named, binary_options());
  const PairSums want = oracle_sums(named);
  EXPECT_EQ(sums, want);
  EXPECT_EQ(sums.n, 5000 + 3 + 1025);
  const auto fit = fit_line(sums);
  const auto want_fit = fit_line(want);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  ASSERT_TRUE(want_fit.ok());
  EXPECT_EQ(fit->slope, want_fit->slope);
  EXPECT_EQ(fit->intercept, want_fit->intercept);
  EXPECT_EQ(fit->r2, want_fit->r2);
}

// Oracle: the sums of the extreme pairs, by hand: every product is +-2^14 or near it.
TEST_P(LinregRun, BinaryExtremes) {
  const std::string pairs = std::string("\x80\x80\x7f\x7f\x80\x7f\x7f\x80", 8);
  const PairSums sums = run(BinaryLinreg{}, {{"x.bin", pairs}}, binary_options());
  EXPECT_EQ(sums, (PairSums{4, -2, -2, 2 * 16384 + 2 * 16129, 2 * 16384 + 2 * 16129,
                            16384 + 16129 - 2 * 128 * 127}));
}

// Oracle: an odd-sized input is no list of pairs; the engine's layout check names it.
TEST_P(LinregRun, BinaryOddSizeFails) {
  const tally::Status s = failure(
      BinaryLinreg{}, {{"ok.bin", "\x01\x02"}, {"odd.bin", "\x01\x02\x03"}}, binary_options());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'odd.bin' has 1 bytes after its last whole 2-byte record");
}

// Oracle: run without 2-byte records, the job refuses to read the bytes as pairs.
TEST_P(LinregRun, BinaryNeedsTwoByteRecords) {
  RunOptions lines = tiny_splits();
  EXPECT_NE(failure(BinaryLinreg{}, {{"a", "\x01\x02"}}, lines).message().find("fixed-size"),
            std::string::npos);
  RunOptions quads = tiny_splits();
  quads.records.fixed_bytes = 4;
  EXPECT_NE(failure(BinaryLinreg{}, {{"a", "\x01\x02\x03\x04"}}, quads)
                .message()
                .find("2-byte (x, y) pairs, not 4-byte records"),
            std::string::npos);
}

// Oracle: oracle_fit of every point of every input, to 1e-12; n exact. Blank lines (empty,
// blanks, CRLF) are no points.
TEST_P(LinregRun, TextMatchesOracle) {
  NamedInputs named;
  std::vector<Point> all;
  for (int i = 0; i < 3; ++i) {
    const std::vector<Point> points = random_points(300 + 50 * i, 10 + i);
    named.push_back({"in" + std::to_string(i) + ".csv", text_of(points, i)});
    all.insert(all.end(), points.begin(), points.end());
  }
  named.push_back({"blank.csv", "\n\n \r\n"});
  const Moments m = run(TextLinreg{}, named, tiny_splits());
  const auto fit = fit_line(m);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  expect_close(*fit, oracle_fit(all), 1e-12);
}

// Oracle: the same, with x and y taken from columns 3 and 1 of four.
TEST_P(LinregRun, TextColumnsAreChosen) {
  const std::vector<Point> points = random_points(400, 20);
  std::string text;
  for (const Point& p : points) text += exact(p.y) + ",7," + exact(p.x) + ",-1\n";
  const Moments m = run(TextLinreg{.x_column = 3, .y_column = 1}, {{"c.csv", text}}, tiny_splits());
  const auto fit = fit_line(m);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  expect_close(*fit, oracle_fit(points), 1e-12);
}

// Oracle: points far from the origin compared with their spread (x near 1e8, spread 500):
// the long-double two-pass fit, to 1e-8. The textbook sums in double (n Sxx - Sx^2 ...)
// miss the slope by more than 1e-6 here, as the test checks first, so it can tell the two.
TEST_P(LinregRun, TextFarFromOriginStaysAccurate) {
  std::vector<Point> points;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const double x = 1e8 + 0.5 * i;
    points.push_back({x, 2 * x + 0.25 * static_cast<double>(rng() % 5) - 0.5});
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const Point& p : points) {
    sx += p.x;
    sy += p.y;
    sxx += p.x * p.x;
    sxy += p.x * p.y;
  }
  const double textbook = (1000 * sxy - sx * sy) / (1000 * sxx - sx * sx);
  const OracleFit want = oracle_fit(points);
  ASSERT_GT(std::fabs(static_cast<double>((textbook - want.slope) / want.slope)), 1e-6);

  std::string text;
  for (const Point& p : points) text += exact(p.x) + "," + exact(p.y) + "\n";
  const auto fit = fit_line(run(TextLinreg{}, {{"far.csv", text}}, tiny_splits()));
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  expect_close(*fit, want, 1e-8);
}

// Oracle: y = 2x + 1 exactly, with blank lines of every kind between the points: slope 2,
// intercept 1, r^2 1, n 4 (small integers: every step is exact).
TEST_P(LinregRun, TextBlankLinesAreSkipped) {
  const Moments m =
      run(TextLinreg{}, {{"b.csv", "\n1,3\r\n\r\n2,5\n   \n\t\n3,7\n4,9"}, {"e.csv", "\n"}},
          tiny_splits());
  const auto fit = fit_line(m);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  EXPECT_EQ(fit->slope, 2);
  EXPECT_EQ(fit->intercept, 1);
  EXPECT_EQ(fit->r2, 1);
  EXPECT_EQ(fit->n, 4u);
}

// Oracle: with `header`, each input's first line is not read (here it is not even a
// number); without it, that line fails the run, named, with a hint.
TEST_P(LinregRun, TextHeaderLines) {
  const NamedInputs named = {{"h1.csv", "x,y\n1,3\n2,5\n"}, {"h2.csv", "time,value\n3,7\n4,9\n"}};
  const auto fit = fit_line(run(TextLinreg{.header = true}, named, tiny_splits()));
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  EXPECT_EQ(fit->n, 4u);
  EXPECT_EQ(fit->slope, 2);

  const tally::Status s = failure(TextLinreg{}, {{"h1.csv", "x,y\n1,3\n2,5\n"}}, tiny_splits());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "input 'h1.csv' line 1 (byte offset 0): column 1: 'x' is not a number (a header "
            "line? --header skips it)");
}

// Oracle: the first bad line fails the run: its input, line, byte offset and column.
TEST_P(LinregRun, TextBadRecordFailsTheRun) {
  std::string good;
  for (int i = 0; i < 40; ++i) good += std::to_string(i) + "," + std::to_string(2 * i) + "\n";
  const std::string bad = good + "40,abc\n" + good;  // line 41
  const tally::Status s = failure(TextLinreg{}, {{"a.csv", good}, {"b.csv", bad}}, tiny_splits());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'b.csv' line 41 (byte offset " + std::to_string(good.size()) +
                             "): column 2: 'abc' is not a number");

  const tally::Status short_line =
      failure(TextLinreg{.y_column = 3}, {{"c.csv", "1,2,3\n4,5\n"}}, tiny_splits());
  EXPECT_EQ(short_line.message(),
            "input 'c.csv' line 2 (byte offset 6): column 3: missing (the line has 2 fields)");
}

// Oracle: with max_bad_records = 3 and three bad lines, the fit is oracle_fit of the good
// lines only (n exact: a skipped line adds nothing), and the three are reported with their
// input, line, offset and error. A fourth bad line fails the run.
TEST_P(LinregRun, TextBadRecordsSkipped) {
  const std::vector<Point> points = random_points(200, 30);
  const std::string head = text_of(std::vector<Point>(points.begin(), points.begin() + 100), 0);
  const std::string tail = text_of(std::vector<Point>(points.begin() + 100, points.end()), 0);
  const std::string bad1 = "1.5,oops\n";
  const std::string bad2 = "7\n";
  const std::string bad3 = "2,,3\n";
  const std::string text = head + bad1 + tail + bad2;
  const std::size_t head_lines =
      static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
  const std::size_t tail_lines =
      static_cast<std::size_t>(std::count(tail.begin(), tail.end(), '\n'));

  std::vector<BadRecord> seen;
  RunOptions options = tiny_splits();
  options.max_bad_records = 3;
  options.records.numbered = true;
  options.on_bad_record = [&](const BadRecord& r) { seen.push_back(r); };
  const NamedInputs named = {{"s.csv", text}, {"t.csv", bad3}};
  const auto fit = fit_line(run(TextLinreg{}, named, options));
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  expect_close(*fit, oracle_fit(points), 1e-12);

  const auto key = [](const BadRecord& r) {
    return std::tuple(r.input, r.number, r.offset, r.error);
  };
  std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t, std::string>> got;
  for (const BadRecord& r : seen) got.push_back(key(r));
  std::sort(got.begin(), got.end());
  const decltype(got) want = {
      {"s.csv", head_lines + 1, head.size(), "column 2: 'oops' is not a number"},
      {"s.csv", head_lines + tail_lines + 2, head.size() + bad1.size() + tail.size(),
       "column 2: missing (the line has 1 field)"},
      {"t.csv", 1, 0, "column 2: '' is not a number"}};
  EXPECT_EQ(got, want);

  options.max_bad_records = 2;
  seen.clear();
  const tally::Status s = failure(TextLinreg{}, named, options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("(more than 2 bad records)"), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(Threads, LinregRun, ::testing::Values(1, 2, 4),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return "threads" + std::to_string(param.param);
                         });

// ------------------------------------------------------------------------------------------
// fit_line and merge, without the engine
// ------------------------------------------------------------------------------------------

PairSums sums_of(const std::vector<std::pair<int, int>>& points) {
  std::string bytes;
  for (const auto& [x, y] : points) {
    bytes += static_cast<char>(x);
    bytes += static_cast<char>(y);
  }
  return tally::jobs::sum_pairs(bytes);
}

Moments moments_of(const std::vector<std::pair<int, int>>& points) {
  Moments m;
  for (const auto& [x, y] : points) m = merge(m, Moments::of(x, y));
  return m;
}

// Oracle: y = 2x + 1 for x in [-3, 3], exactly.
TEST(FitLine, ExactLine) {
  std::vector<std::pair<int, int>> points;
  for (int x = -3; x <= 3; ++x) points.push_back({x, 2 * x + 1});
  EXPECT_EQ(sums_of(points), (PairSums{7, 0, 7, 28, 119, 56}));
  for (const auto& fit : {fit_line(sums_of(points)), fit_line(moments_of(points))}) {
    ASSERT_TRUE(fit.ok()) << fit.status().to_string();
    EXPECT_EQ(fit->slope, 2);
    EXPECT_EQ(fit->intercept, 1);
    EXPECT_EQ(fit->r2, 1);
    EXPECT_EQ(fit->n, 7u);
  }
}

// Oracle: slope = (n Sxy - Sx Sy) / (n Sxx - Sx^2) etc. on hand-computed sums of
// (0, 1), (1, 1), (2, 4): n 3, Sx 3, Sy 6, Sxx 5, Syy 18, Sxy 9: slope 9/6 = 1.5,
// intercept (6 - 4.5) / 3 = 0.5, r^2 = 81 / (6 * 18) = 0.75.
TEST(FitLine, TextbookFormulas) {
  const std::vector<std::pair<int, int>> points = {{0, 1}, {1, 1}, {2, 4}};
  EXPECT_EQ(sums_of(points), (PairSums{3, 3, 6, 5, 18, 9}));
  for (const auto& fit : {fit_line(sums_of(points)), fit_line(moments_of(points))}) {
    ASSERT_TRUE(fit.ok()) << fit.status().to_string();
    EXPECT_DOUBLE_EQ(fit->slope, 1.5);
    EXPECT_DOUBLE_EQ(fit->intercept, 0.5);
    EXPECT_DOUBLE_EQ(fit->r2, 0.75);
  }
}

// Oracle: the documented reasons, for both kinds of sums.
TEST(FitLine, NoLine) {
  const std::vector<std::pair<std::vector<std::pair<int, int>>, std::string>> cases = {
      {{}, "cannot fit a line: no points (the input holds no data)"},
      {{{4, 2}}, "cannot fit a line: only one point"},
      {{{5, 1}, {5, 2}, {5, -7}},
       "cannot fit a line: all 3 points have x = 5 (the slope is undefined)"},
      {{{-2, 1}, {-2, 1}}, "cannot fit a line: all 2 points have x = -2 (the slope is undefined)"},
  };
  for (const auto& [points, message] : cases) {
    for (const auto& fit : {fit_line(sums_of(points)), fit_line(moments_of(points))}) {
      ASSERT_FALSE(fit.ok());
      EXPECT_EQ(fit.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(fit.status().message(), message);
    }
  }
}

// Oracle: every y the same: the flat line through them, exactly, and r^2 NaN (0/0).
TEST(FitLine, FlatLineHasNoRSquared) {
  const std::vector<std::pair<int, int>> points = {{1, 5}, {2, 5}, {4, 5}};
  for (const auto& fit : {fit_line(sums_of(points)), fit_line(moments_of(points))}) {
    ASSERT_TRUE(fit.ok()) << fit.status().to_string();
    EXPECT_EQ(fit->slope, 0);
    EXPECT_EQ(fit->intercept, 5);
    EXPECT_TRUE(std::isnan(fit->r2));
    EXPECT_EQ(fit->n, 3u);
  }
}

// Oracle: squares past the largest double cannot be summed; the fit says so.
TEST(FitLine, OverflowIsReported) {
  const Moments m = merge(Moments::of(1e200, 1), Moments::of(-1e200, 2));
  const auto fit = fit_line(m);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().message(),
            "cannot fit a line: the sums of squares overflow a double (coordinates too large)");
}

// Oracle: Moments{} is merge's identity, bit for bit, on either side; and merging the
// points in two halves gives what merging them one by one gives, to rounding.
TEST(Merge, IdentityAndGrouping) {
  const std::vector<Point> points = random_points(100, 40);
  Moments one_by_one;
  Moments left;
  Moments right;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Moments p = Moments::of(points[i].x, points[i].y);
    one_by_one = merge(one_by_one, p);
    (i < 37 ? left : right) = merge(i < 37 ? left : right, p);
  }
  const Moments halves = merge(left, right);
  for (const Moments& m : {one_by_one, halves}) {
    const Moments a = merge(Moments{}, m);
    const Moments b = merge(m, Moments{});
    for (const Moments& same : {a, b}) {
      EXPECT_EQ(same.n, m.n);
      EXPECT_EQ(same.mean_x, m.mean_x);
      EXPECT_EQ(same.mean_y, m.mean_y);
      EXPECT_EQ(same.sxx, m.sxx);
      EXPECT_EQ(same.syy, m.syy);
      EXPECT_EQ(same.sxy, m.sxy);
    }
  }
  EXPECT_EQ(halves.n, 100u);
  EXPECT_NEAR(halves.mean_x, one_by_one.mean_x, 1e-12 * 500);
  EXPECT_NEAR(halves.sxx / one_by_one.sxx, 1, 1e-13);
  EXPECT_NEAR(halves.syy / one_by_one.syy, 1, 1e-13);
  EXPECT_NEAR(halves.sxy / one_by_one.sxy, 1, 1e-13);
}

}  // namespace
