#include "tools/tally/profile_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

extern char** environ;

namespace tally::cli {
namespace {

constexpr const char* kScript = "tally-profile";

// Where the script lives relative to this executable: beside it in the build tree (CMake
// copies it there), in ../libexec/tally once installed.
std::vector<std::filesystem::path> script_candidates(const std::filesystem::path& exe) {
  const std::filesystem::path dir = exe.parent_path();
  return {dir / kScript, dir.parent_path() / "libexec" / "tally" / kScript};
}

}  // namespace

CLI::App* add_profile_command(CLI::App& app) {
  return app.add_subcommand(
      "profile",
      "Profile a tally command with perf: top functions per thread and phase, a folded-stacks "
      "file for flame graphs (tally profile --help; docs/profiling.md)");
}

int run_profile_if_asked(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "profile") return -1;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "tally: profile: cannot find this executable's path: " << ec.message() << "\n";
    return kExitNoProfileScript;
  }
  std::string tried;
  for (const auto& script : script_candidates(exe)) {
    if (::access(script.c_str(), X_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + script.string();
      continue;
    }
    std::vector<char*> args;
    std::string arg0 = script.string();
    args.push_back(arg0.data());
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    // The environment plus TALLY_EXE, built here rather than with setenv (not thread-safe).
    std::string tally_exe = "TALLY_EXE=" + exe.string();
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).starts_with("TALLY_EXE=")) continue;
      env.push_back(*e);
    }
    env.push_back(tally_exe.data());
    env.push_back(nullptr);
    ::execve(arg0.c_str(), args.data(), env.data());
    std::cerr << "tally: profile: cannot run " << arg0 << ": "
              << std::generic_category().message(errno) << "\n";
    return kExitNoProfileScript;
  }
  std::cerr << "tally: profile: " << kScript << " not found (looked at " << tried
            << "); from a source tree, run tools/perf/" << kScript << "\n";
  return kExitNoProfileScript;
}

}  // namespace tally::cli
