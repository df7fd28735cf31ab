// Reading benchmark reports: Google Benchmark JSON or a tally run report (see
// benchmark_report.hpp for what each becomes).
#pragma once

#include <string>
#include <string_view>

#include "tally/engine/status.hpp"
#include "tools/tally/compare/benchmark_report.hpp"

namespace tally::compare {

// Parses `text`, the contents of the file `path`. On failure the status message is
// "'<path>': <problem>", one line: malformed or truncated JSON, not a benchmark report, an
// empty benchmark list, a run without numeric times, an unknown time unit, or repetitions of
// one benchmark that disagree on their time unit.
//
// Runs that Google Benchmark marked error_occurred carry no valid times and are left out.
// A tally run report becomes the runs "split", "map", "merge", "finalize" and "total" (wall
// seconds, no CPU time); "total" carries the counters bytes_per_second, items_per_second
// (records) and peak_rss_bytes.
Result<BenchmarkReport> parse_report(std::string_view text, const std::string& path);

// Reads and parses the file `path`; a missing or unreadable file is an error like the above.
Result<BenchmarkReport> load_report(const std::string& path);

}  // namespace tally::compare
