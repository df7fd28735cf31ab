#include "tools/tally/compare/comparison.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include "tools/tally/compare/mann_whitney.hpp"
#include "tools/tally/compare/pairing.hpp"

namespace tally::compare {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::optional<double> counter_of(const BenchmarkRun& run, const std::string& name) {
  for (const auto& [key, value] : run.counters) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// The values of one measurement over a series' runs, converted by `scale`; empty when any
// run lacks it (a tally run report has no CPU time).
template <typename Get>
std::vector<double> values_of(const BenchmarkSeries& s, double scale, Get get) {
  std::vector<double> values;
  for (const BenchmarkRun* run : s.runs) {
    const std::optional<double> v = get(*run);
    if (!v) return {};
    values.push_back(*v * scale);
  }
  return values;
}

// Which run names have their repetitions (or single run) paired, and which have a paired
// median aggregate: they decide which pair of a benchmark is primary (see
// BenchmarkComparison::primary). Built from the pairs, not from one report, so that an
// aggregate stands in whenever the repetitions did not pair (base with repetitions, new with
// aggregates only).
class PrimarySeries {
 public:
  explicit PrimarySeries(const std::vector<SeriesPair>& pairs) {
    for (const SeriesPair& pair : pairs) {
      const BenchmarkRun& run = pair.base.first();
      if (!run.is_aggregate) paired_repetitions_.insert(run.run_name);
      if (run.is_aggregate && run.aggregate_name == "median") paired_median_.insert(run.run_name);
    }
  }

  bool is_primary(const SeriesPair& pair) const {
    const BenchmarkRun& run = pair.base.first();
    if (!run.is_aggregate) return true;
    if (paired_repetitions_.count(run.run_name) != 0) return false;
    if (run.aggregate_name == "median") return true;
    return run.aggregate_name == "mean" && paired_median_.count(run.run_name) == 0;
  }

