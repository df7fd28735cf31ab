#include "tally/lockfree/cache_line.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace {

using tally::lockfree::CachePadded;
using tally::lockfree::kCacheLine;

// Oracle: consecutive CachePadded elements, on the stack or in a heap vector (C++17 aligned
// new), start on distinct kCacheLine-aligned boundaries and are kCacheLine bytes apart.
TEST(CachePadded, ArrayElementsOccupyDistinctLines) {
  std::vector<CachePadded<std::atomic<std::uint64_t>>> counters(4);
  for (std::size_t i = 0; i < counters.size(); ++i) {
    const auto addr = reinterpret_cast<std::uintptr_t>(&*counters[i]);
    EXPECT_EQ(addr % kCacheLine, 0u) << "element " << i;
    if (i > 0) {
      const auto prev = reinterpret_cast<std::uintptr_t>(&*counters[i - 1]);
      EXPECT_EQ(addr - prev, kCacheLine);
    }
  }
}

// Oracle: in-place construction forwards arguments and accessors reach the same object.
TEST(CachePadded, ForwardsConstructionAndAccess) {
  CachePadded<std::vector<int>> v(std::in_place, 3u, 7);
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[2], 7);
  EXPECT_EQ(&v.value, &*v);
}

}  // namespace
