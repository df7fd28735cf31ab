// The inputs of `tally linreg`, for `tally generate-corpus --kind pairs|pairs-csv`: points
// near the line y = 0.75 x + 5, with noise, deterministic from the seed (std::mt19937_64 and
// integer arithmetic only, so every machine writes the same bytes).
//  - pairs: (int8 x, int8 y) byte pairs, Phoenix++'s linear_regression input: x uniform in
//    [-100, 100], y = 3x/4 (integer division) + 5 + noise, the noise a sum of four uniform
//    integers in [-4, 4], clamped to [-128, 127]. args.bytes rounded down to an even size.
//  - pairs-csv: "x,y" lines of decimals with three fraction digits: x uniform in
//    [-1000, 1000], y = 0.75 x + 5 + noise (a sum of four uniforms in [-2, 2]), both rounded
//    to thousandths. Whole lines only: at most args.bytes.
#pragma once

#include "tools/tally/generators.hpp"
#include "tools/tally/output.hpp"

namespace tally::cli {

void generate_pairs(const GeneratorArgs& args, OutputFile& out);
void generate_pairs_csv(const GeneratorArgs& args, OutputFile& out);

}  // namespace tally::cli
