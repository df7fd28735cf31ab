// WordCount: tally's headline job.
//
// The default word rule (that of the well-known "countwords" benchmark, so results compare
// byte for byte with other programs): a word is a maximal run of bytes that are not ASCII
// whitespace (space, \t, \n, \v, \f, \r); ASCII letters A-Z are lowercased; every other byte
// (digits, punctuation, UTF-8 sequences, NUL) is kept as it is. With case_sensitive set,
// nothing is lowercased.
//
// Thread safety: map() is const and keeps its scratch buffer on the stack of the call, so
// any number of threads may run it at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/job.hpp"

namespace tally::jobs {

// The countwords whitespace set: exactly these six bytes separate words.
constexpr bool is_ascii_space(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct WordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;

  bool case_sensitive = false;

  void map(Record rec, Emitter<Key, Value>& out) const {
    const auto* p = reinterpret_cast<const unsigned char*>(rec.bytes.data());
    const auto* const end = p + rec.bytes.size();
    // Lowercased words are built here; emit() copies the key into engine storage before it
    // returns, so the buffer may be reused for the next word.
    char lowered[64];
    std::string long_word;
    while (p < end) {
      while (p < end && is_ascii_space(*p)) ++p;
      const auto* start = p;
      while (p < end && !is_ascii_space(*p)) ++p;
      if (p == start) break;
      const auto n = static_cast<std::size_t>(p - start);
      const auto* word = reinterpret_cast<const char*>(start);
      if (case_sensitive) {
        out.emit(std::string_view(word, n), 1);
        continue;
      }
      char* dst = lowered;
      if (n > sizeof lowered) {
        long_word.resize(n);
        dst = long_word.data();
      }
      for (std::size_t i = 0; i < n; ++i) {
        const char c = word[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      out.emit(std::string_view(dst, n), 1);
    }
  }

  static Value combine(Value a, Value b) { return a + b; }
};

}  // namespace tally::jobs
