#include "tools/tally/compare/report_parser.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>

namespace tally::compare {
namespace {

using nlohmann::json;

// The fields Google Benchmark writes for every run; any other number is a counter.
bool is_run_field(const std::string& key) {
  static constexpr std::array<std::string_view, 17> kFields = {"name",
                                                               "family_index",
                                                               "per_family_instance_index",
                                                               "run_name",
                                                               "run_type",
                                                               "repetitions",
                                                               "repetition_index",
                                                               "threads",
                                                               "iterations",
                                                               "real_time",
                                                               "cpu_time",
                                                               "time_unit",
                                                               "aggregate_name",
                                                               "aggregate_unit",
                                                               "label",
                                                               "error_occurred",
                                                               "error_message"};
  for (std::string_view f : kFields) {
    if (key == f) return true;
  }
  return false;
}

int optional_index(const json& run, const char* key) {
  const auto it = run.find(key);
  return it != run.end() && it->is_number_integer() ? it->get<int>() : -1;
}

std::string optional_string(const json& run, const char* key) {
  const auto it = run.find(key);
  return it != run.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<BenchmarkReport> parse_google_benchmark(const json& doc, const std::string& path) {
  const json& list = doc.at("benchmarks");
  if (!list.is_array()) return input_problem(path, "'benchmarks' is not a list");
  if (list.empty()) return input_problem(path, "empty benchmark list");

  BenchmarkReport report{.path = path, .runs = {}};
  // The time unit each benchmark's repetitions use: they must agree, since a report with two
  // units for one benchmark cannot say which one its aggregates were computed in.
  std::map<std::string, std::string> unit_of_run_name;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& entry = list[i];
    const std::string where = "benchmark #" + std::to_string(i + 1);
    if (!entry.is_object()) return input_problem(path, where + " is not an object");
    const auto name = entry.find("name");
    if (name == entry.end() || !name->is_string()) {
      return input_problem(path, where + " has no 'name'");
    }
    const std::string quoted = "'" + name->get<std::string>() + "'";
    if (const auto failed = entry.find("error_occurred"); failed != entry.end()) {
      if (!failed->is_boolean()) {
        return input_problem(path, "benchmark " + quoted + " has a non-boolean 'error_occurred'");
      }
      if (failed->get<bool>()) continue;
    }

    BenchmarkRun run;
    run.name = name->get<std::string>();
    run.run_name = optional_string(entry, "run_name");
    if (run.run_name.empty()) run.run_name = run.name;
    run.is_aggregate = optional_string(entry, "run_type") == "aggregate";
    run.aggregate_name = run.is_aggregate ? optional_string(entry, "aggregate_name") : "";
    run.is_percentage = optional_string(entry, "aggregate_unit") == "percentage";
    const auto real = entry.find("real_time");
    const auto cpu = entry.find("cpu_time");
    if (real == entry.end() || !real->is_number()) {
      return input_problem(path, "benchmark " + quoted + " has no numeric 'real_time'");
    }
    if (cpu == entry.end() || !cpu->is_number()) {
      return input_problem(path, "benchmark " + quoted + " has no numeric 'cpu_time'");
    }
    run.real_time = real->get<double>();
    run.cpu_time = cpu->get<double>();
    run.time_unit = optional_string(entry, "time_unit");
    if (!nanoseconds_per(run.time_unit)) {
      return input_problem(path, "benchmark " + quoted + " has unknown time unit '" +
                                     run.time_unit + "' (expected ns, us, ms or s)");
    }
    const auto [it, inserted] = unit_of_run_name.emplace(run.run_name, run.time_unit);
    if (!inserted && it->second != run.time_unit) {
      return input_problem(path, "mismatched time units for '" + run.run_name + "': " + it->second +
                                     " and " + run.time_unit);
    }
    for (const auto& [key, value] : entry.items()) {
      if (value.is_number() && !is_run_field(key)) {
        run.counters.emplace_back(key, value.get<double>());
      }
    }
    run.family_index = optional_index(entry, "family_index");
    run.per_family_instance_index = optional_index(entry, "per_family_instance_index");
    run.repetition_index = optional_index(entry, "repetition_index");
    report.runs.push_back(std::move(run));
  }
  if (report.runs.empty()) return input_problem(path, "every benchmark in the report failed");
  return report;
}

Result<BenchmarkReport> parse_tally_run(const json& doc, const std::string& path) {
  const auto number = [&](const json& obj, const char* key) -> std::optional<double> {
    const auto it = obj.find(key);
    if (it == obj.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  const auto phases = doc.find("phases");
  if (phases == doc.end() || !phases->is_object()) {
    return input_problem(path, "tally run report has no 'phases'");
  }
  BenchmarkReport report{.path = path, .runs = {}};
  for (const char* phase : {"split", "map", "merge", "finalize", "total"}) {
    const std::string key = std::string(phase) + "_seconds";
    const std::optional<double> seconds = number(*phases, key.c_str());
    if (!seconds) {
      return input_problem(path, "tally run report has no numeric 'phases." + key + "'");
    }
    BenchmarkRun run;
    run.name = phase;
    run.run_name = phase;
    run.real_time = *seconds;
    run.time_unit = "s";
    report.runs.push_back(std::move(run));
  }
  BenchmarkRun& total = report.runs.back();
  if (total.real_time > 0) {
    if (auto bytes = number(doc, "bytes_in")) {
      total.counters.emplace_back("bytes_per_second", *bytes / total.real_time);
    }
    if (auto records = number(doc, "records_in")) {
      total.counters.emplace_back("items_per_second", *records / total.real_time);
    }
  }
  if (auto rss = number(doc, "peak_rss_bytes")) total.counters.emplace_back("peak_rss_bytes", *rss);
  return report;
}

}  // namespace

Result<BenchmarkReport> parse_report(std::string_view text, const std::string& path) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return input_problem(path, "empty file");
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::out_of_range&) {  // a number beyond double, such as 1e999
    return input_problem(path, "number out of range in JSON");
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte after the last one it read: at or past the end means the
    // text stopped early rather than held something wrong.
    if (e.byte >= text.size()) {
      return input_problem(path,
                           "truncated JSON (ends after " + std::to_string(text.size()) + " bytes)");
    }
    return input_problem(path, "malformed JSON at byte " + std::to_string(e.byte));
  }
  if (doc.is_object() && doc.contains("benchmarks")) return parse_google_benchmark(doc, path);
  if (doc.is_object() && doc.contains("tally_run_report")) return parse_tally_run(doc, path);
  return input_problem(path,
                       "not a benchmark report (neither a Google Benchmark 'benchmarks' list nor a "
                       "tally run report)");
}

Result<BenchmarkReport> load_report(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return input_problem(path, std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return input_problem(path, std::strerror(errno));
  return parse_report(contents.str(), path);
}

}  // namespace tally::compare
