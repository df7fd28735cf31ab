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

  // Many lines at once (job.hpp's TextBlock): when the delimiter is whitespace to the word
  // rule (as the default '\n' is), no word crosses it and the whole block is one scan for
  // words; otherwise each record is scanned on its own, as map(Record) would.
  template <typename Out>
  [[gnu::always_inline]] void map(TextBlock block, Out& out) const {
    if (is_ascii_space(static_cast<unsigned char>(block.delimiter))) {
      map(Record{block.bytes, block.input, block.offset}, out);
      return;
    }
    std::size_t pos = 0;
    while (pos < block.bytes.size()) {
      std::size_t d = block.bytes.find(block.delimiter, pos);
      if (d == std::string_view::npos) d = block.bytes.size();
      map(Record{block.bytes.substr(pos, d - pos), block.input, block.offset + pos}, out);
      pos = d + 1;
    }
  }

  static Value combine(Value a, Value b) { return a + b; }

 private:
  // emit() copies the key before it returns, so the word's buffer may be reused. Lowercased
  // words are padded (word_scan.hpp), and go to emit_padded() where the sink has one.
  template <bool kLowercase, typename Out>
  [[gnu::always_inline]] static void map_words(Record rec, Out& out) {
    for_each_word<kLowercase>(
        rec.bytes, [&out](std::string_view w) __attribute__((always_inline)) {
          if constexpr (kLowercase && requires { out.emit_padded(w, Value{1}); }) {
            out.emit_padded(w, 1);
          } else {
            out.emit(w, 1);
          }
        });
  }
};

}  // namespace tally::jobs
