// Throughput and round-trip latency of tally::lockfree::MpmcQueue next to the queues a user
// would otherwise reach for: oneTBB's concurrent_bounded_queue, boost::lockfree::queue,
// moodycamel's ConcurrentQueue and BlockingConcurrentQueue (each without and with producer and
// consumer tokens), and a std::mutex + std::deque + condition-variable queue as the floor.
// Everything is in one binary so that the ratios between queues come from one run on one
// machine state.
//
// Names are BM_<Queue>_<Mode>/<Scenario>:
//  - Mode Try: try_push/try_pop retried in a loop that spins briefly (cpu_relax) and then
//    yields the core (RetryWait below), the same loop for every queue. Never sleeps: with more
//    threads than cores it relies on the scheduler to run the peer it waits for.
//    Mode Blocking: the queue's own waiting push/pop (spin, then sleep).
//  - Scenario <P>P<C>C: P producers push kMessagesPerRun messages in total and C consumers pop
//    them all. The time is wall-clock from the first thread leaving the start latch to the last
//    thread finishing (manual time, so creating and joining the threads is not counted);
//    items_per_second is messages per second. 4P4C runs 8 threads: on a 2-core machine that is
//    oversubscribed on purpose, to show whether a waiting policy collapses when the thread it
//    waits for is not running.
//  - Scenario PingPong: one message bounces between two threads through two queues. Time is ns
//    per round trip: two pushes, two pops and two cross-core hand-offs, with no batching to
//    hide behind.
//  - MoodycamelQueueTokens and MoodycamelBlockingQueueTokens are moodycamel's queues used
//    through a ProducerToken and a ConsumerToken per thread and queue, as its documentation
//    advises for long-lived threads; the variants without "Tokens" use the implicit calls.
//  - MpmcQueuePadded and MpmcQueueRemapped are MpmcQueue with SlotLayout::kPadded and
//    kRemapped (MpmcQueue alone is the default, kPacked): what keeping neighbouring slots off
//    one cache line costs or buys back.
//  - Contention (tally's queues only): the counters of lockfree/instrument.hpp, summed over the
//    run's threads, per operation (a push or a pop): `push_retries_per_op` and
//    `pop_retries_per_op` count every extra trip round the claim loop (a lost CAS on tail_ or
//    head_, or a position found already taken), `cas_failures_per_op` the lost CASes alone,
//    over pushes and pops together. BM_MpmcQueue_Try also sweeps producers x consumers over
//    1, 2 and 4 each, so the retries can be read against both sides' thread counts.
//
// Every bounded queue gets kCapacity slots. moodycamel's queues are not bounded: the capacity
// only preallocates blocks. ConcurrentQueue::try_enqueue never allocates, so in Try mode it is
// bounded by those blocks (with tokens it is not: see MoodycamelTokensTry); BlockingConcurrentQueue
// has no waiting enqueue, so its producers call enqueue, never wait, and may run ahead of the
// consumers (an advantage the others lack).
//
// Each throughput run checks that every message arrived exactly once with its payload intact
// (a per-consumer bitmap of message ids, merged after the run, and the sum of the values), so a
// broken queue reports an error instead of a fast number. A queue that loses a message makes
// its consumers wait forever instead; the ctest timeout catches that.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>
#include <tbb/concurrent_queue.h>
#include <boost/lockfree/policies.hpp>
#include <boost/lockfree/queue.hpp>

#include "tally/lockfree/backoff.hpp"
#include "tally/lockfree/cache_line.hpp"
#include "tally/lockfree/instrument.hpp"
#include "tally/lockfree/mpmc_queue.hpp"

