// Map-only jobs: map() turns records into output records, with no keys and no reduction
// (grep, format conversion, filtering). The output goes to a sink in input order (ordered)
// or as soon as each split is done (unordered).
//
//   struct Grep {
//     std::string_view needle;
//     void map(tally::Record rec, tally::RecordSink& out) const {
//       if (rec.bytes.find(needle) != std::string_view::npos) out.emit(rec.bytes);
//     }
//   };
//   auto report = tally::run_map_only(engine, Grep{"error"}, inputs,
//       [](std::string_view chunk) { std::fwrite(chunk.data(), 1, chunk.size(), stdout);
//                                    return tally::Status::Ok(); },
//       {.ordered = true});
//
// A job maps one record at a time (map(Record, RecordSink&)), or a span of consecutive whole
// records at a time (map(RecordSpan, RecordSink&)): one call per segment of the plan, the
// records as one buffer with their delimiters. A job that looks for rare things (grep) then
// runs its search over the whole buffer and finds record boundaries only around what it
// found, instead of paying a call and a delimiter search per record. A job with both maps
// gets spans.
//
// Each map task collects its split's output in a buffer; the sink receives whole buffers,
// one call at a time (never concurrently). Ordered mode releases buffers in split order
// through a reorder buffer. Split k starts only when k < (splits released) + max_pending, so
// at most max_pending buffers are being filled or waiting: memory stays bounded however
// uneven the splits and however slow the sink. A sink that returns an error
// stops the run, and run_map_only returns that error. So does an input that shrinks while
// mapped (with install_sigbus_guard; kIoError naming it): the splits read from it stop, but
// chunks already handed to the sink are not taken back.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "tally/engine/detail/record_numbers.hpp"
#include "tally/engine/detail/records.hpp"
#include "tally/engine/engine.hpp"

namespace tally {

// Where a map-only job's map() writes: each emit() appends one output record and the
// delimiter ('\n' unless MapOnlyOptions says otherwise).
class RecordSink {
 public:
  RecordSink(std::string& buffer, char delimiter) : buffer_(buffer), delimiter_(delimiter) {}
  void emit(std::string_view record) {
    buffer_.append(record);
    buffer_.push_back(delimiter_);
  }
  // Appends bytes with no delimiter: to build one output record in pieces (a prefix, then
  // emit() of the rest) without copying them together first.
  void write(std::string_view bytes) { buffer_.append(bytes); }