 private:
  std::set<std::string> paired_repetitions_, paired_median_;
};

BenchmarkComparison compare_pair(const std::string& source, const SeriesPair& pair,
                                 const PrimarySeries& primary, const CompareOptions& options) {
  const Metric& metric = options.metric;
  const BenchmarkRun& base_first = pair.base.first();
  const BenchmarkRun& new_first = pair.contender.first();
  BenchmarkComparison c;
  c.source = source;
  c.name = pair.base.name;
  c.display_name = source.empty() ? c.name : source + ": " + c.name;
  c.is_aggregate = base_first.is_aggregate;
  c.aggregate_name = base_first.aggregate_name;
  c.is_percentage = base_first.is_percentage;
  c.primary = primary.is_primary(pair);
  c.time_unit = base_first.time_unit;
  c.base_repetitions = pair.base.runs.size();
  c.new_repetitions = pair.contender.runs.size();

  // Everything in the base's unit. A percentage is a fraction in any unit.
  const double new_scale = c.is_percentage ? 1.0
                                           : *nanoseconds_per(new_first.time_unit) /
                                                 *nanoseconds_per(base_first.time_unit);
  const auto real = [](const BenchmarkRun& r) { return std::optional<double>(r.real_time); };
  const auto cpu = [](const BenchmarkRun& r) { return r.cpu_time; };
  const std::vector<double> base_real = values_of(pair.base, 1.0, real);
  const std::vector<double> new_real = values_of(pair.contender, new_scale, real);
  const std::vector<double> base_cpu = values_of(pair.base, 1.0, cpu);
  const std::vector<double> new_cpu = values_of(pair.contender, new_scale, cpu);
  const bool has_cpu = !base_cpu.empty() && !new_cpu.empty();

  c.base_real = median(base_real);
  c.new_real = median(new_real);
  c.time_change = relative_change(c.base_real, c.new_real);
  if (has_cpu) {
    c.base_cpu = median(base_cpu);
    c.new_cpu = median(new_cpu);
    c.cpu_change = relative_change(*c.base_cpu, *c.new_cpu);
  }
  // compare.py pairs the i-th repetition with the i-th, up to the shorter side.
  for (std::size_t i = 0; i < std::min(base_real.size(), new_real.size()); ++i) {
    RepetitionChange m;
    m.real_time = base_real[i];
    m.real_time_other = new_real[i];
    m.time = relative_change(m.real_time, m.real_time_other);
    if (has_cpu) {
      m.cpu_time = base_cpu[i];
      m.cpu_time_other = new_cpu[i];
      m.cpu = relative_change(base_cpu[i], new_cpu[i]);
    }
    c.measurements.push_back(m);
  }

  for (const auto& base_counter : base_first.counters) {
    const std::string& name = base_counter.first;
    const auto get = [&name](const BenchmarkRun& r) { return counter_of(r, name); };
    const std::vector<double> b = values_of(pair.base, 1.0, get);
    const std::vector<double> n = values_of(pair.contender, 1.0, get);
    if (b.empty() || n.empty()) continue;
    const double base_median = median(b);
    const double new_median = median(n);
    c.counters.push_back({.name = name,
                          .base = base_median,
                          .contender = new_median,
                          .change = relative_change(base_median, new_median),
                          .higher_is_better = higher_is_better(name)});
  }

  const auto metric_value = [&metric](const BenchmarkRun& r) { return metric.of(r); };
  const std::vector<double> base_metric = values_of(pair.base, 1.0, metric_value);
  const std::vector<double> new_metric =
      values_of(pair.contender, metric.is_time() ? new_scale : 1.0, metric_value);
  const bool has_metric = !base_metric.empty() && !new_metric.empty();
  if (has_metric) {
    c.metric_base = median(base_metric);
    c.metric_new = median(new_metric);
    c.metric_change = relative_change(c.metric_base, c.metric_new);
  }

  // compare.py's calc_utest: only when every side has enough repetitions. Aggregates are one
  // run each, so they never get here.
  const std::size_t fewest = std::min(c.base_repetitions, c.new_repetitions);
  if (!c.is_aggregate && fewest >= kUtestMinRepetitions) {
    UTest u;
    u.repetitions = c.base_repetitions;
    u.repetitions_other = c.new_repetitions;
    u.have_optimal_repetitions = fewest >= kUtestOptimalRepetitions;
    u.smallest_pvalue = mann_whitney_smallest_p(c.base_repetitions, c.new_repetitions);
    u.decides = u.smallest_pvalue < options.alpha;
    u.time_pvalue = mann_whitney_u(base_real, new_real).p_value;
    if (has_cpu) u.cpu_pvalue = mann_whitney_u(base_cpu, new_cpu).p_value;
    if (has_metric) u.metric_pvalue = mann_whitney_u(base_metric, new_metric).p_value;
    c.utest = u;
  }
  return c;
}

void judge(BenchmarkComparison& c, const CompareOptions& options) {
  if (!c.primary || !c.metric_change) return;
  const bool higher_better =
      options.metric.kind == Metric::Kind::kCounter && higher_is_better(options.metric.counter);
  const double slowdown = higher_better ? -*c.metric_change : *c.metric_change;
  const double tolerance = options.threshold_pct.value_or(0.0) / 100.0;
  // A U test that cannot reach alpha (too few repetitions) leaves the threshold to decide, as
  // for single runs; otherwise no change of any size could ever be significant.
  const bool significant = !c.utest || !c.utest->decides || !c.utest->metric_pvalue ||
                           *c.utest->metric_pvalue < options.alpha;
  if (significant && slowdown > tolerance) {
    c.verdict = Verdict::kSlower;
  } else if (significant && slowdown < -tolerance) {
    c.verdict = Verdict::kFaster;
  } else {
    c.verdict = Verdict::kUnchanged;
  }
  c.regression = options.threshold_pct.has_value() && c.verdict == Verdict::kSlower;
}

Summary summarize(const std::vector<BenchmarkComparison>& benchmarks) {
  Summary s;
  double log_sum = 0;
  std::size_t logs = 0;
  for (const BenchmarkComparison& c : benchmarks) {
    if (c.verdict == Verdict::kNone) continue;
    ++s.compared;
    if (c.verdict == Verdict::kFaster) ++s.faster;
    if (c.verdict == Verdict::kSlower) ++s.slower;
    if (c.verdict == Verdict::kUnchanged) ++s.unchanged;
    if (c.regression) ++s.regressions;
    if (c.utest && !c.utest->decides) ++s.threshold_only;
    if (c.metric_change && c.metric_base > 0 && c.metric_new > 0) {
      log_sum += std::log(c.metric_new / c.metric_base);
      ++logs;
    }
  }
  if (logs > 0) s.geomean_ratio = std::exp(log_sum / static_cast<double>(logs));
  return s;
}

}  // namespace

Metric Metric::parse(const std::string& name) {
  if (name == "real") return {.kind = Kind::kRealTime, .counter = {}};
  if (name == "cpu") return {.kind = Kind::kCpuTime, .counter = {}};
  return {.kind = Kind::kCounter, .counter = name};
}

std::string Metric::name() const {
  switch (kind) {
    case Kind::kRealTime:
      return "real";
    case Kind::kCpuTime:
      return "cpu";
    case Kind::kCounter:
      return counter;
  }
  return counter;
}

std::optional<double> Metric::of(const BenchmarkRun& run) const {
  switch (kind) {
    case Kind::kRealTime:
      return run.real_time;
    case Kind::kCpuTime:
      return run.cpu_time;
    case Kind::kCounter:
      return counter_of(run, counter);
  }
  return std::nullopt;
}

std::string Metric::label() const {
  switch (kind) {
    case Kind::kRealTime:
      return "real time";
    case Kind::kCpuTime:
      return "CPU time";
    case Kind::kCounter:
      return counter;
  }
  return counter;
}

std::optional<std::string> threshold_problem(double pct) {
  if (!std::isfinite(pct)) return "not a finite number";
  if (pct < 0) return "negative (a percentage, 0 or more)";
  return std::nullopt;
}

std::optional<std::string> alpha_problem(double alpha) {
  if (!std::isfinite(alpha)) return "not a finite number";
  if (alpha < 0 || alpha > 1) return "outside 0 to 1";
  return std::nullopt;
}

Result<NameFilter> NameFilter::compile(const std::string& pattern) {
  if (pattern.size() > kMaxPatternLength) {
    return Status::InvalidArgument("longer than the " + std::to_string(kMaxPatternLength) +
                                   " a pattern may have");
  }
  // __polynomial (libstdc++) selects the breadth-first executor and refuses back-references.
  constexpr auto kSyntax = std::regex::ECMAScript | std::regex_constants::__polynomial;
  try {
    // Alone first, so that its own syntax errors are reported: wrapped, "a)(b" would parse.
    const std::regex alone(pattern, kSyntax);
    // regex_search tries each start position in turn, the whole executor each time: with
    // a lazy any-character prefix and match_continuous, one pass from the start finds a match
    // at any position.
    std::regex search("[\\s\\S]*?(?:" + pattern + ")", kSyntax);
    return NameFilter(pattern, std::move(search));
  } catch (const std::regex_error& e) {
    if (e.code() == std::regex_constants::error_complexity) {
      return Status::InvalidArgument("back-references are not supported");
    }
    return Status::InvalidArgument(e.what());
  }
}

bool NameFilter::matches(const std::string& name) const {
  return std::regex_search(name, search_, std::regex_constants::match_continuous);
}

double relative_change(double old_value, double new_value) {
  if (old_value == 0 && new_value == 0) return 0.0;
  if (old_value == 0) return (new_value - old_value) / ((old_value + new_value) / 2);
  return (new_value - old_value) / std::abs(old_value);
}

bool higher_is_better(const std::string& counter) {
  constexpr std::string_view kSuffix = "per_second";
  return counter.size() >= kSuffix.size() &&
         counter.compare(counter.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kFaster:
      return "faster";
    case Verdict::kSlower:
      return "slower";
    case Verdict::kUnchanged:
      return "unchanged";
    case Verdict::kNone:
      return "";
  }
  return "";
}

Result<Comparison> compare_reports(const std::vector<ReportPair>& reports,
                                   const CompareOptions& options, std::string base_path,
                                   std::string new_path) {
  const auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return std::string(text);
  };
  if (options.threshold_pct) {
    if (auto problem = threshold_problem(*options.threshold_pct)) {
      return Status::InvalidArgument("--threshold " + number(*options.threshold_pct) + ": " +
                                     *problem);
    }
  }
  if (auto problem = alpha_problem(options.alpha)) {
    return Status::InvalidArgument("--alpha " + number(options.alpha) + ": " + *problem);
  }