namespace {

using tally::lockfree::contention_counters;
using tally::lockfree::ContentionCounters;
using tally::lockfree::cpu_relax;
using tally::lockfree::MpmcQueue;
using tally::lockfree::SlotLayout;
using Clock = std::chrono::steady_clock;

// Small enough that a ring's slots stay in L2 even padded (1024 x 128 B), large enough that
// producers and consumers are rarely stuck on a full or empty ring in the steady state.
constexpr std::size_t kCapacity = 1024;
// Per benchmark iteration: 256 ring-fulls, so that a run is steady-state traffic rather than
// thread start-up (with 16 ring-fulls, iterations of ~0.2 ms varied 2-4x between runs). The
// ctest smoke run does one iteration of everything, a few seconds in all. Divisible by every
// producer and consumer count registered below.
constexpr std::uint64_t kMessagesPerRun = std::uint64_t{1} << 18;
// Never sent as a message (ids are sent as id + 1 >= 1); adapters return it when a pop
// reports failure, so verification flags it as a bad message.
constexpr std::uint64_t kNoMessage = 0;

// The Try-mode retry loop shared by every queue: spin with cpu_relax for a few rounds (a
// peer on another core is usually a cache-line transfer away), then yield on every retry (a
// peer may be waiting for this core). Spinning alone would make every oversubscribed run
// measure the scheduler's time slice instead of the queue.
class RetryWait {
 public:
  void once() noexcept {
    if (spins_ < kSpins) {
      ++spins_;
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }

 private:
  static constexpr int kSpins = 64;
  int spins_ = 0;
};

[[noreturn]] void DieOnFailedPush() {
  // The queues are never closed here, so a failed blocking push means the queue is broken.
  // Die loudly: otherwise the consumers would wait forever for the missing message.
  std::fputs("mpmc_queue_bench: a blocking push failed on an open queue\n", stderr);
  std::abort();
}

// Each adapter gives a queue the same three calls: make() builds one with kCapacity slots,
// push(q, v) waits until v is in, pop(q) waits for a message. Adapters with a Tokens type take
// a thread's Tokens instead of the queue (see Endpoint below).

// Adapters with kCountsContention report the contention counters of tally's queues.
template <SlotLayout kLayout>
struct TallyTry {
  static constexpr bool kCountsContention = true;
  using Queue = MpmcQueue<std::uint64_t, kLayout>;
  static std::unique_ptr<Queue> make() { return std::make_unique<Queue>(kCapacity); }
  static void push(Queue& q, std::uint64_t v) noexcept {
    for (RetryWait wait; !q.try_push(std::uint64_t{v});) wait.once();
  }
  static std::uint64_t pop(Queue& q) noexcept {
    std::uint64_t v = kNoMessage;
    for (RetryWait wait; !q.try_pop(v);) wait.once();
    return v;
  }
};

struct TallyBlocking {
  static constexpr bool kCountsContention = true;
  using Queue = MpmcQueue<std::uint64_t>;
  static std::unique_ptr<Queue> make() { return std::make_unique<Queue>(kCapacity); }
  static void push(Queue& q, std::uint64_t v) noexcept {
    if (!q.push(std::uint64_t{v})) DieOnFailedPush();
  }
  static std::uint64_t pop(Queue& q) noexcept {
    std::uint64_t v = kNoMessage;
    return q.pop(v) ? v : kNoMessage;
  }
};

struct TbbTry {
  using Queue = tbb::concurrent_bounded_queue<std::uint64_t>;
  static std::unique_ptr<Queue> make() {
    auto q = std::make_unique<Queue>();
    q->set_capacity(kCapacity);
    return q;
  }
  static void push(Queue& q, std::uint64_t v) {
    for (RetryWait wait; !q.try_push(v);) wait.once();
  }
  static std::uint64_t pop(Queue& q) {
    std::uint64_t v = kNoMessage;
    for (RetryWait wait; !q.try_pop(v);) wait.once();
    return v;
  }
};

struct TbbBlocking {
  using Queue = tbb::concurrent_bounded_queue<std::uint64_t>;
  static std::unique_ptr<Queue> make() { return TbbTry::make(); }
  static void push(Queue& q, std::uint64_t v) { q.push(v); }
  static std::uint64_t pop(Queue& q) {
    std::uint64_t v = kNoMessage;
    q.pop(v);
    return v;
  }
};

struct BoostTry {
  // capacity<> makes the node pool a fixed array: push fails when it is used up, as a bounded
  // queue's try_push does, instead of allocating.
  using Queue = boost::lockfree::queue<std::uint64_t, boost::lockfree::capacity<kCapacity>>;
  static std::unique_ptr<Queue> make() { return std::make_unique<Queue>(); }
  static void push(Queue& q, std::uint64_t v) {
    for (RetryWait wait; !q.push(v);) wait.once();
  }
  static std::uint64_t pop(Queue& q) {
    std::uint64_t v = kNoMessage;
    for (RetryWait wait; !q.pop(v);) wait.once();
    return v;
  }
};

struct MoodycamelTry {
  using Queue = moodycamel::ConcurrentQueue<std::uint64_t>;
  static std::unique_ptr<Queue> make() { return std::make_unique<Queue>(kCapacity); }
  static void push(Queue& q, std::uint64_t v) {
    for (RetryWait wait; !q.try_enqueue(v);) wait.once();
  }
  static std::uint64_t pop(Queue& q) {
    std::uint64_t v = kNoMessage;
    for (RetryWait wait; !q.try_dequeue(v);) wait.once();
    return v;
  }
};

struct MoodycamelBlocking {
  using Queue = moodycamel::BlockingConcurrentQueue<std::uint64_t>;
  static std::unique_ptr<Queue> make() { return std::make_unique<Queue>(kCapacity); }
  static void push(Queue& q, std::uint64_t v) {
    if (!q.enqueue(v)) DieOnFailedPush();  // fails only if allocation fails
  }
  static std::uint64_t pop(Queue& q) {
    std::uint64_t v = kNoMessage;
    q.wait_dequeue(v);
    return v;
  }
};

// moodycamel's queues through tokens. A thread makes its tokens for a queue on first use, and
// only the end it uses: a ProducerToken registers a sub-queue that every consumer then scans,
// so a consumer that made one would slow the others down for nothing.
template <typename QueueType>
class MoodycamelTokens {
 public:
  explicit MoodycamelTokens(QueueType& queue) : queue_(queue) {}
  QueueType& queue() noexcept { return queue_; }
  moodycamel::ProducerToken& producer() {
    if (!producer_) producer_.emplace(queue_);
    return *producer_;
  }
  moodycamel::ConsumerToken& consumer() {
    if (!consumer_) consumer_.emplace(queue_);
    return *consumer_;
  }

