// UnicodeWordCount: word count with the Unicode word rule (`tally wordcount --unicode`).
//
// The rule, exactly:
//  - Input is UTF-8. A word is a maximal run of word characters: code points whose general
//    category (utf8proc_category) is a letter (Lu Ll Lt Lm Lo), a mark (Mn Mc Me) or a number
//    (Nd Nl No), plus U+FFFD (see invalid input below). Everything else separates words:
//    spaces, controls (NUL, \r of CRLF text), punctuation, symbols (emoji are So), and so on.
//    Every ideograph is a letter (Lo), so a run of CJK ideographs with no space in it is one
//    word: there is no dictionary segmentation. A mark is a word character even where it
//    follows no letter: the variation selector of "❤️x" (U+FE0F, Mn) starts the word "\uFE0Fx".
//    Words never span records (lines): the end of a record ends a word.
//  - An apostrophe (U+0027 ', U+2019 ’) or a hyphen (U+002D -, U+2010 ‐, U+2011 ‑) that has a
//    word character immediately on both sides is part of the word and kept as it is ("don't",
//    "well-known", "l’homme", "a-b-c"); anywhere else it separates: at the start or end of a
//    word, next to another apostrophe or hyphen ("a--b" gives "a" and "b"), alone.
//  - Unless case_sensitive is set, every word character is replaced by its Unicode full case
//    folding (utf8proc's UTF8PROC_CASEFOLD): "Straße" and "STRASSE" both count as "strasse",
//    "ΣΊΣΥΦΟΣ" and "σίσυφος" both as "σίσυφοσ" (final sigma folds to σ). No normalization is
//    applied: "é" precomposed (U+00E9) and "e" + U+0301 are different words (NFC/NFKC would
//    be a later option). Case folding may change the length of a word ("ß" -> "ss").
//  - Invalid UTF-8 (a byte that cannot start a sequence, a sequence cut short by another byte
//    or by the end of the record, an overlong form, a surrogate, a value above U+10FFFF)
//    decodes to U+FFFD, one per maximal invalid subsequence ("substitution of maximal
//    subparts", Unicode chapter 3 and the WHATWG Encoding Standard): "\xF0\x9F\x98" is one
//    U+FFFD, "\xC0\x80" is two. U+FFFD is a word character, so "caf\xE9 au lait" yields the
//    words "caf\uFFFD", "au", "lait": the damage stays visible in the output instead of
//    silently splitting a word. A U+FFFD that was in the input as valid UTF-8 is counted as a
//    word character too, but not as an invalid sequence.
//
// Keys are UTF-8 (always valid: invalid input has been replaced). invalid_sequences() is the
// number of replacements made so far by this job and every copy of it.
//
// Example:
//   tally::jobs::UnicodeWordCount job{.case_sensitive = false};
//   auto result = engine.run(job, inputs);
//   if (job.invalid_sequences() > 0) std::cerr << job.invalid_sequences() << " invalid\n";
//
// Thread safety: map() is const and keeps its scratch buffer on the stack of the call, so
// any number of threads may run it at once on different records. Copies of a job share one
// invalid-sequence counter.
//
// Cost: ASCII bytes go through a 256-entry table (no utf8proc call); each non-ASCII code
// point costs one category lookup and, when folding, one utf8proc case-fold lookup.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tally/engine/job.hpp"

namespace tally::jobs {

struct UnicodeWordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;

  bool case_sensitive = false;

  // Shared by every copy of this job; added to once per map() call that met invalid input.
  // Not part of the interface: read it through invalid_sequences().
  std::shared_ptr<std::atomic<std::uint64_t>> invalid_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);

  void map(Record rec, Emitter<Key, Value>& out) const;

  static Value combine(Value a, Value b) { return a + b; }

  // Replacements (U+FFFD) made for invalid UTF-8 so far, by this job and its copies. Exact once
  // the run that used the job has returned: Engine::run joins every map task before returning,
  // which orders all the additions before this load.
  std::uint64_t invalid_sequences() const noexcept {
    // Relaxed: a plain counter; the ordering with the map calls comes from the run's join.
    return invalid_->load(std::memory_order_relaxed);
  }
};

}  // namespace tally::jobs
