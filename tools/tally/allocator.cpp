#include "tools/tally/allocator.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>
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

#if TALLY_USE_MIMALLOC
// mimalloc's own operator new aborts when memory runs out: it is C, so it neither throws
// std::bad_alloc nor, in Debian's build, finds the program's new_handler. These replacements
// allocate through malloc (mimalloc's, by the override) and follow the standard's contract:
// call the new_handler (main.cpp installs one that reports and exits 4) and try again, or
// throw std::bad_alloc without one. Deletion stays mimalloc's: everything is malloc memory.
namespace {

void* allocate(std::size_t n, std::size_t alignment) {
  if (n == 0) n = 1;
  for (;;) {
    void* p = alignment <= alignof(std::max_align_t)
                  ? std::malloc(n)
                  : std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
    if (p != nullptr) return p;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

// NOLINTBEGIN(cert-dcl54-cpp,misc-new-delete-overloads): the matching deletes are mimalloc's
void* operator new(std::size_t n) { return allocate(n, 0); }
void* operator new[](std::size_t n) { return allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
// NOLINTEND(cert-dcl54-cpp,misc-new-delete-overloads)
#endif
