// eventually(): waits for a condition that another thread makes true, yielding between looks,
// but for at most `limit`, so that a test of a broken implementation fails instead of hanging.
// The limit is a safety net, never a way to let time pass: a correct implementation makes the
// condition true long before it.
#pragma once

#include <chrono>
#include <thread>

namespace tally::testing {

inline constexpr std::chrono::seconds kBoundedWait{60};

template <typename Predicate>
bool eventually(Predicate done, std::chrono::steady_clock::duration limit = kBoundedWait) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace tally::testing
