// Number formatting shared by the renderers of `tally compare`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/tally/compare/comparison.hpp"

namespace tally::compare::detail {

// A time with its unit and four significant digits, "12.85 ns"; a percentage aggregate (cv)
// as "0.44%".
std::string format_time(double value, const std::string& unit, bool is_percentage);

// A counter value with an SI suffix and four significant digits: "77.84M", "1.2k", "3".
std::string format_counter(double value);

// A change as a signed percentage with two decimals: "+10.00%", "-0.21%"; "-" when absent.
std::string format_change(std::optional<double> change);

// A p-value with four decimals, as compare.py prints it; "-" when absent.
std::string format_pvalue(std::optional<double> p);

// "5 vs 5", with " (unreliable: 9+ recommended)" below kUtestOptimalRepetitions, or a note
// that the threshold alone judged the pair when the U test cannot decide (UTest::decides).
std::string describe_repetitions(const UTest& u);

// "real time: 3 compared, 1 faster, 1 slower, 1 unchanged; geometric mean of new/base 1.0123",
// then how many were judged by threshold only and how many are regressions, when any.
std::string describe_summary(const Comparison& c);

// The cells of one benchmark row: name, base time, new time, time change, CPU change,
// p-value of the metric, repetitions, verdict. Shared by the table, Markdown and HTML.
std::vector<std::string> benchmark_headers(const Comparison& c);
std::vector<std::string> benchmark_cells(const BenchmarkComparison& b);

// The cells of one counter row: benchmark, counter, base, new, change.
std::vector<std::string> counter_headers();
std::vector<std::string> counter_cells(const BenchmarkComparison& b, const CounterChange& counter);

// counter_cells of every counter of the primary pairs, in order. Aggregates' counters are left
// to the JSON output.
std::vector<std::vector<std::string>> primary_counter_rows(const Comparison& c);

}  // namespace tally::compare::detail
