// `tally linreg`: the least-squares line through (x, y) points, from two numeric columns of
// CSV/TSV text or from raw (int8 x, int8 y) byte pairs (--binary), as jobs/linreg.hpp
// computes it (see the README).
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "tools/tally/job_command.hpp"

namespace tally::cli {

struct LinregArgs {
  std::vector<std::string> paths;
  JobArgs job;
  bool binary = false;
  std::size_t x_column = 1;  // 1-based
  std::size_t y_column = 2;
  bool header = false;
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_linreg_command(CLI::App& app, LinregArgs& args);

// Runs it; returns the process exit status (exit_status.hpp).
int run_linreg(const LinregArgs& args);

}  // namespace tally::cli
