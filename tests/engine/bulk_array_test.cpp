// detail::BulkArray (engine/detail/bulk_array.hpp): small arrays from the allocator, large ones
// in a mapping of their own on a huge-page boundary; and what a FlatTable built on it charges
// to its budget.
#include "tally/engine/detail/bulk_array.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "tally/engine/detail/flat_table.hpp"
#include "tally/engine/key_hash.hpp"
#include "tally/engine/memory_budget.hpp"

namespace {

using tally::detail::BulkArray;
using tally::detail::HugeMapping;

// Counts live instances, so a test sees every element constructed and destroyed once.
struct Counted {
  static inline int live = 0;
  std::uint64_t value = 7;  // not zero: a constructor ran, not just zeroed memory
  Counted() noexcept { ++live; }
  Counted(Counted&& other) noexcept : value(other.value) { ++live; }
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { --live; }
};
static_assert(sizeof(Counted) == 8);

constexpr std::size_t kSmall = 1000;
constexpr std::size_t kLarge = BulkArray<Counted>::kOwnMappingFrom / sizeof(Counted) + 1;

class BulkArrayTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(BulkArrayTest, ConstructsEveryElementOnceAndDestroysItOnce) {
  const std::size_t n = GetParam();
  Counted::live = 0;
  {
    BulkArray<Counted> a(n);
    ASSERT_EQ(a.size(), n);
    EXPECT_EQ(Counted::live, static_cast<int>(n));
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(a[i].value, 7u) << i;
    // Every element is writable and keeps what was written.
    for (std::size_t i = 0; i < n; ++i) a[i].value = i;
    BulkArray<Counted> moved = std::move(a);
    EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_EQ(moved[n - 1].value, n - 1);
    moved.reset();
    EXPECT_EQ(Counted::live, 0);
    EXPECT_EQ(moved.size(), 0u);
  }
  EXPECT_EQ(Counted::live, 0);
}

// Throws from the constructor of its kThrowAt-th instance.
struct ThrowsPartWay {
  static constexpr int kThrowAt = 500;
  static inline int built = 0;
  static inline int live = 0;
  ThrowsPartWay() {
    if (++built == kThrowAt) throw std::runtime_error("element constructor");
    ++live;
  }
  ~ThrowsPartWay() { --live; }
};

// The process's mapped bytes (VmSize), which a large array's own mapping adds at least a huge
// page to while it lives; LeakSanitizer does not track mappings, so the tests look here. The
// checks allow less than a huge page of growth elsewhere (the allocator's, the exception's).
std::uint64_t mapped_bytes() {
  std::ifstream status("/proc/self/status");
  std::string field;
  while (status >> field) {
    std::uint64_t kib = 0;
    if (field == "VmSize:" && status >> kib) return kib << 10;
  }
  ADD_FAILURE() << "no VmSize in /proc/self/status";
  return 0;
}

TEST(BulkArray, ALargeArrayMapsWholeHugePagesAndUnmapsThemWhenFreed) {
  const std::uint64_t before = mapped_bytes();
  {
    BulkArray<Counted> a(kLarge);
    EXPECT_GE(mapped_bytes(), before + HugeMapping::kHugePage);
  }
  EXPECT_LT(mapped_bytes(), before + HugeMapping::kHugePage);
}

// Assigning over an array destroys its elements and frees its memory at once; the source
// is left empty.
TEST_P(BulkArrayTest, MoveAssignmentFreesWhatWasThere) {
  const std::size_t n = GetParam();
  Counted::live = 0;
  const std::uint64_t before = mapped_bytes();
  BulkArray<Counted> a(n);
  BulkArray<Counted> b(n);
  b[0].value = 42;
  a = std::move(b);
  EXPECT_EQ(Counted::live, static_cast<int>(n));
  EXPECT_EQ(b.size(), 0u);  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(a[0].value, 42u);
  a.reset();
  EXPECT_EQ(Counted::live, 0);
  EXPECT_LT(mapped_bytes(), before + HugeMapping::kHugePage);
}

// A throwing element constructor leaves nothing behind: the elements built are destroyed and
// the memory is freed (for a large array, its mapping).
TEST_P(BulkArrayTest, AThrowingElementLeavesNothingBehind) {
  const std::size_t n = GetParam() * sizeof(Counted) / sizeof(ThrowsPartWay);
  ThrowsPartWay::built = 0;
  ThrowsPartWay::live = 0;
  const std::uint64_t before = mapped_bytes();
  EXPECT_THROW(BulkArray<ThrowsPartWay>{n}, std::runtime_error);
  EXPECT_LT(mapped_bytes(), before + HugeMapping::kHugePage);
  EXPECT_EQ(ThrowsPartWay::built, ThrowsPartWay::kThrowAt);
  EXPECT_EQ(ThrowsPartWay::live, 0);
}

TEST(BulkArray, SmallArraysHoldTheirSizeLargeOnesWholeHugePages) {
  EXPECT_EQ(BulkArray<Counted>::footprint(kSmall), kSmall * sizeof(Counted));
  EXPECT_EQ(BulkArray<Counted>::footprint(kLarge), HugeMapping::kHugePage);
  EXPECT_EQ(BulkArray<Counted>::footprint(HugeMapping::kHugePage / sizeof(Counted) + 1),
            2 * HugeMapping::kHugePage);
}

TEST(BulkArray, ALargeArrayStartsOnAHugePageBoundary) {
  BulkArray<Counted> a(kLarge);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % HugeMapping::kHugePage, 0u);
}

INSTANTIATE_TEST_SUITE_P(SmallAndLarge, BulkArrayTest, ::testing::Values(kSmall, kLarge));

// A table whose slots pass the threshold charges the whole mapping while it lives, and
// nothing once it is gone.
TEST(BulkArray, ATableChargesItsSlotsFootprint) {
  tally::MemoryBudget budget(std::uint64_t{64} << 20);
  using Table = tally::detail::FlatTable<std::uint64_t, std::uint64_t>;
  {
    Table table(0, &budget);
    std::size_t keys = 0;
    // Enough keys for a slot array of at least kOwnMappingFrom bytes.
    while (budget.used() < HugeMapping::kHugePage) {
      ++*table.find_or_insert(keys, tally::hash_key(keys)).first;
      ++keys;
      ASSERT_LT(keys, 1u << 20) << "the table never charged a whole huge page";
    }
    EXPECT_EQ(budget.used() % HugeMapping::kHugePage, 0u);
    std::uint64_t sum = 0;
    table.for_each([&](std::uint64_t, std::uint64_t, std::uint64_t count) { sum += count; });
    EXPECT_EQ(sum, keys);
    EXPECT_EQ(table.size(), keys);
  }
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
