// for_each_record: the map loop shared by every kind of job. Walks one split's records,
// calls fn(Record) for each, checks for a stop request and for a shrunken input (see
// Inputs::shrank) every kRecordsPerStopCheck records and after each segment, and turns an
// exception from fn into a Status naming the input and the record's offset.
#pragma once

#include <cstdint>
#include <exception>
#include <stop_token>
#include <string>
#include <string_view>

#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/status.hpp"

namespace tally::detail {

// Checked between records: often enough that a stop is seen within microseconds, rarely
// enough that the checks (a relaxed load each) cost nothing measurable.
inline constexpr std::uint64_t kRecordsPerStopCheck = 1024;

// On success, *records_out is the number of records seen.
template <typename Fn>
Status for_each_record(const Inputs& inputs, const SplitPlan& plan, const Split& split,
                       char delimiter, const std::stop_token& stop, std::uint64_t* records_out,
                       Fn&& fn) {
  std::uint64_t records = 0;
  for (const Segment& seg : plan.segments_of(split)) {
    const std::string_view data = inputs.data(seg.input);
    std::uint64_t pos = seg.begin;
    try {
      while (pos < seg.end) {
        if (records % kRecordsPerStopCheck == 0) {
          if (stop.stop_requested()) return Status::Cancelled("map task stopped");
          // Its pages past the new end now read as zeros: stop rather than map them.
          if (inputs.shrank(seg.input)) return inputs.check_intact();
        }
        const std::size_t d = data.find(delimiter, pos);
        const std::uint64_t end = d == std::string_view::npos || d >= seg.end ? seg.end : d;
        fn(Record{data.substr(pos, end - pos), seg.input, pos});
        ++records;
        pos = end + 1;
      }
    } catch (...) {
      return Status::FromException(std::current_exception())
          .with_context("input '" + inputs.name(seg.input) + "' at byte offset " +
                        std::to_string(pos));
    }
    // Also after the segment: a shrink found by its last records (one long run of zeros is a
    // single record) fails this split, not only the run's final check.
    if (inputs.shrank(seg.input)) return inputs.check_intact();
  }
  *records_out = records;
  return Status::Ok();
}

}  // namespace tally::detail
