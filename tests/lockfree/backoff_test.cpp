#include "tally/lockfree/backoff.hpp"

#include <gtest/gtest.h>

namespace {

using tally::lockfree::SpinWait;

// Oracle: spin_once allows exactly kSpinRounds + kYieldRounds waits before telling the caller
// to block, and reset() starts the sequence over.
TEST(SpinWait, EndsInBlockingAfterSpinAndYieldRounds) {
  SpinWait spin;
  int rounds = 0;
  while (spin.spin_once()) ++rounds;
  EXPECT_EQ(rounds, SpinWait::kSpinRounds + SpinWait::kYieldRounds);
  EXPECT_FALSE(spin.spin_once());
  spin.reset();
  EXPECT_TRUE(spin.spin_once());
}

}  // namespace
