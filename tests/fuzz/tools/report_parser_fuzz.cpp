// Fuzz target for the report parser of `tally compare` (tools/tally/compare/report_parser.hpp).
//
// Oracle: on any bytes, parse_report returns (no crash, uncaught exception, leak or UB); a
// report it accepts has the path it was given and at least one run, and every run has a
// time unit the comparison can convert (nanoseconds_per), as benchmark_report.hpp promises.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/support/fuzz_check.hpp"
#include "tools/tally/compare/benchmark_report.hpp"
#include "tools/tally/compare/report_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = "fuzz.json";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto report = tally::compare::parse_report(text, path);
  if (!report.ok()) return 0;
  TALLY_FUZZ_CHECK(report->path == path, "a report keeps its path");
  TALLY_FUZZ_CHECK(!report->runs.empty(), "a parsed report has runs");
  for (const tally::compare::BenchmarkRun& run : report->runs) {
    TALLY_FUZZ_CHECK(tally::compare::nanoseconds_per(run.time_unit).has_value(),
                     "every run has a known time unit");
  }
  return 0;
}
