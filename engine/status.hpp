// Status: how the engine reports failure at its edges, as a value (LevelDB's Status, abseil's
// absl::Status). g++ 12 has no std::expected, so Result<T> below plays that part.
//
// A Status is cheap when OK (one enum) and carries, when not OK, a code, a human message that
// names what failed and why, and optionally the exception that caused it (an exception thrown
// by user code in a task is kept, so a caller can rethrow it with its original type).
//
//   tally::Status s = group.wait();
//   if (!s.ok()) std::cerr << "tally: " << s.to_string() << "\n";
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tally {

enum class StatusCode {
  kOk,
  kCancelled,          // stop was requested (Ctrl-C, a caller, or a failing sibling)
  kDeadlineExceeded,   // a deadline passed before the work finished
  kInvalidArgument,    // bad input from the caller
  kNotFound,           // a named input does not exist
  kIoError,            // reading or writing failed
  kUnavailable,        // transient: worth retrying (see retry.hpp)
  kResourceExhausted,  // out of a budget (memory, open files, disk space)
  kDataLoss,           // data the run wrote and read back came back damaged (a spill file)
  kInternal,           // a bug, or an exception of unknown meaning from user code
};

std::string_view to_string(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(StatusCode code, std::string message, std::exception_ptr cause = nullptr)
      : code_(code), message_(std::move(message)), cause_(std::move(cause)) {}

  static Status Ok() noexcept { return Status(); }
  static Status Cancelled(std::string message) {
    return {StatusCode::kCancelled, std::move(message)};
  }
  static Status DeadlineExceeded(std::string message) {
    return {StatusCode::kDeadlineExceeded, std::move(message)};
  }
  static Status InvalidArgument(std::string message) {
    return {StatusCode::kInvalidArgument, std::move(message)};
  }
  static Status NotFound(std::string message) {
    return {StatusCode::kNotFound, std::move(message)};
  }
  static Status IoError(std::string message) { return {StatusCode::kIoError, std::move(message)}; }
  static Status Unavailable(std::string message) {
    return {StatusCode::kUnavailable, std::move(message)};
  }
  static Status ResourceExhausted(std::string message) {
    return {StatusCode::kResourceExhausted, std::move(message)};
  }
  static Status DataLoss(std::string message) {
    return {StatusCode::kDataLoss, std::move(message)};
  }
  static Status Internal(std::string message) {
    return {StatusCode::kInternal, std::move(message)};
  }

  // The status for an exception caught from user code: the Status a StatusError carries;
  // kResourceExhausted for std::bad_alloc; otherwise kInternal with the exception's what()
  // (or "unknown exception"). The exception itself is kept as the cause.
  static Status FromException(std::exception_ptr e);

  bool ok() const noexcept { return code_ == StatusCode::kOk; }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // The exception behind this status, if user code threw one; null otherwise.
  const std::exception_ptr& cause() const noexcept { return cause_; }
  // Whether retrying the same operation might succeed (retry() retries only these).
  bool is_transient() const noexcept { return code_ == StatusCode::kUnavailable; }

  // "OK", or "<code>: <message>", e.g. "deadline exceeded: job ran past 30s".
  std::string to_string() const;

  // A copy whose message is prefixed with context: "reading 'a.txt': <message>".
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::exception_ptr cause_;
};

// An exception that carries a Status, for the places where a failure must cross code that
// reports by exception (a job's map() calling into the engine, a memory budget charged deep
// inside a table). Status::FromException turns it back into the Status it carries.
class StatusError : public std::exception {
 public:
  explicit StatusError(Status status) : status_(std::move(status)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const Status& status() const noexcept { return status_; }

 private:
  Status status_;
};

// A value or the Status that explains its absence (abseil StatusOr, C++23 std::expected).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(v_).ok()) {
      v_.template emplace<1>(Status::Internal("Result constructed from an OK status"));
    }
  }

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tally
