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

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tally/engine/job.hpp"
#include "tally/jobs/word_scan.hpp"

namespace tally::jobs {

struct WordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;

  bool case_sensitive = false;

  // A template on the output, so that the engine passes its combining sink itself and
  // emit() is an inline call into the table probe (an Emitter<Key, Value>& works too, with a
  // virtual call per word). Forced inline, as is map_words, so that the whole word loop is
  // compiled into the engine's map task: left to itself g++ inlines it in some programs and
  // not in others.
  template <typename Out>
  [[gnu::always_inline]] void map(Record rec, Out& out) const {
    if (case_sensitive) {
      map_words<false>(rec, out);
    } else {
      map_words<true>(rec, out);
    }
  }

  static Value combine(Value a, Value b) { return a + b; }

 private:
  static constexpr std::size_t kShortWord = 64;  // longer words are built on the heap

  template <bool kLowercase, typename Out>
  [[gnu::always_inline]] static void map_words(Record rec, Out& out) {
    const auto& tables = detail::kByteTables;
    const auto* p = reinterpret_cast<const unsigned char*>(rec.bytes.data());
    const auto* const end = p + rec.bytes.size();
    // Lowercased words are built here (scan_word stores whole 16-byte blocks, hence the
    // slack); emit() copies the key before it returns, so the buffer is reused.
    char lowered[kShortWord + 16];
    std::string long_word;
    while (p < end) {
      while (p < end && tables.space[*p]) ++p;
      if (p == end) break;
      if constexpr (!kLowercase) {  // the key is the input's bytes as they are
        const auto* const start = p;
        scan_word<false>(p, end, nullptr, SIZE_MAX);
        out.emit(std::string_view(reinterpret_cast<const char*>(start),
                                  static_cast<std::size_t>(p - start)),
                 1);
        continue;
      }
      const std::size_t n = scan_word<true>(p, end, lowered, kShortWord);
      if (p < end && !tables.space[*p]) {  // longer than the buffer: finish it on the heap
        long_word.assign(lowered, n);
        while (p < end && !tables.space[*p]) long_word.push_back(tables.lower[*p++]);
        out.emit(long_word, 1);
        continue;
      }
      out.emit(std::string_view(lowered, n), 1);
    }
  }
};

}  // namespace tally::jobs
