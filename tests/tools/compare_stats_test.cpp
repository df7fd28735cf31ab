// The statistics of `tally compare` against SciPy 1.10.1 (Debian 12), the library compare.py
// calls. Oracle: every expected value below was printed by
//   /usr/bin/python3 -c "from scipy.stats import mannwhitneyu; print(mannwhitneyu(x, y,
//       alternative='two-sided'[, method=...]))"
// on the same samples, and pasted here; our p-values must agree to 1e-12 (both compute in
// double precision, by the same formulas).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tools/tally/compare/comparison.hpp"
#include "tools/tally/compare/mann_whitney.hpp"

namespace {

using tally::compare::mann_whitney_asymptotic_p;
using tally::compare::mann_whitney_exact_p;
using tally::compare::mann_whitney_u;
using tally::compare::MannWhitneyMethod;

constexpr double kTolerance = 1e-12;

struct ScipyCase {
  const char* name;
  std::vector<double> x, y;
  double u1;                 // scipy's `statistic`
  double p_auto;             // method='auto' (what compare.py gets)
  MannWhitneyMethod chosen;  // which path 'auto' takes
  // method='exact'; with ties SciPy still evaluates the tie-free distribution at int(U),
  // and so do we.
  double p_exact;
  double p_asymptotic;  // method='asymptotic'
};

std::vector<double> steps(int n, double scale, double offset) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(i * scale + offset);
  return v;
}

std::vector<double> residues(int n, int multiplier, int modulus, double offset) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back((i * multiplier) % modulus + offset);
  return v;
}

const std::vector<ScipyCase>& scipy_cases() {
  static const std::vector<ScipyCase> cases = {
      {"separated",
       {1, 2, 3},
       {4, 5, 6},
       0.0,
       0.1,
       MannWhitneyMethod::kExact,
       0.1,
       0.08085559837005224},
      {"interleaved",
       {1.1, 2.5, 3.2, 4.8, 5.0},
       {2.0, 3.0, 4.0, 6.0, 7.5},
       9.0,
       0.5476190476190477,
       MannWhitneyMethod::kExact,
       0.5476190476190477,
       0.5308693039685082},
      {"unequal_sizes",
       {10.0, 12.0, 11.5},
       {9.0, 13.0, 14.0, 15.0, 16.0, 8.5, 17.0},
       6.0,
       0.3833333333333333,
       MannWhitneyMethod::kExact,
       0.3833333333333333,
       0.3619347669211923},
      // One side of 8 keeps 'auto' exact however large the other side is.
      {"8_vs_20", steps(8, 1.5, 0.0), steps(20, 1.0, 0.25), 44.0, 0.07045772263163567,
       MannWhitneyMethod::kExact, 0.07045772263163567, 0.07102085611373563},
      // A tie anywhere switches small samples to the normal approximation.
      {"ties_small",
       {1, 2, 2, 3},
       {2, 4, 5},
       2.0,
       0.19908985214820463,
       MannWhitneyMethod::kAsymptotic,
       0.22857142857142856,
       0.19908985214820463},
      // Both sides above 8: asymptotic even without ties.
      {"both_large", residues(12, 37, 23, 0.5), residues(10, 41, 29, 0.25), 48.0, 0.44827886220819,
       MannWhitneyMethod::kAsymptotic, 0.4561506604850259, 0.44827886220819},
      // Every value tied: the variance is 0 and SciPy clips the p-value to 1.
      {"all_tied", {1, 1, 1}, {1, 1}, 3.0, 1.0, MannWhitneyMethod::kAsymptotic, 1.0, 1.0},
      {"large_with_ties", residues(15, 1, 5, 0.0), residues(11, 1, 7, 0.0), 73.5,
       0.6540831470324648, MannWhitneyMethod::kAsymptotic, 0.6832167596839828, 0.6540831470324648},
  };
  return cases;
}

class CompareMannWhitneyAgainstScipy : public ::testing::TestWithParam<ScipyCase> {};

TEST_P(CompareMannWhitneyAgainstScipy, AutoMethodMatchesScipy) {
  const ScipyCase& c = GetParam();
  const auto r = mann_whitney_u(c.x, c.y);
  EXPECT_EQ(r.method, c.chosen);
  EXPECT_DOUBLE_EQ(r.u1, c.u1);
  EXPECT_NEAR(r.p_value, c.p_auto, kTolerance);
}

TEST_P(CompareMannWhitneyAgainstScipy, AsymptoticPathMatchesScipy) {
  const ScipyCase& c = GetParam();
  EXPECT_NEAR(mann_whitney_asymptotic_p(c.x, c.y), c.p_asymptotic, kTolerance);
}

TEST_P(CompareMannWhitneyAgainstScipy, ExactPathMatchesScipy) {
  const ScipyCase& c = GetParam();
  const double mn = static_cast<double>(c.x.size() * c.y.size());
  const double u = std::max(c.u1, mn - c.u1);
  EXPECT_NEAR(mann_whitney_exact_p(u, c.x.size(), c.y.size()), c.p_exact, kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Scipy, CompareMannWhitneyAgainstScipy, ::testing::ValuesIn(scipy_cases()),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

// The test is symmetric: swapping the samples keeps the two-sided p-value.
TEST(CompareMannWhitney, SwappingSamplesKeepsThePValue) {
  for (const ScipyCase& c : scipy_cases()) {
    EXPECT_NEAR(mann_whitney_u(c.y, c.x).p_value, c.p_auto, kTolerance) << c.name;
  }
}

// Exact distribution of U for m = n = 2: U takes 0,1,2,2,3,4 over the 6 arrangements, so
// P(U <= 0) = 1/6 and the two-sided p-value of U = 4 is 2/6.
TEST(CompareMannWhitney, ExactDistributionByEnumeration) {
  EXPECT_NEAR(mann_whitney_exact_p(4, 2, 2), 2.0 / 6.0, kTolerance);
  EXPECT_NEAR(mann_whitney_exact_p(3, 2, 2), 4.0 / 6.0, kTolerance);
  EXPECT_NEAR(mann_whitney_exact_p(2, 2, 2), 1.0, kTolerance);  // 2 * (4/6) clipped
}

// compare.py's calculate_change, case by case.
TEST(CompareRelativeChange, IsCompareDotPysFormula) {
  using tally::compare::relative_change;
  EXPECT_DOUBLE_EQ(relative_change(100, 110), 0.10);
  EXPECT_DOUBLE_EQ(relative_change(100, 90), -0.10);
  EXPECT_DOUBLE_EQ(relative_change(-50, -25), 0.5);  // divides by |old|
  EXPECT_DOUBLE_EQ(relative_change(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(relative_change(0, 4), 2.0);  // old 0: relative to the mean of the two
}

TEST(CompareCounterDirection, OnlyRatesAreThroughput) {
  using tally::compare::higher_is_better;
  EXPECT_TRUE(higher_is_better("items_per_second"));
  EXPECT_TRUE(higher_is_better("bytes_per_second"));
  EXPECT_FALSE(higher_is_better("peak_rss_bytes"));
  EXPECT_FALSE(higher_is_better("per_second_x"));
}

}  // namespace
