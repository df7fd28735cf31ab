// The two-sided Mann-Whitney U test, computed exactly as scipy.stats.mannwhitneyu does in
// SciPy 1.10 (Debian 12) with its defaults (use_continuity=True, method='auto'), which is what
// Google Benchmark's compare.py calls. Matching it lets `tally compare` give compare.py's
// verdicts on the same reports.
//
//   MannWhitneyResult r = mann_whitney_u({1.0, 2.0, 3.0}, {4.0, 5.0, 6.0});
//   // r.p_value == 0.1, r.method == MannWhitneyMethod::kExact
#pragma once

#include <cstddef>
#include <span>

namespace tally::compare {

enum class MannWhitneyMethod {
  kExact,       // the exact null distribution of U
  kAsymptotic,  // the normal approximation, with tie and continuity corrections
};

struct MannWhitneyResult {
  double u1 = 0;  // U of the first sample (scipy's `statistic`)
  double p_value = 1;
  MannWhitneyMethod method = MannWhitneyMethod::kExact;
};

// SciPy's method='auto': asymptotic when both samples have more than 8 values or any value
// occurs twice (in the two samples combined), exact otherwise.
// REQUIRES: x and y non-empty, no NaN.
MannWhitneyResult mann_whitney_u(std::span<const double> x, std::span<const double> y);

// The two halves, for tests and for callers that must choose: the p-value of U = max(U1, U2)
// under the exact distribution (REQUIRES: no ties), and under the normal approximation.
double mann_whitney_exact_p(double u, std::size_t n1, std::size_t n2);
double mann_whitney_asymptotic_p(std::span<const double> x, std::span<const double> y);

// The smallest two-sided p-value samples of n1 and n2 values can give, 2 / C(n1 + n2, n1)
// (complete separation under the exact distribution): 0.33 for 2 vs 2, 0.10 for 3 vs 3.
// At or above alpha the test can never find a difference. REQUIRES: n1, n2 > 0.
double mann_whitney_smallest_p(std::size_t n1, std::size_t n2);

}  // namespace tally::compare
