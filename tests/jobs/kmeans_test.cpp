// k-means on the engine (jobs/kmeans.hpp), the rows it reads (jobs/numeric_rows.hpp) and
// the compensated sums it adds with (jobs/compensated_sum.hpp), against sequential oracles
// written here.
#include "tally/jobs/kmeans.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/jobs/compensated_sum.hpp"
#include "tally/jobs/numeric_fields.hpp"
#include "tally/jobs/numeric_rows.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::RunOptions;
using tally::StatusCode;
using tally::jobs::CompensatedSum;
using tally::jobs::KMeansOptions;

// ---------------------------------------------------------------------------------------------
// CompensatedSum
// ---------------------------------------------------------------------------------------------

// Oracle: the exact sums, worked out by hand: 1e16 + 1 - 1e16 is 1 (a plain sum loses the 1);
// ten 0.1s make the double nearest 1.0000000000000000555 (a plain sum gives 0.9999999999999999).
TEST(CompensatedSum, KeepsWhatAPlainSumLoses) {
  CompensatedSum s;
  for (const double x : {1e16, 1.0, -1e16}) s.add(x);
  EXPECT_EQ(s.value(), 1.0);
  CompensatedSum tenth;
  for (int i = 0; i < 10; ++i) tenth.add(0.1);
  EXPECT_EQ(tenth.value(), 1.0);
  EXPECT_EQ(CompensatedSum::combine(CompensatedSum{}, s).value(), 1.0);
  EXPECT_EQ(CompensatedSum::combine(s, CompensatedSum{}).value(), 1.0);
}

// Oracle: the same numbers summed in three orders and groupings (as workers and splits would
// split them) give the same double; a plain sum of them differs between the orders.
TEST(CompensatedSum, SameResultInAnyGrouping) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::vector<double> xs(20000);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = mantissa(rng) * std::pow(10.0, i % 9);
  const auto grouped = [&](const std::vector<double>& v, std::size_t groups) {
    std::vector<CompensatedSum> parts(groups);
    for (std::size_t i = 0; i < v.size(); ++i) parts[(i * 7) % groups].add(v[i]);
    CompensatedSum total;
    for (const CompensatedSum& p : parts) total = CompensatedSum::combine(total, p);
    return total.value();
  };
  std::vector<double> shuffled = xs;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const double one = grouped(xs, 1);
  EXPECT_EQ(grouped(xs, 13), one);
  EXPECT_EQ(grouped(shuffled, 4), one);
  double plain = 0;
  double plain_shuffled = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    plain += xs[i];
    plain_shuffled += shuffled[i];
  }
  EXPECT_NE(plain, plain_shuffled);
}

// ---------------------------------------------------------------------------------------------
// Initial rows
// ---------------------------------------------------------------------------------------------

// Oracle: k distinct rows below n, ascending; the same for the same seed, different for
// another; every row when k == n.
TEST(KMeansInitialRows, DistinctSortedAndSeeded) {
  for (const std::size_t k : {1u, 2u, 10u, 99u, 100u}) {
    const std::vector<std::size_t> rows = tally::jobs::kmeans_initial_rows(100, k, 3);
    ASSERT_EQ(rows.size(), k);
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
    EXPECT_EQ(std::set<std::size_t>(rows.begin(), rows.end()).size(), k);
    EXPECT_LT(rows.back(), 100u);
    EXPECT_EQ(tally::jobs::kmeans_initial_rows(100, k, 3), rows);
  }
  EXPECT_NE(tally::jobs::kmeans_initial_rows(1000, 10, 1),
            tally::jobs::kmeans_initial_rows(1000, 10, 2));
  const std::vector<std::size_t> all = tally::jobs::kmeans_initial_rows(50, 50, 9);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i);
  EXPECT_TRUE(tally::jobs::kmeans_initial_rows(5, 0, 1).empty());
}

// ---------------------------------------------------------------------------------------------
// k-means against a sequential Lloyd's
// ---------------------------------------------------------------------------------------------

struct Lloyd {
  std::vector<double> centroids;
  std::vector<std::uint64_t> sizes;
  std::size_t iterations = 0;
  bool converged = false;
  std::uint64_t last_changes = 0;
};