 private:
  QueueType& queue_;
  std::optional<moodycamel::ProducerToken> producer_;
  std::optional<moodycamel::ConsumerToken> consumer_;
};

struct MoodycamelTokensTry {
  using Queue = moodycamel::ConcurrentQueue<std::uint64_t>;
  using Tokens = MoodycamelTokens<Queue>;
  static std::unique_ptr<Queue> make() { return MoodycamelTry::make(); }
  // Not try_enqueue: a producer token's sub-queue keeps every block it takes from the
  // preallocated pool, and try_enqueue never allocates, so with more than one producer the
  // first can take the whole pool and the others then never enqueue at all. enqueue allocates
  // a block when the pool is empty: these producers never wait for a full queue and may run
  // ahead of the consumers, as BlockingConcurrentQueue's do (an advantage the others lack).
  static void push(Tokens& t, std::uint64_t v) {
    if (!t.queue().enqueue(t.producer(), v)) DieOnFailedPush();  // fails only if allocation fails
  }
  static std::uint64_t pop(Tokens& t) {
    std::uint64_t v = kNoMessage;
    for (RetryWait wait; !t.queue().try_dequeue(t.consumer(), v);) wait.once();
    return v;
  }
};

struct MoodycamelTokensBlocking {
  using Queue = moodycamel::BlockingConcurrentQueue<std::uint64_t>;
  using Tokens = MoodycamelTokens<Queue>;
  static std::unique_ptr<Queue> make() { return MoodycamelBlocking::make(); }
  static void push(Tokens& t, std::uint64_t v) {
    if (!t.queue().enqueue(t.producer(), v)) DieOnFailedPush();  // fails only if allocation fails
  }
  static std::uint64_t pop(Tokens& t) {
    std::uint64_t v = kNoMessage;
    t.queue().wait_dequeue(t.consumer(), v);
    return v;
  }
};

// One thread's access to one queue: the queue itself, or, for adapters that have per-thread
// state (moodycamel's tokens), that state. Made by the thread that uses it, before it starts.
template <typename Adapter>
class Endpoint {
 public:
  explicit Endpoint(typename Adapter::Queue& queue) : queue_(queue) {}
  void push(std::uint64_t v) { Adapter::push(queue_, v); }
  std::uint64_t pop() { return Adapter::pop(queue_); }

