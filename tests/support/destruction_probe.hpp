// DestructionProbe: a movable object that counts itself live in caller state until it is
// destroyed, for tests of what a task's captures outlive. Its destructor yields a few thousand
// times before it records anything, so that code which signals "done" before destroying a
// captured probe is caught in that window, without a sleep.
//
// Thread safety: a probe may be destroyed on any thread; `live` must outlive every probe
// that counts in it (declare it before the scheduler that runs the tasks).
#pragma once

#include <atomic>
#include <thread>
#include <utility>

namespace tally::testing {

class DestructionProbe {
 public:
  explicit DestructionProbe(std::atomic<int>& live) : live_(&live) { live_->fetch_add(1); }
  DestructionProbe(DestructionProbe&& other) noexcept
      : live_(std::exchange(other.live_, nullptr)) {}
  DestructionProbe& operator=(DestructionProbe&&) = delete;
  ~DestructionProbe() {
    if (live_ == nullptr) return;  // moved from: the move target counts instead
    for (int i = 0; i < kYields; ++i) std::this_thread::yield();
    live_->fetch_sub(1);
  }

 private:
  static constexpr int kYields = 2000;
  std::atomic<int>* live_;
};

}  // namespace tally::testing
