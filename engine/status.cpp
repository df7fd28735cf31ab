#include "tally/engine/status.hpp"

#include <exception>
#include <new>
#include <string>

namespace tally {

std::string_view to_string(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kDeadlineExceeded:
      return "deadline exceeded";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kIoError:
      return "I/O error";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kResourceExhausted:
      return "resource exhausted";
    case StatusCode::kDataLoss:
      return "data loss";
    case StatusCode::kInternal:
      return "internal error";
  }
  return "unknown status";
}

Status Status::FromException(std::exception_ptr e) {
  std::string what = "unknown exception";
  try {
    if (e) std::rethrow_exception(e);
  } catch (const StatusError& ex) {
    return {ex.status().code(), ex.status().message(), std::move(e)};
  } catch (const std::bad_alloc&) {
    return {StatusCode::kResourceExhausted, "out of memory", std::move(e)};
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
    // Not derived from std::exception: nothing more to say than that it was thrown.
  }
  return {StatusCode::kInternal, "exception: " + what, std::move(e)};
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string out(tally::to_string(code_));
  if (!message_.empty()) out += ": " + message_;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  return {code_, std::string(context) + ": " + message_, cause_};
}

}  // namespace tally
