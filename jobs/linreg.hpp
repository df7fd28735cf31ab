// Linear regression (Phoenix++'s linear_regression): the least-squares line y = slope x +
// intercept through a set of points, with r^2 and n. Two jobs, one per input form, each a
// DenseJob with a single key (0) whose value is the whole reduction:
//
//  - BinaryLinreg: raw (int8 x, int8 y) byte pairs, as Phoenix++ reads them. The sums
//    n, Sx, Sy, Sxx, Syy, Sxy are exact int64 (PairSums), so every thread count gives the
//    same bits. map() takes a RecordBlock and sums it in local variables with one emit per
//    block: the per-record cost is that of a plain loop.
//
//      tally::RunOptions options;
//      options.records = tally::jobs::BinaryLinreg::kRecords;   // 2-byte records
//      auto out = engine.run(tally::jobs::BinaryLinreg{}, inputs, options);
//      auto fit = tally::jobs::fit_line(*out->table.find(0));  // the one key
//
//  - TextLinreg: one point per line of numeric CSV/TSV (parse_numbers: every field of a data
//    line must be a number), x and y taken from 1-based columns. Blank lines are skipped; a
//    line with too few fields or a field that is not a number throws StatusError
//    (kInvalidArgument, naming the column), which fails the run or, under
//    RunOptions::max_bad_records, skips the line. With `header` set, each input's first line
//    is skipped unread; without it, a first line whose first field is not a number fails
//    with a hint that it may be a header.
//    Accuracy: the textbook sums (n Sxx - Sx^2 and so on) cancel catastrophically when the
//    points lie far from the origin compared with their spread (x near 1e9, spread 1: every
//    digit of the difference is rounding error). So the value is the centered form
//    (Moments: the means and the sums of squared and crossed deviations from them), updated
//    per point and merged per worker with the pairwise formulas of Chan, Golub and LeVeque,
//    whose error grows with the spread of the data, not with its distance from the origin.
//    Different thread counts merge in different orders: results agree to a few ulps, not bit
//    for bit.
//
// fit_line turns either value into slope, intercept and r^2 (equal, up to rounding, to
// slope = (n Sxy - Sx Sy) / (n Sxx - Sx^2), intercept = (Sy - slope Sx) / n,
// r^2 = (n Sxy - Sx Sy)^2 / ((n Sxx - Sx^2)(n Syy - Sy^2))), or says why there is no line:
// no points, one point, or every point with the same x (the slope is undefined). When every
// y is the same (and x is not), the line is exact and flat, and r^2 (0/0) is NaN.
//
// Thread safety: map() and combine() are const or static and use no shared state (TextLinreg
// keeps its parse buffer thread_local), so any number of threads may run them at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/job.hpp"
#include "tally/engine/record_layout.hpp"
#include "tally/engine/status.hpp"
#include "tally/jobs/numeric_fields.hpp"

namespace tally::jobs {

// ---------------------------------------------------------------------------------------
// Binary pairs: exact integer sums.
// ---------------------------------------------------------------------------------------

// The sums over points (x, y): exact, as int64, for int8 coordinates. They overflow only
// past 2^49 points (|x y| <= 2^14 each), a petabyte of pairs.
struct PairSums {
  std::int64_t n = 0;
  std::int64_t sx = 0;
  std::int64_t sy = 0;
  std::int64_t sxx = 0;
  std::int64_t syy = 0;
  std::int64_t sxy = 0;

  friend bool operator==(const PairSums&, const PairSums&) = default;
  // Field-wise addition: PairSums{} is its identity.
  friend PairSums operator+(const PairSums& a, const PairSums& b) {
    return {a.n + b.n, a.sx + b.sx, a.sy + b.sy, a.sxx + b.sxx, a.syy + b.syy, a.sxy + b.sxy};
  }
};

// The sums over the (int8 x, int8 y) pairs of `bytes`: x the first byte of each pair, read
// as a signed 8-bit integer (Phoenix++'s `char` on x86). REQUIRES: an even size.
inline PairSums sum_pairs(std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const std::int8_t*>(bytes.data());
  const std::size_t n = bytes.size() / 2;
  // Locals, not the struct's fields: the compiler keeps them in registers (or vectorizes the
  // loop) only when nothing else can see them.
  std::int64_t sx = 0;
  std::int64_t sy = 0;
  std::int64_t sxx = 0;
  std::int64_t syy = 0;
  std::int64_t sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t x = p[2 * i];
    const std::int64_t y = p[2 * i + 1];
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  return {static_cast<std::int64_t>(n), sx, sy, sxx, syy, sxy};
}

struct BinaryLinreg {
  using Key = std::uint32_t;  // one key, 0
  using Value = PairSums;

  // The layout a run must use (RunOptions::records): 2-byte records, no header. An input of
  // odd size then fails the run (check_record_layout names it).
  static constexpr RecordLayout kRecords{.fixed_bytes = 2};

