// `tally kmeans`: k-means clustering of the numeric rows of CSV or TSV files (see the
// README): prints each cluster's size and centroid.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/tally/job_command.hpp"

namespace tally::cli {

struct KMeansArgs {
  std::vector<std::string> paths;
  std::size_t k = 0;
  std::uint64_t seed = 1;
  std::size_t max_iterations = 100;
  double tolerance = 0;
  JobArgs job;
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_kmeans_command(CLI::App& app, KMeansArgs& args);

// Runs it; returns the process exit status (exit_status.hpp).
int run_kmeans(const KMeansArgs& args);

}  // namespace tally::cli
