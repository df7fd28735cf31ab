// `tally grep`: the lines of files that contain any of a set of fixed strings, printed as
// `LC_ALL=C grep -F -n -H` prints them, byte for byte (jobs/grep.hpp has the rule); -c counts
// them per input as `LC_ALL=C grep -F -c -H` does.
//
//   tally grep [-F] [-c] [-h] [-j N] [-o FILE] -e PATTERN... | -f FILE... | PATTERN  [PATH...]
//
// grep's option names win where they clash with tally's: -f names a pattern file (there is
// no output format to choose), -h drops the file names (--help is the only help flag). -o
// stays tally's output file (grep's --only-matching is not offered). Exit status: 0 if a
// line matched, 1 if none did (as grep, for scripts), 2 usage, 3 input error (a missing
// input or pattern file), and tally's others (exit_status.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tools/tally/job_command.hpp"

namespace tally::cli {

struct GrepArgs {
  JobArgs job;
  std::vector<std::string> patterns;       // -e, each cut at newlines
  std::vector<std::string> pattern_files;  // -f, one pattern per line
  // PATTERN (when there is no -e and no -f), then the paths; no path reads stdin.
  std::vector<std::string> operands;
  bool count = false;        // -c
  bool no_filename = false;  // -h
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_grep_command(CLI::App& app, GrepArgs& args);

// Runs it; returns the process exit status (see the top of this file).
int run_grep(const GrepArgs& args);

}  // namespace tally::cli
