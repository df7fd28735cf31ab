#include "tools/tally/wordcount_command.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "engine/engine.hpp"
#include "engine/input.hpp"
#include "jobs/wordcount.hpp"
#include "tools/tally/duration.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/output.hpp"
#include "tools/tally/signals.hpp"

namespace tally::cli {
namespace {

int fail(int status, const std::string& message) {
  std::cerr << "tally: " << message << "\n";
  return status;
}

// Input problems (missing, unreadable, wrong kind) are exit 3; the job's own failures 4.
int exit_status_for(const Status& s, int signal_received) {
  if (signal_received != 0) return kExitInterrupted;
  switch (s.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kIoError:
    case StatusCode::kInvalidArgument:
      return kExitInput;
    case StatusCode::kDeadlineExceeded:
      return kExitTimeout;
    default:
      return kExitJobFailed;
  }
}

}  // namespace

CLI::App* add_wordcount_command(CLI::App& app, WordcountArgs& args) {
  CLI::App* cmd = app.add_subcommand("wordcount", "Count words in files, directories or stdin");
  cmd->add_option("paths", args.paths, "Files, directories (recursive) or - for stdin")->required();
  cmd->add_option("-j,--threads", args.threads, "Worker threads (default: all usable cores)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  cmd->add_option("-n,--top", args.top, "Only the K most frequent words");
  cmd->add_option("-f,--format", args.format, "text, tsv, csv or json")
      ->check(CLI::IsMember({"text", "tsv", "csv", "json"}));
  cmd->add_option("-o,--output", args.output, "Write here (atomically) instead of stdout");
  cmd->add_flag("--stats", args.stats, "Phase timings and throughput on stderr");
  cmd->add_option("--report", args.report_path, "Write the run report (JSON) to this file");
  cmd->add_option("--timeout", args.timeout, "Give up after this long, e.g. 30s, 500ms, 2m");
  cmd->add_option("--strategy", args.strategy, "Aggregation: local, sharded or partitioned")
      ->check(CLI::IsMember({"local", "sharded", "partitioned"}));
  cmd->add_flag("--case-sensitive", args.case_sensitive, "Do not lowercase ASCII letters");
  cmd->footer(
      "Words are maximal runs of bytes other than ASCII whitespace; A-Z are lowercased.\n"
      "Output: count descending, then word ascending (bytewise).");
  return cmd;
}

int run_wordcount(const WordcountArgs& args) {
  std::optional<std::chrono::nanoseconds> timeout;
  if (!args.timeout.empty()) {
    timeout = parse_duration(args.timeout);
    if (!timeout) return fail(kExitUsage, "invalid --timeout '" + args.timeout + "'");
  }
  const Format format = *parse_format(args.format);          // validated by CLI11
  const Strategy strategy = *parse_strategy(args.strategy);  // validated by CLI11

  // Before the engine starts its workers, so that they inherit the blocked signal mask.
  SignalWatcher signals;
  Engine engine({.threads = args.threads});
  Inputs inputs = Inputs::paths(args.paths);
  if (Status s = inputs.open(); !s.ok()) return fail(exit_status_for(s, 0), s.message());
  install_sigbus_guard();

  RunOptions options{.strategy = strategy, .stop = signals.token()};
  if (timeout) options.deadline = std::chrono::steady_clock::now() + *timeout;
  auto result = engine.run(jobs::WordCount{.case_sensitive = args.case_sensitive}, inputs, options);
  if (!result.ok()) {
    const Status s = result.status();
    const int code = exit_status_for(s, signals.signal_received());
    if (code == kExitInterrupted) return fail(code, "interrupted");
    if (code == kExitTimeout) return fail(code, "timed out after " + args.timeout);
    return fail(code, s.to_string());
  }

  // A Ctrl-C that lands after the last task but before the output still cancels: nothing
  // is written.
  if (signals.signal_received() != 0) return fail(kExitInterrupted, "interrupted");
  const auto rows = result->table.top(args.top == 0 ? result->table.size() : args.top);
  const std::string text = render(rows, format);
  if (args.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) return fail(kExitJobFailed, "cannot write to stdout");
  } else if (Status s = write_file_atomically(args.output, text); !s.ok()) {
    return fail(kExitJobFailed, s.message());
  }
  if (!args.report_path.empty()) {
    if (Status s = write_file_atomically(args.report_path, result->report.to_json() + "\n");
        !s.ok()) {
      return fail(kExitJobFailed, s.message());
    }
  }
  if (args.stats) std::cerr << result->report.to_text();
  return kExitOk;
}

}  // namespace tally::cli
