#include "tools/tally/allocator.hpp"

#include <cstdlib>
#include <string>

#if TALLY_USE_MIMALLOC
#include <mimalloc.h>
#endif

namespace tally::cli {

std::string describe_allocator() {
#if TALLY_USE_MIMALLOC
  const int v = mi_version();  // e.g. 209 for 2.0.9
  std::string name = "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) +
                     "." + std::to_string(v % 10);
  // The override is only real if plain malloc hands out mimalloc's memory; a link order
  // mistake would leave the system allocator in charge, silently.
  void* probe = std::malloc(64);
  const bool active = mi_is_in_heap_region(probe);
  std::free(probe);
  return name + (active ? " (malloc override active)" : " (linked, but malloc is NOT overridden)");
#else
  return "system malloc";
#endif
}

}  // namespace tally::cli
