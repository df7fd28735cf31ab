// Fuzz target for tally::plan_splits (engine/input.hpp, engine/split_plan.cpp).
//
// Oracle, from input.hpp and split_plan.cpp's policy, on a few in-memory inputs cut from the
// fuzz data with a fuzzed delimiter and target_bytes:
//  1. segments tile every input exactly: for each input in order, its segments are non-empty,
//     consecutive, start at 0 and end at its size; an empty input has none;
//  2. every segment starts at its input's start or just after a delimiter, and ends just after
//     a delimiter or at its input's end; so every record (a run ending with the delimiter or
//     at the input's end) lies in exactly one segment;
//  3. splits are non-empty, consecutive and cover every segment once; a split's bytes are its
//     segments' lengths summed; within a split each input has at most one segment;
//  4. a split is at most target_bytes long, unless it is one segment holding one record;
//  5. greedy: no split could also have taken its successor's first record within target_bytes;
//  6. the plan is deterministic.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/input.hpp"
#include "tests/fuzz/support/fuzz_check.hpp"

namespace {

constexpr std::size_t kMaxInputs = 6;

// The length of the record that starts at `pos` of `data`: up to and including the next
// delimiter, or to the end.
std::uint64_t record_length(std::string_view data, std::uint64_t pos, char delim) {
  const std::size_t next = data.find(delim, static_cast<std::size_t>(pos));
  return (next == std::string_view::npos ? data.size() : next + 1) - pos;
}

bool same_plan(const tally::SplitPlan& a, const tally::SplitPlan& b) {
  if (a.segments.size() != b.segments.size() || a.splits.size() != b.splits.size()) return false;
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    const tally::Segment& x = a.segments[i];
    const tally::Segment& y = b.segments[i];
    if (x.input != y.input || x.begin != y.begin || x.end != y.end) return false;
  }
  for (std::size_t i = 0; i < a.splits.size(); ++i) {
    const tally::Split& x = a.splits[i];
    const tally::Split& y = b.splits[i];
    if (x.first != y.first || x.last != y.last || x.bytes != y.bytes) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  // Mostly '\n' and small targets, where records and splits interact most.
  const char delim = fdp.ConsumeBool() ? '\n' : fdp.ConsumeIntegral<char>();
  std::uint64_t target = 0;
  switch (fdp.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      target = fdp.ConsumeIntegralInRange<std::uint64_t>(0, 16);
      break;
    case 1:
      target = fdp.ConsumeIntegralInRange<std::uint64_t>(0, 256);
      break;
    case 2:
      target = fdp.ConsumeIntegral<std::uint64_t>();
      break;
    default:
      target = fdp.ConsumeIntegralInRange<std::uint64_t>(0, 4096);
      break;
  }
  const auto count = fdp.ConsumeIntegralInRange<std::size_t>(1, kMaxInputs);
  std::vector<std::pair<std::string, std::string>> named;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t length =
        i + 1 == count ? fdp.remaining_bytes()
                       : fdp.ConsumeIntegralInRange<std::size_t>(0, fdp.remaining_bytes());
    named.emplace_back("input" + std::to_string(i), fdp.ConsumeBytesAsString(length));
  }

  tally::Inputs inputs = tally::Inputs::buffers(std::move(named));
  TALLY_FUZZ_CHECK(inputs.open().ok(), "buffers always open");
  const tally::SplitOptions options{.target_bytes = target, .records = {.delimiter = delim}};
  const tally::SplitPlan plan = tally::plan_splits(inputs, options);
  const std::uint64_t effective_target = target == 0 ? 1 : target;  // "at least 1"

  // 1 and 2: the segments, input by input.
  std::size_t s = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view bytes = inputs.data(i);
    std::uint64_t pos = 0;
    for (; s < plan.segments.size() && plan.segments[s].input == i; ++s) {
      const tally::Segment& seg = plan.segments[s];
      TALLY_FUZZ_CHECK(seg.begin == pos, "an input's segments are consecutive from 0");
      TALLY_FUZZ_CHECK(seg.end > seg.begin, "no empty segment");
      TALLY_FUZZ_CHECK(seg.end <= bytes.size(), "a segment ends inside its input");
      TALLY_FUZZ_CHECK(seg.begin == 0 || bytes[seg.begin - 1] == delim,
                       "a segment starts at a record's start");
      TALLY_FUZZ_CHECK(seg.end == bytes.size() || bytes[seg.end - 1] == delim,
                       "a segment ends at a record's end");
      pos = seg.end;
    }
    TALLY_FUZZ_CHECK(pos == bytes.size(), "an input's segments end at its end");
  }
  TALLY_FUZZ_CHECK(s == plan.segments.size(), "segments are in input order, inputs exist");

  // 3, 4, 5: the splits.
  std::size_t next_segment = 0;
  for (std::size_t k = 0; k < plan.splits.size(); ++k) {
    const tally::Split& split = plan.splits[k];
    TALLY_FUZZ_CHECK(split.first == next_segment, "splits are consecutive");
    TALLY_FUZZ_CHECK(split.last > split.first, "no empty split");
    TALLY_FUZZ_CHECK(split.last <= plan.segments.size(), "a split's segments exist");
    next_segment = split.last;
    std::uint64_t bytes = 0;
    const auto segments = plan.segments_of(split);
    for (std::size_t j = 0; j < segments.size(); ++j) {
      bytes += segments[j].end - segments[j].begin;
      TALLY_FUZZ_CHECK(j == 0 || segments[j].input > segments[j - 1].input,
                       "one segment per input in a split");
    }
    TALLY_FUZZ_CHECK(split.bytes == bytes, "a split's bytes are its segments' lengths");
    if (bytes > effective_target) {
      const tally::Segment& only = segments.front();
      TALLY_FUZZ_CHECK(segments.size() == 1, "an oversized split has one segment");
      TALLY_FUZZ_CHECK(
          record_length(inputs.data(only.input), only.begin, delim) == only.end - only.begin,
          "an oversized split holds one record");
    }
    if (k + 1 < plan.splits.size()) {
      const tally::Segment& first = plan.segments[split.last];
      const std::uint64_t next_record = record_length(inputs.data(first.input), first.begin, delim);
      TALLY_FUZZ_CHECK(bytes + next_record > effective_target,
                       "a split closes only when its successor's first record does not fit");
    }
  }
  TALLY_FUZZ_CHECK(next_segment == plan.segments.size(), "splits cover every segment");

  // 6.
  TALLY_FUZZ_CHECK(same_plan(plan, tally::plan_splits(inputs, options)), "plans are deterministic");
  return 0;
}
