// retry(): calls an operation until it succeeds, fails for good, or runs out of attempts,
// sleeping between attempts with exponential backoff and full jitter.
//
//   tally::Status s = tally::retry({.max_attempts = 5}, [&] { return read_chunk(); }, stop);
//
// Rules:
//  - Only transient failures (Status::is_transient(): kUnavailable) are retried; any other
//    failure, and success, is returned at once.
//  - Before attempt k+1 (k = 1, 2, ...) it sleeps a uniformly random time in
//    [0, min(max_backoff, initial_backoff * multiplier^(k-1))]: "full jitter" (AWS
//    Architecture Blog, "Exponential Backoff And Jitter"), which spreads retries of many
//    clients apart instead of letting them retry in lockstep.
//  - A stop request ends the wait at once and returns kCancelled; a deadline (on Clock) that
//    would pass during the next sleep returns kDeadlineExceeded instead of sleeping. Both carry the
//    last failure's message.
//  - After max_attempts failed attempts, the last failure is returned.
//
// Clock: as in lockfree/sleep.hpp, a clock with a static sleep_until(time_point,
// std::stop_token) is slept on through that (tests use a fake clock and never really sleep).
// Random: any uniform random bit generator; the default is seeded from std::random_device.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <optional>
#include <random>
#include <stop_token>
#include <string>

#include "tally/engine/status.hpp"
#include "tally/lockfree/sleep.hpp"

namespace tally {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(10);
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(2);
  double multiplier = 2.0;
};

// The cap on the sleep before attempt `attempt + 1` (attempt >= 1).
inline std::chrono::nanoseconds backoff_cap(const RetryPolicy& policy, int attempt) {
  const double scaled = static_cast<double>(policy.initial_backoff.count()) *
                        std::pow(policy.multiplier, attempt - 1);
  const double cap = std::min(scaled, static_cast<double>(policy.max_backoff.count()));
  return std::chrono::nanoseconds(static_cast<std::int64_t>(cap));
}

template <typename Clock = std::chrono::steady_clock, typename Op, typename Rng = std::mt19937_64>
requires std::invocable<Op&> && std::same_as<std::invoke_result_t<Op&>, Status> Status retry(
    const RetryPolicy& policy, Op&& op, std::stop_token stop, Rng rng = Rng{std::random_device{}()},
    std::optional<typename Clock::time_point> deadline = std::nullopt) {
  Status last = Status::Unavailable("no attempt made");
  for (int attempt = 1; attempt <= std::max(policy.max_attempts, 1); ++attempt) {
    if (stop.stop_requested()) {
      return Status::Cancelled("retry stopped after " + std::to_string(attempt - 1) +
                               " attempt(s); last error: " + last.message());
    }
    last = op();
    if (last.ok() || !last.is_transient() || attempt == policy.max_attempts) return last;

    const auto cap = backoff_cap(policy, attempt);
    std::uniform_int_distribution<std::int64_t> jitter(0, cap.count());
    const auto wake = Clock::now() + std::chrono::duration_cast<typename Clock::duration>(
                                         std::chrono::nanoseconds(jitter(rng)));
    if (deadline && wake >= *deadline) {
      return Status::DeadlineExceeded("retry deadline reached after " + std::to_string(attempt) +
                                      " attempt(s); last error: " + last.message());
    }
    lockfree::sleep_until<Clock>(wake, stop);
  }
  return last;
}

}  // namespace tally
