// `tally profile`: profiles a tally command with perf. The work is done by the script
// tools/perf/tally-profile, which this subcommand finds next to the tally executable (the
// build tree) or in <prefix>/libexec/tally (an install) and executes with the arguments
// that follow `profile`, untouched. docs/profiling.md describes it.
#pragma once

#include <CLI/CLI.hpp>

namespace tally::cli {

// Exit status when the script cannot be found or executed (as a shell's "command not found").
inline constexpr int kExitNoProfileScript = 127;

// Adds `profile` to `app`'s subcommands, for the help listing; its arguments are never
// parsed by CLI11 (see run_profile_if_asked).
CLI::App* add_profile_command(CLI::App& app);

// If argv[1] is "profile", replaces this process with the script, passing argv[2...] on
// and the path of this executable in the environment (TALLY_EXE), and returns only if
// that fails: with kExitNoProfileScript, after a message. Otherwise returns -1.
int run_profile_if_asked(int argc, char** argv);

}  // namespace tally::cli
