#include "tools/tally/index_command.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/parallel.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/jobs/inverted_index.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/output.hpp"

namespace tally::cli {
namespace {

using jobs::Posting;
using IndexTable = ResultTable<jobs::InvertedIndex::Key, jobs::InvertedIndex::Reduced>;
using IndexEntry = IndexTable::Entry;

// Formats words with their postings in one of the formats of index_command.hpp, into as many
// pieces of the output as the caller likes (formatted on different threads, joined in order):
// begin(), the words, separator() between two pieces that both hold words, end().
// Thread safety: const; any number of threads may format at once.
class IndexFormat {
 public:
  IndexFormat(Format format, const Inputs& inputs) : format_(format) {
    // Each input's path as a posting starts with it, escaped once here rather than per posting.
    prefixes_.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      std::string prefix;
      if (format_ == Format::kJson) {
        append_json_string(prefix, inputs.name(i));
        prefix.back() = ':';  // the closing quote comes after the line
      } else if (format_ == Format::kCsv) {
        append_csv_field(prefix, inputs.name(i));
        prefix += ',';
      } else {
        prefix = inputs.name(i) + ':';
      }
      prefixes_.push_back(std::move(prefix));
    }
  }

  void begin(std::string& out) const {
    if (format_ == Format::kCsv) out += "word,path,line\r\n";  // RFC 4180: CRLF
    if (format_ == Format::kJson) out += "{\"index\":[";
  }

  void word(std::string& out, std::string_view word, std::span<const Posting> postings,
            bool first_in_piece) const {
    switch (format_) {
      case Format::kCsv: {
        std::string field;
        append_csv_field(field, word);
        for (const Posting& p : postings) {
          out += field;
          out += ',';
          out += prefixes_[p.input];
          append_number(out, p.line);
          out += "\r\n";
        }
        break;
      }
      case Format::kJson:
        out += first_in_piece ? "\n{\"word\":" : ",\n{\"word\":";
        append_json_string(out, word);
        out += ",\"postings\":[";
        for (std::size_t k = 0; k < postings.size(); ++k) {
          if (k != 0) out += ',';
          out += prefixes_[postings[k].input];
          append_number(out, postings[k].line);
          out += '"';
        }
        out += "]}";
        break;
      default:  // tsv
        out += word;
        out += '\t';
        for (std::size_t k = 0; k < postings.size(); ++k) {
          if (k != 0) out += ',';
          out += prefixes_[postings[k].input];
          append_number(out, postings[k].line);
        }
        out += '\n';
    }
  }

  std::string_view separator() const { return format_ == Format::kJson ? "," : ""; }

  void end(std::string& out, bool any_words) const {
    if (format_ == Format::kJson) out += any_words ? "\n]}\n" : "]}\n";
  }

 private:
  static void append_number(std::string& out, std::uint64_t n) {
    char buf[20];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
  }

  const Format format_;
  std::vector<std::string> prefixes_;  // by input
};

// Postings formatted per piece: enough that the per-piece costs (a task, joining) are noise,
// few enough that the pieces in flight (kPiecesPerWorker per worker) stay a few megabytes.
constexpr std::size_t kPostingsPerPiece = std::size_t{1} << 13;
constexpr std::size_t kPiecesPerWorker = 4;

// Writes the index to `out` as it reads it in key order: words are gathered into pieces of
// about kPostingsPerPiece postings, a bounded number of pieces at a time, which the engine's
// workers format in parallel and which are then written in order. Stops at a write failure
// or once the run is stopped (the output then reports it).
void write_index(const IndexTable& table, const IndexFormat& format, Scheduler& scheduler,
                 OutputFile& out, const Supervisor& supervisor) {
  std::string text;
  format.begin(text);
  out.append(text);
  bool any_words = false;

  // A piece is a range of `words`; the entries stay in the table, which is in memory.
  std::vector<const IndexEntry*> words;
  std::vector<std::pair<std::size_t, std::size_t>> pieces;  // [first, last) of `words`
  std::vector<std::string> formatted;
  const std::size_t most_pieces = kPiecesPerWorker * scheduler.num_workers();
  std::size_t piece_postings = 0;
  const auto write_pieces = [&] {
    if (pieces.empty()) return;
    formatted.resize(pieces.size());
    parallel_for_each_index(scheduler, pieces.size(), [&](std::size_t i) {
      formatted[i].clear();
      for (std::size_t w = pieces[i].first; w < pieces[i].second; ++w) {
        format.word(formatted[i], words[w]->first, words[w]->second, w == pieces[i].first);
      }
    });
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (any_words) out.append(format.separator());
      out.append(formatted[i]);
      any_words = true;
    }
    words.clear();
    pieces.clear();
  };

  for (const IndexEntry& entry : table.by_key()) {
    if (words.empty() || piece_postings >= kPostingsPerPiece) {
      if (pieces.size() == most_pieces) {
        write_pieces();
        if (!out.status().ok() || supervisor.stopped()) return;
      }
      pieces.emplace_back(words.size(), words.size());
      piece_postings = 0;
    }
    words.push_back(&entry);
    ++pieces.back().second;
    piece_postings += entry.second.size();
  }
  write_pieces();
  text.clear();
  format.end(text, any_words);
  out.append(text);
}

}  // namespace

CLI::App* add_index_command(CLI::App& app, IndexArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "index", "Inverted index: every word with the lines it is on (path:line), in word order");
  cmd->add_option("paths", args.paths, "Files, directories (recursive) or - for stdin")->required();
  args.job.format = "tsv";
  add_job_options(*cmd, args.job, {"tsv", "csv", "json"});
  cmd->add_flag("--case-sensitive", args.case_sensitive,
                "Keep case (by default A-Z are lowercased, as wordcount does)");
  return cmd;
}

int run_index(const IndexArgs& args) {
  JobSession session(args.job);
  if (int status = session.start(); status != kExitOk) return status;
  Inputs inputs = Inputs::paths(args.paths);
  if (int status = session.open_inputs(inputs); status != kExitOk) return status;
  RunOptions options = session.run_options();
  options.records.numbered = true;  // postings name lines
  auto result = session.engine().run(jobs::InvertedIndex{.case_sensitive = args.case_sensitive},
                                     inputs, options);
  if (!result.ok()) return session.fail(result.status());
  if (int status = session.open_output(); status != kExitOk) return status;
  write_index(result->table, IndexFormat(session.format(), inputs), session.engine().scheduler(),
              session.output(), session.supervisor());
  return session.finish(result->report);
}

}  // namespace tally::cli
