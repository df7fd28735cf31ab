// Reading benchmark reports: Google Benchmark JSON or a tally run report (see
// benchmark_report.hpp for what each becomes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tally/engine/status.hpp"
#include "tools/tally/compare/benchmark_report.hpp"

namespace tally::compare {

// Parses `text`, the contents of the file `path`. On failure the status message is
// "'<path>': <problem>", one line: malformed or truncated JSON, not a benchmark report, an
// empty benchmark list (or one with nothing left to compare, below), a run without numeric
// times, an unknown time unit, or repetitions of one benchmark that disagree on their time
// unit.
//
// Google Benchmark's JSON is read as its reporter writes it (src/json_reporter.cc), including
// the bare tokens NaN, Infinity and -Infinity it writes for non-finite numbers. Left out, as
// having nothing to compare:
//  - runs marked error_occurred (SkipWithError) or skipped (SkipWithMessage, from 1.8);
//  - complexity fits, the aggregates BigO and RMS that ->Complexity() adds (no real_time;
//    compare.py leaves them out too);
//  - runs whose real time is not finite; a CPU time that is not finite leaves the run
//    without one (compared on real time), and a counter that is not finite is dropped.
// A tally run report becomes the runs "split", "map", "merge", "finalize" and "total" (wall
// seconds, no CPU time); "total" carries the counters bytes_per_second, items_per_second
// (records) and peak_rss_bytes.
Result<BenchmarkReport> parse_report(std::string_view text, const std::string& path);

// The most a report may hold: a real one is kilobytes to a few megabytes, and the limit keeps
// an endless input (/dev/zero, a runaway pipe) from exhausting memory.
inline constexpr std::size_t kMaxReportBytes = std::size_t{256} << 20;
inline constexpr const char* kMaxReportSize = "256 MiB";

// Reads and parses the file `path`. Errors, like the above, name the file: missing or
// unreadable, a directory, larger than kMaxReportBytes (a regular file is refused from its
// size; any other is read up to the limit and no further), or no data at all (a device that
// gave nothing; a FIFO that no writer opened within 2 seconds: opening never blocks). A FIFO
// or pipe with its writer is read to its end however long that takes.
Result<BenchmarkReport> load_report(const std::string& path);

}  // namespace tally::compare
