#include "tally/lockfree/mpmc_queue.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <latch>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/support/bounded_wait.hpp"

namespace {

using tally::lockfree::MpmcQueue;
using tally::lockfree::SlotLayout;

// --- Single-threaded behaviour -----------------------------------------------------------

TEST(MpmcQueue, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(MpmcQueue<int>(1).capacity(), 1u);
  EXPECT_EQ(MpmcQueue<int>(2).capacity(), 2u);
  EXPECT_EQ(MpmcQueue<int>(3).capacity(), 4u);
  EXPECT_EQ(MpmcQueue<int>(1000).capacity(), 1024u);
  EXPECT_THROW(MpmcQueue<int>(0), std::invalid_argument);
}

// Oracle: a queue of capacity c accepts exactly c items, refuses the next, and gives them
// back in push order; size_approx tracks the count when quiet.
TEST(MpmcQueue, FifoUpToCapacityThenFull) {
  MpmcQueue<int> q(8);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(q.try_push(int{i}));
  EXPECT_EQ(q.size_approx(), 8u);
  EXPECT_FALSE(q.try_push(99));
  for (int i = 0; i < 8; ++i) {
    int out = -1;
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, i);
  }
  int out = -1;
  EXPECT_FALSE(q.try_pop(out));
  EXPECT_EQ(q.size_approx(), 0u);
}

// Oracle: wrapping around the ring many times keeps FIFO order (sequence numbers advance
// by capacity per lap).
TEST(MpmcQueue, ManyLapsKeepOrder) {
  MpmcQueue<std::uint64_t> q(4);
  std::uint64_t next_out = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(q.try_push(std::uint64_t{i}));
    if (i % 3 == 2) {
      std::uint64_t v = 0;
      while (q.try_pop(v)) EXPECT_EQ(v, next_out++);
    }
  }
}

// Oracle: a failed try_push leaves a move-only argument untouched (still owning its value).
TEST(MpmcQueue, FailedPushDoesNotConsumeMoveOnlyItem) {
  MpmcQueue<std::unique_ptr<int>> q(1);
  ASSERT_TRUE(q.try_push(std::make_unique<int>(1)));
  auto second = std::make_unique<int>(2);
  EXPECT_FALSE(q.try_push(std::move(second)));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(*second, 2);
  q.close();
  EXPECT_FALSE(q.push(std::move(second)));
  ASSERT_NE(second, nullptr);
}

// Counts live instances so tests can check every item is destroyed exactly once.
struct Tracked {
  static inline std::atomic<int> live{0};
  int value = 0;
  explicit Tracked(int v) : value(v) { live.fetch_add(1, std::memory_order_relaxed); }
  Tracked(Tracked&& o) noexcept : value(o.value) { live.fetch_add(1, std::memory_order_relaxed); }
  Tracked& operator=(Tracked&& o) noexcept {
    value = o.value;
    return *this;
  }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { live.fetch_sub(1, std::memory_order_relaxed); }
};

// Oracle: every constructed object (pushed, popped, or left in the queue at destruction) is
// destroyed exactly once: the live count returns to zero, never below.
TEST(MpmcQueue, DestructorsRunExactlyOnce) {
  ASSERT_EQ(Tracked::live.load(), 0);
  {
    MpmcQueue<Tracked> q(16);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.try_push(Tracked(i)));
    EXPECT_EQ(Tracked::live.load(), 10);
    for (int i = 0; i < 4; ++i) {
      Tracked out(-1);
      ASSERT_TRUE(q.try_pop(out));
      EXPECT_EQ(out.value, i);
    }
    EXPECT_EQ(Tracked::live.load(), 6);  // the six still queued
  }
  EXPECT_EQ(Tracked::live.load(), 0);
}

// Oracle: after close(), pushes fail, but every item pushed before is still popped, in
// order, and only then does pop report the end.
TEST(MpmcQueue, CloseKeepsQueuedItems) {
  MpmcQueue<int> q(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.push(int{i}));
  q.close();
  q.close();  // idempotent
  EXPECT_TRUE(q.is_closed());
  EXPECT_FALSE(q.try_push(7));
  EXPECT_FALSE(q.push(7));
  for (int i = 0; i < 5; ++i) {
    int out = -1;
    ASSERT_TRUE(q.pop(out));
    EXPECT_EQ(out, i);
  }
  int out = -1;
  EXPECT_FALSE(q.pop(out));
  EXPECT_FALSE(q.try_pop(out));
}

