// Skipping bad records (Hadoop's skip mode): a run may skip up to a limit of records whose
// map() throws, handing each to a dead-letter callback, instead of failing.
//
//   std::vector<tally::BadRecord> dead;
//   auto result = engine.run(job, inputs, {.max_bad_records = 100,
//       .on_bad_record = [&](const tally::BadRecord& r) { dead.push_back(r); }});
//
// What counts as bad: map() threw a std::exception that Status::FromException turns into
// kInvalidArgument (a StatusError carrying it: the record is malformed) or kInternal (any
// other exception). Out of memory, a spent memory budget, a stop, a deadline and a shrunken
// input are the run's failures, never a record's: they fail the run whatever the limit.
//
// A skipped record leaves no trace in the result: with max_bad_records > 0, what map()
// emits for a record is held back until map() returns, and dropped if it throws. The run
// fails with the record's error once more than max_bad_records records were bad: the
// (max_bad_records + 1)-th bad record is the failure, with "more than N bad records" added.
//
// Thread safety: on_bad_record is called from the map tasks, one call at a time (under a
// lock), in no particular order across splits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>

#include "tally/engine/status.hpp"

namespace tally {

struct BadRecord {
  std::string input;         // the input's name (path)
  std::uint64_t offset = 0;  // of the record's first byte, within the input
  std::uint64_t number = 0;  // 1-based record (line) number when the run numbers records
  std::string error;         // the exception's message
};

using BadRecordSink = std::function<void(const BadRecord&)>;

namespace detail {

// Counts the bad records of one run against its limit, and hands them to its sink.
class BadRecordLimit {
 public:
  BadRecordLimit(std::uint64_t max, const BadRecordSink& sink) : max_(max), sink_(sink) {}

  bool skipping() const noexcept { return max_ != 0; }
  std::uint64_t limit() const noexcept { return max_; }

  // Whether `error` (from map()) may be skipped at all (see the top of this file).
  static bool skippable(const Status& error) noexcept {
    return error.code() == StatusCode::kInvalidArgument || error.code() == StatusCode::kInternal;
  }

  // Counts one bad record: true if it is skipped (within the limit, handed to the sink),
  // false if it is one too many. REQUIRES: skippable(record.error's status).
  bool skip(const BadRecord& record) {
    // Relaxed: the count is only compared with the limit; the sink's lock orders the calls.
    if (count_.fetch_add(1, std::memory_order_relaxed) >= max_) return false;
    if (sink_) {
      std::lock_guard lock(mutex_);
      sink_(record);
    }
    return true;
  }

  // Records skipped (not counting the one that failed the run, if any).
  std::uint64_t skipped() const noexcept {
    const std::uint64_t n = count_.load(std::memory_order_relaxed);  // read after the joins
    return n < max_ ? n : max_;
  }

 private:
  const std::uint64_t max_;
  const BadRecordSink& sink_;
  std::atomic<std::uint64_t> count_{0};
  std::mutex mutex_;
};

}  // namespace detail
}  // namespace tally
