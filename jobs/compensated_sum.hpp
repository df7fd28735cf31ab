// CompensatedSum: a sum of doubles that carries its own rounding error (Neumaier's variant
// of Kahan summation), for job values that add many doubles in an order that depends on how
// the input was split and which worker took which split.
//
//   tally::jobs::CompensatedSum s;
//   for (double x : {1e16, 1.0, -1e16}) s.add(x);
//   s.value();   // 1.0 (a plain double sum gives 0.0)
//
// Why: a plain double sum's result depends on the order of the additions, so the same job at
// 1 and at 4 threads would print different last digits. The compensated sum's error is about
// one rounding of the result plus n x 2^-106 of the sum of magnitudes, instead of n x 2^-53
// for a plain sum: value() is then the correctly rounded exact sum unless the exact sum lies
// within that tiny error of a rounding boundary, so results agree across thread counts and
// split sizes in practice (not by construction: only an exact accumulator would guarantee
// it, at many times the size). Neumaier's variant rather than Kahan's because it stays exact
// when an added term is larger than the sum so far (as in the example).
//
// combine() is what the engine's combining calls: associative and commutative up to the same
// tiny error; CompensatedSum{} is its identity.
#pragma once

#include <cmath>

namespace tally::jobs {

struct CompensatedSum {
  double sum = 0;
  double compensation = 0;  // the rounding errors of the additions into `sum`, summed

  // Adds x: the rounding error of sum + x is exact in double (TwoSum's fast form, with the
  // larger operand first) and goes into the compensation.
  void add(double x) noexcept {
    const double t = sum + x;
    if (std::fabs(sum) >= std::fabs(x)) {
      compensation += (sum - t) + x;
    } else {
      compensation += (x - t) + sum;
    }
    sum = t;
  }

  double value() const noexcept { return sum + compensation; }

  static CompensatedSum combine(CompensatedSum a, const CompensatedSum& b) noexcept {
    a.add(b.sum);
    a.compensation += b.compensation;
    return a;
  }

  friend bool operator==(const CompensatedSum&, const CompensatedSum&) = default;
};

}  // namespace tally::jobs
