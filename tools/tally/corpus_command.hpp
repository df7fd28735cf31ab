// `tally generate-corpus`: writes deterministic inputs for the jobs, the default input of the
// quick start and of benchmarks that must not depend on files a clone does not have. --kind
// picks what: `text` (the default) is a pseudo-English text with a Zipf word distribution;
// each other kind is one job's input, written by a generator of its own (generators.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace tally::cli {

struct CorpusArgs {
  std::string kind = "text";
  std::string size = "100M";  // bytes, with an optional K, M or G suffix (powers of 1024)
  std::uint64_t vocabulary = 50000;
  std::uint64_t seed = 1;
  std::string output;
};

CLI::App* add_corpus_command(CLI::App& app, CorpusArgs& args);
int run_generate_corpus(const CorpusArgs& args);

}  // namespace tally::cli
