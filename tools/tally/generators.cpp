#include "tools/tally/generators.hpp"

#include <vector>

namespace tally::cli {

std::span<const Generator> generators() {
  // One entry per job input; each generator lives in a file of its own (generate_*.cpp).
  static const std::vector<Generator> kGenerators = {};
  return kGenerators;
}

}  // namespace tally::cli
