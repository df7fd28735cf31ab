#include "tally/lockfree/instrument.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

#include "tally/lockfree/mpmc_queue.hpp"
#include "tally/lockfree/ws_deque.hpp"

namespace {

using tally::lockfree::contention_counters;
using tally::lockfree::ContentionCounters;
using tally::lockfree::kInstrumented;
using tally::lockfree::MpmcQueue;
using tally::lockfree::WorkStealingDeque;

std::uint64_t Total(const ContentionCounters& c) {
  return c.push_cas_failures + c.push_stale_positions + c.pop_cas_failures + c.pop_stale_positions +
         c.steal_cas_failures;
}

// Oracle: subtraction and accumulation work field by field.
TEST(ContentionCounters, DifferenceAndSum) {
  const ContentionCounters a{5, 4, 3, 2, 1};
  const ContentionCounters b{1, 1, 1, 1, 1};
  const ContentionCounters d = a - b;
  EXPECT_EQ(d.push_cas_failures, 4u);
  EXPECT_EQ(d.push_stale_positions, 3u);
  EXPECT_EQ(d.pop_cas_failures, 2u);
  EXPECT_EQ(d.pop_stale_positions, 1u);
  EXPECT_EQ(d.steal_cas_failures, 0u);
  ContentionCounters sum = d;
  sum += b;
  EXPECT_EQ(Total(sum), Total(a));
}

// Oracle: a thread alone never loses a race, so full queues, empty queues, wrapping around,
// and steals from its own deque leave every counter of the thread unchanged.
TEST(ContentionCounters, SingleThreadCountsNothing) {
  const ContentionCounters before = contention_counters();
  MpmcQueue<std::uint64_t> q(4);
  for (std::uint64_t round = 0; round < 1000; ++round) {
    while (q.try_push(std::uint64_t{round})) {
    }
    std::uint64_t v = 0;
    while (q.try_pop(v)) {
    }
  }
  WorkStealingDeque<std::uint64_t> d(4);
  for (std::uint64_t i = 0; i < 1000; ++i) d.push(i);
  for (std::uint64_t i = 0; i < 500; ++i) ASSERT_TRUE(d.steal().has_value());
  while (d.pop()) {
  }
  EXPECT_FALSE(d.steal().has_value());
  EXPECT_EQ(Total(contention_counters() - before), 0u);
}

// Oracle: the counters are the calling thread's own: what another thread counts does not
// appear in this thread's counters.
TEST(ContentionCounters, AreThreadLocal) {
  const ContentionCounters before = contention_counters();
  std::thread other([] {
    // A thread's counters start at zero; bump one directly, as a lost race would.
    EXPECT_EQ(Total(contention_counters()), 0u);
    contention_counters().push_cas_failures += 7;
    EXPECT_EQ(contention_counters().push_cas_failures, 7u);
  });
  other.join();
  EXPECT_EQ(Total(contention_counters() - before), 0u);
}

// Oracle: with many producers and consumers on a one-slot queue, threads must lose CASes or
// find their position taken, so the counters of a round's threads add up to more than zero.
// Consistency: producers only ever count push-side retries and consumers only pop-side ones
// (each role touches one end of the ring); nobody counts steal failures; and every message
// still arrives exactly once (the counting does not disturb the queue). Rounds repeat, up to a
// limit, until some contention was seen: on a 2-core machine it is likely, not certain, in
// any one round.
TEST(ContentionCounters, ContendedQueueCountsRetriesOnTheRightSide) {
  if (!kInstrumented) GTEST_SKIP() << "built with TALLY_INSTRUMENT=OFF";
  constexpr int kProducers = 4;
  constexpr int kConsumers = 4;
  constexpr std::uint64_t kPerProducer = 5000;
  constexpr std::uint64_t kItems = kProducers * kPerProducer;
  constexpr int kMaxRounds = 50;

  ContentionCounters producers_total;
  ContentionCounters consumers_total;
  for (int round = 0; round < kMaxRounds && Total(producers_total) + Total(consumers_total) == 0;
       ++round) {
    MpmcQueue<std::uint64_t> q(1);
    std::vector<ContentionCounters> seen(kProducers + kConsumers);
    std::vector<std::uint64_t> sums(kConsumers, 0);
    std::atomic<std::uint64_t> popped{0};
    std::latch start(kProducers + kConsumers);
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p) {
      threads.emplace_back([&, p] {
        start.arrive_and_wait();
        const ContentionCounters before = contention_counters();
        for (std::uint64_t i = 0; i < kPerProducer; ++i) {
          const std::uint64_t v = static_cast<std::uint64_t>(p) * kPerProducer + i + 1;
          while (!q.try_push(std::uint64_t{v})) std::this_thread::yield();
        }
        seen[static_cast<std::size_t>(p)] = contention_counters() - before;
      });
    }
    for (int c = 0; c < kConsumers; ++c) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        const ContentionCounters before = contention_counters();
        // Relaxed: only a count of claimed messages, to know when to stop; the values come
        // through the queue's own ordering.
        while (popped.load(std::memory_order_relaxed) < kItems) {
          std::uint64_t v = 0;
          if (q.try_pop(v)) {
            sums[static_cast<std::size_t>(c)] += v;
            popped.fetch_add(1, std::memory_order_relaxed);
          } else {
            std::this_thread::yield();
          }
        }
        seen[static_cast<std::size_t>(kProducers + c)] = contention_counters() - before;
      });
    }
    for (auto& t : threads) t.join();

    std::uint64_t sum = 0;
    for (const std::uint64_t s : sums) sum += s;
    ASSERT_EQ(popped.load(), kItems);
    ASSERT_EQ(sum, kItems * (kItems + 1) / 2) << "messages lost or duplicated";
    for (int i = 0; i < kProducers + kConsumers; ++i) {
      const ContentionCounters& c = seen[static_cast<std::size_t>(i)];
      EXPECT_EQ(c.steal_cas_failures, 0u);
      if (i < kProducers) {
        EXPECT_EQ(c.pop_cas_failures + c.pop_stale_positions, 0u) << "producer " << i;
        producers_total += c;
      } else {
        EXPECT_EQ(c.push_cas_failures + c.push_stale_positions, 0u) << "consumer " << i;
        consumers_total += c;
      }
    }
  }
  EXPECT_GT(Total(producers_total) + Total(consumers_total), 0u)
      << "no lost race in " << kMaxRounds << " rounds of " << kProducers << " producers and "
      << kConsumers << " consumers on a one-slot queue";
}

