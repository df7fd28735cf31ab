// `tally wordcount`: counts words in files, directories or stdin (see the README).
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace tally::cli {

struct WordcountArgs {
  std::vector<std::string> paths;
  std::size_t threads = 0;
  std::size_t top = 0;  // 0: every word
  std::string format = "text";
  std::string output;  // empty: stdout
  bool stats = false;
  std::string report_path;
  std::string timeout;
  std::string strategy = "local";
  bool case_sensitive = false;
  bool unicode = false;
  std::string memory;            // e.g. "512M"; empty: no budget
  std::string tmp_dir;           // spill files; empty: $TMPDIR, else /tmp
  std::optional<bool> progress;  // --progress / --no-progress; unset: on a terminal
  int perf_ctl_fd = -1;          // perf's --control protocol (perf_control.hpp); -1: off
  int perf_ack_fd = -1;
  std::string perf_phase = "map";
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_wordcount_command(CLI::App& app, WordcountArgs& args);

// Runs it; returns the process exit status (exit_status.hpp).
int run_wordcount(const WordcountArgs& args);

}  // namespace tally::cli
