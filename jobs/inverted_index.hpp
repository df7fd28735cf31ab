// InvertedIndex: for every word, the lines it occurs on (Phoenix's reverse index, by line).
//
// A reduce job with value lists: map() emits (word, posting) for every word of a line, the
// engine groups each word's postings, and reduce() returns them sorted, each once (a word
// twice on one line is one posting). Postings sort by input (the order of the Inputs: paths
// as given, a directory's files in bytewise path order) and then by line, so reading the
// result by key gives the index in word order, each word's lines in reading order.
//
// The word rule is word count's (wordcount.hpp): a word is a maximal run of bytes that are
// not ASCII whitespace; A-Z are lowercased unless case_sensitive; every other byte is kept.
//
//   tally::RunOptions options;
//   options.records.numbered = true;  // REQUIRED: postings carry Record::number
//   auto result = engine.run(tally::jobs::InvertedIndex{}, inputs, options);
//   for (const auto& [word, postings] : result->table.by_key())
//     for (const tally::jobs::Posting& p : postings) ... inputs.name(p.input), p.line ...
//
// REQUIRES: RunOptions::records.numbered (a record without a number fails the run, naming
// it). The result holds lists, which cannot be spilled: under RunOptions::memory_budget the
// budget is a wall (kResourceExhausted), counting the postings (engine/detail/map_stage.hpp).
//
// Thread safety: map() and reduce() are const and keep their scratch on the stack, so any
// number of threads may run them at once.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/job.hpp"
#include "tally/jobs/word_scan.hpp"

namespace tally::jobs {

// One line a word occurs on.
struct Posting {
  std::uint64_t input = 0;  // Record::input: the input's index in the Inputs
  std::uint64_t line = 0;   // Record::number: the 1-based line within that input
  friend auto operator<=>(const Posting&, const Posting&) = default;
};

struct InvertedIndex {
  using Key = std::string_view;
  using Value = Posting;
  using Reduced = std::vector<Posting>;

  bool case_sensitive = false;

  // A template on the output, so that the engine passes its combining sink itself and
  // emit() is an inline call (as WordCount::map).
  template <typename Out>
  void map(Record rec, Out& out) const {
    if (rec.number == 0) {
      throw std::logic_error(
          "the inverted index needs numbered records (RunOptions::records.numbered)");
    }
    const Posting posting{rec.input, rec.number};
    if (case_sensitive) {
      for_each_word<false>(rec.bytes, [&](std::string_view w) { out.emit(w, posting); });
    } else {
      for_each_word<true>(rec.bytes, [&](std::string_view w) { out.emit(w, posting); });
    }
  }

  // The postings sorted, each once. A list in order already (a word of one split, or of
  // splits mapped in input order) is not sorted again.
  Reduced reduce(const Key& /*word*/, std::span<const Posting> postings) const {
    Reduced out(postings.begin(), postings.end());
    if (!std::is_sorted(out.begin(), out.end())) std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
};

}  // namespace tally::jobs
