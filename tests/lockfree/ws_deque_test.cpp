#include "tally/lockfree/ws_deque.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <latch>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using tally::lockfree::DequeLayout;
using tally::lockfree::WorkStealingDeque;

// Oracle: the owner pops newest first (LIFO); a thief steals oldest first (FIFO).
TEST(WorkStealingDeque, OwnerLifoThiefFifo) {
  WorkStealingDeque<int> d(8);
  for (int i = 0; i < 5; ++i) d.push(i);
  EXPECT_EQ(d.size_approx(), 5u);
  EXPECT_EQ(d.steal(), std::optional<int>(0));
  EXPECT_EQ(d.steal(), std::optional<int>(1));
  EXPECT_EQ(d.pop(), std::optional<int>(4));
  EXPECT_EQ(d.pop(), std::optional<int>(3));
  EXPECT_EQ(d.pop(), std::optional<int>(2));
  EXPECT_EQ(d.pop(), std::nullopt);
  EXPECT_EQ(d.steal(), std::nullopt);
  EXPECT_TRUE(d.empty_approx());
}

// Oracle: pushing past the initial capacity grows the buffer and loses nothing; the items
// come back in exact reverse order.
TEST(WorkStealingDeque, GrowsAndKeepsEveryItem) {
  WorkStealingDeque<std::uint32_t> d(2);
  for (std::uint32_t i = 0; i < 1000; ++i) d.push(i);
  EXPECT_GE(d.capacity(), 1000u);
  for (std::uint32_t i = 1000; i-- > 0;) ASSERT_EQ(d.pop(), std::optional<std::uint32_t>(i));
  EXPECT_EQ(d.pop(), std::nullopt);
}

// Oracle: with the owner alternating push and pop at an index that keeps wrapping, the deque
// never returns an item twice or returns one that was not pushed.
TEST(WorkStealingDeque, WrapsAroundWithoutGrowing) {
  WorkStealingDeque<int> d(4);
  for (int round = 0; round < 100; ++round) {
    d.push(round * 2);
    d.push(round * 2 + 1);
    ASSERT_EQ(d.pop(), std::optional<int>(round * 2 + 1));
    ASSERT_EQ(d.steal(), std::optional<int>(round * 2));
  }
  EXPECT_EQ(d.capacity(), 4u);
}

// thieves, initial capacity, layout (the default, and the benchmark-only shared line)
using DequeParam = std::tuple<int, std::size_t, DequeLayout>;

class WorkStealingDequeStress : public ::testing::TestWithParam<DequeParam> {};

// Oracle: the owner pushes 0..n-1, popping some of them itself along the way, while thieves
// steal concurrently. Every item is taken exactly once in total (owner + thieves), nothing is
// lost or duplicated, including while the buffer grows under the thieves (small initial
// capacity), and each thief sees the items it steals in increasing order (FIFO at the top).
// Both layouts run the same code, so both must pass.
template <DequeLayout kLayout>
void StressEveryItemExactlyOnce(int thieves, std::size_t initial_capacity) {
  constexpr std::uint64_t kItems = 50000;
  WorkStealingDeque<std::uint64_t, kLayout> d(initial_capacity);
  std::vector<std::vector<std::uint64_t>> stolen(static_cast<std::size_t>(thieves));
  std::vector<std::uint64_t> popped;
  std::atomic<bool> owner_done{false};
  std::atomic<int> out_of_order{0};
  std::latch start(thieves + 1);

  std::vector<std::thread> thief_threads;
  for (int t = 0; t < thieves; ++t) {
    thief_threads.emplace_back([&, t] {
      auto& mine = stolen[static_cast<std::size_t>(t)];
      start.arrive_and_wait();
      // Acquire pairs with the owner's release store of owner_done: after seeing it, a
      // failed steal means the deque is empty for good.
      while (!owner_done.load(std::memory_order_acquire) || !d.empty_approx()) {
        if (auto v = d.steal()) {
          if (!mine.empty() && *v <= mine.back()) out_of_order.fetch_add(1);
          mine.push_back(*v);
        }
      }
    });
  }

  start.arrive_and_wait();
  for (std::uint64_t i = 0; i < kItems; ++i) {
    d.push(i);
    // Pop now and then, so owner pops race thieves for the last items.
    if (i % 7 == 0) {
      if (auto v = d.pop()) popped.push_back(*v);
    }
  }
  while (auto v = d.pop()) popped.push_back(*v);
  owner_done.store(true, std::memory_order_release);
  for (auto& t : thief_threads) t.join();

  std::vector<std::uint64_t> all = popped;
  for (const auto& s : stolen) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  std::vector<std::uint64_t> expected(kItems);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all.size(), expected.size());
  EXPECT_TRUE(all == expected) << "items lost or duplicated";
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST_P(WorkStealingDequeStress, EveryItemExactlyOnce) {
  const auto [thieves, initial_capacity, layout] = GetParam();
  if (layout == DequeLayout::kSeparateLines) {
    StressEveryItemExactlyOnce<DequeLayout::kSeparateLines>(thieves, initial_capacity);
  } else {
    StressEveryItemExactlyOnce<DequeLayout::kSharedLine>(thieves, initial_capacity);
  }
}

std::string deque_name(const ::testing::TestParamInfo<DequeParam>& param_info) {
  std::ostringstream name;
  name << std::get<0>(param_info.param) << "thieves_cap" << std::get<1>(param_info.param)
       << (std::get<2>(param_info.param) == DequeLayout::kSeparateLines ? "" : "_shared_line");
  return name.str();
}

INSTANTIATE_TEST_SUITE_P(Sweep, WorkStealingDequeStress,
                         ::testing::Combine(::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(std::size_t{2}, std::size_t{1024}),
                                            ::testing::Values(DequeLayout::kSeparateLines,
                                                              DequeLayout::kSharedLine)),
                         deque_name);

}  // namespace
