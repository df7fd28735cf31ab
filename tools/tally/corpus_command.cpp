#include "tools/tally/corpus_command.hpp"

#include <cmath>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tools/tally/exit_status.hpp"
#include "tools/tally/output.hpp"
#include "tools/tally/units.hpp"

namespace tally::cli {
namespace {

// Word i of the vocabulary: syllables picked by the digits of i in base 24, so words are
// pronounceable-looking, distinct, and the same on every machine.
std::string make_word(std::uint64_t i) {
  static const char* const kSyllables[] = {"ta",  "le", "ri", "mo", "nu", "sa", "ke", "di",
                                           "po",  "ga", "ve", "li", "ro", "ma", "ne", "shi",
                                           "tho", "ar", "en", "or", "us", "th", "qu", "wy"};
  std::string w;
  do {
    w += kSyllables[i % 24];
    i /= 24;
  } while (i > 0);
  return w;
}

}  // namespace

CLI::App* add_corpus_command(CLI::App& app, CorpusArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "generate-corpus", "Write a deterministic Zipf-distributed text (for demos and benchmarks)");
  cmd->add_option("-o,--output", args.output, "The file to write")->required();
  cmd->add_option("--size", args.size,
                  "Bytes to write, e.g. 100M or 1.5G (K, M, G: powers of 1024)");
  cmd->add_option("--vocabulary", args.vocabulary, "Distinct words to draw from")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  cmd->add_option("--seed", args.seed, "Random seed (same seed, same text)");
  return cmd;
}

int run_generate_corpus(const CorpusArgs& args) {
  const auto bytes = parse_size(args.size);
  if (!bytes) {
    std::cerr << "tally: invalid --size '" << args.size << "'\n";
    return kExitUsage;
  }
  std::vector<std::string> words(args.vocabulary);
  for (std::uint64_t i = 0; i < args.vocabulary; ++i) words[i] = make_word(i);
  std::mt19937_64 rng(args.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double log_v = std::log(static_cast<double>(args.vocabulary) + 1.0);
  std::string text;
  text.reserve(*bytes + 64);
  int in_line = 0;
  while (text.size() < *bytes) {
    // Zipf(1): rank r has probability ~ 1/r; inverting the continuous CDF is enough here.
    const auto rank = static_cast<std::uint64_t>(std::exp(u(rng) * log_v)) - 1;
    std::string_view w = words[std::min<std::uint64_t>(rank, args.vocabulary - 1)];
    text += (in_line == 0 && u(rng) < 0.3)
                ? std::string(1, static_cast<char>(w[0] - 32)) + std::string(w.substr(1))
                : std::string(w);
    text += (++in_line == 12) ? '\n' : ' ';
    if (in_line == 12) in_line = 0;
  }
  text.resize(*bytes);
  if (!text.empty()) text.back() = '\n';
  if (Status s = write_file_atomically(args.output, text); !s.ok()) {
    std::cerr << "tally: " << s.message() << "\n";
    return kExitJobFailed;
  }
  return kExitOk;
}

}  // namespace tally::cli
