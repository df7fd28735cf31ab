// number_records: gives every segment of a plan of delimited records the number of its first
// record (Segment::first_record), so that map tasks can number records (Record::number)
// without reading what comes before their split. One parallel pass counts the delimiters of
// every segment; a prefix sum per input turns the counts into first numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tally/engine/count_byte.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/scheduler.hpp"

namespace tally::detail {

// The records in one segment: its delimiters, plus the input's last record if it has none.
inline std::uint64_t records_in(std::string_view input, const Segment& seg, char delimiter) {
  std::uint64_t n = count_byte(input.substr(seg.begin, seg.end - seg.begin), delimiter);
  if (seg.end == input.size() && seg.end > seg.begin && input[seg.end - 1] != delimiter) ++n;
  return n;
}

// REQUIRES: `plan` was cut from `inputs` with this delimited layout. Fixed-size records need
// no pass: their numbers follow from their offsets (for_each_record).
inline void number_records(const Inputs& inputs, SplitPlan& plan, const RecordLayout& layout,
                           Scheduler& scheduler) {
  if (layout.fixed_bytes != 0) return;
  std::vector<std::uint64_t> counts(plan.segments.size());
  parallel_for_each_index(scheduler, plan.segments.size(), [&](std::size_t i) {
    const Segment& seg = plan.segments[i];
    counts[i] = records_in(inputs.data(seg.input), seg, layout.delimiter);
  });
  std::size_t input = plan.segments.empty() ? 0 : plan.segments.front().input;
  std::uint64_t next = 1;
  for (std::size_t i = 0; i < plan.segments.size(); ++i) {
    Segment& seg = plan.segments[i];
    if (seg.input != input) {
      input = seg.input;
      next = 1;
    }
    seg.first_record = next;
    next += counts[i];
  }
}

}  // namespace tally::detail