// The oracle: Lloyd's algorithm as kmeans.hpp states it, written plainly: nearest centroid by
// squared distance added in coordinate order, lowest cluster on ties; plain double sums in
// point order; empty clusters keep their centroid; stop once no point changes cluster, or
// every centroid moved less than the tolerance, or after max_iterations rounds.
Lloyd sequential_lloyd(const std::vector<double>& points, std::size_t d, std::size_t k,
                       std::uint64_t seed, std::size_t max_iterations, double tolerance) {
  const std::size_t n = points.size() / d;
  Lloyd out;
  for (const std::size_t row : tally::jobs::kmeans_initial_rows(n, k, seed)) {
    for (std::size_t j = 0; j < d; ++j) out.centroids.push_back(points[row * d + j]);
  }
  std::vector<std::uint32_t> cluster_of(n, std::numeric_limits<std::uint32_t>::max());
  for (std::size_t round = 1; round <= max_iterations; ++round) {
    std::vector<double> sums(k * d, 0.0);
    std::vector<std::uint64_t> counts(k, 0);
    std::uint64_t changes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t best = 0;
      double best_distance = std::numeric_limits<double>::infinity();
      for (std::uint32_t c = 0; c < k; ++c) {
        double distance = 0;
        for (std::size_t j = 0; j < d; ++j) {
          const double diff = points[i * d + j] - out.centroids[c * d + j];
          distance += diff * diff;
        }
        if (distance < best_distance) {
          best_distance = distance;
          best = c;
        }
      }
      if (cluster_of[i] != best) ++changes;
      cluster_of[i] = best;
      ++counts[best];
      for (std::size_t j = 0; j < d; ++j) sums[best * d + j] += points[i * d + j];
    }
    double moved = 0;
    for (std::size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) continue;
      double distance = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double mean = sums[c * d + j] / static_cast<double>(counts[c]);
        distance += (mean - out.centroids[c * d + j]) * (mean - out.centroids[c * d + j]);
        out.centroids[c * d + j] = mean;
      }
      moved = std::max(moved, std::sqrt(distance));
    }
    out.sizes = counts;
    out.iterations = round;
    out.last_changes = changes;
    if (changes == 0 || moved < tolerance) {
      out.converged = true;
      break;
    }
  }
  if (out.sizes.empty()) out.sizes.assign(k, 0);
  return out;
}

enum class Data {
  kDyadic,     // coordinates are multiples of 1/8 below 2^6: every sum is exact in double
  kClustered,  // doubles around `k` random centres
  kDistinct,   // distinct random doubles, uniform (for k == n)
};

struct KMeansCase {
  std::string name;
  std::size_t n;
  std::size_t d;
  std::size_t k;
  Data data;
  std::size_t max_iterations = 100;
  double tolerance = 0;
  std::uint64_t split_points = 7;  // split_bytes = this many points (0: the engine's default)
};

std::vector<double> make_points(const KMeansCase& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-50.0, 50.0);
  std::normal_distribution<double> noise(0.0, 4.0);
  std::vector<double> centres(c.k * c.d);
  for (double& x : centres) x = u(rng);
  std::vector<double> points(c.n * c.d);
  for (std::size_t i = 0; i < c.n; ++i) {
    const std::size_t centre = rng() % c.k;
    for (std::size_t j = 0; j < c.d; ++j) {
      double& x = points[i * c.d + j];
      switch (c.data) {
        case Data::kDyadic:
          x = static_cast<double>(static_cast<std::int64_t>(rng() % 1024) - 512) / 8.0;
          break;
        case Data::kClustered:
          x = centres[centre * c.d + j] + noise(rng);
          break;
        case Data::kDistinct:
          x = u(rng);
          break;
      }
    }
  }
  return points;
}

class KMeansVsLloyd : public ::testing::TestWithParam<std::tuple<std::size_t, KMeansCase>> {};

