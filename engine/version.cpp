#include "tally/engine/version.hpp"

namespace tally {

// Compiled into the library, so it reports the library's version even when the caller was
// built against headers of another version.
std::string_view version() noexcept { return kVersion; }

}  // namespace tally
