#include "tools/tally/grep_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "tally/engine/input.hpp"
#include "tally/engine/map_only.hpp"
#include "tally/jobs/fixed_strings.hpp"
#include "tally/jobs/grep.hpp"
#include "tools/tally/exit_status.hpp"

namespace tally::cli {
namespace {

// grep's status for a search that found nothing, so that scripts test tally grep's outcome
// as they test grep's.
constexpr int kExitNoMatch = 1;

// The whole of a pattern file ("-": stdin), or the reason it cannot be read.
std::optional<std::string> read_pattern_file(const std::string& path, std::string& error) {
  // generic_category().message: strerror's text, without strerror's shared buffer.
  const auto failed = [&](int err) {
    error = "cannot read the pattern file '" + path + "': " + std::generic_category().message(err);
  };
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    failed(errno);
    return std::nullopt;
  }
  std::string contents;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      contents.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      failed(errno);
      if (!is_stdin) ::close(fd);
      return std::nullopt;
    }
  }
  if (!is_stdin) ::close(fd);
  return contents;
}

// Runs `job` over `inputs`, every chunk of its output through `write` in input order, then
// `end` once the run has succeeded. The exit status, once the outputs are published.
template <typename J, typename Write, typename End>
int search(JobSession& session, const J& job, Inputs& inputs, bool numbered, Write&& write,
           End&& end) {
  if (int status = session.open_output(); status != kExitOk) return status;
  MapOnlyOptions options = session.map_only_options();
  options.ordered = true;
  options.records.numbered = numbered;
  // A write that fails (a full disk) stops the run; it is the output's problem, not an
  // input's, whatever status code it carries.
  bool output_failed = false;
  auto report = run_map_only(
      session.engine(), job, inputs,
      [&](std::string_view chunk) {
        write(chunk);
        if (!session.output().status().ok()) output_failed = true;
        return session.output().status();
      },
      options);
  if (!report.ok()) {
    if (output_failed && !session.supervisor().stopped()) {
      std::cerr << "tally: " << report.status().message() << "\n";
      return kExitJobFailed;
    }
    return session.fail(report.status());
  }
  end();
  return session.finish(*report);
}

}  // namespace

CLI::App* add_grep_command(CLI::App& app, GrepArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "grep", "Print the lines that contain any of some fixed strings, as LC_ALL=C grep -F -n -H");
  // grep's -h is --no-filename: help is --help alone.
  cmd->set_help_flag("--help", "Print this help message and exit");
  cmd->add_option("-e,--regexp", args.patterns,
                  "A fixed string to look for (repeatable; one with newlines is several)")
      ->allow_extra_args(false);
  cmd->add_option("-f,--file", args.pattern_files,
                  "Read fixed strings from this file, one per line (- for stdin; repeatable)")
      ->allow_extra_args(false)
      ->check(empty_path_error);
  cmd->add_option("operands", args.operands,
                  "PATTERN (unless -e or -f is given), then files, directories (recursive) or "
                  "- for stdin (default: stdin)");
  cmd->add_flag("-c,--count", args.count, "Print the number of matching lines of each input");
  cmd->add_flag("-h,--no-filename", args.no_filename, "Do not prefix lines with file names");
  // Accepted for grep's command lines; each is what tally grep always does.
  cmd->add_flag("-F,--fixed-strings")
      ->description("Patterns are fixed strings (always: no regexes)");
  cmd->add_flag("-n,--line-number")->description("Prefix lines with their line number (always)");
  cmd->add_flag("-H,--with-filename")->description("Prefix lines with the file name (the default)");
  cmd->add_flag("-a,--text")->description("Search binary input as text (always)");
  add_job_options(*cmd, args.job, {});
  cmd->footer(
      "Patterns are fixed strings, compared byte for byte (as LC_ALL=C grep -F), with or\n"
      "without -F. A line matches if it contains any of them; an empty pattern matches every\n"
      "line. Output: path:line:text for each matching line, in input order, or path:count\n"
      "for each input with -c (stdin is named (standard input)). Every input is text: binary\n"
      "bytes are searched and printed as they are (grep -a). Directories are searched\n"
      "recursively; .gz and .zst inputs are decompressed.\n"
      "Exit status: 0 a line matched, 1 none did, 2 usage error, 3 input error, 4 failure,\n"
      "124 timeout, 130 interrupted, 143 terminated.");
  return cmd;
}

int run_grep(const GrepArgs& args) {
  std::vector<std::string> patterns;
  std::vector<std::string> paths = args.operands;
  if (args.patterns.empty() && args.pattern_files.empty()) {
    if (paths.empty()) {
      std::cerr << "tally: grep needs a pattern: PATTERN, -e PATTERN or -f FILE\n";
      return kExitUsage;
    }
    patterns = jobs::split_patterns(paths.front());
    paths.erase(paths.begin());
  }
  for (const std::string& p : args.patterns) {
    for (std::string& s : jobs::split_patterns(p)) patterns.push_back(std::move(s));
  }
  for (const std::string& file : args.pattern_files) {
    std::string error;
    const std::optional<std::string> contents = read_pattern_file(file, error);
    if (!contents) {
      std::cerr << "tally: " << error << "\n";
      return kExitInput;
    }
    for (std::string& s : jobs::pattern_file_lines(*contents)) patterns.push_back(std::move(s));
  }
  if (paths.empty()) paths.push_back("-");

  JobSession session(args.job);
  if (int status = session.start(); status != kExitOk) return status;
  Inputs inputs = Inputs::paths(paths);
  if (int status = session.open_inputs(inputs); status != kExitOk) return status;
  const jobs::FixedStrings strings(std::move(patterns));
  std::vector<std::string> labels = jobs::input_labels(inputs, !args.no_filename);

  int status = kExitOk;
  bool matched = false;
  if (args.count) {
    jobs::MatchCounts counts(std::move(labels));
    std::string lines;
    status = search(
        session, jobs::GrepCount(strings), inputs, false,
        [&](std::string_view chunk) {
          lines.clear();
          counts.add(chunk, lines);
          session.output().append(lines);
        },
        [&] {
          lines.clear();
          counts.finish(lines);  // the inputs after the last one with a match
          session.output().append(lines);
        });
    matched = counts.any_match();
  } else {
    status = search(
        session, jobs::Grep(strings, std::move(labels)), inputs, true,
        [&](std::string_view chunk) {
          matched = matched || !chunk.empty();
          session.output().append(chunk);
        },
        [] {});
  }
  if (status != kExitOk) return status;
  return matched ? kExitOk : kExitNoMatch;
}

}  // namespace tally::cli
