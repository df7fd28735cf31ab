#include "tools/tally/linreg_command.hpp"

#include <iostream>
#include <string>
#include <utility>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/jobs/linreg.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/table_output.hpp"

namespace tally::cli {

CLI::App* add_linreg_command(CLI::App& app, LinregArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "linreg", "Least-squares line y = slope x + intercept through numeric (x, y) points");
  cmd->add_option("paths", args.paths, "Files, directories (recursive) or - for stdin")->required();
  CLI::Option* binary = cmd->add_flag(
      "--binary", args.binary, "Input is raw (int8 x, int8 y) byte pairs, as Phoenix++ reads");
  cmd->add_option("--x", args.x_column, "The column of x, from 1 (default 1)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->excludes(binary);
  cmd->add_option("--y", args.y_column, "The column of y, from 1 (default 2)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->excludes(binary);
  cmd->add_flag("--header", args.header, "Skip the first line of each input")->excludes(binary);
  add_job_options(*cmd, args.job);
  add_bad_record_options(*cmd, args.job);
  cmd->footer(
      "Text input: one point per line, fields separated by commas (if the line has one) or\n"
      "by tabs and spaces; every field must be a decimal number. Blank lines are skipped.\n"
      "A line with too few fields or a field that is not a number fails the run (exit 3,\n"
      "naming the input, line and column) unless --max-bad-records allows skipping it.\n"
      "Binary input (--binary): pairs of signed bytes, x then y; an odd size is an error.\n"
      "Output: one row of slope, intercept, r2 and n, each double in the shortest form that\n"
      "reads back exactly. r2 is nan (null in JSON) when every y is the same. No line (exit 4)\n"
      "when there are fewer than two points or every x is the same.");
  return cmd;
}

namespace {

// The job's run and the fit of its one value; the failure's exit status if any.
template <typename Job>
int fit_with(JobSession& session, const Job& job, Inputs& inputs, RunOptions options,
             jobs::LinearFit& fit, RunReport& report) {
  auto result = session.engine().run(job, inputs, options);
  if (!result.ok()) return session.fail(result.status());
  Result<jobs::LinearFit> fitted =
      jobs::fit_line(result->table.find(0).value_or(typename Job::Value{}));
  if (!fitted.ok()) {
    // The inputs were read whole and are well-formed; it is the job that has no answer.
    std::cerr << "tally: " << fitted.status().message() << "\n";
    return kExitJobFailed;
  }
  fit = *fitted;
  report = std::move(result->report);
  return kExitOk;
}

}  // namespace

int run_linreg(const LinregArgs& args) {
  JobSession session(args.job);
  if (const int status = session.start(); status != kExitOk) return status;
  Inputs inputs = Inputs::paths(args.paths);
  if (const int status = session.open_inputs(inputs); status != kExitOk) return status;

  RunOptions options = session.run_options();
  jobs::LinearFit fit;
  RunReport report;
  int status = kExitOk;
  if (args.binary) {
    options.records.fixed_bytes = jobs::BinaryLinreg::kRecords.fixed_bytes;
    status = fit_with(session, jobs::BinaryLinreg{}, inputs, options, fit, report);
  } else {
    const jobs::TextLinreg job{
        .x_column = args.x_column, .y_column = args.y_column, .header = args.header};
    status = fit_with(session, job, inputs, options, fit, report);
  }
  if (status != kExitOk) return status;

  if (const int opened = session.open_output(); opened != kExitOk) return opened;
  TableOutput table("fit", {{"slope", true}, {"intercept", true}, {"r2", true}, {"n", true}});
  table.add_row({format_double(fit.slope), format_double(fit.intercept), format_double(fit.r2),
                 std::to_string(fit.n)});
  session.output().append(table.render(session.format()));
  return session.finish(report);
}

}  // namespace tally::cli
