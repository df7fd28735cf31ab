// ProgressDisplay: a one-line progress report on stderr while a job runs, e.g.
//   tally: 512.0 MB / 1.2 GB  42%  215.3 MB/s  ETA 3.3s
// redrawn in place (carriage return) every kInterval from its own thread, so the workers
// never write to the terminal. When stderr is not a terminal (--progress into a log file),
// each update is a plain line instead. The engine counts bytes into `done` as map tasks finish
// (RunOptions::progress_bytes). stop() draws the final state, ends the line and joins.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace tally::cli {

class ProgressDisplay {
 public:
  static constexpr std::chrono::milliseconds kInterval{200};

  // Starts drawing at once; `total` is the input size (0 if unknown).
  ProgressDisplay(const std::atomic<std::uint64_t>& done, std::uint64_t total);
  ~ProgressDisplay();  // stop()s if still running
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  void stop();

  // The line for `done` of `total` bytes after `elapsed`: no I/O, for tests.
  static std::string render(std::uint64_t done, std::uint64_t total,
                            std::chrono::duration<double> elapsed);

 private:
  void draw(bool final);

  const std::atomic<std::uint64_t>& done_;
  const std::uint64_t total_;
  const std::chrono::steady_clock::time_point start_;
  const bool terminal_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// Whether --progress is on by default: when stderr is a terminal.
bool stderr_is_terminal();

}  // namespace tally::cli
