// Grep and GrepCount: `grep -F` as map-only jobs (engine/map_only.hpp), with the output of
// `LC_ALL=C grep -F -n -H` and `LC_ALL=C grep -F -c -H`, byte for byte.
//
// The rule, as GNU grep's with LC_ALL=C:
//  - A line is a run of bytes ended by '\n' or by the end of its input (a last line without
//    '\n' is a line, printed with one). A line matches if it contains any pattern as bytes
//    (no case folding, no locale); an empty pattern matches every line; no patterns match
//    nothing. Every byte is text: NUL and other binary bytes are searched and printed like
//    any other (grep -a; GNU grep would print "Binary file x matches" instead).
//  - Patterns hold no '\n': grep cuts every pattern argument at newlines, and so do
//    split_patterns and pattern_file_lines below.
//  - Grep prints each matching line once, in input order, as "LABEL:N:line\n" (N its 1-based
//    line number in its input); GrepCount gives one "LABEL:count\n" per input, every input
//    included (0 for one without a match). LABEL is the input's name ("(standard input)" for
//    "-"), or nothing and no ':' after it when file names are off (grep -h).
//
//   tally::jobs::FixedStrings strings(tally::jobs::split_patterns("error\nwarning"));
//   tally::jobs::Grep grep(strings, tally::jobs::input_labels(inputs, true));
//   auto report = tally::run_map_only(engine, grep, inputs, sink,
//                                     {.ordered = true, .records = {.numbered = true}});
//
// Both map spans of whole lines (RecordSpan): the search runs over the span as one buffer
// (FixedStrings::find), and line boundaries are looked for only around each match; line
// numbers come from the span's first number and a count of the newlines between matches.
//
// Thread safety: map() is const; any number of threads may run it at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/input.hpp"
#include "tally/engine/map_only.hpp"
#include "tally/jobs/fixed_strings.hpp"

namespace tally::jobs {

// The patterns of one -e argument: `text` cut at every '\n' ("a\nb" is "a" and "b"; "a\n" is
// "a" and "", which matches every line; "" is one empty pattern), as grep does.
std::vector<std::string> split_patterns(std::string_view text);

// The patterns of a -f file's contents, one per line: an empty file holds none; otherwise
// one final '\n' ends the last pattern rather than adding an empty one ("a\n" is "a", "\n"
// is one empty pattern, "a\n\n" is "a" and ""), as grep does.
std::vector<std::string> pattern_file_lines(std::string_view contents);

// What the output names each input of `inputs` by, with the ':' that follows: "path:", or
// "(standard input):" for "-"; all empty when `with_filename` is false. REQUIRES: inputs
// is open.
std::vector<std::string> input_labels(const Inputs& inputs, bool with_filename);

// Prints the matching lines. REQUIRES: a run with delimited, numbered records
// (MapOnlyOptions::records.numbered, the default '\n' delimiter), ordered for grep's order;
// `strings` outlives the job and holds no '\n' (std::invalid_argument otherwise).
class Grep {
 public:
  Grep(const FixedStrings& strings, std::vector<std::string> labels);
  void map(RecordSpan span, RecordSink& out) const;

 private:
  const FixedStrings* strings_;
  std::vector<std::string> labels_;
};

// Counts the matching lines of each span, as an internal record "<input> <count>" that
// MatchCounts turns into grep -c's lines. REQUIRES: as Grep, but records need not be
// numbered.
class GrepCount {
 public:
  explicit GrepCount(const FixedStrings& strings);
  void map(RecordSpan span, RecordSink& out) const;

 private:
  const FixedStrings* strings_;
};

// GrepCount's output chunks, taken in input order (an ordered run's sink), turned into one
// "LABEL:count\n" line per input. Each line is written as soon as no later chunk can add
// to its count, so nothing but the current input's count is held.
class MatchCounts {
 public:
  explicit MatchCounts(std::vector<std::string> labels) : labels_(std::move(labels)) {}
  // Adds a chunk's counts; appends to `out` the lines of the inputs it shows are done.
  void add(std::string_view chunk, std::string& out);
  // Appends the lines of every input not yet written. Call once, after the last chunk.
  void finish(std::string& out);
  // Whether any line of any input matched so far.
  bool any_match() const noexcept { return any_match_; }

 private:
  void write_until(std::size_t input, std::string& out);

  std::vector<std::string> labels_;
  std::size_t current_ = 0;  // every input before this one has its line written
  std::uint64_t count_ = 0;  // the count of input current_ so far
  bool any_match_ = false;
};

}  // namespace tally::jobs
