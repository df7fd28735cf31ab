#include "tools/tally/compare/text_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tally::compare::detail {
namespace {

std::string printf_string(const char* format, double value) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, format, value);
  return std::string(buffer, static_cast<std::size_t>(std::max(n, 0)));
}

// Four significant digits without switching to exponent notation for ordinary magnitudes.
std::string four_digits(double value) {
  const double magnitude = std::abs(value);
  if (magnitude >= 1000) return printf_string("%.0f", value);
  if (magnitude >= 100) return printf_string("%.1f", value);
  if (magnitude >= 10) return printf_string("%.2f", value);
  if (magnitude >= 0.001 || magnitude == 0) return printf_string("%.3f", value);
  return printf_string("%.3g", value);
}

}  // namespace

std::string format_time(double value, const std::string& unit, bool is_percentage) {
  if (is_percentage) return printf_string("%.2f%%", value * 100);
  return four_digits(value) + " " + unit;
}

std::string format_counter(double value) {
  static constexpr struct {
    double scale;
    const char* suffix;
  } kPrefixes[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (const auto& prefix : kPrefixes) {
    if (std::abs(value) >= prefix.scale) return four_digits(value / prefix.scale) + prefix.suffix;
  }
  return four_digits(value);
}

std::string format_change(std::optional<double> change) {
  if (!change) return "-";
  return printf_string("%+.2f%%", *change * 100);
}

std::string format_pvalue(std::optional<double> p) {
  if (!p) return "-";
  return printf_string("%.4f", *p);
}

std::string describe_repetitions(const UTest& u) {
  std::string text = std::to_string(u.repetitions) + " vs " + std::to_string(u.repetitions_other);
  if (!u.decides) {
    text += " (too few repetitions for the U test; judged by threshold only)";
  } else if (!u.have_optimal_repetitions) {
    text += " (unreliable: " + std::to_string(kUtestOptimalRepetitions) + "+ recommended)";
  }
  return text;
}

std::string describe_summary(const Comparison& c) {
  const Summary& s = c.summary;
  std::string text = c.metric.label() + ": " + std::to_string(s.compared) + " compared, " +
                     std::to_string(s.faster) + " faster, " + std::to_string(s.slower) +
                     " slower, " + std::to_string(s.unchanged) + " unchanged";
  if (s.geomean_ratio) {
    text += "; geometric mean of new/base " + printf_string("%.4f", *s.geomean_ratio) + " (" +
            format_change(*s.geomean_ratio - 1) + ")";
  }
  if (s.threshold_only > 0) {
    text += "; " + std::to_string(s.threshold_only) +
            " judged by threshold only (too few repetitions for the U test)";
  }
  if (c.threshold_pct) {
    text += "; " + std::to_string(s.regressions) + " slower by more than " +
            printf_string("%g", *c.threshold_pct) + "%";
  }
  return text;
}

std::vector<std::string> benchmark_headers(const Comparison& c) {
  return {"Benchmark",
          "Base real / CPU",
          "New real / CPU",
          "Time",
          "CPU",
          "p (" + c.metric.label() + ")",
          "Repetitions",
          "Verdict"};
}

std::vector<std::string> benchmark_cells(const BenchmarkComparison& b) {
  const std::string base =
      format_time(b.base_real, b.time_unit, b.is_percentage) +
      (b.base_cpu ? " / " + format_time(*b.base_cpu, b.time_unit, b.is_percentage) : "");
  const std::string contender =
      format_time(b.new_real, b.time_unit, b.is_percentage) +
      (b.new_cpu ? " / " + format_time(*b.new_cpu, b.time_unit, b.is_percentage) : "");
  return {b.display_name,
          base,
          contender,
          format_change(b.time_change),
          format_change(b.cpu_change),
          format_pvalue(b.utest ? b.utest->metric_pvalue : std::nullopt),
          b.utest ? describe_repetitions(*b.utest)
                  : std::to_string(b.base_repetitions) + " vs " + std::to_string(b.new_repetitions),
          to_string(b.verdict)};
}

std::vector<std::string> counter_headers() {
  return {"Benchmark", "Counter", "Base", "New", "Change"};
}

std::vector<std::string> counter_cells(const BenchmarkComparison& b, const CounterChange& counter) {
  return {b.display_name, counter.name + (counter.higher_is_better ? " (higher is better)" : ""),
          format_counter(counter.base), format_counter(counter.contender),
          format_change(counter.change)};
}

std::vector<std::vector<std::string>> primary_counter_rows(const Comparison& c) {
  std::vector<std::vector<std::string>> rows;
  for (const BenchmarkComparison& b : c.benchmarks) {
    if (!b.primary) continue;
    for (const CounterChange& counter : b.counters) rows.push_back(counter_cells(b, counter));
  }
  return rows;
}

}  // namespace tally::compare::detail
