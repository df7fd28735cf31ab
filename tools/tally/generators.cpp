#include "tools/tally/generators.hpp"

#include <vector>

#include "tools/tally/generate_bmp.hpp"
#include "tools/tally/generate_pairs.hpp"
#include "tools/tally/generate_points.hpp"

namespace tally::cli {

std::span<const Generator> generators() {
  // One entry per job input; each generator lives in a file of its own (generate_*.cpp).
  static const std::vector<Generator> kGenerators = {
      {"pairs", "int8 (x, y) byte pairs for linreg --binary", &generate_pairs},
      {"pairs-csv", "x,y lines of decimals for linreg", &generate_pairs_csv},
      {"bmp", "a 24-bit BMP image for histogram", generate_bmp},
      {"points", "CSV rows of 3-D points around 100 centres, for kmeans", generate_points},
  };
  return kGenerators;
}

}  // namespace tally::cli
