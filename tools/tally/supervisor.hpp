// Supervisor: ends a run on SIGINT, SIGTERM or its deadline, in every state of the process.
//
// The constructor blocks SIGINT and SIGTERM in the calling thread (threads started later, such
// as the engine's workers, inherit the mask) and starts a thread that waits for them, and for
// the deadline, with sigtimedwait. When either comes it requests a stop on token(): the run
// drains (every read, map task and write checks it) and the command exits with
// exit_status(). Stop callbacks never run inside a signal handler.
//
// Cooperation is the normal path; the backstop is for a state that cannot see the stop (a
// system call blocked on a device, a stuck file system). If the command has not ended
// kBackstopAfter after the stop, the supervisor thread removes every temporary output file
// still registered, prints why, and _exit()s with exit_status(). A second SIGINT or SIGTERM
// does the same at once. So the process ends, and leaves no partial output, whatever it was
// doing.
//
// Output files publish through begin_publishing(): once it has returned true, the run is
// complete and a later deadline or signal no longer ends it (its output is already whole),
// and a stop that came first makes it return false, so nothing is published after a stop.
//
// The destructor wakes the thread, joins it, and restores the signal mask the constructor
// found (so it must run on the constructing thread). At most one Supervisor exists at a time; the
// out-of-memory handler (main.cpp) reaches it through Supervisor::current().
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace tally::cli {

class Supervisor {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kBackstopAfter{700};

  // `deadline`: when the run must end (nullopt: never); `timeout_text` names it in the
  // message ("timed out after 2s"). `reports`: whether the backstop prints why it ended the
  // process (a rank other than 0 of a distributed job leaves that to rank 0).
  explicit Supervisor(std::optional<Clock::time_point> deadline = std::nullopt,
                      std::string timeout_text = {}, bool reports = true);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  std::stop_token token() const noexcept { return stop_.get_token(); }
  std::optional<Clock::time_point> deadline() const noexcept { return deadline_; }
  // Whether a signal or the deadline stopped the run.
  bool stopped() const noexcept { return stop_.stop_requested(); }
  // 130 (SIGINT), 143 (SIGTERM), 124 (deadline); 0 while not stopped.
  int exit_status() const noexcept;
  // "interrupted", "terminated" or "timed out after <timeout_text>".
  std::string reason() const;

  // Temporary files to remove if the process must end before they are published.
  void track_temporary(const std::string& path);
  void forget_temporary(const std::string& path);
  // True: publish now, the run can no longer be stopped. False: it was stopped; publish
  // nothing.
  bool begin_publishing();

  // The live supervisor, or null.
  static Supervisor* current() noexcept;
  // Removes the tracked temporary files. For the out-of-memory handler, which then exits:
  // allocates nothing.
  void remove_temporaries() noexcept;

 private:
  void watch();
  [[noreturn]] void end_process_now() noexcept;

  const std::optional<Clock::time_point> deadline_;
  const std::string timeout_text_;
  const bool reports_;
  std::stop_source stop_;
  // Written by the supervisor thread before request_stop(); release pairs with the acquire
  // in exit_status().
  std::atomic<int> exit_status_{0};
  sigset_t previous_mask_{};
  std::mutex mutex_;  // guards temporaries_ and publishing_
  std::vector<std::string> temporaries_;
  bool publishing_ = false;
  std::thread thread_;
};

}  // namespace tally::cli
