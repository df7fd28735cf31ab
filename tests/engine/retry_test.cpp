#include "tally/engine/retry.hpp"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <stop_token>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tally::RetryPolicy;
using tally::Status;
using tally::StatusCode;

using tally::testing::FakeClock;

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeClock::reset(); }
};

// Oracle: transient failures are retried; success on the 3rd attempt returns OK after
// exactly two sleeps, each within its full-jitter cap (10 ms, then 20 ms).
TEST_F(RetryTest, RetriesTransientFailuresWithJitteredBackoff) {
  int attempts = 0;
  const RetryPolicy policy{.max_attempts = 5, .initial_backoff = 10ms, .max_backoff = 1s};
  const Status s = tally::retry<FakeClock>(
      policy, [&] { return ++attempts < 3 ? Status::Unavailable("busy") : Status::Ok(); },
      std::stop_token{}, std::mt19937_64{42});
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(attempts, 3);
  ASSERT_EQ(FakeClock::sleeps.size(), 2u);
  EXPECT_LE(FakeClock::sleeps[0], 10ms);
  EXPECT_LE(FakeClock::sleeps[1], 20ms);
  EXPECT_GE(FakeClock::sleeps[0], 0ns);
}

// Oracle: a non-transient failure is returned at once, without sleeping.
TEST_F(RetryTest, PermanentFailureIsNotRetried) {
  int attempts = 0;
  const Status s = tally::retry<FakeClock>(
      RetryPolicy{}, [&] { return ++attempts, Status::NotFound("no such file"); },
      std::stop_token{}, std::mt19937_64{1});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(attempts, 1);
  EXPECT_TRUE(FakeClock::sleeps.empty());
}

// Oracle: after max_attempts transient failures the last failure is returned, with
// max_attempts - 1 sleeps, none above max_backoff.
TEST_F(RetryTest, GivesUpAfterMaxAttempts) {
  int attempts = 0;
  const RetryPolicy policy{.max_attempts = 6, .initial_backoff = 10ms, .max_backoff = 40ms};
  const Status s = tally::retry<FakeClock>(
      policy, [&] { return Status::Unavailable("attempt " + std::to_string(++attempts)); },
      std::stop_token{}, std::mt19937_64{7});
  EXPECT_EQ(s.message(), "attempt 6");
  EXPECT_EQ(FakeClock::sleeps.size(), 5u);
  for (auto d : FakeClock::sleeps) EXPECT_LE(d, 40ms);
}

// Oracle: the caps grow 10, 20, 40, ... and stop at max_backoff.
TEST_F(RetryTest, BackoffCapGrowsExponentiallyToMax) {
  const RetryPolicy policy{.initial_backoff = 10ms, .max_backoff = 50ms};
  EXPECT_EQ(tally::backoff_cap(policy, 1), 10ms);
  EXPECT_EQ(tally::backoff_cap(policy, 2), 20ms);
  EXPECT_EQ(tally::backoff_cap(policy, 3), 40ms);
  EXPECT_EQ(tally::backoff_cap(policy, 4), 50ms);
  EXPECT_EQ(tally::backoff_cap(policy, 30), 50ms);
}

// Oracle: a stop requested during the backoff ends retrying with kCancelled, mentioning the
// last error; no further attempt is made.
TEST_F(RetryTest, StopEndsRetrying) {
  std::stop_source stop;
  FakeClock::stop_during_sleep = &stop;
  int attempts = 0;
  const Status s = tally::retry<FakeClock>(
      RetryPolicy{}, [&] { return ++attempts, Status::Unavailable("disk busy"); }, stop.get_token(),
      std::mt19937_64{3});
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_NE(s.message().find("disk busy"), std::string::npos);
  EXPECT_EQ(attempts, 1);
}

// Oracle: when the next sleep would cross the deadline, retry returns kDeadlineExceeded
// without sleeping past it.
TEST_F(RetryTest, DeadlineStopsBeforeOversleeping) {
  int attempts = 0;
  const RetryPolicy policy{.max_attempts = 100, .initial_backoff = 10ms, .max_backoff = 10ms};
  const auto deadline = FakeClock::now() + 35ms;
  const Status s = tally::retry<FakeClock>(
      policy, [&] { return ++attempts, Status::Unavailable("busy"); }, std::stop_token{},
      std::mt19937_64{5}, deadline);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_LE(FakeClock::now(), deadline);
  EXPECT_GE(attempts, 4);  // at least 35 ms / 10 ms of backoff fit before the deadline
}

}  // namespace
