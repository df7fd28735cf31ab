#include <nlohmann/json.hpp>

#include "tools/tally/compare/renderers.hpp"

namespace tally::compare {
namespace {

using Json = nlohmann::ordered_json;

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json benchmark_json(const BenchmarkComparison& b, double alpha) {
  Json j;
  j["name"] = b.name;
  if (!b.source.empty()) j["file"] = b.source;
  j["run_type"] = b.is_aggregate ? "aggregate" : "iteration";
  j["aggregate_name"] = b.aggregate_name;
  j["primary"] = b.primary;
  j["time_unit"] = b.is_percentage ? "percentage" : b.time_unit;
  j["repetitions"] = {{"base", b.base_repetitions}, {"new", b.new_repetitions}};
  j["base"] = {{"real_time", b.base_real}, {"cpu_time", optional_number(b.base_cpu)}};
  j["new"] = {{"real_time", b.new_real}, {"cpu_time", optional_number(b.new_cpu)}};
  j["time_change"] = b.time_change;
  j["cpu_change"] = optional_number(b.cpu_change);
  if (b.utest) {
    const UTest& u = *b.utest;
    j["pvalue"] = optional_number(u.metric_pvalue);
    j["time_pvalue"] = u.time_pvalue;
    j["cpu_pvalue"] = optional_number(u.cpu_pvalue);
    if (u.metric_pvalue) j["significant"] = *u.metric_pvalue < alpha;
    j["have_optimal_repetitions"] = u.have_optimal_repetitions;
    j["judged_by_threshold_only"] = !u.decides;
  }
  Json measurements = Json::array();
  for (const RepetitionChange& m : b.measurements) {
    measurements.push_back({{"real_time", m.real_time},
                            {"cpu_time", optional_number(m.cpu_time)},
                            {"real_time_other", m.real_time_other},
                            {"cpu_time_other", optional_number(m.cpu_time_other)},
                            {"time", m.time},
                            {"cpu", optional_number(m.cpu)}});
  }
  j["measurements"] = std::move(measurements);
  Json counters = Json::array();
  for (const CounterChange& counter : b.counters) {
    counters.push_back({{"name", counter.name},
                        {"base", counter.base},
                        {"new", counter.contender},
                        {"change", counter.change},
                        {"higher_is_better", counter.higher_is_better}});
  }
  j["counters"] = std::move(counters);
  j["metric_change"] = optional_number(b.metric_change);
  j["verdict"] = b.verdict == Verdict::kNone ? Json(nullptr) : Json(to_string(b.verdict));
  j["regression"] = b.regression;
  return j;
}

}  // namespace

std::string render_json(const Comparison& c) {
  Json doc;
  doc["base"] = c.base_path;
  doc["new"] = c.new_path;
  doc["metric"] = c.metric.name();
  doc["alpha"] = c.alpha;
  doc["threshold_pct"] = optional_number(c.threshold_pct);
  Json benchmarks = Json::array();
  for (const BenchmarkComparison& b : c.benchmarks)
    benchmarks.push_back(benchmark_json(b, c.alpha));
  doc["benchmarks"] = std::move(benchmarks);
  doc["only_in_base"] = c.only_in_base;
  doc["only_in_new"] = c.only_in_new;
  const Summary& s = c.summary;
  doc["summary"] = {{"compared", s.compared},
                    {"faster", s.faster},
                    {"slower", s.slower},
                    {"unchanged", s.unchanged},
                    {"regressions", s.regressions},
                    {"threshold_only", s.threshold_only},
                    {"geomean_ratio", optional_number(s.geomean_ratio)}};
  // Invalid UTF-8 in a benchmark name becomes U+FFFD rather than an exception: the rest of
  // the report is still worth having.
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace tally::compare
