// TokenBucket<Clock>: a lock-free token bucket (rate, burst) for rate limits, e.g. input
// bytes per second.
//
// The bucket holds up to `burst` tokens and refills at `rate` tokens per second; it starts
// full. try_acquire(n) takes n tokens if the bucket holds them; acquire(n, stop) waits until
// it does or until stop is requested.
//
// Representation (the "generic cell rate algorithm" form): one atomic word, empty_at_, the
// clock time in nanoseconds at which the bucket held zero tokens. At time `now` it holds
//   tokens(now) = min(burst, floor((now - empty_at_) * rate / 1e9)),
// and taking n tokens moves empty_at_ forward by cost(n) = ceil(n * 1e9 / rate) ns. A single
// word means a single CAS per acquisition and no torn (tokens, timestamp) pairs. Rounding
// cost up means the bucket never grants more than `rate` tokens per second over any window;
// it may grant up to 1 ns worth of tokens less per acquisition, so acquire in chunks (e.g.
// 64 KiB of input), not byte by byte, when the rate is above 1e9 per second.
//
// Thread safety: every member function may be called concurrently from any thread. No data
// is published through the bucket, so its atomics only need atomicity, not ordering.
//
// Clock: a std::chrono clock. If it has a static `sleep_until(time_point, std::stop_token)`,
// acquire() sleeps through it, which lets tests run acquire() on a fake clock without real
// waiting; otherwise acquire() sleeps on a condition variable that stop requests interrupt.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <stop_token>

#include "tally/lockfree/sleep.hpp"

namespace tally::lockfree {

template <typename Clock = std::chrono::steady_clock>
class TokenBucket {
 public:
  // REQUIRES: rate_per_second > 0, burst > 0 (std::invalid_argument otherwise).
  TokenBucket(std::uint64_t rate_per_second, std::uint64_t burst)
      : rate_(rate_per_second), burst_(burst) {
    if (rate_ == 0) throw std::invalid_argument("TokenBucket: rate must be positive");
    if (burst_ == 0) throw std::invalid_argument("TokenBucket: burst must be positive");
    full_ns_ = cost_ns(burst_);
    // Relaxed: published by the constructor's return (the bucket must not race with it).
    empty_at_.store(now_ns() - full_ns_, std::memory_order_relaxed);
  }

  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;
  ~TokenBucket() = default;

  std::uint64_t rate() const noexcept { return rate_; }
  std::uint64_t burst() const noexcept { return burst_; }

  // Tokens in the bucket now (a snapshot: other threads may take them next).
  std::uint64_t available() const noexcept {
    // Relaxed: a snapshot of one word; see the thread-safety note.
    return tokens_at(now_ns(), empty_at_.load(std::memory_order_relaxed));
  }

  // Takes n tokens if the bucket holds at least n. Never blocks. n == 0 always succeeds.
  bool try_acquire(std::uint64_t n) noexcept {
    if (n == 0) return true;
    if (n > burst_) return false;
    const std::int64_t now = now_ns();
    // Relaxed load and CAS: atomicity alone prevents two callers spending the same tokens;
    // nothing else is ordered by the bucket.
    std::int64_t empty_at = empty_at_.load(std::memory_order_relaxed);
    for (;;) {
      if (tokens_at(now, empty_at) < n) return false;
      if (empty_at_.compare_exchange_weak(empty_at, next_empty_at(now, empty_at, n),
                                          std::memory_order_relaxed, std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  // Takes n tokens, waiting until the bucket refills enough. Returns false without taking
  // anything if stop is requested first, or if n > burst (it could never be satisfied).
  bool acquire(std::uint64_t n, std::stop_token stop) {
    if (n > burst_) return false;
    for (;;) {
      if (stop.stop_requested()) return false;
      if (try_acquire(n)) return true;
      // Sleep until n tokens will have accumulated, if no one else takes them first.
      const std::int64_t now = now_ns();
      const std::int64_t empty_at =
          effective_empty_at(now, empty_at_.load(std::memory_order_relaxed));
      const std::int64_t ready_at = empty_at + cost_ns(n);
      lockfree::sleep_until<Clock>(
          typename Clock::time_point(std::chrono::duration_cast<typename Clock::duration>(
              std::chrono::nanoseconds(ready_at))),
          stop);
    }
  }

 private:
  __extension__ using Int128 = __int128;  // __extension__: no -Wpedantic warning

  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
  }

  // ceil(n * 1e9 / rate): the time it takes to refill n tokens.
  std::int64_t cost_ns(std::uint64_t n) const noexcept {
    const Int128 scaled = static_cast<Int128>(n) * 1'000'000'000;
    return static_cast<std::int64_t>((scaled + rate_ - 1) / rate_);
  }

  // A bucket cannot hold more than burst: an empty time further back than full_ns_ counts
  // as exactly full.
  std::int64_t effective_empty_at(std::int64_t now, std::int64_t empty_at) const noexcept {
    return empty_at < now - full_ns_ ? now - full_ns_ : empty_at;
  }

  std::uint64_t tokens_at(std::int64_t now, std::int64_t empty_at) const noexcept {
    const std::int64_t elapsed = now - effective_empty_at(now, empty_at);
    if (elapsed <= 0) return 0;
    const Int128 tokens = static_cast<Int128>(elapsed) * rate_ / 1'000'000'000;
    return tokens > burst_ ? burst_ : static_cast<std::uint64_t>(tokens);
  }

  std::int64_t next_empty_at(std::int64_t now, std::int64_t empty_at,
                             std::uint64_t n) const noexcept {
    return effective_empty_at(now, empty_at) + cost_ns(n);
  }

  const std::uint64_t rate_;
  const std::uint64_t burst_;
  std::int64_t full_ns_ = 0;
  std::atomic<std::int64_t> empty_at_{0};
};

}  // namespace tally::lockfree
