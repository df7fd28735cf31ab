// `tally index PATH...`: an inverted index of files, directories or stdin: every word, in
// bytewise order, with the lines it occurs on as `path:line` postings, sorted by input (the
// order the paths were given, a directory's files in bytewise path order) and line
// (jobs/inverted_index.hpp). Formats:
//  tsv (default): "word<TAB>path:line,path:line,..." one word per line;
//  csv:  a "word,path,line" header, then one RFC 4180 row per posting (CRLF);
//  json: {"index":[{"word":"...","postings":["path:line",...]},...]}, one word per line;
//        bytes that are not valid UTF-8 become U+FFFD.
// Paths are written as given (a directory's files as the directory's path joined with their
// names), "-" for stdin. A path holding a comma, tab or newline makes the TSV ambiguous; the
// CSV and JSON forms are not (in a JSON posting, the line follows the last ':').
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tools/tally/job_command.hpp"

namespace tally::cli {

struct IndexArgs {
  std::vector<std::string> paths;
  JobArgs job;
  bool case_sensitive = false;
};

// Adds the subcommand and its options to `app`, filling `args` when parsed.
CLI::App* add_index_command(CLI::App& app, IndexArgs& args);

// Runs it; returns the process exit status (exit_status.hpp).
int run_index(const IndexArgs& args);

}  // namespace tally::cli
