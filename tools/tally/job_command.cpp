#include "tools/tally/job_command.hpp"

#include <iostream>
#include <string>
#include <string_view>
#include <system_error>

#include "tally/engine/system.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/units.hpp"

namespace tally::cli {

std::string empty_path_error(const std::string& path) {
  return path.empty() ? std::string("an empty path names no file") : std::string();
}

int exit_status_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kIoError:
    case StatusCode::kInvalidArgument:
      return kExitInput;
    case StatusCode::kDeadlineExceeded:
      return kExitTimeout;
    case StatusCode::kCancelled:
      return kExitTerminated;
    default:
      return kExitJobFailed;
  }
}

void add_job_options(CLI::App& cmd, JobArgs& args, const std::vector<std::string>& formats) {
  cmd.add_option("-j,--threads", args.threads, "Worker threads (default: all usable cores)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  if (!formats.empty()) {
    std::string names;
    for (const std::string& f : formats) names += (names.empty() ? "" : ", ") + f;
    cmd.add_option("-f,--format", args.format, names)->check(CLI::IsMember(formats));
  }
  cmd.add_option("-o,--output", args.output,
                 "Write here instead of stdout (a regular file atomically; - is stdout)")
      ->check(empty_path_error);
  cmd.add_flag("--stats", args.stats, "Phase timings and throughput on stderr");
  cmd.add_option("--report", args.report_path, "Write the run report (JSON) to this file")
      ->check(empty_path_error);
  cmd.add_option("--timeout", args.timeout, "Give up after this long, e.g. 30s, 500ms, 2m");
}

void add_bad_record_options(CLI::App& cmd, JobArgs& args) {
  CLI::Option* max =
      cmd.add_option("--max-bad-records", args.max_bad_records,
                     "Skip up to N malformed records instead of failing (the run fails at N+1)");
  cmd.add_option("--bad-records", args.bad_records_path,
                 "Write the skipped records here: input, byte offset, line, error (TSV)")
      ->check(empty_path_error)
      ->needs(max);
}

JobSession::JobSession(const JobArgs& args) : args_(args) {}

JobSession::~JobSession() = default;

Format JobSession::format() const {
  return parse_format(args_.format).value_or(Format::kText);  // validated by CLI11
}

int JobSession::start() {
  std::optional<Supervisor::Clock::time_point> deadline;
  if (!args_.timeout.empty()) {
    const auto timeout = parse_duration(args_.timeout);
    if (!timeout) return fail_usage("invalid --timeout '" + args_.timeout + "'");
    deadline = Supervisor::Clock::now() + *timeout;
  }
  supervisor_.emplace(deadline, args_.timeout);
  try {
    engine_.emplace(EngineOptions{.threads = args_.threads});
  } catch (const std::system_error& e) {
    return fail(
        Status::ResourceExhausted("cannot start the worker threads: " + e.code().message()));
  }
  return kExitOk;
}

int JobSession::open_inputs(Inputs& inputs) {
  const Status opened =
      inputs.open({.stop = supervisor_->token(), .max_held_bytes = usable_memory_bytes()});
  if (!opened.ok()) {
    if (supervisor_->stopped()) return fail(opened);
    std::cerr << "tally: " << opened.message() << "\n";  // names the path and the reason
    return exit_status_for(opened);
  }
  // The program's policy, not the library's: an input truncated during the run fails it
  // (exit 3, naming the file) instead of killing tally with SIGBUS.
  install_sigbus_guard();
  return kExitOk;
}

RunOptions JobSession::run_options() {
  RunOptions options;
  options.stop = supervisor_->token();
  options.max_bad_records = args_.max_bad_records;
  if (args_.max_bad_records != 0) {
    options.records.numbered = true;  // the dead-letter file names each record's line
    options.on_bad_record = [this](const BadRecord& r) { bad_records_.push_back(r); };
  }
  return options;
}

MapOnlyOptions JobSession::map_only_options() const {
  MapOnlyOptions options;
  options.stop = supervisor_->token();
  return options;
}

int JobSession::fail(const Status& s) const {
  if (supervisor_ && supervisor_->stopped()) {
    std::cerr << "tally: " << supervisor_->reason() << "\n";
    return supervisor_->exit_status();
  }
  std::cerr << "tally: " << s.to_string() << "\n";
  return exit_status_for(s);
}

int JobSession::fail_usage(const std::string& message) const {
  std::cerr << "tally: " << message << "\n";
  return kExitUsage;
}

int JobSession::open_output() {
  if (Status s = output_.open(args_.output, &*supervisor_); !s.ok()) {
    std::cerr << "tally: " << s.message() << "\n";
    return kExitJobFailed;
  }
  if (!args_.report_path.empty()) {
    if (Status s = report_.open(args_.report_path, &*supervisor_); !s.ok()) {
      std::cerr << "tally: " << s.message() << "\n";
      return kExitJobFailed;
    }
  }
  return kExitOk;
}

namespace {

// A field of the dead-letter file: tabs, newlines and backslashes escaped, so that each
// record is one line of exactly four fields.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace

int JobSession::finish(const RunReport& report) {
  // Every output is finished (written and synced) before any is published: a failure in one
  // publishes none.
  const auto write_failed = [this](const Status& s) -> int {
    if (supervisor_->stopped()) return fail(s);
    std::cerr << "tally: " << s.message() << "\n";
    return kExitJobFailed;
  };
  OutputFile dead_letter;
  if (!args_.bad_records_path.empty()) {
    if (Status s = dead_letter.open(args_.bad_records_path, &*supervisor_); !s.ok()) {
      return write_failed(s);
    }
    std::string line;
    for (const BadRecord& r : bad_records_) {
      line.clear();
      append_escaped(line, r.input);
      line += '\t' + std::to_string(r.offset) + '\t' + std::to_string(r.number) + '\t';
      append_escaped(line, r.error);
      line += '\n';
      dead_letter.append(line);
    }
  }
  if (!args_.report_path.empty()) report_.append(report.to_json() + "\n");
  if (Status s = output_.finish(); !s.ok()) return write_failed(s);
  if (Status s = report_.finish(); !s.ok()) return write_failed(s);
  if (Status s = dead_letter.finish(); !s.ok()) return write_failed(s);
  if (!supervisor_->begin_publishing()) return fail(Status::Cancelled("stopped"));
  for (OutputFile* file : {&output_, &report_, &dead_letter}) {
    if (Status s = file->publish(); !s.ok()) {
      std::cerr << "tally: " << s.message() << "\n";
      return kExitJobFailed;
    }
  }
  if (args_.stats) std::cerr << report.to_text();
  if (report.bad_records != 0) {
    std::cerr << "tally: warning: skipped " << report.bad_records << " bad record(s)"
              << (args_.bad_records_path.empty() ? "" : ", listed in " + args_.bad_records_path)
              << "\n";
  }
  return kExitOk;
}

}  // namespace tally::cli
