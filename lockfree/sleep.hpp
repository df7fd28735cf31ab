// sleep_until(when, stop): sleeps until `when` on Clock, or until stop is requested.
//
// A clock with a static `sleep_until(time_point, std::stop_token)` (a test's fake clock) is
// slept on through that, so code templated on a clock can be tested without real waiting.
// Otherwise the sleep is a wait on a local condition variable, which
// condition_variable_any's stop_token overload wakes as soon as stop is requested.
#pragma once

#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace tally::lockfree {

template <typename Clock>
concept FakeSleepClock = requires(typename Clock::time_point tp, std::stop_token st) {
  {Clock::sleep_until(tp, st)};
};

template <typename Clock>
void sleep_until(typename Clock::time_point when, const std::stop_token& stop) {
  if constexpr (FakeSleepClock<Clock>) {
    Clock::sleep_until(when, stop);
  } else {
    // Waiting is a slow path: a mutex and condition variable of its own cost nothing here.
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    cv.wait_until(lock, stop, when, [] { return false; });
  }
}

}  // namespace tally::lockfree
