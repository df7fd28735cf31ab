// `tally compare`: compares benchmark reports and gates regressions (see the README,
// "Comparing benchmark reports").
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace tally::cli {

// compare's exit statuses differ from the other subcommands': 1 is the CI gate.
enum CompareExitStatus : int {
  kCompareOk = 0,          // no regression beyond --threshold (or no --threshold)
  kCompareRegression = 1,  // some benchmark is significantly slower by more than --threshold
  kCompareError = 2,       // bad command line or bad input
};

struct CompareArgs {
  std::string base;
  std::string contender;
  std::string filter;
  std::string metric = "real";
  // --threshold and --alpha as typed: run_compare reads them, so that a bad value is one
  // line naming it (a non-finite or negative number would switch the gate off).
  std::optional<std::string> threshold_pct;
  std::string alpha = "0.05";
  std::string format = "table";
  std::string output;  // empty: stdout
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_compare_command(CLI::App& app, CompareArgs& args);

// Runs it; returns a CompareExitStatus.
int run_compare(const CompareArgs& args);

}  // namespace tally::cli
