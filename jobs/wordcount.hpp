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

namespace detail {

// One table lookup per byte classifies it and lowercases it: faster in the inner loop than
// six comparisons and a range check.
struct ByteTables {
  bool space[256];
  char lower[256];
};

constexpr ByteTables make_byte_tables() {
  ByteTables t{};
  for (int c = 0; c < 256; ++c) {
    const auto byte = static_cast<unsigned char>(c);
    t.space[c] = is_ascii_space(byte);
    t.lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return t;
}

inline constexpr ByteTables kByteTables = make_byte_tables();

}  // namespace detail

struct WordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;

  bool case_sensitive = false;

  void map(Record rec, Emitter<Key, Value>& out) const {
    const auto& tables = detail::kByteTables;
    const auto* p = reinterpret_cast<const unsigned char*>(rec.bytes.data());
    const auto* const end = p + rec.bytes.size();
    // Lowercased words are built here; emit() copies the key into engine storage before it
    // returns, so the buffer may be reused for the next word.
    char lowered[64];
    std::string long_word;
    while (p < end) {
      while (p < end && tables.space[*p]) ++p;
      if (p == end) break;
      const auto* start = p;
      if (case_sensitive) {
        while (p < end && !tables.space[*p]) ++p;
        out.emit(std::string_view(reinterpret_cast<const char*>(start),
                                  static_cast<std::size_t>(p - start)), 1);
        continue;
      }
      // Lowercase while scanning: one pass over the word's bytes.
      char* dst = lowered;
      std::size_t n = 0;
      while (p < end && !tables.space[*p] && n < sizeof lowered) dst[n++] = tables.lower[*p++];
      if (p < end && !tables.space[*p]) {  // longer than the buffer: finish it on the heap
        long_word.assign(lowered, n);
        while (p < end && !tables.space[*p]) long_word.push_back(tables.lower[*p++]);
        out.emit(long_word, 1);
        continue;
      }
      out.emit(std::string_view(dst, n), 1);
    }
  }

  static Value combine(Value a, Value b) { return a + b; }
};

}  // namespace tally::jobs
