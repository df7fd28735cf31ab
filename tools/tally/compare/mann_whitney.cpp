#include "tools/tally/compare/mann_whitney.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

namespace tally::compare {
namespace {

struct Ranking {
  std::vector<double> ranks;  // of the concatenation x ++ y; ties get their average rank
  double tie_term = 0;        // sum of t^3 - t over groups of t tied values
  bool has_ties = false;
};

// scipy.stats.rankdata(method='average') plus the tie term of _get_mwu_z.
Ranking rank(std::span<const double> x, std::span<const double> y) {
  std::vector<double> values(x.begin(), x.end());
  values.insert(values.end(), y.begin(), y.end());
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  Ranking r;
  r.ranks.resize(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double t = static_cast<double>(j - i + 1);
    // Positions i..j (0-based) share ranks i+1..j+1, whose average is (i + j) / 2 + 1.
    const double average = static_cast<double>(i + j) / 2.0 + 1.0;
    for (std::size_t k = i; k <= j; ++k) r.ranks[order[k]] = average;
    if (t > 1) {
      r.has_ties = true;
      r.tie_term += t * t * t - t;
    }
    i = j + 1;
  }
  return r;
}

double u1_from_ranks(const Ranking& r, std::size_t n1) {
  const double rank_sum =
      std::accumulate(r.ranks.begin(), r.ranks.begin() + static_cast<std::ptrdiff_t>(n1), 0.0);
  const double m = static_cast<double>(n1);
  return rank_sum - m * (m + 1) / 2;
}

// The normal approximation of _get_mwu_z, from a ranking of x ++ y with x of size `size1`.
double asymptotic_p(const Ranking& r, std::size_t size1, std::size_t size2) {
  const double n1 = static_cast<double>(size1);
  const double n2 = static_cast<double>(size2);
  const double u1 = u1_from_ranks(r, size1);
  const double u = std::max(u1, n1 * n2 - u1);
  const double n = n1 + n2;
  const double mu = n1 * n2 / 2;
  const double s = std::sqrt(n1 * n2 / 12 * ((n + 1) - r.tie_term / (n * (n - 1))));
  // Continuity correction: U is on the upper side, so moving it down by 0.5 is conservative.
  // With every value tied s is 0 and z is -inf: the p-value clips to 1, as in SciPy.
  const double z = (u - mu - 0.5) / s;
  // 2 * norm.sf(z) == erfc(z / sqrt(2)).
  return std::clamp(std::erfc(z / std::sqrt(2.0)), 0.0, 1.0);
}

}  // namespace

double mann_whitney_exact_p(double u, std::size_t n1, std::size_t n2) {
  // The distribution is the same for (n1, n2) and (n2, n1); the recurrence below costs
  // O(m n kmax) with kmax <= m n, and SciPy's 'auto' keeps the smaller size m at 8 or less.
  const std::size_t m = std::min(n1, n2);
  const std::size_t n = std::max(n1, n2);
  // Two-sided p = 2 * P(U >= u) = 2 * P(U <= mn - u) by symmetry, as scipy's _MWU.sf.
  const double mn = static_cast<double>(m * n);
  const double upper = mn - std::floor(u);
  if (upper < 0) return 0;
  const auto kmax = static_cast<std::size_t>(upper);
  // count[a][k]: arrangements of a values of the small sample among b of the large one with
  // U = k, i.e. f(a, b, k) of Mann and Whitney's recurrence
  //   f(a, b, k) = f(a - 1, b, k - b) + f(a, b - 1, k),
  // advanced one b at a time; only k <= kmax is ever needed.
  std::vector<std::vector<double>> count(m + 1, std::vector<double>(kmax + 1, 0.0));
  for (auto& row : count) row[0] = 1;  // f(a, 0, 0) = 1: with no large values U is 0
  for (std::size_t b = 1; b <= n; ++b) {
    // Ascending a: count[a - 1] already holds b's values, count[a] still holds b - 1's.
    for (std::size_t a = 1; a <= m; ++a) {
      for (std::size_t k = kmax + 1; k-- > b;) count[a][k] += count[a - 1][k - b];
    }
  }
  double total = 1;  // binom(m + n, m)
  for (std::size_t i = 1; i <= m; ++i) {
    total = total * static_cast<double>(n + i) / static_cast<double>(i);
  }
  const double at_most = std::accumulate(count[m].begin(), count[m].end(), 0.0);
  return std::clamp(2.0 * at_most / total, 0.0, 1.0);
}

double mann_whitney_asymptotic_p(std::span<const double> x, std::span<const double> y) {
  return asymptotic_p(rank(x, y), x.size(), y.size());
}

double mann_whitney_smallest_p(std::size_t n1, std::size_t n2) {
  return mann_whitney_exact_p(static_cast<double>(n1 * n2), n1, n2);
}

MannWhitneyResult mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  const Ranking r = rank(x, y);
  MannWhitneyResult result;
  result.u1 = u1_from_ranks(r, x.size());
  const bool both_large = x.size() > 8 && y.size() > 8;
  if (both_large || r.has_ties) {
    result.method = MannWhitneyMethod::kAsymptotic;
    result.p_value = asymptotic_p(r, x.size(), y.size());
  } else {
    const double u2 = static_cast<double>(x.size() * y.size()) - result.u1;
    result.method = MannWhitneyMethod::kExact;
    result.p_value = mann_whitney_exact_p(std::max(result.u1, u2), x.size(), y.size());
  }
  return result;
}

}  // namespace tally::compare