  Comparison result;
  result.base_path = std::move(base_path);
  result.new_path = std::move(new_path);
  result.metric = options.metric;
  result.alpha = options.alpha;
  result.threshold_pct = options.threshold_pct;
  const auto wanted = [&options](const std::string& display_name) {
    return !options.filter || options.filter->matches(display_name);
  };
  const auto display = [](const std::string& source, const std::string& name) {
    return source.empty() ? name : source + ": " + name;
  };

  bool any_in_common = false;
  for (const ReportPair& reports_pair : reports) {
    Result<Pairing> pairing = pair_benchmarks(reports_pair.base, reports_pair.contender);
    if (!pairing.ok()) return pairing.status();
    const PrimarySeries primary(pairing->pairs);
    for (const SeriesPair& pair : pairing->pairs) {
      any_in_common = true;
      BenchmarkComparison c = compare_pair(reports_pair.source, pair, primary, options);
      if (!wanted(c.display_name)) continue;
      judge(c, options);
      result.benchmarks.push_back(std::move(c));
    }
    for (const std::string& name : pairing->only_in_base) {
      if (wanted(display(reports_pair.source, name))) {
        result.only_in_base.push_back(display(reports_pair.source, name));
      }
    }
    for (const std::string& name : pairing->only_in_new) {
      if (wanted(display(reports_pair.source, name))) {
        result.only_in_new.push_back(display(reports_pair.source, name));
      }
    }
  }
  if (!any_in_common) {
    return Status::InvalidArgument("no benchmark is in both '" + result.base_path + "' and '" +
                                   result.new_path + "'");
  }
  if (result.benchmarks.empty()) {
    return Status::InvalidArgument("--filter '" + options.filter->pattern() +
                                   "' matches no benchmark in both reports");
  }
  if (options.metric.kind != Metric::Kind::kRealTime &&
      std::none_of(result.benchmarks.begin(), result.benchmarks.end(),
                   [](const BenchmarkComparison& c) { return c.metric_change.has_value(); })) {
    return Status::InvalidArgument(options.metric.kind == Metric::Kind::kCpuTime
                                       ? "no benchmark has a CPU time in both reports"
                                       : "no benchmark has the counter '" + options.metric.counter +
                                             "' (with finite values) in both reports");
  }
  result.summary = summarize(result.benchmarks);
  return result;
}

}  // namespace tally::compare
