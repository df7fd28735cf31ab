// The comparison of two benchmark reports (or two directories of them): per-pair changes,
// Mann-Whitney p-values, verdicts and a summary. Renderers (renderers.hpp) only format it.
//
//   CompareOptions options;                      // real time, alpha 0.05, no threshold
//   Result<Comparison> c =
//       compare_reports({{"", base_report, new_report}}, options, "base.json", "new.json");
//   if (c.ok() && c->summary.regressions > 0) ...  // only counted with a threshold
#pragma once

#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "tally/engine/status.hpp"
#include "tools/tally/compare/benchmark_report.hpp"

namespace tally::compare {

// Google Benchmark compare.py's rules, kept under its names.
inline constexpr std::size_t kUtestMinRepetitions = 2;      // fewer: no U test
inline constexpr std::size_t kUtestOptimalRepetitions = 9;  // fewer: "results unreliable"

// Which measurement decides verdicts, the threshold gate, the summary and the chart.
struct Metric {
  enum class Kind { kRealTime, kCpuTime, kCounter };
  Kind kind = Kind::kRealTime;
  std::string counter;  // for kCounter

  // "real", "cpu", or any other text as a counter name.
  static Metric parse(const std::string& name);
  std::string name() const;   // what parse() takes: "real", "cpu", or the counter name
  std::string label() const;  // "real time", "CPU time", or the counter name
  bool is_time() const { return kind != Kind::kCounter; }  // in a time unit, converted
  // The metric's value in one run (in the run's time unit); nullopt when the run lacks it.
  std::optional<double> of(const BenchmarkRun& run) const;
};

// --filter: keeps the benchmarks whose name a regular expression finds (ECMAScript syntax,
// std::regex_search's semantics: anywhere in the name unless anchored).
//
// The name is read in one pass by libstdc++'s breadth-first executor, so the stack depth
// depends on the pattern, never on the name (the default depth-first executor recurses once
// per character: '.*' on a 50,000-character name overflows the stack), and no pattern
// backtracks exponentially. Time is the name's length times the pattern's size, except that
// a lookahead re-reads the name from each position it is tried at. Refused, with the reason:
// patterns over kMaxPatternLength characters (compiling recurses per character of the
// pattern) and back-references (only the depth-first executor has them).
//
//   Result<NameFilter> f = NameFilter::compile("PushPop/depth:(0|64)$");
//   if (f.ok() && f->matches("BM_WorkStealingDeque_PushPop/depth:64")) ...
class NameFilter {
 public:
  static constexpr std::size_t kMaxPatternLength = 4096;

  // Fails with the problem in one line: the syntax error, the length, or the back-reference.
  static Result<NameFilter> compile(const std::string& pattern);

  bool matches(const std::string& name) const;
  const std::string& pattern() const { return pattern_; }

 private:
  NameFilter(std::string pattern, std::regex search)
      : pattern_(std::move(pattern)), search_(std::move(search)) {}

