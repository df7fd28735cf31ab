// FailLargeAllocations: makes the global operator new throw std::bad_alloc on the calling
// thread, for allocations of at least `min_bytes`, while an instance lives. For tests of
// what code does when an allocation in the middle of an operation fails.
//
// Link tests/support/failing_allocations.cpp into the test binary: it replaces the global
// operator new and delete (with malloc and free underneath), so use it in a binary of its
// own. Other threads, and allocations below the threshold, are never affected.
#pragma once

#include <cstddef>

namespace tally::testing {

class FailLargeAllocations {
 public:
  explicit FailLargeAllocations(std::size_t min_bytes);
  ~FailLargeAllocations();
  FailLargeAllocations(const FailLargeAllocations&) = delete;
  FailLargeAllocations& operator=(const FailLargeAllocations&) = delete;

 private:
  std::size_t previous_;
};

}  // namespace tally::testing