// --- Blocking and close() with waiters -----------------------------------------------------

// The scheduler state of a thread of this process ('R' running, 'S' sleeping, ...).
char thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // Format: "tid (comm) S ..."; comm may contain spaces, so find the last ')'.
  const auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

// Waits (up to a generous limit) for a thread to be asleep in the kernel.
bool eventually_sleeping(const std::atomic<pid_t>& tid) {
  for (int i = 0; i < 5000; ++i) {
    const pid_t t = tid.load();
    if (t != 0 && thread_state(t) == 'S') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Oracle: a consumer blocked on an empty queue ends up asleep in the kernel (state 'S'), not
// spinning or yielding (which would keep it runnable, 'R'), and a push wakes it with the item.
TEST(MpmcQueue, BlockedConsumerSleepsAndWakesOnPush) {
  MpmcQueue<int> q(4);
  std::atomic<pid_t> tid{0};
  int got = -1;
  std::thread consumer([&] {
    tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    EXPECT_TRUE(q.pop(got));
  });
  EXPECT_TRUE(eventually_sleeping(tid)) << "blocked pop never went to sleep";
  ASSERT_TRUE(q.push(42));
  consumer.join();
  EXPECT_EQ(got, 42);
}

// Oracle: producers blocked on a full queue sleep, and close() wakes all of them with false,
// their items untouched; the one queued item is still delivered, then pop reports the end.
TEST(MpmcQueue, CloseWakesBlockedProducers) {
  MpmcQueue<std::unique_ptr<int>> q(1);
  ASSERT_TRUE(q.push(std::make_unique<int>(0)));
  constexpr int kProducers = 4;
  std::atomic<int> returned_false{0};
  std::atomic<int> items_kept{0};
  std::atomic<pid_t> first_tid{0};
  std::vector<std::thread> producers;
  for (int i = 1; i <= kProducers; ++i) {
    producers.emplace_back([&, i] {
      if (i == 1) first_tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
      auto item = std::make_unique<int>(i);
      if (!q.push(std::move(item))) returned_false.fetch_add(1);
      if (item != nullptr && *item == i) items_kept.fetch_add(1);
    });
  }
  EXPECT_TRUE(eventually_sleeping(first_tid));
  q.close();
  for (auto& t : producers) t.join();
  EXPECT_EQ(returned_false.load(), kProducers);
  EXPECT_EQ(items_kept.load(), kProducers);
  std::unique_ptr<int> out;
  ASSERT_TRUE(q.pop(out));
  EXPECT_EQ(*out, 0);
  EXPECT_FALSE(q.pop(out));
}

// Oracle: consumers blocked on an empty queue all return false from pop after close().
TEST(MpmcQueue, CloseWakesBlockedConsumers) {
  MpmcQueue<int> q(4);
  constexpr int kConsumers = 4;
  std::atomic<int> returned_false{0};
  std::atomic<pid_t> first_tid{0};
  std::vector<std::thread> consumers;
  for (int i = 0; i < kConsumers; ++i) {
    consumers.emplace_back([&, i] {
      if (i == 0) first_tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
      int out = 0;
      if (!q.pop(out)) returned_false.fetch_add(1);
    });
  }
  EXPECT_TRUE(eventually_sleeping(first_tid));
  q.close();
  for (auto& t : consumers) t.join();
  EXPECT_EQ(returned_false.load(), kConsumers);
}

// Oracle: close() racing with a pop on an empty queue and a push on a full one, each on its
// way to sleep (spinning, yielding, announcing itself, or asleep), always wakes both: the pop
// returns false and the push returns false. Each round closes a fresh pair of queues after a
// different number of yields, to land in different steps of going to sleep. A lost wake-up
// leaves a thread asleep and fails the round's bounded wait. (The reordering that would lose
// it happens on weakly ordered CPUs such as AArch64; x86-64 never reorders it.)
TEST(MpmcQueue, CloseRacingWithWaitersNeverLosesTheWakeUp) {
  for (int round = 0; round < 1000; ++round) {
    auto empty = std::make_unique<MpmcQueue<int>>(1);
    auto full = std::make_unique<MpmcQueue<int>>(1);
    ASSERT_TRUE(full->try_push(0));
    std::atomic<int> returned_false{0};
    std::atomic<int> returned{0};
    std::latch start(3);
    std::thread popper([&] {
      start.arrive_and_wait();
      int out = 0;
      if (!empty->pop(out)) returned_false.fetch_add(1);
      returned.fetch_add(1);
    });
    std::thread pusher([&] {
      start.arrive_and_wait();
      if (!full->push(1)) returned_false.fetch_add(1);
      returned.fetch_add(1);
    });
    start.arrive_and_wait();
    for (int i = 0; i < round % 64; ++i) std::this_thread::yield();
    empty->close();
    full->close();
    if (!tally::testing::eventually([&] { return returned.load() == 2; })) {
      ADD_FAILURE() << "close() did not wake a waiter: round " << round;
      // The sleeper still uses its queue: leak both rather than free them under it.
      popper.detach();
      pusher.detach();
      (void)empty.release();
      (void)full.release();
      return;
    }
    popper.join();
    pusher.join();
    ASSERT_EQ(returned_false.load(), 2) << "round " << round;
  }
}

// --- Concurrent stress: exactly-once delivery ---------------------------------------------

enum class Mode { kTry, kBlocking };

// Item encoding: producer id in the high 32 bits, a per-producer sequence number (1..n)
// in the low 32 bits.
constexpr std::uint64_t encode(std::uint64_t producer, std::uint64_t seq) {
  return producer << 32 | seq;
}

struct StressResult {
  std::vector<std::uint64_t> received;  // every item popped, by every consumer
  std::uint64_t order_violations = 0;   // a consumer saw a producer's seq not increase
  std::uint64_t pushes_refused = 0;     // blocking push returned false (must not happen)
};

// Oracle (what must hold):
//  1. the multiset of popped items equals the multiset pushed: each (producer, seq) exactly
//     once, nothing lost, nothing duplicated, nothing invented;
//  2. each consumer sees each producer's sequence numbers strictly increasing (FIFO per
//     producer, as observed by one consumer);
//  3. with the blocking API, producers never see a refused push, and after close() every
//     consumer's pop ends only once the queue is drained.
template <SlotLayout kLayout>
StressResult run_stress(int producers, int consumers, std::size_t capacity, Mode mode,
                        std::uint64_t per_producer) {
  MpmcQueue<std::uint64_t, kLayout> q(capacity);
  StressResult result;
  std::vector<std::vector<std::uint64_t>> received(static_cast<std::size_t>(consumers));
  std::atomic<std::uint64_t> order_violations{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<bool> producers_done{false};
  std::latch start(producers + consumers);

  std::vector<std::thread> consumer_threads;
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&, c] {
      auto& mine = received[static_cast<std::size_t>(c)];
      std::vector<std::uint64_t> last_seq(static_cast<std::size_t>(producers), 0);
      auto record = [&](std::uint64_t v) {
        const auto p = static_cast<std::size_t>(v >> 32);
        const std::uint64_t seq = v & 0xffffffffu;
        if (p >= last_seq.size() || seq <= last_seq[p]) {
          order_violations.fetch_add(1, std::memory_order_relaxed);
        } else {
          last_seq[p] = seq;
        }
        mine.push_back(v);
      };
      start.arrive_and_wait();
      std::uint64_t v = 0;
      if (mode == Mode::kBlocking) {
        while (q.pop(v)) record(v);
      } else {
        for (;;) {
          if (q.try_pop(v)) {
            record(v);
            continue;
          }
          // Producers have all returned: a failed try_pop after seeing that (acquire,
          // pairs with the release store below) means the queue is empty for good.
          if (producers_done.load(std::memory_order_acquire)) {
            if (!q.try_pop(v)) break;
            record(v);
            continue;
          }
          std::this_thread::yield();
        }
      }
    });
  }

  std::vector<std::thread> producer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      start.arrive_and_wait();
      for (std::uint64_t seq = 1; seq <= per_producer; ++seq) {
        std::uint64_t item = encode(static_cast<std::uint64_t>(p), seq);
        if (mode == Mode::kBlocking) {
          if (!q.push(std::move(item))) refused.fetch_add(1, std::memory_order_relaxed);
        } else {
          while (!q.try_push(std::move(item))) std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : producer_threads) t.join();
  producers_done.store(true, std::memory_order_release);
  if (mode == Mode::kBlocking) q.close();
  for (auto& t : consumer_threads) t.join();

  for (auto& r : received) result.received.insert(result.received.end(), r.begin(), r.end());
  result.order_violations = order_violations.load();
  result.pushes_refused = refused.load();
  return result;
}

template <SlotLayout kLayout>
void check_exactly_once(int producers, int consumers, std::size_t capacity, Mode mode) {
  // ~16k items per configuration: enough interleavings to matter, quick under tsan.
  const std::uint64_t per_producer = 16384 / static_cast<std::uint64_t>(producers);
  StressResult r = run_stress<kLayout>(producers, consumers, capacity, mode, per_producer);

  std::vector<std::uint64_t> expected;
  for (int p = 0; p < producers; ++p) {
    for (std::uint64_t s = 1; s <= per_producer; ++s) {
      expected.push_back(encode(static_cast<std::uint64_t>(p), s));
    }
  }
  std::sort(r.received.begin(), r.received.end());
  EXPECT_EQ(r.received.size(), expected.size());
  EXPECT_TRUE(r.received == expected) << "popped items differ from pushed items";
  EXPECT_EQ(r.order_violations, 0u);
  EXPECT_EQ(r.pushes_refused, 0u);
}

using StressParam = std::tuple<int, int, std::size_t, Mode>;  // producers, consumers, capacity

class MpmcQueueStress : public ::testing::TestWithParam<StressParam> {};

TEST_P(MpmcQueueStress, ExactlyOnceAndPerProducerFifo) {
  const auto [producers, consumers, capacity, mode] = GetParam();
  check_exactly_once<SlotLayout::kPacked>(producers, consumers, capacity, mode);  // the default
}

std::string stress_name(const ::testing::TestParamInfo<StressParam>& info) {
  const auto [p, c, cap, mode] = info.param;
  std::ostringstream name;
  name << p << "P" << c << "C_cap" << cap << (mode == Mode::kTry ? "_try" : "_blocking");
  return name.str();
}

// Up to 8 producers and 8 consumers: 8x oversubscribed on a 2-core machine, the case that
// exposes spinning and lost wake-ups.
INSTANTIATE_TEST_SUITE_P(Sweep, MpmcQueueStress,
                         ::testing::Combine(::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(std::size_t{1}, std::size_t{2},
                                                              std::size_t{64}, std::size_t{4096}),
                                            ::testing::Values(Mode::kTry, Mode::kBlocking)),
                         stress_name);

// The other slot layouts share all code but the slot mapping; a smaller sweep covers them.
// (kRemapped remaps only from 64 slots up on x86-64: the sweep covers both sides.)
class MpmcQueueLayoutStress : public ::testing::TestWithParam<StressParam> {};

TEST_P(MpmcQueueLayoutStress, PaddedExactlyOnce) {
  const auto [producers, consumers, capacity, mode] = GetParam();
  check_exactly_once<SlotLayout::kPadded>(producers, consumers, capacity, mode);
}

TEST_P(MpmcQueueLayoutStress, RemappedExactlyOnce) {
  const auto [producers, consumers, capacity, mode] = GetParam();
  check_exactly_once<SlotLayout::kRemapped>(producers, consumers, capacity, mode);
}

INSTANTIATE_TEST_SUITE_P(Sweep, MpmcQueueLayoutStress,
                         ::testing::Combine(::testing::Values(2, 4), ::testing::Values(2, 4),
                                            ::testing::Values(std::size_t{2}, std::size_t{64},
                                                              std::size_t{4096}),
                                            ::testing::Values(Mode::kTry, Mode::kBlocking)),
                         stress_name);

// Oracle: move-only payloads cross threads intact: every unique_ptr arrives exactly once
// with the value it was created with, and none is destroyed in transit (the live count of
// a tracked payload returns to zero after the consumers drop theirs).
TEST(MpmcQueue, MoveOnlyPayloadAcrossThreads) {
  constexpr int kProducers = 3;
  constexpr int kPerProducer = 3000;
  MpmcQueue<std::unique_ptr<Tracked>> q(16);
  std::vector<int> seen(kProducers * kPerProducer, 0);
  std::atomic<int> duplicates{0};
  {
    std::vector<std::thread> consumers;
    for (int c = 0; c < 2; ++c) {
      consumers.emplace_back([&] {
        std::unique_ptr<Tracked> item;
        while (q.pop(item)) {
          // Each value is delivered to one consumer only, so these plain writes never race.
          if (seen[static_cast<std::size_t>(item->value)]++ != 0) duplicates.fetch_add(1);
          item.reset();
        }
      });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          EXPECT_TRUE(q.push(std::make_unique<Tracked>(p * kPerProducer + i)));
        }
      });
    }
    for (auto& t : producers) t.join();
    q.close();
    for (auto& t : consumers) t.join();
  }
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kProducers * kPerProducer);
  EXPECT_EQ(Tracked::live.load(), 0);
}

}  // namespace
