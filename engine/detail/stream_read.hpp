// Reading inputs that cannot be mapped (pipes, FIFOs, character devices, stdin, small files)
// into memory, in a way that a stop request, a deadline and a memory cap can end at any time.
//
// Every wait is a poll(2) in slices of at most kPollSlice, so a FIFO whose writer never comes
// and a pipe whose writer goes quiet still see a stop request or a deadline within a slice.
// EINTR is re-issued and EAGAIN (a descriptor in non-blocking mode) waits for readiness; both
// are counted. open(2) failing with a transient error (EINTR, EAGAIN, ENFILE, EMFILE) is
// retried with backoff through retry() (retry.hpp).
//
// Thread safety: a ReadControl belongs to the one thread that opens the inputs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "tally/engine/detail/held_bytes.hpp"
#include "tally/engine/status.hpp"

namespace tally::detail {

inline constexpr std::chrono::milliseconds kPollSlice{100};

struct ReadControl {
  std::stop_token stop{};
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  // The most bytes all read and decoded inputs together may hold; 0: no cap.
  std::uint64_t max_held_bytes = 0;
  // Bytes held so far by the inputs already read.
  std::uint64_t held_bytes = 0;
  // EINTR and EAGAIN seen (and waited out), and open() attempts retried.
  std::uint64_t transient_retries = 0;
  // Mapped files that kept a descriptor for Inputs::read_at (input.cpp caps them).
  std::size_t kept_descriptors = 0;

  // kCancelled or kDeadlineExceeded naming `path` when the read must end now; else OK.
  Status interrupted(std::string_view path) const;
  // kResourceExhausted naming `path` when `more` bytes held by it would pass the cap.
  Status check_cap(std::string_view path, std::uint64_t more) const;
  // The bytes the cap still allows beyond held_bytes (0 once reached). REQUIRES: a cap.
  std::uint64_t room() const noexcept {
    return max_held_bytes > held_bytes ? max_held_bytes - held_bytes : 0;
  }
};

// "'<path>'", for messages.
std::string quoted(std::string_view path);
// "cannot <verb> '<path>': <strerror(err)>", kNotFound for ENOENT, kIoError otherwise.
Status errno_status(std::string_view verb, std::string_view path, int err);

// Opens `path` read-only (close-on-exec, never as our controlling terminal), adding `flags`;
// retries transient failures. The descriptor, or -1 with the status that ends the open.
int open_for_reading(const char* path, int flags, ReadControl& control, Status& status);

// Reads fd until end of file into `out`.
Status read_to_end(int fd, std::string_view path, ReadControl& control, HeldBytes& out);

}  // namespace tally::detail