// Oracle: sequential_lloyd on the same points, seed and limits: the same iterations,
// convergence, changes in the last round and cluster sizes, exactly; the same centroids,
// exactly for dyadic data (every sum exact), else within 1e-12 of the data's scale (the
// oracle's plain sums and the job's compensated ones round differently).
TEST_P(KMeansVsLloyd, MatchesTheOracle) {
  const auto& [threads, c] = GetParam();
  const std::vector<double> points = make_points(c, c.n * 31 + c.d);
  const std::uint64_t seed = c.n + c.k;
  const Lloyd expected = sequential_lloyd(points, c.d, c.k, seed, c.max_iterations, c.tolerance);
  Engine engine({.threads = threads});
  auto result = tally::jobs::kmeans(
      engine, points, c.d,
      KMeansOptions{
          .k = c.k, .seed = seed, .max_iterations = c.max_iterations, .tolerance = c.tolerance},
      RunOptions{.split_bytes = c.split_points * c.d * sizeof(double)});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->k, c.k);
  EXPECT_EQ(result->dims, c.d);
  EXPECT_EQ(result->iterations, expected.iterations);
  EXPECT_EQ(result->converged, expected.converged);
  EXPECT_EQ(result->last_changes, expected.last_changes);
  EXPECT_EQ(result->sizes, expected.sizes);
  ASSERT_EQ(result->centroids.size(), expected.centroids.size());
  double scale = 0;
  for (const double x : points) scale = std::max(scale, std::fabs(x));
  for (std::size_t i = 0; i < expected.centroids.size(); ++i) {
    if (c.data == Data::kDyadic) {
      EXPECT_EQ(result->centroids[i], expected.centroids[i]) << "coordinate " << i;
    } else {
      EXPECT_NEAR(result->centroids[i], expected.centroids[i], 1e-12 * scale) << "coordinate " << i;
    }
  }
  EXPECT_EQ(result->report.rounds, expected.iterations);
  EXPECT_EQ(result->report.converged, expected.converged);
  EXPECT_EQ(result->report.records_in, expected.iterations * c.n);
}

std::vector<KMeansCase> kmeans_cases() {
  return {
      {.name = "d1_dyadic", .n = 600, .d = 1, .k = 4, .data = Data::kDyadic},
      {.name = "d2_dyadic", .n = 1500, .d = 2, .k = 9, .data = Data::kDyadic},
      {.name = "d2_clustered", .n = 2000, .d = 2, .k = 8, .data = Data::kClustered},
      {.name = "d5_clustered", .n = 1000, .d = 5, .k = 6, .data = Data::kClustered},
      {.name = "d3_default_splits",
       .n = 3000,
       .d = 3,
       .k = 5,
       .data = Data::kClustered,
       .split_points = 0},
      {.name = "k1", .n = 500, .d = 3, .k = 1, .data = Data::kClustered},
      {.name = "k_equals_n", .n = 60, .d = 2, .k = 60, .data = Data::kDistinct},
      {.name = "max_iter_2",
       .n = 3000,
       .d = 2,
       .k = 25,
       .data = Data::kDistinct,
       .max_iterations = 2},
      {.name = "tolerance", .n = 3000, .d = 2, .k = 25, .data = Data::kDistinct, .tolerance = 0.5},
      {.name = "one_point", .n = 1, .d = 4, .k = 1, .data = Data::kDistinct},
  };
}

INSTANTIATE_TEST_SUITE_P(Threads, KMeansVsLloyd,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::ValuesIn(kmeans_cases())),
                         [](const auto& param_info) {
                           return std::get<1>(param_info.param).name + "_threads" +
                                  std::to_string(std::get<0>(param_info.param));
                         });

// Oracle: what each case is for holds of the oracle itself, so the sweep covers it: k = 1
// converges in round 2 at the mean; k = n puts every point in its own cluster; max_iter_2
// stops unconverged; the tolerance stops earlier than exact convergence.
TEST(KMeansCases, CoverWhatTheyAreFor) {
  const auto cases = kmeans_cases();
  const auto oracle = [&](std::string_view name) {
    const KMeansCase& c = *std::find_if(cases.begin(), cases.end(),
                                        [&](const KMeansCase& x) { return x.name == name; });
    return sequential_lloyd(make_points(c, c.n * 31 + c.d), c.d, c.k, c.n + c.k, c.max_iterations,
                            c.tolerance);
  };
  const Lloyd k1 = oracle("k1");
  EXPECT_TRUE(k1.converged);
  EXPECT_EQ(k1.iterations, 2u);
  const Lloyd all = oracle("k_equals_n");
  EXPECT_EQ(all.sizes, std::vector<std::uint64_t>(60, 1));
  EXPECT_EQ(all.iterations, 2u);
  const Lloyd two = oracle("max_iter_2");
  EXPECT_FALSE(two.converged);
  EXPECT_EQ(two.iterations, 2u);
  const Lloyd tolerant = oracle("tolerance");
  EXPECT_TRUE(tolerant.converged);
  EXPECT_GT(tolerant.last_changes, 0u);
  for (const char* name : {"d1_dyadic", "d2_dyadic", "d2_clustered", "d5_clustered"}) {
    const Lloyd l = oracle(name);
    EXPECT_TRUE(l.converged) << name;
    EXPECT_GT(l.iterations, 2u) << name;
  }
}

