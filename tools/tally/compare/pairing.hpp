// Pairing the benchmarks of two reports by name, the way compare.py does: every run with the
// same name is one series (the repetitions of a benchmark, or one aggregate such as
// "BM_Push/64_mean"), and a series pairs with the series of the same name in the other report.
#pragma once

#include <string>
#include <vector>

#include "tally/engine/status.hpp"
#include "tools/tally/compare/benchmark_report.hpp"

namespace tally::compare {

// Every run of one benchmark name in one report, ordered as compare.py orders them (by family,
// then instance, repetitions before aggregates, then repetition index).
struct BenchmarkSeries {
  std::string name;
  std::vector<const BenchmarkRun*> runs;  // never empty; points into a BenchmarkReport

  const BenchmarkRun& first() const { return *runs.front(); }
};

struct SeriesPair {
  BenchmarkSeries base;
  BenchmarkSeries contender;
};

struct Pairing {
  std::vector<SeriesPair> pairs;          // in the base report's order
  std::vector<std::string> only_in_base;  // names, in report order
  std::vector<std::string> only_in_new;
};

// Pairs the series of `base` and `contender` by name. Fails, naming the contender's file, when
// a pair cannot be compared: one side is a percentage (Google Benchmark's cv aggregate) and the
// other a time. Different time units are fine: comparisons convert them.
// The result points into both reports, which must outlive it.
Result<Pairing> pair_benchmarks(const BenchmarkReport& base, const BenchmarkReport& contender);

// The runs of `report` grouped into series, in compare.py's order.
std::vector<BenchmarkSeries> group_into_series(const BenchmarkReport& report);

}  // namespace tally::compare
