#include "tools/tally/kmeans_command.hpp"

#include <charconv>
#include <cmath>
#include <iostream>
#include <string>
#include <system_error>
#include <utility>

#include "tally/engine/input.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/jobs/kmeans.hpp"
#include "tally/jobs/numeric_rows.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/table_output.hpp"

namespace tally::cli {
namespace {

// What the points were read from, for messages: "'a.csv'", or "the 3 inputs".
std::string where_points_are(const KMeansArgs& args) {
  if (args.paths.size() == 1) return "'" + args.paths.front() + "'";
  return "the " + std::to_string(args.paths.size()) + " inputs";
}

// One row per cluster: cluster (1-based), size, then the centroid's coordinates x1..xd,
// each the shortest decimal that reads back as the same double.
TableOutput clusters_table(const jobs::KMeansResult& result) {
  std::vector<TableOutput::Column> columns = {{"cluster", true}, {"size", true}};
  for (std::size_t j = 1; j <= result.dims; ++j) columns.push_back({"x" + std::to_string(j), true});
  TableOutput table("clusters", std::move(columns));
  for (std::size_t c = 0; c < result.k; ++c) {
    std::vector<std::string> cells = {std::to_string(c + 1), std::to_string(result.sizes[c])};
    for (const double x : result.centroid(c)) cells.push_back(format_double(x));
    table.add_row(std::move(cells));
  }
  return table;
}

// CLI11 checks with messages that say what is allowed (CLI11's ranges print their bounds,
// up to 2^64 or DBL_MAX written out). A value that is not a number at all passes them, and
// CLI11's conversion reports it.
std::string positive_count(const std::string& value) {
  const bool zero = !value.empty() && value.find_first_not_of('0') == std::string::npos;
  return zero || value.starts_with('-') ? std::string("must be at least 1") : std::string();
}

std::string non_negative_number(const std::string& value) {
  double v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size()) return {};
  return v >= 0 && std::isfinite(v) ? std::string() : std::string("must be a number >= 0");
}

}  // namespace

CLI::App* add_kmeans_command(CLI::App& app, KMeansArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "kmeans", "Cluster the numeric rows of CSV or TSV files into k clusters (k-means)");
  cmd->add_option("paths", args.paths,
                  "CSV or TSV files of numbers, one point a line, all of one dimension "
                  "(directories: every file in them; - for stdin)")
      ->required();
  cmd->add_option("-k,--clusters", args.k, "How many clusters")->required()->check(positive_count);
  cmd->add_option("--seed", args.seed,
                  "Seed of the initial centroids: k distinct rows drawn at random (default 1)");
  cmd->add_option("--max-iter", args.max_iterations,
                  "Stop after this many iterations even if not converged (default 100)")
      ->check(positive_count);
  cmd->add_option("--tolerance", args.tolerance,
                  "Also converged once every centroid moves less than this (default 0: only "
                  "once no point changes cluster)")
      ->check(non_negative_number);
  add_job_options(*cmd, args.job);
  add_bad_record_options(*cmd, args.job);
  return cmd;
}

int run_kmeans(const KMeansArgs& args) {
  JobSession session(args.job);
  if (int status = session.start(); status != kExitOk) return status;
  Inputs inputs = Inputs::paths(args.paths);
  if (int status = session.open_inputs(inputs); status != kExitOk) return status;
  const RunOptions options = session.run_options();

  // The text is read and parsed once; the iterations go over the parsed points.
  Result<jobs::NumericRows> rows = jobs::load_numeric_rows(session.engine(), inputs, options);
  if (!rows.ok()) return session.fail(rows.status());
  const std::size_t points = rows->rows();
  if (points == 0) {
    return session.fail(
        Status::InvalidArgument("there are no points to cluster in " + where_points_are(args)));
  }
  if (args.k > points) {
    return session.fail(Status::InvalidArgument(
        "-k " + std::to_string(args.k) + " is more than the " + std::to_string(points) +
        (points == 1 ? " point in " : " points in ") + where_points_are(args)));
  }
  Result<jobs::KMeansResult> result =
      jobs::kmeans(session.engine(), rows->values, rows->width,
                   jobs::KMeansOptions{.k = args.k,
                                       .seed = args.seed,
                                       .max_iterations = args.max_iterations,
                                       .tolerance = args.tolerance},
                   options);
  if (!result.ok()) return session.fail(result.status());

  if (int status = session.open_output(); status != kExitOk) return status;
  session.output().append(clusters_table(*result).render(session.format()));
  RunReport report = std::move(rows->report);
  add_run(report, result->report);
  report.strategy = "map-only ordered, then dense";
  report.rounds = result->iterations;
  report.converged = result->converged;
  if (int status = session.finish(report); status != kExitOk) return status;
  if (args.job.stats) {
    std::cerr << "kmeans: " << result->iterations
              << (result->iterations == 1 ? " iteration, " : " iterations, ")
              << (result->converged ? "converged" : "did not converge") << " ("
              << result->last_changes << " of " << points
              << " points changed cluster in the last)\n";
  }
  return kExitOk;
}

}  // namespace tally::cli
