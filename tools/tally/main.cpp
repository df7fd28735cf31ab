// The `tally` command-line program: parses the command line and dispatches to a subcommand.
// Exit statuses are in exit_status.hpp and the README.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "tally/engine/version.hpp"
#include "tools/tally/allocator.hpp"
#include "tools/tally/compare/compare_command.hpp"
#include "tools/tally/corpus_command.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/profile_command.hpp"
#include "tools/tally/wordcount_command.hpp"

int main(int argc, char** argv) {
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
  add_profile_command(app);
  app.footer(
      "Exit status: 0 ok, 2 usage error, 3 input error, 4 job failure, 124 timeout, "
      "130 interrupted (tally compare: 0 ok, 1 regression, 2 error).");

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
  std::cout << app.help();
  return kExitOk;
}
