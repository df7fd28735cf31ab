// DeadlineTimer: runs callbacks at given steady_clock times on one background thread.
//
// Used for deadlines (a TaskGroup's deadline requests stop on its group when it passes). The
// thread starts on the first schedule() and is joined by the destructor, so the timer never
// leaks a thread; a scheduler owns one.
//
// Thread safety: all members may be called from any thread. Callbacks run on the timer's
// thread, one at a time, and must be short (they only request stops).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

namespace tally {

class DeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Id = std::uint64_t;

  DeadlineTimer() = default;
  ~DeadlineTimer();  // drops pending callbacks (they never run) and joins the thread
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs fn at (or soon after) `when`; a time in the past runs it at once. Returns an id
  // for cancel().
  Id schedule(Clock::time_point when, std::function<void()> fn);

  // After cancel returns, the callback of `id` is not running and never will; if it is
  // running right now on the timer thread, cancel waits for it to finish. Cancelling an id
  // that already ran, or was cancelled, does nothing.
  // REQUIRES: not called from inside a callback for the same id.
  void cancel(Id id);

 private:
  void run(const std::stop_token& stop);

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::pair<Clock::time_point, Id>, std::function<void()>> pending_;  // by time
  std::map<Id, Clock::time_point> when_;  // guarded by mu_, like pending_ and the two below
  Id next_id_ = 1;
  Id running_ = 0;       // the id whose callback runs right now, 0 if none
  std::jthread thread_;  // last: joined first, while the members above still exist
};

}  // namespace tally
