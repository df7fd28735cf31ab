// The rows of `tally generate-corpus --kind points`: 3-D points scattered around fixed
// centres, as CSV, for `tally kmeans` and its benchmark.
//
//   PointRows rows(seed);
//   std::string text;
//   for (int i = 0; i < 1000; ++i) rows.append_row(text);   // "412.303,87.114,903.55\n" ...
//
// The same seed gives the same rows on every machine: only std::mt19937_64's raw output (the
// standard fixes its sequence), integer arithmetic and exact conversions are used, no
// std::*_distribution (whose algorithms each standard library chooses) and no libm call.
//  - kCentres centres, uniform in [0, 1000)^3, drawn first;
//  - each row: a centre drawn uniformly, then each coordinate the centre's plus a bell-shaped
//    offset (the sum of four uniform draws in [-1, 1), times kSpread: within +-4 kSpread);
//  - each coordinate printed with 3 decimals (std::to_chars, exact).
#pragma once

#include <charconv>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tools/tally/generators.hpp"
#include "tools/tally/output.hpp"

namespace tally::cli {

class PointRows {
 public:
  static constexpr int kDims = 3;
  static constexpr int kCentres = 100;
  static constexpr double kSpread = 10.0;

  explicit PointRows(std::uint64_t seed) : rng_(seed) {
    for (double& x : centres_) x = 1000.0 * uniform();
  }

  // Appends one row and its newline.
  void append_row(std::string& out) {
    const std::uint64_t centre = rng_() % kCentres;
    for (int j = 0; j < kDims; ++j) {
      double offset = 0;
      for (int i = 0; i < 4; ++i) offset += 2.0 * uniform() - 1.0;
      const double x = centres_[centre * kDims + j] + kSpread * offset;
      char buf[32];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, 3);
      if (j != 0) out += ',';
      out.append(buf, end);
    }
    out += '\n';
  }

 private:
  // Uniform in [0, 1): the top 53 bits of a draw, scaled exactly.
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1p-53; }

  std::mt19937_64 rng_;
  double centres_[kCentres * kDims];
};

// The --kind points generator: rows until about args.bytes (whole rows, the last one may end
// past it), into `out`.
void generate_points(const GeneratorArgs& args, OutputFile& out);

}  // namespace tally::cli
