#include "tally/engine/weighted_semaphore.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <thread>
#include <vector>

namespace {

using tally::WeightedSemaphore;

void wait_until_waiting(const WeightedSemaphore& sem, std::size_t n) {
  while (sem.waiting() < n) std::this_thread::yield();
}

// Oracle: units are accounted exactly; a request above capacity fails at once.
TEST(WeightedSemaphore, AccountsUnits) {
  WeightedSemaphore sem(10);
  EXPECT_TRUE(sem.try_acquire(4));
  EXPECT_TRUE(sem.acquire(6, std::stop_token{}));
  EXPECT_EQ(sem.available(), 0);
  EXPECT_FALSE(sem.try_acquire(1));
  sem.release(10);
  EXPECT_EQ(sem.available(), 10);
  EXPECT_FALSE(sem.acquire(11, std::stop_token{}));
  EXPECT_FALSE(sem.try_acquire(11));
}

// Oracle (FIFO fairness): a large request waiting at the head is not overtaken by a later
// small one even when units for the small one are free; once the large one is granted and
// released, the small one gets its turn.
TEST(WeightedSemaphore, LargeRequestIsNotStarvedBySmallOnes) {
  WeightedSemaphore sem(10);
  ASSERT_TRUE(sem.try_acquire(5));  // 5 free: enough for small requests, not for 10
  std::atomic<int> order{0};
  std::atomic<int> large_rank{0};
  std::atomic<int> small_rank{0};
  std::thread large([&] {
    ASSERT_TRUE(sem.acquire(10, std::stop_token{}));
    large_rank.store(++order);
    sem.release(10);
  });
  wait_until_waiting(sem, 1);
  std::thread small([&] {
    ASSERT_TRUE(sem.acquire(1, std::stop_token{}));
    small_rank.store(++order);
    sem.release(1);
  });
  wait_until_waiting(sem, 2);
  EXPECT_FALSE(sem.try_acquire(1)) << "try_acquire jumped the line";
  sem.release(5);  // now the large request fits
  large.join();
  small.join();
  EXPECT_EQ(large_rank.load(), 1);
  EXPECT_EQ(small_rank.load(), 2);
  EXPECT_EQ(sem.available(), 10);
}

// Oracle: a waiter whose stop is requested returns false holding nothing, and if it was at
// the head, the requests behind it that fit are granted.
TEST(WeightedSemaphore, StoppedHeadWaiterLetsOthersThrough) {
  WeightedSemaphore sem(10);
  ASSERT_TRUE(sem.try_acquire(8));
  std::stop_source stop;
  std::atomic<bool> head_result{true};
  std::thread head([&] { head_result.store(sem.acquire(5, stop.get_token())); });
  wait_until_waiting(sem, 1);
  std::atomic<bool> behind_result{false};
  std::thread behind([&] { behind_result.store(sem.acquire(2, std::stop_token{})); });
  wait_until_waiting(sem, 2);
  stop.request_stop();
  head.join();
  behind.join();
  EXPECT_FALSE(head_result.load());
  EXPECT_TRUE(behind_result.load());
  EXPECT_EQ(sem.available(), 0);  // 8 held + 2 granted
}

// Oracle: under contention, units held at once never exceed capacity and all return.
TEST(WeightedSemaphore, NeverOvercommitsUnderContention) {
  WeightedSemaphore sem(7);
  std::atomic<long> held{0};
  std::atomic<long> max_held{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const long n = 1 + t % 4;
      for (int i = 0; i < 300; ++i) {
        ASSERT_TRUE(sem.acquire(n, std::stop_token{}));
        const long now = held.fetch_add(n) + n;
        long seen = max_held.load();
        while (now > seen && !max_held.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(n);
        sem.release(n);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(max_held.load(), 7);
  EXPECT_EQ(sem.available(), 7);
}

}  // namespace
