// Allocation failures on demand, for tests of what code does when an allocation in the
// middle of an operation fails:
//  - FailLargeAllocations: the calling thread's allocations of at least `min_bytes` throw
//    std::bad_alloc while an instance lives; other threads are never affected.
//  - FailAllocationAfter: counts the allocations of every thread while an instance lives;
//    the one after the first `allowed` throws std::bad_alloc, once.
//
// Link tests/support/failing_allocations.cpp into the test binary: it replaces the global
// operator new and delete (with malloc and free underneath), so use it in a binary of its
// own.
#pragma once

#include <cstddef>
#include <cstdint>

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

class FailAllocationAfter {
 public:
  explicit FailAllocationAfter(std::int64_t allowed);
  ~FailAllocationAfter();
  FailAllocationAfter(const FailAllocationAfter&) = delete;
  FailAllocationAfter& operator=(const FailAllocationAfter&) = delete;

  // How many of the allowed allocations are left (negative once one has failed): `allowed`
  // minus remaining() is how many were made.
  std::int64_t remaining() const;
};

}  // namespace tally::testing