 private:
  typename Adapter::Queue& queue_;
};

template <typename Adapter>
requires requires { typename Adapter::Tokens; }
class Endpoint<Adapter> {
 public:
  explicit Endpoint(typename Adapter::Queue& queue) : tokens_(queue) {}
  void push(std::uint64_t v) { Adapter::push(tokens_, v); }
  std::uint64_t pop() { return Adapter::pop(tokens_); }

 private:
  typename Adapter::Tokens tokens_;
};

// The floor: what a bounded blocking queue costs with one lock around everything.
class MutexDequeQueue {
 public:
  explicit MutexDequeQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(std::uint64_t v) {
    {
      std::unique_lock lock(mu_);
      not_full_.wait(lock, [&] { return items_.size() < capacity_; });
      items_.push_back(v);
    }
    // Notify after unlocking, so the woken consumer does not block on mu_ straight away.
    not_empty_.notify_one();
  }

  std::uint64_t pop() {
    std::uint64_t v = kNoMessage;
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [&] { return !items_.empty(); });
      v = items_.front();
      items_.pop_front();
    }
    not_full_.notify_one();
    return v;
  }

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<std::uint64_t> items_;  // guarded by mu_
};

struct MutexDequeBlocking {
  using Queue = MutexDequeQueue;
  static std::unique_ptr<Queue> make() { return std::make_unique<Queue>(kCapacity); }
  static void push(Queue& q, std::uint64_t v) { q.push(v); }
  static std::uint64_t pop(Queue& q) { return q.pop(); }
};

// What one worker thread saw. Written by that thread only (per message, for consumers), read
// by the benchmark thread after the join. Each on its own cache line, so that neighbouring
// consumers' counters do not false-share and slow down the very thing being measured.
struct alignas(tally::lockfree::kCacheLine) WorkerReport {
  Clock::time_point start;
  Clock::time_point end;
  // Consumers only: one bit per message id received, the sum of the values, and how many
  // values were not a valid message or arrived twice at this consumer.
  std::vector<std::uint64_t> seen;
  std::uint64_t sum = 0;
  std::uint64_t bad = 0;
  // The thread's contention counters over its loop (tally's queues only; zero for the rest).
  ContentionCounters contention;
};

// What went wrong in one run, or an empty string.
std::string CheckDelivery(std::span<const WorkerReport> consumers) {
  std::vector<std::uint64_t> all(kMessagesPerRun / 64, 0);
  std::uint64_t sum = 0;
  std::uint64_t bad = 0;
  std::uint64_t duplicates = 0;
  for (const WorkerReport& r : consumers) {
    sum += r.sum;
    bad += r.bad;
    for (std::size_t w = 0; w < all.size(); ++w) {
      duplicates += static_cast<std::uint64_t>(std::popcount(all[w] & r.seen[w]));
      all[w] |= r.seen[w];
    }
  }
  std::uint64_t distinct = 0;
  for (const std::uint64_t word : all) distinct += static_cast<std::uint64_t>(std::popcount(word));
  // Values are ids + 1 for ids 0 .. kMessagesPerRun - 1.
  const std::uint64_t expected_sum = kMessagesPerRun * (kMessagesPerRun + 1) / 2;
  if (distinct == kMessagesPerRun && duplicates == 0 && bad == 0 && sum == expected_sum) {
    return {};
  }
  return "delivery check failed: " + std::to_string(distinct) + " of " +
         std::to_string(kMessagesPerRun) + " distinct messages, " + std::to_string(duplicates) +
         " duplicates, " + std::to_string(bad) + " invalid, sum " + std::to_string(sum) +
         " (expected " + std::to_string(expected_sum) + ")";
}

