#include "tools/tally/compare/compare_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tools/tally/compare/comparison.hpp"
#include "tools/tally/compare/renderers.hpp"
#include "tools/tally/compare/report_inputs.hpp"
#include "tools/tally/compare/report_parser.hpp"
#include "tools/tally/output.hpp"

namespace tally::cli {
namespace {

int fail(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');  // one line, whatever the source
  std::cerr << "tally compare: " << message << "\n";
  return kCompareError;
}

// Colour only for a person at a terminal; NO_COLOR (https://no-color.org) turns it off when
// set to anything but the empty string.
bool want_colour(compare::OutputFormat format, bool to_stdout) {
  if (format != compare::OutputFormat::kTable || !to_stdout) return false;
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare two benchmark reports (or directories of them) and gate regressions");
  cmd->add_option("base", args.base, "Baseline: Google Benchmark JSON, tally run report, or dir")
      ->required();
  cmd->add_option("new", args.contender, "Contender, of the same kind as the baseline")->required();
  cmd->add_option("--filter", args.filter, "Only benchmarks whose name matches this regex");
  cmd->add_option("--metric", args.metric,
                  "What verdicts, the gate and the chart use: real, cpu, or a counter name");
  cmd->add_option("--threshold", args.threshold_pct,
                  "Exit 1 if a benchmark is significantly slower by more than PCT percent "
                  "(finite, 0 or more)")
      ->type_name("PCT");
  cmd->add_option("--alpha", args.alpha,
                  "Significance level of the U test, from 0 to 1 (default 0.05)")
      ->type_name("A");
  cmd->add_option("-f,--format", args.format, "table, markdown, json or html")
      ->check(CLI::IsMember({"table", "markdown", "json", "html"}));
  cmd->add_option("-o,--output", args.output, "Write here (atomically) instead of stdout");
  cmd->footer(
      "Pairs benchmarks by name; repetitions are summarised by their median. Changes are\n"
      "(new - base) / |base| as in Google Benchmark's compare.py (+0.10 = 10% more time).\n"
      "With 2+ repetitions on both sides a Mann-Whitney U test decides significance\n"
      "(p < alpha); without, or with too few for p to reach alpha (2 or 3 a side at 0.05),\n"
      "every change counts. Counters ending in per_second are\n"
      "throughput (higher is better); other counters are costs.\n"
      "Exit status: 0 no regression, 1 a benchmark is significantly slower by more than\n"
      "--threshold, 2 usage or input error (one line on stderr naming the file).");
  return cmd;
}

namespace {

// Reads `text` whole as a decimal number (strtod's syntax, as CLI11 reads numbers) into
// `value`; else says why not. NaN and infinities are read: whether they are usable is for
// threshold_problem and alpha_problem to say.
std::optional<std::string> read_number(const std::string& text, double& value) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;  // from_chars takes no plus sign
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range && end == last) return "out of range";
  if (ec != std::errc() || end != last) return "not a number";
  return std::nullopt;
}

// A numeric option's value, or the one-line error naming it.
std::optional<std::string> option_problem(const char* option, const std::string& text,
                                          double& value,
                                          std::optional<std::string> (*check)(double)) {
  std::optional<std::string> problem = read_number(text, value);
  if (!problem) problem = check(value);
  if (!problem) return std::nullopt;
  return std::string(option) + " '" + text + "': " + *problem;
}

// run_compare without its guard: errors it foresees come back as a status.
int compare_or_throw(const CompareArgs& args) {
  compare::CompareOptions options;
  options.metric = compare::Metric::parse(args.metric);
  if (auto error = option_problem("--alpha", args.alpha, options.alpha, compare::alpha_problem)) {
    return fail(*error);
  }
  if (args.threshold_pct) {
    double pct = 0;
    if (auto error =
            option_problem("--threshold", *args.threshold_pct, pct, compare::threshold_problem)) {
      return fail(*error);
    }
    options.threshold_pct = pct;
  }
  if (!args.filter.empty()) {
    Result<compare::NameFilter> filter = compare::NameFilter::compile(args.filter);
    if (!filter.ok()) {
      // An overlong pattern is not repeated back in full.
      const std::string shown = args.filter.size() > compare::NameFilter::kMaxPatternLength
                                    ? "(" + std::to_string(args.filter.size()) + " characters)"
                                    : "'" + args.filter + "'";
      return fail("invalid --filter " + shown + ": " + filter.status().message());
    }
    options.filter = std::move(filter).value();
  }
  const compare::OutputFormat format = *compare::parse_output_format(args.format);  // CLI11

  Result<compare::InputPlan> plan = compare::plan_inputs(args.base, args.contender);
  if (!plan.ok()) return fail(plan.status().message());
  std::vector<compare::ReportPair> reports;
  for (const compare::ReportFiles& files : plan->files) {
    Result<compare::BenchmarkReport> base = compare::load_report(files.base_path);
    if (!base.ok()) return fail(base.status().message());
    Result<compare::BenchmarkReport> contender = compare::load_report(files.new_path);
    if (!contender.ok()) return fail(contender.status().message());
    reports.push_back({.source = files.source,
                       .base = std::move(base).value(),
                       .contender = std::move(contender).value()});
  }
  Result<compare::Comparison> comparison =
      compare::compare_reports(reports, options, args.base, args.contender);
  if (!comparison.ok()) return fail(comparison.status().message());
  // Whole reports present on one side only, listed with the benchmarks.
  for (const std::string& name : plan->only_in_base) comparison->only_in_base.push_back(name);
  for (const std::string& name : plan->only_in_new) comparison->only_in_new.push_back(name);

  const std::string text =
      compare::render(*comparison, format, want_colour(format, args.output.empty()));
  if (args.output.empty()) {
    const std::size_t written = std::fwrite(text.data(), 1, text.size(), stdout);
    if (written != text.size() || std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
      return fail("cannot write to stdout");
    }
  } else if (Status s = write_file_atomically(args.output, text); !s.ok()) {
    return fail(s.message());
  }
  return comparison->summary.regressions > 0 ? kCompareRegression : kCompareOk;
}

}  // namespace

int run_compare(const CompareArgs& args) {
  // Whatever escapes (an allocation failure, a library exception on input nobody foresaw) is
  // one line and exit 2 like any other error, never an abort.
  try {
    return compare_or_throw(args);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace tally::cli
