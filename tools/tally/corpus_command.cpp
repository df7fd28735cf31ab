#include "tools/tally/corpus_command.hpp"

#include <cmath>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tools/tally/exit_status.hpp"
#include "tools/tally/generators.hpp"
#include "tools/tally/output.hpp"
#include "tools/tally/supervisor.hpp"
#include "tools/tally/units.hpp"

namespace tally::cli {
namespace {

// Words spelled once, up front: the most frequent ones, which are nearly every word drawn.
constexpr std::uint64_t kCachedWords = std::uint64_t{1} << 20;

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
  cmd->add_option("-o,--output", args.output, "The file to write (- for stdout)")->required();
  std::vector<std::string> kinds = {"text"};
  for (const Generator& g : generators()) kinds.push_back(g.kind);
  std::string help = "What to write: text (default)";
  for (const Generator& g : generators()) help += "; " + g.kind + " (" + g.description + ")";
  cmd->add_option("--kind", args.kind, help)->check(CLI::IsMember(kinds));
  cmd->add_option("--size", args.size,
                  "Bytes to write, e.g. 100M or 1.5G (K, M, G: powers of 1024)");
  cmd->add_option("--vocabulary", args.vocabulary, "Distinct words to draw from")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  cmd->add_option("--seed", args.seed, "Random seed (same seed, same text)");
  return cmd;
}

namespace {

void write_text(const CorpusArgs& args, std::uint64_t bytes, OutputFile& file) {
  // The most frequent words are kept; rarer ones are spelled out as they are drawn, so that
  // memory does not grow with --vocabulary.
  std::vector<std::string> cached(std::min<std::uint64_t>(args.vocabulary, kCachedWords));
  for (std::uint64_t i = 0; i < cached.size(); ++i) cached[i] = make_word(i);
  std::mt19937_64 rng(args.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double log_v = std::log(static_cast<double>(args.vocabulary) + 1.0);
  // The text goes out in pieces of about OutputFile::kBufferBytes; `written` counts what went.
  std::string piece;
  std::string spelled;
  std::uint64_t written = 0;
  int in_line = 0;
  while (written + piece.size() < bytes && file.status().ok()) {
    // Zipf(1): rank r has probability ~ 1/r; inverting the continuous CDF is enough here.
    const auto rank = std::min<std::uint64_t>(
        static_cast<std::uint64_t>(std::exp(u(rng) * log_v)) - 1, args.vocabulary - 1);
    if (rank >= cached.size()) spelled = make_word(rank);
    const std::string_view w = rank < cached.size() ? std::string_view(cached[rank]) : spelled;
    if (in_line == 0 && u(rng) < 0.3) {
      piece += static_cast<char>(w[0] - 32);
      piece += w.substr(1);
    } else {
      piece += w;
    }
    piece += (++in_line == 12) ? '\n' : ' ';
    if (in_line == 12) in_line = 0;
    if (piece.size() >= OutputFile::kBufferBytes && written + piece.size() < bytes) {
      file.append(piece);
      written += piece.size();
      piece.clear();
    }
  }
  if (file.status().ok()) {
    piece.resize(static_cast<std::size_t>(bytes - written));
    if (!piece.empty()) piece.back() = '\n';
    file.append(piece);
  }
}

int finish(OutputFile& file, Supervisor& supervisor) {
  if (Status s = file.commit(); !s.ok()) {
    if (supervisor.stopped()) {
      std::cerr << "tally: " << supervisor.reason() << "\n";
      return supervisor.exit_status();
    }
    std::cerr << "tally: " << s.message() << "\n";
    return kExitJobFailed;
  }
  return kExitOk;
}

}  // namespace

int run_generate_corpus(const CorpusArgs& args) {
  const auto bytes = parse_size(args.size);
  if (!bytes) {
    std::cerr << "tally: invalid --size '" << args.size << "'\n";
    return kExitUsage;
  }
  if (args.output.empty()) {
    std::cerr << "tally: -o needs a path (or - for stdout)\n";
    return kExitUsage;
  }
  Supervisor supervisor;  // Ctrl-C: stop writing, leave no temporary file
  OutputFile file;
  if (Status s = file.open(args.output, &supervisor); !s.ok()) {
    std::cerr << "tally: " << s.message() << "\n";
    return kExitJobFailed;
  }
  for (const Generator& g : generators()) {
    if (g.kind != args.kind) continue;
    g.generate(GeneratorArgs{.bytes = *bytes, .seed = args.seed}, file);
    return finish(file, supervisor);
  }
  write_text(args, *bytes, file);
  return finish(file, supervisor);
}
}  // namespace tally::cli