template <typename Adapter>
void BM_Throughput(benchmark::State& state, int producers, int consumers) {
  const auto per_producer = kMessagesPerRun / static_cast<std::uint64_t>(producers);
  const auto per_consumer = kMessagesPerRun / static_cast<std::uint64_t>(consumers);
  ContentionCounters contention;
  for (auto _ : state) {
    // A fresh queue per run: moodycamel keeps one sub-queue per producer thread it has ever
    // seen, and new threads each run would otherwise make its consumers scan more every time.
    auto queue = Adapter::make();
    std::vector<WorkerReport> reports(static_cast<std::size_t>(producers + consumers));
    std::latch start(producers + consumers);
    {
      std::vector<std::jthread> threads;
      threads.reserve(reports.size());
      for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
          WorkerReport& r = reports[static_cast<std::size_t>(p)];
          const std::uint64_t first_id = static_cast<std::uint64_t>(p) * per_producer;
          Endpoint<Adapter> queue_end(*queue);
          start.arrive_and_wait();
          const ContentionCounters before = contention_counters();
          r.start = Clock::now();
          for (std::uint64_t id = first_id; id < first_id + per_producer; ++id) {
            queue_end.push(id + 1);
          }
          r.end = Clock::now();
          r.contention = contention_counters() - before;
        });
      }
      for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&, c] {
          WorkerReport& r = reports[static_cast<std::size_t>(producers + c)];
          r.seen.assign(kMessagesPerRun / 64, 0);
          Endpoint<Adapter> queue_end(*queue);
          start.arrive_and_wait();
          const ContentionCounters before = contention_counters();
          r.start = Clock::now();
          // Exactly a quota each, rather than "until all are consumed": a consumer blocked
          // in pop could never learn that the others took the last message.
          for (std::uint64_t i = 0; i < per_consumer; ++i) {
            const std::uint64_t v = queue_end.pop();
            const std::uint64_t id = v - 1;  // kNoMessage wraps to an id out of range
            const std::uint64_t bit = std::uint64_t{1} << (id % 64);
            if (id >= kMessagesPerRun || (r.seen[id / 64] & bit) != 0) {
              ++r.bad;
            } else {
              r.seen[id / 64] |= bit;
            }
            r.sum += v;
          }
          r.end = Clock::now();
          r.contention = contention_counters() - before;
        });
      }
    }  // the jthreads join here

    Clock::time_point first_start = reports.front().start;
    Clock::time_point last_end = reports.front().end;
    for (const WorkerReport& r : reports) {
      first_start = std::min(first_start, r.start);
      last_end = std::max(last_end, r.end);
    }
    state.SetIterationTime(std::chrono::duration<double>(last_end - first_start).count());
    for (const WorkerReport& r : reports) contention += r.contention;

    const std::string error =
        CheckDelivery(std::span(reports).subspan(static_cast<std::size_t>(producers)));
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kMessagesPerRun));
  if constexpr (requires { Adapter::kCountsContention; }) {
    // One push and one pop per message.
    const double ops = static_cast<double>(state.iterations()) * kMessagesPerRun;
    if (ops > 0) {
      state.counters["push_retries_per_op"] =
          static_cast<double>(contention.push_cas_failures + contention.push_stale_positions) / ops;
      state.counters["pop_retries_per_op"] =
          static_cast<double>(contention.pop_cas_failures + contention.pop_stale_positions) / ops;
      state.counters["cas_failures_per_op"] =
          static_cast<double>(contention.push_cas_failures + contention.pop_cas_failures) /
          (2 * ops);
    }
  }
}

