// Which allocator serves malloc/new in this process, for `tally --version` and the tests.
#pragma once

#include <string>

namespace tally::cli {

// E.g. "mimalloc 2.0.9 (malloc override active)" or "system malloc".
std::string describe_allocator();

}  // namespace tally::cli
