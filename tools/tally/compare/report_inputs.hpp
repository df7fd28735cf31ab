// What BASE and NEW name on the command line: two report files, or two directories whose
// reports pair by file name.
#pragma once

#include <string>
#include <vector>

#include "tally/engine/status.hpp"

namespace tally::compare {

struct ReportFiles {
  std::string source;  // the shared file name in directory mode; empty for two files
  std::string base_path, new_path;
};

struct InputPlan {
  std::vector<ReportFiles> files;
  std::vector<std::string> only_in_base, only_in_new;  // file names, directory mode only
};

// Two files: one pair. Two directories: their regular *.json files (not recursive), paired
// by name and sorted. Fails with "'<path>': <problem>" for a missing path, a file against a
// directory, or directories that share no report.
Result<InputPlan> plan_inputs(const std::string& base, const std::string& contender);

}  // namespace tally::compare
