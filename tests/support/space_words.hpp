// The tokenizer of the engine tests: words are runs of bytes other than ' '. The simplest
// rule that exercises the engine, independent of jobs/word_scan.hpp. SpaceWordCount: the
// word count job on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tally/engine/job.hpp"

namespace tally::testing {

// Calls fn(word) for every word of `line`, in order.
template <typename Fn>
void for_each_space_word(std::string_view line, Fn&& fn) {
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) fn(line.substr(start, i - start));
  }
}

// Counts the words of every record (a combine job).
struct SpaceWordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;
  template <typename Out>
  void map(Record rec, Out& out) const {
    for_each_space_word(rec.bytes, [&](std::string_view w) { out.emit(w, 1); });
  }
  static Value combine(Value a, Value b) { return a + b; }
};

}  // namespace tally::testing
