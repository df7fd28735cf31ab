// The tokenizer of the engine tests: words are runs of bytes other than ' '. The simplest
// rule that exercises the engine, independent of jobs/word_scan.hpp.
#pragma once

#include <cstddef>
#include <string_view>

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

}  // namespace tally::testing
