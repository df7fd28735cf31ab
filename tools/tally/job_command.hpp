// What the job subcommands (histogram, linreg, kmeans, grep, index) share: the usual options,
// and a JobSession that runs one job from the command line:
//  - a Supervisor (SIGINT, SIGTERM, --timeout end the run in every state) started before the
//    engine's workers, so that they inherit its signal mask;
//  - one message per failure on stderr, "tally: <what>", and the documented exit status
//    (exit_status.hpp: 2 usage, 3 input, 4 job, 124/130/143 stopped);
//  - the outputs (-o, --report, --bad-records) written to temporary files and published
//    together, only when the whole run succeeded: never a half-written file.
//
//   JobArgs args;                      // filled by CLI11
//   add_job_options(*cmd, args);
//   ...
//   JobSession session(args);
//   if (int status = session.start(); status != kExitOk) return status;
//   Inputs inputs = Inputs::paths(paths);
//   if (int status = session.open_inputs(inputs); status != kExitOk) return status;
//   auto result = session.engine().run(job, inputs, session.run_options());
//   if (!result.ok()) return session.fail(result.status());
//   if (int status = session.open_output(); status != kExitOk) return status;
//   session.output().append(render(*result));
//   return session.finish(result->report);
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/map_only.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/status.hpp"
#include "tools/tally/output.hpp"
#include "tools/tally/supervisor.hpp"

namespace tally::cli {

struct JobArgs {
  std::size_t threads = 0;
  std::string format = "text";
  std::string output;  // empty or "-": stdout
  bool stats = false;
  std::string report_path;
  std::string timeout;
  std::uint64_t max_bad_records = 0;
  std::string bad_records_path;
};

// -j, -o, --stats, --report, --timeout, and -f with `formats` (none: no -f option).
void add_job_options(CLI::App& cmd, JobArgs& args,
                     const std::vector<std::string>& formats = {"text", "tsv", "csv", "json"});
// --max-bad-records N and --bad-records FILE, for jobs whose records can be malformed.
void add_bad_record_options(CLI::App& cmd, JobArgs& args);

// "--x must be ...": CLI11 check that a path option given as "" names no file.
std::string empty_path_error(const std::string& path);

// The exit status for a failed run's status: 3 for an input's problem (missing, unreadable,
// malformed), 124/143 for a deadline or stop relayed from elsewhere, else 4.
int exit_status_for(const Status& s);

class JobSession {
 public:
  explicit JobSession(const JobArgs& args);
  ~JobSession();
  JobSession(const JobSession&) = delete;
  JobSession& operator=(const JobSession&) = delete;

  // Parses --timeout, starts the supervisor, then the engine. kExitOk, or the exit status
  // of a failure it has reported.
  int start();
  // Opens `inputs` (stoppable, with what is read into memory capped by the machine's
  // memory) and installs the SIGBUS guard. kExitOk, or the reported failure's status.
  int open_inputs(Inputs& inputs);

  Engine& engine() { return *engine_; }
  Supervisor& supervisor() { return *supervisor_; }
  Format format() const;

  // Options for Engine::run: the supervisor's stop token and, with --max-bad-records, the
  // limit and a sink that keeps the bad records for --bad-records.
  RunOptions run_options();
  // For run_map_only: the supervisor's stop token.
  MapOnlyOptions map_only_options() const;

  // Reports a failure: "tally: <message>" and its exit status; the supervisor's reason and
  // status instead if a signal or the deadline stopped the run.
  int fail(const Status& s) const;
  // Reports a usage error: exit 2.
  int fail_usage(const std::string& message) const;

  // Opens -o (or stdout) and --report before anything is written. kExitOk or a failure's.
  int open_output();
  OutputFile& output() { return output_; }
  // Finishes the outputs and publishes them together (with --bad-records' file), then prints
  // --stats and a warning naming how many bad records were skipped. The exit status.
  int finish(const RunReport& report);

 private:
  const JobArgs& args_;
  std::optional<Supervisor> supervisor_;
  std::optional<Engine> engine_;
  OutputFile output_;
  OutputFile report_;
  // Filled one at a time (the engine serializes on_bad_record); at most max_bad_records.
  std::vector<BadRecord> bad_records_;
};

}  // namespace tally::cli
