// The input generators of `tally generate-corpus --kind K` other than `text`: one per job
// input (an image for histogram, number pairs for linreg, ...). Each writes about
// args.bytes of deterministic data (the same seed gives the same bytes on every machine)
// into `out`; a write failure is kept in out.status(), and the generator stops at it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "tools/tally/output.hpp"

namespace tally::cli {

struct GeneratorArgs {
  std::uint64_t bytes = 0;
  std::uint64_t seed = 1;
};

struct Generator {
  std::string kind;         // the --kind value
  std::string description;  // for --help
  void (*generate)(const GeneratorArgs& args, OutputFile& out);
};

// Every generator, in the order --help lists them.
std::span<const Generator> generators();

}  // namespace tally::cli