  std::string pattern_;
  std::regex search_;  // "[\s\S]*?(?:" + pattern + ")", matched from the name's start
};

struct CompareOptions {
  Metric metric;
  double alpha = 0.05;                  // significant when p < alpha (compare.py's rule)
  std::optional<double> threshold_pct;  // set: slower by more than this is a regression
  std::optional<NameFilter> filter;     // set: only benchmarks whose name it finds
};

// What is wrong with a --threshold (a percentage: finite, 0 or more) or an --alpha (finite,
// from 0 to 1), or nullopt when the value is usable. NaN must never pass: it compares false
// with everything and would switch the gate off.
std::optional<std::string> threshold_problem(double pct);
std::optional<std::string> alpha_problem(double alpha);

// (new - old) / |old|, compare.py's calculate_change: +0.10 is 10% more time (slower) or 10%
// more of a counter. Both zero: 0; old zero: relative to the mean of the two.
double relative_change(double old_value, double new_value);

// Counters whose name ends in "per_second" are throughput (higher is better); any other
// counter is a cost, like time (lower is better).
bool higher_is_better(const std::string& counter);

// One repetition of the base against the same repetition of the new report, as compare.py's
// "measurements" (times in the pair's display unit).
struct RepetitionChange {
  double real_time = 0, real_time_other = 0;
  std::optional<double> cpu_time, cpu_time_other;
  double time = 0;            // relative_change of real time
  std::optional<double> cpu;  // of CPU time
};

struct CounterChange {
  std::string name;
  double base = 0, contender = 0;  // medians over repetitions
  double change = 0;
  bool higher_is_better = false;
};

struct UTest {
  std::size_t repetitions = 0, repetitions_other = 0;
  bool have_optimal_repetitions = false;  // both sides have kUtestOptimalRepetitions or more
  // The smallest p-value these sample sizes can give, 2 / C(m + n, m) (0.10 for 3 vs 3).
  double smallest_pvalue = 0;
  // smallest_pvalue < alpha. When false the test can never find a change significant (too few
  // repetitions), and the threshold alone judges the pair, as for single runs.
  bool decides = true;
  double time_pvalue = 1;
  std::optional<double> cpu_pvalue;     // when both reports have CPU times
  std::optional<double> metric_pvalue;  // of the chosen metric (a counter has its own test)
};

enum class Verdict { kFaster, kSlower, kUnchanged, kNone };
const char* to_string(Verdict v);

struct BenchmarkComparison {
  std::string source;  // the file name when comparing directories, else empty
  std::string name;
  std::string display_name;    // "source: name", or name
  std::string aggregate_name;  // "mean", "median", ... for an aggregate series
  bool is_aggregate = false;
  bool is_percentage = false;  // cv aggregate: values are fractions, not times
  // The pair that speaks for its benchmark in verdicts, the gate, the summary and the chart:
  // the repetitions (or single run) when the report has them, else the median aggregate
  // (else mean) of a report written with aggregates only. Other aggregates (stddev, cv, ...)
  // are shown but never judged.
  bool primary = false;
  std::string time_unit;  // the base report's: every time below is in it
  std::size_t base_repetitions = 0, new_repetitions = 0;
  // Medians over repetitions (the value itself for a single run or an aggregate).
  double base_real = 0, new_real = 0;
  std::optional<double> base_cpu, new_cpu;
  double time_change = 0;
  std::optional<double> cpu_change;
  std::vector<RepetitionChange> measurements;
  std::optional<UTest> utest;
  std::vector<CounterChange> counters;     // counters that both sides have
  std::optional<double> metric_change;     // of the chosen metric; none if a side lacks it
  double metric_base = 0, metric_new = 0;  // its medians, when metric_change is set
  Verdict verdict = Verdict::kNone;        // primary pairs only
  bool regression = false;                 // slower beyond --threshold
};

struct Summary {
  std::size_t compared = 0;  // primary pairs with the metric on both sides
  std::size_t faster = 0, slower = 0, unchanged = 0;
  std::size_t regressions = 0;
  std::size_t threshold_only = 0;  // of `compared`, judged by the threshold alone (UTest::decides)
  // Geometric mean of new/base of the metric over those pairs (values > 0 only).
  std::optional<double> geomean_ratio;
};

struct Comparison {
  std::string base_path, new_path;
  Metric metric;
  double alpha = 0.05;
  std::optional<double> threshold_pct;
  std::vector<BenchmarkComparison> benchmarks;
  std::vector<std::string> only_in_base, only_in_new;  // display names (whole files too)
  Summary summary;
};

// Two reports to compare; `source` names them in the output when comparing directories.
struct ReportPair {
  std::string source;
  BenchmarkReport base;
  BenchmarkReport contender;
};

// Compares each report pair and judges every primary benchmark pair:
//  - U test (compare.py): when both sides have at least kUtestMinRepetitions repetitions,
//    significant means p < alpha; without one, or when too few repetitions leave its smallest
//    attainable p-value at alpha or above (UTest::decides), every change counts.
//  - slower / faster: significant and worse / better than the threshold (0 without one);
//    unchanged otherwise. A regression is a slower verdict under --threshold.
// Fails when an option is out of range (threshold_problem, alpha_problem), when a pair cannot
// be compared (pairing.hpp), when nothing is in both sides, when --filter leaves nothing, or
// when no pair has the chosen counter.
Result<Comparison> compare_reports(const std::vector<ReportPair>& reports,
                                   const CompareOptions& options, std::string base_path,
                                   std::string new_path);

}  // namespace tally::compare
