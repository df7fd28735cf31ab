// The benchmark reports `tally compare` reads, after parsing: a Google Benchmark JSON report
// (--benchmark_out_format=json) or a tally run report (`tally wordcount --report`), both seen
// as a list of benchmark runs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/status.hpp"

namespace tally::compare {

// One entry of a report's benchmark list: one repetition of a benchmark, or one aggregate
// (mean, median, stddev, cv, ...) computed over its repetitions.
struct BenchmarkRun {
  std::string name;            // "BM_Push/64" or, for an aggregate, "BM_Push/64_mean"
  std::string run_name;        // "BM_Push/64" for both
  std::string aggregate_name;  // empty for a repetition
  bool is_aggregate = false;
  // Google Benchmark's coefficient-of-variation aggregate has aggregate_unit "percentage":
  // its "times" are fractions, so they are never converted between time units.
  bool is_percentage = false;
  double real_time = 0;            // in time_unit
  std::optional<double> cpu_time;  // a tally run report measures wall time only
  std::string time_unit;           // ns, us, ms or s
  // Every other numeric field: items_per_second, bytes_per_second and user counters, in
  // report order.
  std::vector<std::pair<std::string, double>> counters;
  // Google Benchmark's ordering keys, -1 when absent (as compare.py treats them).
  int family_index = -1;
  int per_family_instance_index = -1;
  int repetition_index = -1;
};

struct BenchmarkReport {
  std::string path;
  std::vector<BenchmarkRun> runs;  // never empty once parsed
};

// How many nanoseconds one `unit` is, for the units Google Benchmark writes (ns, us, ms, s);
// nullopt for anything else.
std::optional<double> nanoseconds_per(std::string_view unit);

// The error of a bad input, one line naming the file: "'new.json': empty benchmark list".
Status input_problem(const std::string& path, const std::string& what);

}  // namespace tally::compare