// Oracle, worked out by hand: k = n over points with a duplicate starts two centroids at the
// same place; every tie goes to the lower cluster, so the duplicates both join cluster 0 and
// cluster 1 stays empty, keeping its centroid (size 0), at every thread count.
TEST(KMeans, TiesGoToTheLowerClusterAndEmptyClustersStay) {
  const std::vector<double> points = {1, 1, 2, 2, 1, 1, 7, 5};  // (1,1) (2,2) (1,1) (7,5)
  for (const std::size_t threads : {1u, 2u, 4u}) {
    Engine engine({.threads = threads});
    auto r = tally::jobs::kmeans(engine, points, 2, {.k = 4}, {.split_bytes = 16});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->sizes, (std::vector<std::uint64_t>{2, 1, 0, 1}));
    EXPECT_EQ(r->centroids, (std::vector<double>{1, 1, 2, 2, 1, 1, 7, 5}));
    EXPECT_TRUE(r->converged);
    EXPECT_EQ(r->iterations, 2u);
  }
}

// Oracle: the errors kmeans.hpp lists, with their messages.
TEST(KMeans, RejectsImpossibleRequests) {
  Engine engine({.threads = 1});
  const std::vector<double> three = {1, 2, 3, 4, 5, 6};  // 3 points of 2
  const auto fails = [&](std::span<const double> pts, std::size_t d, std::size_t k) {
    auto r = tally::jobs::kmeans(engine, pts, d, {.k = k});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  };
  EXPECT_EQ(fails(three, 2, 4), "k = 4 is more than the 3 points");
  EXPECT_EQ(fails(three, 2, 0), "k must be at least 1");
  EXPECT_EQ(fails({}, 2, 1), "there are no points to cluster");
  EXPECT_EQ(fails(three, 0, 1), "k-means needs points of at least 1 dimension");
  EXPECT_EQ(fails(three, 4, 1), "6 coordinates are not rows of 4");
  EXPECT_EQ(fails(std::span<const double>(three).first(2), 2, 2), "k = 2 is more than the 1 point");
}

// Oracle: a stop requested before the run ends it with kCancelled.
TEST(KMeans, StopsWhenAsked) {
  Engine engine({.threads = 2});
  const std::vector<double> points =
      make_points({.name = "stop", .n = 100, .d = 2, .k = 3, .data = Data::kDistinct}, 1);
  std::stop_source stop;
  stop.request_stop();
  auto r = tally::jobs::kmeans(engine, points, 2, {.k = 3}, {.stop = stop.get_token()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
}

// ---------------------------------------------------------------------------------------------
// load_numeric_rows
// ---------------------------------------------------------------------------------------------

// Rows of `width` numbers as text in the formats parse_numbers reads: commas with spaces,
// tabs, runs of spaces, CRLF line ends, blank lines between rows; returns the text and fills
// `values` with the numbers in order.
std::string rows_text(std::mt19937_64& rng, std::size_t rows, std::size_t width,
                      std::vector<double>& values) {
  std::string text;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint64_t style = rng() % 4;
    if (rng() % 10 == 0) text += "\n";  // a blank line: no row
    for (std::size_t j = 0; j < width; ++j) {
      const double x = static_cast<double>(static_cast<std::int64_t>(rng() % 200001) - 100000) / 64;
      values.push_back(x);
      if (j != 0) text += style == 0 ? ", " : style == 1 ? "\t" : style == 2 ? "   " : ",";
      char buf[64];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
      text.append(buf, end);
    }
    text += style == 3 ? "\r\n" : "\n";
  }
  return text;
}

class NumericRows : public ::testing::TestWithParam<std::size_t> {
 protected:
  Engine engine_{{.threads = GetParam()}};
};

// Oracle: the numbers in the order they were written, over three inputs (one empty), however
// small the splits.
TEST_P(NumericRows, InInputOrder) {
  std::mt19937_64 rng(11);
  std::vector<double> expected;
  std::string a = rows_text(rng, 400, 3, expected);
  std::string b;
  std::string c = rows_text(rng, 700, 3, expected);
  c.pop_back();  // the last line without its newline
  Inputs inputs = Inputs::buffers({{"a", a}, {"b", b}, {"c", c}});
  for (const std::uint64_t split : {0u, 5u, 64u}) {
    auto rows = tally::jobs::load_numeric_rows(engine_, inputs, {.split_bytes = split});
    ASSERT_TRUE(rows.ok()) << rows.status().to_string();
    EXPECT_EQ(rows->width, 3u);
    EXPECT_EQ(rows->rows(), 1100u);
    EXPECT_EQ(rows->values, expected) << "split " << split;
    EXPECT_EQ(rows->report.bad_records, 0u);
  }
}

// Oracle: no rows in empty or blank inputs: width 0, no values.
TEST_P(NumericRows, EmptyInputsHaveNoRows) {
  Inputs inputs = Inputs::buffers({{"empty", ""}, {"blank", "\n  \n\t\r\n"}});
  auto rows = tally::jobs::load_numeric_rows(engine_, inputs, {.split_bytes = 2});
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  EXPECT_EQ(rows->width, 0u);
  EXPECT_EQ(rows->rows(), 0u);
  EXPECT_TRUE(rows->values.empty());
}

// Many small rows, one bad at each of `bad_lines` (1-based): the field "x" in column 2.
std::string rows_with_bad_lines(std::size_t lines, const std::set<std::size_t>& bad_lines) {
  std::string text;
  for (std::size_t line = 1; line <= lines; ++line) {
    text += std::to_string(line) + (bad_lines.count(line) ? ",x\n" : ",1\n");
  }
  return text;
}

// Oracle: the first bad row in input order fails the load, whichever worker finds a bad row
// first; the message names the input, line, offset, column and field.
TEST_P(NumericRows, FirstBadRowInInputOrderFails) {
  const std::string text = rows_with_bad_lines(3000, {2900, 1200, 2999});
  Inputs inputs = Inputs::buffers({{"first.csv", "1,2\n"}, {"rows.csv", text}});
  auto rows = tally::jobs::load_numeric_rows(engine_, inputs, {.split_bytes = 16});
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
  const std::size_t offset = text.find("1200,x");
  EXPECT_EQ(rows.status().message(), "input 'rows.csv' line 1200 (byte offset " +
                                         std::to_string(offset) +
                                         "): column 2: 'x' is not a number");
}

// Oracle: a row of another width than the first row's is bad, named as such.
TEST_P(NumericRows, RowOfAnotherWidthIsBad) {
  Inputs inputs = Inputs::buffers({{"w.csv", "1,2,3\n4,5,6\n7,8\n"}});
  auto rows = tally::jobs::load_numeric_rows(engine_, inputs, {.split_bytes = 4});
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().message(),
            "input 'w.csv' line 3 (byte offset 12): has 2 numbers, expected 3 (the width of the "
            "first row)");
}

