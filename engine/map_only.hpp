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

 private:
  std::string& buffer_;
  char delimiter_;
};

template <typename J>
concept MapOnlyJob = requires(const J& job, Record rec, RecordSink& out) {
  {job.map(rec, out)};
};

struct MapOnlyOptions {
  bool ordered = true;
  // Splits in flight at once; 0 picks 4 x workers. Bounds the reorder buffer.
  std::size_t max_pending = 0;
  std::uint64_t split_bytes = 0;  // 0: as RunOptions
  // How the inputs are cut into records (lines by default); its delimiter also ends each
  // output record. With records.numbered, Record::number is each record's line number.
  RecordLayout records{};
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  std::stop_token stop{};
};

using ChunkSink = std::function<Status(std::string_view chunk)>;

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
    if (Status s = detail::for_each_record(inputs, plan, plan.splits[k], options.records, nullptr,
                                           stop, &n, [&](const Record& rec) { job.map(rec, rs); });
        !s.ok()) {
      return s;
    }
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