  std::size_t key_count() const { return 1; }

  // A block at a time: the block's sums in locals, then one emit.
  template <typename Out>
  [[gnu::always_inline]] void map(RecordBlock block, Out& out) const {
    if (block.record_bytes != 2) [[unlikely]] {
      wrong_layout(block.record_bytes);
    }
    out.emit(0, sum_pairs(block.bytes));
  }

  static Value combine(const Value& a, const Value& b) { return a + b; }

 private:
  [[noreturn, gnu::noinline]] static void wrong_layout(std::uint64_t record_bytes) {
    throw std::invalid_argument("linreg's binary records are 2-byte (x, y) pairs, not " +
                                std::to_string(record_bytes) + "-byte records");
  }
};

// ---------------------------------------------------------------------------------------
// Text: centered moments in double.
// ---------------------------------------------------------------------------------------

// Points summarised about their means: n, the means, and the sums of squared and crossed
// deviations from the means (sxx = sum (x - mean_x)^2, sxy = sum (x - mean_x)(y - mean_y)).
// Moments{} (no points) is the identity of merge().
struct Moments {
  std::uint64_t n = 0;
  double mean_x = 0;
  double mean_y = 0;
  double sxx = 0;
  double syy = 0;
  double sxy = 0;

  // The moments of one point.
  static Moments of(double x, double y) { return {1, x, y, 0, 0, 0}; }

  // The moments of the points of a and b together (Chan, Golub and LeVeque's pairwise
  // update: exact in exact arithmetic, and stable in floating point).
  friend Moments merge(const Moments& a, const Moments& b) {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    const std::uint64_t total = a.n + b.n;
    const double nd = static_cast<double>(total);
    const double nb = static_cast<double>(b.n);
    const double nab = static_cast<double>(a.n) * nb;
    const double dx = b.mean_x - a.mean_x;
    const double dy = b.mean_y - a.mean_y;
    // Each term is divided by n last, so that it is rounded once there, not twice: for small
    // integer points every step is then exact.
    return {total,
            a.mean_x + dx * nb / nd,
            a.mean_y + dy * nb / nd,
            a.sxx + b.sxx + dx * dx * nab / nd,
            a.syy + b.syy + dy * dy * nab / nd,
            a.sxy + b.sxy + dx * dy * nab / nd};
  }
};

struct TextLinreg {
  using Key = std::uint32_t;  // one key, 0
  using Value = Moments;

  std::size_t x_column = 1;  // 1-based; REQUIRES: >= 1
  std::size_t y_column = 2;  // 1-based; REQUIRES: >= 1
  bool header = false;       // skip each input's first line

  std::size_t key_count() const { return 1; }

  // Throws StatusError(kInvalidArgument) for a line that is not a point (see the top).
  template <typename Out>
  void map(Record rec, Out& out) const {
    if (rec.offset == 0 && header) return;
    // One buffer per thread: a vector per line would cost an allocation per point.
    thread_local std::vector<double> fields;
    try {
      parse_numbers(rec.bytes, fields);
    } catch (const StatusError& e) {
      // An input's first line whose first field is not a number: most likely a header.
      if (rec.offset != 0 || header || !e.status().message().starts_with("column 1:")) throw;
      throw StatusError(
          Status::InvalidArgument(e.status().message() + " (a header line? --header skips it)"));
    }
    if (fields.empty()) return;  // a blank line
    const std::size_t needed = x_column > y_column ? x_column : y_column;
    if (fields.size() < needed) missing_column(needed, fields.size());
    out.emit(0, Moments::of(fields[x_column - 1], fields[y_column - 1]));
  }

  static Value combine(const Value& a, const Value& b) { return merge(a, b); }

 private:
  [[noreturn]] static void missing_column(std::size_t column, std::size_t fields) {
    throw StatusError(Status::InvalidArgument("column " + std::to_string(column) +
                                              ": missing (the line has " + std::to_string(fields) +
                                              (fields == 1 ? " field)" : " fields)")));
  }
};

// ---------------------------------------------------------------------------------------
// The fit.
// ---------------------------------------------------------------------------------------

struct LinearFit {
  double slope = 0;
  double intercept = 0;
  double r2 = 0;  // in [0, 1]; NaN when every y is the same
  std::uint64_t n = 0;
};

// The least-squares line through the points (see the top of this file), or kInvalidArgument
// "cannot fit a line: ..." naming why there is none: no points, a single point, every x the
// same; for Moments also sums that overflowed a double (coordinates near 1e154 or beyond).
// From PairSums the deviations are computed exactly in 128-bit integers: the slope and the
// intercept are each the quotient of two exact integers, each rounded once.
Result<LinearFit> fit_line(const PairSums& sums);
Result<LinearFit> fit_line(const Moments& moments);

}  // namespace tally::jobs
