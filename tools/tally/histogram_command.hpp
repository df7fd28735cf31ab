// `tally histogram`: the per-channel histogram of a 24-bit BMP image (see the README).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "tools/tally/job_command.hpp"

namespace tally::cli {

struct HistogramArgs {
  std::string image;
  JobArgs job;
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_histogram_command(CLI::App& app, HistogramArgs& args);

// Runs it; returns the process exit status (exit_status.hpp).
int run_histogram(const HistogramArgs& args);

}  // namespace tally::cli
