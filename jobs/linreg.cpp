#include "tally/jobs/linreg.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace tally::jobs {
namespace {

__extension__ using Wide = __int128;  // products of two int64 sums, exactly

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

Status cannot_fit(const std::string& why) {
  return Status::InvalidArgument("cannot fit a line: " + why);
}

// The reason there is no line through n points whose x are all `x`, when n < 2 or the x do
// not vary.
Status no_slope(std::uint64_t n, double x) {
  if (n == 0) return cannot_fit("no points (the input holds no data)");
  if (n == 1) return cannot_fit("only one point");
  return cannot_fit("all " + std::to_string(n) + " points have x = " + shortest(x) +
                    " (the slope is undefined)");
}

// r^2 from its two factors, each <= 1 in exact arithmetic; rounding must not push it past 1.
double r_squared(double slope, double other_factor) { return std::min(1.0, slope * other_factor); }

}  // namespace

Result<LinearFit> fit_line(const PairSums& s) {
  // The deviations scaled by n (n Sxx - Sx^2 = n sum (x - mean)^2 ...), exact: each product
  // of two int64 fits in 127 bits.
  const Wide n = s.n;
  const Wide dxx = n * s.sxx - Wide{s.sx} * s.sx;
  if (s.n < 2 || dxx == 0) {
    return no_slope(static_cast<std::uint64_t>(s.n),
                    s.n == 0 ? 0.0 : static_cast<double>(s.sx / s.n));
  }
  const Wide dyy = n * s.syy - Wide{s.sy} * s.sy;
  const Wide dxy = n * s.sxy - Wide{s.sx} * s.sy;
  // (Sy - slope Sx) / n with slope = dxy / dxx, over one denominator: (Sy Sxx - Sx Sxy) / dxx.
  const Wide intercept = Wide{s.sy} * s.sxx - Wide{s.sx} * s.sxy;
  LinearFit fit;
  fit.n = static_cast<std::uint64_t>(s.n);
  fit.slope = static_cast<double>(dxy) / static_cast<double>(dxx);
  fit.intercept = static_cast<double>(intercept) / static_cast<double>(dxx);
  fit.r2 =
      dyy == 0 ? kNaN : r_squared(fit.slope, static_cast<double>(dxy) / static_cast<double>(dyy));
  return fit;
}

Result<LinearFit> fit_line(const Moments& m) {
  if (m.n < 2) return no_slope(m.n, m.mean_x);
  for (const double v : {m.mean_x, m.mean_y, m.sxx, m.syy, m.sxy}) {
    if (!std::isfinite(v)) {
      return cannot_fit("the sums of squares overflow a double (coordinates too large)");
    }
  }
  if (m.sxx == 0) return no_slope(m.n, m.mean_x);
  LinearFit fit;
  fit.n = m.n;
  fit.slope = m.sxy / m.sxx;
  fit.intercept = m.mean_y - fit.slope * m.mean_x;
  fit.r2 = m.syy == 0 ? kNaN : r_squared(fit.slope, m.sxy / m.syy);
  return fit;
}

}  // namespace tally::jobs
