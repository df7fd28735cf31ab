// FakeClock: a std::chrono clock for tests that moves only when told to. Code templated on a
// clock (engine/retry.hpp) sleeps through its static sleep_until, which jumps time forward
// instead of waiting, so a test can check exactly how long the code would have slept without
// ever sleeping.
//
// Process-wide state: call reset() in SetUp. now() may race with a sleep (an atomic); the
// sleep log is for single-threaded sleepers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stop_token>
#include <vector>

namespace tally::testing {

struct FakeClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<FakeClock>;
  static constexpr bool is_steady = true;

  static inline std::atomic<std::int64_t> now_ns{0};
  static inline std::vector<duration> sleeps;                   // each sleep's length, in order
  static inline std::stop_source* stop_during_sleep = nullptr;  // stopped by the next sleep

  static time_point now() noexcept { return time_point(duration(now_ns.load())); }

  static void sleep_until(time_point when, std::stop_token /*stop*/) {
    std::int64_t cur = now_ns.load();
    const std::int64_t target = when.time_since_epoch().count();
    sleeps.push_back(duration(target > cur ? target - cur : 0));
    while (cur < target && !now_ns.compare_exchange_weak(cur, target)) {
    }
    if (stop_during_sleep != nullptr) stop_during_sleep->request_stop();
  }

  static void reset() {
    now_ns = 3'600'000'000'000;  // one hour: an arbitrary non-zero epoch
    sleeps.clear();
    stop_during_sleep = nullptr;
  }
};

}  // namespace tally::testing