 private:
  std::string& buffer_;
  char delimiter_;
};

// Consecutive whole records of one input, as one buffer: what a job that maps spans gets
// (see the top of this file). Each record keeps its delimiter, except an input's last record
// when the input does not end with one. Never empty.
struct RecordSpan {
  std::string_view bytes;
  std::size_t input = 0;     // index of the input it belongs to
  std::uint64_t offset = 0;  // byte offset of its first byte within that input
  // The number (1-based, within its input) of its first record when the run numbers records
  // (RecordLayout::numbered); 0 otherwise.
  std::uint64_t first_number = 0;
};

template <typename J>
concept MapsRecordSpans = requires(const J& job, RecordSpan span, RecordSink& out) {
  {job.map(span, out)};
};

template <typename J>
concept MapOnlyJob = MapsRecordSpans<J> || requires(const J& job, Record rec, RecordSink& out) {
  {job.map(rec, out)};
};

struct MapOnlyOptions {
  bool ordered = true;
  // Splits in flight at once; 0 picks 4 x workers. Bounds the reorder buffer.
  std::size_t max_pending = 0;
  std::uint64_t split_bytes = 0;  // 0: as RunOptions
  // How the inputs are cut into records (lines by default); its delimiter also ends each
  // output record. With records.numbered, Record::number is each record's line number (and
  // RecordSpan::first_number that of a span's first record).
  RecordLayout records{};
  // A job that maps spans sees a stop request or the deadline between spans (a span is at
  // most about split_bytes, plus one record). RunReport::records_in counts its records only
  // when the run numbers them: otherwise the engine never looks at their boundaries.
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  std::stop_token stop{};
};

using ChunkSink = std::function<Status(std::string_view chunk)>;

namespace detail {

// The records in span `index` of `plan` (its segment), for the report: fixed-size records
// always; delimited ones only when the plan is numbered (from the next segment's first
// number, or, for an input's last segment, a count of its delimiters), else 0.
inline std::uint64_t span_records(const Inputs& inputs, const SplitPlan& plan, std::size_t index,
                                  const RecordLayout& layout) {
  const Segment& seg = plan.segments[index];
  if (layout.fixed_bytes != 0) return (seg.end - seg.begin) / layout.fixed_bytes;
  if (!layout.numbered) return 0;
  if (index + 1 < plan.segments.size() && plan.segments[index + 1].input == seg.input) {
    return plan.segments[index + 1].first_record - seg.first_record;
  }
  return records_in(inputs.data(seg.input), seg, layout.delimiter);
}

// The map loop of a job that maps spans: one call per segment of `split`, with the checks
// for_each_record makes (a stop request, a shrunken input) between calls, and an exception
// from fn turned into a Status naming the input and the span's byte range.
template <typename Fn>
Status for_each_span(const Inputs& inputs, const SplitPlan& plan, const Split& split,
                     const RecordLayout& layout, const std::stop_token& stop,
                     std::uint64_t* records_out, Fn&& fn) {
  std::uint64_t records = 0;
  for (std::size_t i = split.first; i < split.last; ++i) {
    const Segment& seg = plan.segments[i];
    if (stop.stop_requested()) return Status::Cancelled("map task stopped");
    if (inputs.shrank(seg.input)) return inputs.check_intact();
    std::uint64_t first = 0;
    if (layout.numbered) {
      first = layout.fixed_bytes != 0 ? (seg.begin - layout.header_bytes) / layout.fixed_bytes + 1
                                      : seg.first_record;
    }
    try {
      fn(RecordSpan{inputs.data(seg.input).substr(seg.begin, seg.end - seg.begin), seg.input,
                    seg.begin, first});
    } catch (...) {
      return Status::FromException(std::current_exception())
          .with_context("input '" + inputs.name(seg.input) + "' (the records from byte offset " +
                        std::to_string(seg.begin) + " to " + std::to_string(seg.end) + ")");
    }
    // Its pages past the new end read as zeros: what was found there must not count.
    if (inputs.shrank(seg.input)) return inputs.check_intact();
    records += span_records(inputs, plan, i, layout);
  }
  *records_out = records;
  return Status::Ok();
}

}  // namespace detail

template <MapOnlyJob J>
Result<RunReport> run_map_only(Engine& engine, const J& job, Inputs& inputs, const ChunkSink& sink,
                               const MapOnlyOptions& options = {}) {
  using Clock = std::chrono::steady_clock;
  RunReport report;
  report.strategy = options.ordered ? "map-only ordered" : "map-only unordered";
  report.workers = engine.num_workers();
  auto t = Clock::now();
  Result<SplitPlan> planned = engine.plan(inputs, {.split_bytes = options.split_bytes,
                                                   .records = options.records,
                                                   .deadline = options.deadline,
                                                   .stop = options.stop});
  if (!planned.ok()) return planned.status();
  const SplitPlan& plan = *planned;
  report.inputs = inputs.size();
  report.input_retries = inputs.transient_retries();
  report.splits = plan.splits.size();
  report.bytes_in = inputs.total_bytes();
  report.split_seconds = std::chrono::duration<double>(Clock::now() - t).count();

  // Window: split k is started only once k < released + pending (ordered) or
  // k < finished + pending (unordered), so at most `pending` splits are running or waiting
  // in the reorder buffer, whatever the order in which they finish.
  const std::size_t pending = options.max_pending != 0 ? options.max_pending : 4 * report.workers;
  std::mutex mu;
  std::map<std::size_t, std::string> waiting;  // guarded by mu: finished, not yet released
  std::size_t released = 0;                    // guarded by mu: splits handed to the sink
  std::size_t finished = 0;                    // guarded by mu
  std::size_t spawned = 0;                     // guarded by mu
  std::uint64_t records = 0;                   // guarded by mu
  bool sink_failed = false;                    // guarded by mu: the sink is never called again

  t = Clock::now();
  TaskGroup group(engine.scheduler(), {.deadline = options.deadline, .parent = options.stop});
  std::function<void()> spawn_window;  // REQUIRES: mu held
  const auto map_split = [&](std::size_t k, const std::stop_token& stop) -> Status {
    std::string out;
    RecordSink rs(out, options.records.delimiter);
    std::uint64_t n = 0;
    Status mapped;
    if constexpr (MapsRecordSpans<J>) {
      mapped = detail::for_each_span(inputs, plan, plan.splits[k], options.records, stop, &n,
                                     [&](const RecordSpan& span) { job.map(span, rs); });
    } else {
      mapped = detail::for_each_record(inputs, plan, plan.splits[k], options.records, nullptr, stop,
                                       &n, [&](const Record& rec) { job.map(rec, rs); });
    }
    if (!mapped.ok()) return mapped;
    std::lock_guard lock(mu);
    records += n;
    ++finished;
    if (sink_failed) return Status::Cancelled("the sink failed");
    Status s = Status::Ok();
    if (!options.ordered) {
      if (!out.empty()) s = sink(out);
    } else {
      waiting.emplace(k, std::move(out));
      for (auto it = waiting.begin(); s.ok() && it != waiting.end() && it->first == released;
           it = waiting.erase(it), ++released) {
        if (!it->second.empty()) s = sink(it->second);
      }
    }
    if (s.ok()) {
      spawn_window();
    } else {
      // Record the sink's error as the run's outcome now, under the lock, before any other
      // task can see sink_failed and fail with a mere "cancelled".
      sink_failed = true;
      group.cancel(s);
    }
    return s;
  };
  spawn_window = [&] {
    const std::size_t base = options.ordered ? released : finished;
    for (; spawned < plan.splits.size() && spawned < base + pending; ++spawned) {
      group.spawn([&map_split, k = spawned](std::stop_token stop) { return map_split(k, stop); });
    }
  };
  {
    std::lock_guard lock(mu);
    spawn_window();
  }
  if (Status s = group.wait(); !s.ok()) return s;
  // After the wait, which joins every map task: a shrink seen on any worker is visible here.
  if (Status s = inputs.check_intact(); !s.ok()) return s;
  report.map_seconds = std::chrono::duration<double>(Clock::now() - t).count();
  report.records_in = records;
  report.peak_rss_bytes = peak_rss_bytes();
  return report;
}

}  // namespace tally
