#include "tally/engine/key_hash.hpp"

// Header-only use of xxHash: every function becomes static inline in this file, so the
// library needs no libxxhash at link time, and neither do programs that embed it.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tally {

std::uint64_t detail::hash_long_key(std::string_view key) noexcept {
  return XXH3_64bits(key.data(), key.size());
}

}  // namespace tally
