#include "tools/tally/perf_control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <system_error>

namespace tally::cli {
namespace {

// strerror's text, without strerror's shared buffer.
std::string errno_text(int err) { return std::generic_category().message(err); }

// Writes all of `bytes` to `fd` without dying of SIGPIPE when the reader (perf) has gone:
// SIGPIPE is blocked on this thread for the write, and one it raised is taken back, so the
// write fails with EPIPE instead. The process-wide disposition is left alone, so that
// `tally wordcount | head` still ends quietly on the SIGPIPE of its stdout.
int write_without_sigpipe(int fd, std::string_view bytes) {
  sigset_t pipe_only;
  sigset_t old_mask;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;

  int err = 0;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == EPIPE && !was_pending) {
    const timespec no_wait{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return err;
}

}  // namespace

std::optional<PerfPhases> parse_perf_phases(std::string_view name) noexcept {
  if (name == "map") return PerfPhases::kMap;
  if (name == "merge") return PerfPhases::kMerge;
  if (name == "finalize") return PerfPhases::kFinalize;
  if (name == "all") return PerfPhases::kAll;
  if (name == "each") return PerfPhases::kEach;
  return std::nullopt;
}

Status PerfControl::check_descriptors(int ctl_fd, int ack_fd) {
  const auto check = [](int fd, const char* option, int wanted) -> Status {
    const int flags = fd < 0 ? -1 : ::fcntl(fd, F_GETFL);
    if (flags < 0) {
      return Status::InvalidArgument(std::string(option) + " " + std::to_string(fd) +
                                     ": not an open file descriptor");
    }
    const int mode = flags & O_ACCMODE;
    if (mode != O_RDWR && mode != wanted) {
      return Status::InvalidArgument(std::string(option) + " " + std::to_string(fd) +
                                     ": not open for " +
                                     (wanted == O_WRONLY ? "writing" : "reading"));
    }
    return Status::Ok();
  };
  if (Status s = check(ctl_fd, "--perf-ctl-fd", O_WRONLY); !s.ok()) return s;
  if (ack_fd != -1) return check(ack_fd, "--perf-ack-fd", O_RDONLY);
  return Status::Ok();
}

void PerfControl::on_phase(Phase phase, bool starting) noexcept {
  bool selected = false;
  switch (phases_) {
    case PerfPhases::kMap:
      selected = phase == Phase::kMap;
      break;
    case PerfPhases::kMerge:
      selected = phase == Phase::kMerge;
      break;
    case PerfPhases::kFinalize:
      selected = phase == Phase::kFinalize;
      break;
    case PerfPhases::kEach:
      selected = true;
      break;
    case PerfPhases::kAll:
      selected = starting ? phase == Phase::kSplit : phase == Phase::kFinalize;
      break;
  }
  if (!selected) return;
  if (starting && !enabled_) send("enable\n");
  if (!starting && enabled_) send("disable\n");
}

void PerfControl::finish() noexcept {
  if (enabled_) send("disable\n");
}

void PerfControl::send(std::string_view command) noexcept {
  // Flip the state first: after a failure nothing more is sent, and finish() must not retry.
  enabled_ = command == "enable\n";
  if (!status_.ok()) return;
  status_ = write_command(command);
  if (status_.ok() && ack_fd_ != -1) status_ = wait_for_ack();
}

Status PerfControl::write_command(std::string_view command) const {
  if (const int err = write_without_sigpipe(ctl_fd_, command); err != 0) {
    return Status::IoError("cannot write to --perf-ctl-fd " + std::to_string(ctl_fd_) + ": " +
                           errno_text(err));
  }
  return Status::Ok();
}

Status PerfControl::wait_for_ack() {
  const auto deadline = std::chrono::steady_clock::now() + ack_timeout_;
  for (;;) {
    // perf writes nothing but acks on this descriptor: any other line means it is not
    // perf's ack descriptor (or not perf), and waiting longer would not help.
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      const std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (line == "ack") return Status::Ok();
      return Status::IoError("--perf-ack-fd " + std::to_string(ack_fd_) +
                             ": expected perf's \"ack\", got \"" + line.substr(0, 40) + "\"");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status::DeadlineExceeded("no ack on --perf-ack-fd " + std::to_string(ack_fd_) +
                                      " within " + std::to_string(ack_timeout_.count()) + " ms");
    }
    // Rounded up: poll's milliseconds must not end the wait before the deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd p{ack_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      return Status::IoError("cannot poll --perf-ack-fd: " + errno_text(errno));
    }
    if (ready <= 0) continue;
    char buf[256];
    const ssize_t n = ::read(ack_fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::IoError("cannot read --perf-ack-fd " + std::to_string(ack_fd_) + ": " +
                             errno_text(errno));
    }
    if (n == 0) {
      return Status::IoError("--perf-ack-fd " + std::to_string(ack_fd_) +
                             " was closed before perf acknowledged");
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\0') pending_ += buf[i];  // perf ends each ack with a NUL
    }
  }
}

}  // namespace tally::cli