// Oracle: with max_bad_records N, the first N bad rows in input order are skipped and handed
// to on_bad_record in that order with their line numbers; the rows around them stay, in
// order; one more bad row fails the load naming it and the limit. The width comes from the
// first row that parses (after a header line).
TEST_P(NumericRows, SkipsUpToTheLimitInInputOrder) {
  const std::string text = "x,y\n" + rows_with_bad_lines(2000, {1500, 30, 700});
  Inputs inputs = Inputs::buffers({{"h.csv", text}});
  std::vector<tally::BadRecord> skipped;
  RunOptions options{.split_bytes = 32,
                     .max_bad_records = 4,
                     .on_bad_record = [&](const tally::BadRecord& r) { skipped.push_back(r); }};
  auto rows = tally::jobs::load_numeric_rows(engine_, inputs, options);
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  EXPECT_EQ(rows->width, 2u);
  EXPECT_EQ(rows->rows(), 1997u);
  EXPECT_EQ(rows->report.bad_records, 4u);
  ASSERT_EQ(skipped.size(), 4u);
  const std::vector<std::uint64_t> lines = {1, 31, 701, 1501};  // the header is line 1
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(skipped[i].input, "h.csv");
    EXPECT_EQ(skipped[i].number, lines[i]);
  }
  EXPECT_EQ(skipped[0].error, "column 1: 'x' is not a number");
  EXPECT_EQ(skipped[1].offset, text.find("30,x"));
  EXPECT_EQ(rows->values[0], 1.0);
  EXPECT_EQ(rows->values[2 * 29], 31.0);  // row 30 was skipped

  skipped.clear();
  options.max_bad_records = 3;
  auto failed = tally::jobs::load_numeric_rows(engine_, inputs, options);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "input 'h.csv' line 1501 (byte offset " +
                                           std::to_string(text.find("1500,x")) +
                                           "): column 2: 'x' is not a number (more than 3 bad "
                                           "records)");
  EXPECT_EQ(skipped.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Threads, NumericRows, ::testing::Values(1, 2, 4),
                         [](const auto& param_info) {
                           return "threads" + std::to_string(param_info.param);
                         });

}  // namespace