// One benchmark iteration is one round trip, so the Time column is ns per round trip.
template <typename Adapter>
void BM_PingPong(benchmark::State& state) {
  constexpr std::uint64_t kStop = ~std::uint64_t{0};
  auto there = Adapter::make();
  auto back = Adapter::make();
  std::jthread echo([&] {
    Endpoint<Adapter> from(*there);
    Endpoint<Adapter> to(*back);
    for (;;) {
      const std::uint64_t v = from.pop();
      if (v == kStop) return;
      to.push(v + 1);
    }
  });
  Endpoint<Adapter> to(*there);
  Endpoint<Adapter> from(*back);
  // Starts at 1: kNoMessage (0) must never be a valid reply.
  std::uint64_t next = 1;
  for (auto _ : state) {
    to.push(next);
    if (from.pop() != next + 1) {
      state.SkipWithError("ping-pong: the reply is not the message sent plus one");
      break;
    }
    next += 2;
  }
  to.push(kStop);
  echo.join();
  state.SetItemsProcessed(state.iterations());
}

enum class PingPong { kYes, kNo };
// kBalanced: 1P1C, 2P2C, 4P4C. kSweep: every producers x consumers over 1, 2, 4.
enum class Scenarios { kBalanced, kSweep };

template <typename Adapter>
void RegisterQueue(const std::string& prefix, PingPong ping_pong,
                   Scenarios scenarios = Scenarios::kBalanced) {
  std::vector<std::pair<int, int>> shapes;
  for (const int p : {1, 2, 4}) {
    for (const int c : {1, 2, 4}) {
      if (p == c || scenarios == Scenarios::kSweep) shapes.emplace_back(p, c);
    }
  }
  for (const auto& [producers, consumers] : shapes) {
    const std::string name =
        prefix + "/" + std::to_string(producers) + "P" + std::to_string(consumers) + "C";
    benchmark::RegisterBenchmark(name.c_str(), BM_Throughput<Adapter>, producers, consumers)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  if (ping_pong == PingPong::kYes) {
    // Real time: in Blocking mode the benchmark thread sleeps through most of a round trip,
    // so its CPU time says nothing.
    benchmark::RegisterBenchmark((prefix + "/PingPong").c_str(), BM_PingPong<Adapter>)
        ->UseRealTime();
  }
}

void RegisterAll() {
  // BM_MpmcQueue_* is the default layout (kPacked); the others are the alternatives.
  RegisterQueue<TallyTry<SlotLayout::kPacked>>("BM_MpmcQueue_Try", PingPong::kYes,
                                               Scenarios::kSweep);
  RegisterQueue<TallyBlocking>("BM_MpmcQueue_Blocking", PingPong::kYes);
  // With one message in flight there are no neighbouring slots to share a line, so the layout
  // variants skip ping-pong.
  RegisterQueue<TallyTry<SlotLayout::kPadded>>("BM_MpmcQueuePadded_Try", PingPong::kNo);
  RegisterQueue<TallyTry<SlotLayout::kRemapped>>("BM_MpmcQueueRemapped_Try", PingPong::kNo);
  RegisterQueue<TbbTry>("BM_TbbBoundedQueue_Try", PingPong::kYes);
  RegisterQueue<TbbBlocking>("BM_TbbBoundedQueue_Blocking", PingPong::kYes);
  RegisterQueue<BoostTry>("BM_BoostLockfreeQueue_Try", PingPong::kYes);
  RegisterQueue<MoodycamelTry>("BM_MoodycamelQueue_Try", PingPong::kYes);
  RegisterQueue<MoodycamelTokensTry>("BM_MoodycamelQueueTokens_Try", PingPong::kYes);
  RegisterQueue<MoodycamelBlocking>("BM_MoodycamelBlockingQueue_Blocking", PingPong::kYes);
  RegisterQueue<MoodycamelTokensBlocking>("BM_MoodycamelBlockingQueueTokens_Blocking",
                                          PingPong::kYes);
  RegisterQueue<MutexDequeBlocking>("BM_MutexDeque_Blocking", PingPong::kYes);
}

}  // namespace

int main(int argc, char** argv) {
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
