#include "tools/tally/supervisor.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "tools/tally/exit_status.hpp"

namespace tally::cli {
namespace {

// Written by the constructor and destructor of the one live Supervisor; read by the
// out-of-memory handler on any thread. Release/acquire: the handler sees a fully built one.
std::atomic<Supervisor*> current_supervisor{nullptr};

// The signals that stop a run.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// SIGUSR1 only wakes the supervisor thread from its wait when the Supervisor is destroyed.
sigset_t watched_signals() {
  sigset_t set = stop_signals();
  sigaddset(&set, SIGUSR1);
  return set;
}

// The exit status of a run stopped by one of stop_signals().
int status_of_signal(int sig) { return sig == SIGINT ? kExitInterrupted : kExitTerminated; }

// Waits for a watched signal until `until` (forever if null); the signal, or 0 when the time
// came first.
int wait_for_signal(const sigset_t& set, const Supervisor::Clock::time_point* until) {
  for (;;) {
    if (until == nullptr) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) return sig;
      continue;
    }
    const auto left = *until - Supervisor::Clock::now();
    if (left <= Supervisor::Clock::duration::zero()) return 0;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    const timespec ts{.tv_sec = static_cast<time_t>(secs.count()),
                      .tv_nsec = static_cast<long>((left - secs).count())};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return 0;
  }
}

void write_stderr(const std::string& text) noexcept {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

Supervisor::Supervisor(std::optional<Clock::time_point> deadline, std::string timeout_text,
                       bool reports)
    : deadline_(deadline), timeout_text_(std::move(timeout_text)), reports_(reports) {
  const sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
  temporaries_.reserve(4);
  thread_ = std::thread([this] { watch(); });
  current_supervisor.store(this, std::memory_order_release);
}

Supervisor::~Supervisor() {
  current_supervisor.store(nullptr, std::memory_order_release);
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

Supervisor* Supervisor::current() noexcept {
  return current_supervisor.load(std::memory_order_acquire);
}

int Supervisor::exit_status() const noexcept {
  return exit_status_.load(std::memory_order_acquire);
}

std::string Supervisor::reason() const {
  switch (exit_status()) {
    case kExitInterrupted:
      return "interrupted";
    case kExitTerminated:
      return "terminated";
    case kExitTimeout:
      return "timed out after " + timeout_text_;
    default:
      return "stopped";
  }
}

void Supervisor::track_temporary(const std::string& path) {
  const std::lock_guard lock(mutex_);
  temporaries_.push_back(path);
}

void Supervisor::forget_temporary(const std::string& path) {
  const std::lock_guard lock(mutex_);
  std::erase(temporaries_, path);
}

bool Supervisor::begin_publishing() {
  const std::lock_guard lock(mutex_);
  if (exit_status_.load(std::memory_order_relaxed) != 0) return false;  // written under mutex_
  // A SIGINT or SIGTERM sent before this point stops the run even if the supervisor thread
  // has not taken it yet (it is still pending: every thread blocks it): taken here instead.
  const sigset_t stops = stop_signals();
  const timespec no_wait{};
  if (const int sig = sigtimedwait(&stops, nullptr, &no_wait); sig > 0) {
    // Release, as in watch(): pairs with exit_status()'s acquire.
    exit_status_.store(status_of_signal(sig), std::memory_order_release);
    stop_.request_stop();
    return false;
  }
  publishing_ = true;
  return true;
}

void Supervisor::remove_temporaries() noexcept {
  // try_lock: the out-of-memory handler may run on a thread that holds the mutex (a
  // track_temporary whose push_back ran out of memory); it then removes nothing rather than
  // deadlock. glibc's default mutex returns EBUSY to its owner's trylock.
  const std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  for (const std::string& path : temporaries_) ::unlink(path.c_str());
}

void Supervisor::end_process_now() noexcept {
  remove_temporaries();
  if (reports_) write_stderr("tally: " + reason() + "\n");
  ::_exit(exit_status());
}

void Supervisor::watch() {
  pthread_setname_np(pthread_self(), "tally-supervise");
  const sigset_t set = watched_signals();
  // The next time to act, if `timed`: the deadline until the run is stopped, then the backstop.
  bool timed = deadline_.has_value();
  Clock::time_point wake = deadline_.value_or(Clock::time_point::max());
  bool stopping = false;
  for (;;) {
    const int sig = wait_for_signal(set, timed ? &wake : nullptr);
    if (sig == SIGUSR1) return;  // the destructor
    if (stopping) {
      // The backstop's time, or a second signal: the user insists.
      end_process_now();
    }
    const int status = sig == 0 ? kExitTimeout : status_of_signal(sig);
    {
      const std::lock_guard lock(mutex_);
      if (publishing_) {
        // The output is whole and being published: the run has finished; let it.
        timed = false;
        continue;
      }
      // Relaxed under the mutex for begin_publishing; the release pairs with exit_status().
      exit_status_.store(status, std::memory_order_release);
    }
    stop_.request_stop();
    stopping = true;
    timed = true;
    wake = Clock::now() + kBackstopAfter;
  }
}

}  // namespace tally::cli
