#include "tally/engine/detail/stream_read.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include "tally/engine/retry.hpp"

namespace tally::detail {
namespace {

// Bytes per read(2): large enough that a fast source costs few system calls, small enough
// that the limits are checked often.
constexpr std::size_t kReadBytes = std::size_t{4} << 20;

bool transient_open_error(int err) {
  return err == EINTR || err == EAGAIN || err == ENFILE || err == EMFILE;
}

// Waits until fd has bytes, an end of file or an error to report; the status that ends the
// wait early (a stop, the deadline), else OK.
Status wait_readable(int fd, std::string_view path, const ReadControl& control) {
  for (;;) {
    if (Status s = control.interrupted(path); !s.ok()) return s;
    auto slice = kPollSlice;
    if (control.deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          *control.deadline - std::chrono::steady_clock::now());
      slice = std::clamp(left, std::chrono::milliseconds(0), kPollSlice);
    }
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(slice.count()));
    if (n > 0) return Status::Ok();  // POLLIN, POLLHUP or POLLERR: read() says which
    if (n < 0 && errno != EINTR) return errno_status("read", path, errno);
  }
}

}  // namespace

std::string quoted(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 2);
  out += '\'';
  out += path;
  out += '\'';
  return out;
}

Status errno_status(std::string_view verb, std::string_view path, int err) {
  std::string msg = "cannot ";
  msg += verb;
  msg += ' ';
  msg += quoted(path);
  msg += ": ";
  msg += std::generic_category().message(err);  // strerror's text, without its thread hazard
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  return Status::IoError(std::move(msg));
}

Status ReadControl::interrupted(std::string_view path) const {
  if (stop.stop_requested()) return Status::Cancelled("stopped while reading " + quoted(path));
  if (deadline && std::chrono::steady_clock::now() >= *deadline) {
    return Status::DeadlineExceeded("deadline passed while reading " + quoted(path));
  }
  return Status::Ok();
}

Status ReadControl::check_cap(std::string_view path, std::uint64_t more) const {
  if (max_held_bytes == 0 || held_bytes + more <= max_held_bytes) return Status::Ok();
  return Status::ResourceExhausted(
      "input " + quoted(path) + " does not fit in the " + std::to_string(max_held_bytes) +
      " bytes that inputs read into memory may hold (pass a large input as a file, which is "
      "mapped instead)");
}

int open_for_reading(const char* path, int flags, ReadControl& control, Status& status) {
  int fd = -1;
  int attempts = 0;
  status = retry(
      RetryPolicy{.max_attempts = 5},
      [&]() -> Status {
        if (attempts++ > 0) ++control.transient_retries;
        fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | flags);
        if (fd >= 0) return Status::Ok();
        const int err = errno;
        Status s = errno_status("open", path, err);
        if (transient_open_error(err)) return Status::Unavailable(s.message());
        return s;
      },
      control.stop, std::mt19937_64{std::random_device{}()}, control.deadline);
  if (!status.ok()) {
    // A transient error that outlasted its retries is still an I/O error to the caller.
    if (status.code() == StatusCode::kUnavailable) status = Status::IoError(status.message());
    return -1;
  }
  return fd;
}

Status read_to_end(int fd, std::string_view path, ReadControl& control, HeldBytes& out) {
  for (;;) {
    if (Status s = wait_readable(fd, path, control); !s.ok()) return s;
    std::uint64_t want = kReadBytes;
    if (control.max_held_bytes != 0) {
      // At most one byte past the cap: enough to learn that the input does not fit.
      const std::uint64_t room = control.room();
      want = std::min(want, (room > out.size() ? room - out.size() : 0) + 1);
    }
    if (out.room() < want && !out.reserve_more(static_cast<std::size_t>(want))) {
      return errno_status("read", path, errno);
    }
    const ssize_t n = ::read(fd, out.tail(), static_cast<std::size_t>(want));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
        ++control.transient_retries;
        continue;
      }
      return errno_status("read", path, errno);
    }
    if (n == 0) return Status::Ok();
    out.commit(static_cast<std::size_t>(n));
    if (Status s = control.check_cap(path, out.size()); !s.ok()) return s;
  }
}

}  // namespace tally::detail
