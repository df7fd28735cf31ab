#include "tests/support/failing_allocations.hpp"

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>

namespace tally::testing {
namespace {

// The calling thread's threshold: allocations of at least this many bytes fail. Constant-
// initialized, so reading it needs no guard, even from allocations made before main.
thread_local std::size_t fail_from_bytes = std::numeric_limits<std::size_t>::max();

// Armed (>= 0): the allocations still allowed before one fails; -1: off. Any thread counts
// down; relaxed is enough: only the count matters, not what it orders.
std::atomic<std::int64_t> allocations_until_failure{-1};

// Whether this allocation is the one that fails.
bool fails_now(std::size_t n) {
  if (n >= fail_from_bytes) return true;
  return allocations_until_failure.load(std::memory_order_relaxed) >= 0 &&
         allocations_until_failure.fetch_sub(1, std::memory_order_relaxed) == 0;
}

}  // namespace

FailLargeAllocations::FailLargeAllocations(std::size_t min_bytes) : previous_(fail_from_bytes) {
  fail_from_bytes = min_bytes;
}

FailLargeAllocations::~FailLargeAllocations() { fail_from_bytes = previous_; }

FailAllocationAfter::FailAllocationAfter(std::int64_t allowed) {
  allocations_until_failure.store(allowed, std::memory_order_relaxed);
}

FailAllocationAfter::~FailAllocationAfter() {
  allocations_until_failure.store(-1, std::memory_order_relaxed);
}

std::int64_t FailAllocationAfter::remaining() const {
  return allocations_until_failure.load(std::memory_order_relaxed);
}

}  // namespace tally::testing

// Every plain form is replaced, deletes included, so that each allocation is paired with a
// deallocation of the same family (AddressSanitizer checks that). The aligned forms keep the
// library's own pair.
void* operator new(std::size_t n) {
  if (tally::testing::fails_now(n)) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
  try {
    return ::operator new(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return ::operator new(n, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*n*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*n*/) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept { std::free(p); }