// Oracle: thieves racing for the items of one deque lose CASes on top_; only thieves count
// them (the owner only pushes here), and every item is still taken exactly once.
TEST(ContentionCounters, ContendedDequeCountsStealFailures) {
  if (!kInstrumented) GTEST_SKIP() << "built with TALLY_INSTRUMENT=OFF";
  constexpr int kThieves = 4;
  constexpr std::uint64_t kItems = 20000;
  constexpr int kMaxRounds = 50;

  std::uint64_t failures = 0;
  for (int round = 0; round < kMaxRounds && failures == 0; ++round) {
    WorkStealingDeque<std::uint64_t> d(64);
    std::vector<ContentionCounters> seen(kThieves);
    std::vector<std::uint64_t> sums(kThieves, 0);
    std::atomic<bool> owner_done{false};
    std::latch start(kThieves + 1);
    std::vector<std::thread> thieves;
    for (int t = 0; t < kThieves; ++t) {
      thieves.emplace_back([&, t] {
        start.arrive_and_wait();
        const ContentionCounters before = contention_counters();
        // Acquire pairs with the owner's release store: after it, empty means empty for good.
        while (!owner_done.load(std::memory_order_acquire) || !d.empty_approx()) {
          if (const std::optional<std::uint64_t> v = d.steal()) {
            sums[static_cast<std::size_t>(t)] += *v;
          }
        }
        seen[static_cast<std::size_t>(t)] = contention_counters() - before;
      });
    }
    const ContentionCounters owner_before = contention_counters();
    start.arrive_and_wait();
    for (std::uint64_t i = 1; i <= kItems; ++i) d.push(i);
    owner_done.store(true, std::memory_order_release);
    for (auto& t : thieves) t.join();
    EXPECT_EQ(Total(contention_counters() - owner_before), 0u) << "the owner only pushed";

    std::uint64_t sum = 0;
    for (int t = 0; t < kThieves; ++t) {
      sum += sums[static_cast<std::size_t>(t)];
      const ContentionCounters& c = seen[static_cast<std::size_t>(t)];
      EXPECT_EQ(Total(c), c.steal_cas_failures) << "thief " << t << " counted queue retries";
      failures += c.steal_cas_failures;
    }
    ASSERT_EQ(sum, kItems * (kItems + 1) / 2) << "items lost or duplicated";
  }
  EXPECT_GT(failures, 0u) << "no thief lost a race in " << kMaxRounds << " rounds";
}

// Oracle: a slow path's count reaches the calling thread's counters exactly when the build is
// instrumented (TALLY_INSTRUMENT), and is a no-op otherwise.
TEST(ContentionCounters, CountFollowsTheBuildSwitch) {
  const ContentionCounters before = contention_counters();
  tally::lockfree::detail::count_contention(&ContentionCounters::pop_cas_failures);
  const ContentionCounters d = contention_counters() - before;
  EXPECT_EQ(d.pop_cas_failures, kInstrumented ? 1u : 0u);
  EXPECT_EQ(Total(d), d.pop_cas_failures);
}

}  // namespace
