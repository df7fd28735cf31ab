// Readable Strategy test parameters in GoogleTest's output ("local" rather than "4-byte object
// <00 ...>"): GoogleTest finds PrintTo in the parameter's namespace.
#pragma once

#include <ostream>

#include "tally/engine/run_options.hpp"

namespace tally {
inline void PrintTo(Strategy s, std::ostream* os) { *os << to_string(s); }
}  // namespace tally
