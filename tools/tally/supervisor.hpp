// Turns SIGINT and SIGTERM into a stop request, for Ctrl-C that drains instead of killing.
//
// The constructor blocks SIGINT and SIGTERM in the calling thread (threads started later, such
// as the engine's workers, inherit the mask) and starts a thread that waits for them with
// sigwait. On a signal that thread calls request_stop() on the stop source: an ordinary
// thread, so the stop callbacks (which take locks) never run inside a signal handler. A
// second Ctrl-C restores the default action, so a stuck run can still be killed.
// The destructor wakes the thread (SIGUSR1) and joins it.
#pragma once

#include <atomic>
#include <stop_token>
#include <thread>

namespace tally::cli {

class SignalWatcher {
 public:
  SignalWatcher();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  std::stop_token token() const noexcept { return stop_.get_token(); }
  // The signal that requested the stop (SIGINT or SIGTERM), or 0.
  int signal_received() const noexcept { return received_.load(std::memory_order_acquire); }

 private:
  std::stop_source stop_;
  std::atomic<int> received_{0};
  std::thread thread_;
};

}  // namespace tally::cli
