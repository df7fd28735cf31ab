// The `tally` command-line program: parses the command line and dispatches to a subcommand.
// Exit statuses are in exit_status.hpp and the README.
#include <fcntl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "tally/engine/version.hpp"
#include "tools/tally/allocator.hpp"
#include "tools/tally/compare/compare_command.hpp"
#include "tools/tally/corpus_command.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/grep_command.hpp"
#include "tools/tally/histogram_command.hpp"
#include "tools/tally/index_command.hpp"
#include "tools/tally/kmeans_command.hpp"
#include "tools/tally/linreg_command.hpp"
#include "tools/tally/profile_command.hpp"
#include "tools/tally/supervisor.hpp"
#include "tools/tally/wordcount_command.hpp"

namespace {

// Out of memory, wherever it happens (mimalloc's operator new aborts without a handler, and a
// bad_alloc on a worker thread could not be reported): say so, remove any temporary output
// file, and exit 4. Allocates nothing.
void out_of_memory() {
  static constexpr char kMessage[] = "tally: out of memory\n";
  if (tally::cli::Supervisor* supervisor = tally::cli::Supervisor::current()) {
    supervisor->remove_temporaries();
  }
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(tally::cli::kExitJobFailed);
}

// A standard descriptor the parent closed (`tally ... >&-`) would be reused by the first file
// tally opens, and the counts written into it. Each closed one gets /dev/null opened the
// wrong way round, so that using it fails (EBADF) and is reported, as coreutils do.
void hold_closed_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
}

// The first argument names a subcommand unless it is an option: an unknown one is a usage
// error, even with --help after it (CLI11 would print the main help and exit 0).
bool names_unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->check_name(argv[1])) return false;
  }
  return true;
}

int run(int argc, char** argv) {
  using namespace tally::cli;
  // `tally profile` hands its whole command line to a script, unparsed (it has its own --help).
  if (const int status = run_profile_if_asked(argc, argv); status != -1) return status;

  CLI::App app{"tally: a parallel map-reduce engine with a lock-free core", "tally"};
  app.set_version_flag("--version", [] {
    return "tally " + std::string(tally::version()) + "\nallocator: " + describe_allocator();
  });
  app.require_subcommand(0, 1);
  WordcountArgs wordcount;
  CLI::App* wordcount_cmd = add_wordcount_command(app, wordcount);
  CorpusArgs corpus;
  CLI::App* corpus_cmd = add_corpus_command(app, corpus);
  CompareArgs compare;
  CLI::App* compare_cmd = add_compare_command(app, compare);
  IndexArgs index;
  CLI::App* index_cmd = add_index_command(app, index);
  add_profile_command(app);
  LinregArgs linreg;
  CLI::App* linreg_cmd = add_linreg_command(app, linreg);
  HistogramArgs histogram;
  CLI::App* histogram_cmd = add_histogram_command(app, histogram);
  KMeansArgs kmeans;
  CLI::App* kmeans_cmd = add_kmeans_command(app, kmeans);
  GrepArgs grep;
  CLI::App* grep_cmd = add_grep_command(app, grep);
  app.footer(
      "Exit status: 0 ok, 2 usage error, 3 input error, 4 job failure, 124 timeout, "
      "130 interrupted, 143 terminated (tally grep: 1 no line matched; tally compare: 0 ok, "
      "1 regression, 2 error).");

  if (names_unknown_command(app, argc, argv)) {
    std::cerr << "tally: unknown command '" << argv[1] << "' (see tally --help)\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and a pointer to --help
    return kExitUsage;
  }

  if (wordcount_cmd->parsed()) return run_wordcount(wordcount);
  if (corpus_cmd->parsed()) return run_generate_corpus(corpus);
  if (compare_cmd->parsed()) return run_compare(compare);
  if (linreg_cmd->parsed()) return run_linreg(linreg);
  if (histogram_cmd->parsed()) return run_histogram(histogram);
  if (kmeans_cmd->parsed()) return run_kmeans(kmeans);
  if (grep_cmd->parsed()) return run_grep(grep);
  if (index_cmd->parsed()) return run_index(index);
  std::cerr << app.help() << "tally: a command is required\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  hold_closed_standard_descriptors();
  // A spill file that reaches the file size limit (ulimit -f) then fails its write with
  // EFBIG, which tally reports (exit 4, naming the directory), instead of the default
  // action of SIGXFSZ killing the process with no word.
  std::signal(SIGXFSZ, SIG_IGN);
  std::set_new_handler(out_of_memory);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Every known failure is reported where it happens; this is the last line of defence
    // against a crash with no message.
    std::cerr << "tally: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "tally: internal error: unknown exception\n";
  }
  return tally::cli::kExitJobFailed;
}
