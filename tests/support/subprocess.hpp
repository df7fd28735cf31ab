// Runs a program as a child process and captures what it printed, for tests of the `tally`
// binary. Test-only code: it reports failures by throwing std::runtime_error.
#pragma once

#include <string>
#include <vector>

namespace tally::testing {

struct ProcessResult {
  int exit_status = -1;  // the exit code, or 128 + signal number if a signal killed it
  std::string out;       // everything written to stdout
  std::string err;       // everything written to stderr
};

// Runs argv[0] (a path, not searched in PATH) with the given arguments, feeding `input` to its
// stdin, and waits for it to exit.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {});

}  // namespace tally::testing
