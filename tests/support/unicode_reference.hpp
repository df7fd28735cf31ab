// The reference for the Unicode word rule of jobs/unicode_wordcount.hpp, shared by its unit
// test and its fuzz target: the rule transcribed as plainly as possible, in separate passes
// (decode the whole record by Unicode Table 3-7 into code points and maximal invalid
// subparts, classify each, keep a joiner only between two word characters, cut the runs,
// case-fold each word), with other utf8proc entry points (utf8proc_iterate,
// utf8proc_encode_char, utf8proc_map) than the job uses. Link utf8proc.
#pragma once

#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace tally::testing::unicode_reference {

struct ByteRange {
  unsigned char lo, hi;
};

// Unicode Table 3-7, the well-formed UTF-8 byte sequences, row by row.
struct WellFormedRow {
  int length;
  ByteRange bytes[4];
};
inline constexpr WellFormedRow kWellFormed[] = {
    {1, {{0x00, 0x7F}}},
    {2, {{0xC2, 0xDF}, {0x80, 0xBF}}},
    {3, {{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}}},
    {3, {{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {3, {{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}}},
    {3, {{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}}},
};

inline bool in(ByteRange r, unsigned char b) { return b >= r.lo && b <= r.hi; }

// How many bytes at s[i] match a row of Table 3-7 (the maximal subpart), and whether they
// make the whole sequence. Always at least one byte.
struct Match {
  std::size_t length;
  bool complete;
};
inline Match match_at(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  for (const WellFormedRow& row : kWellFormed) {
    if (!in(row.bytes[0], byte(0))) continue;
    std::size_t matched = 1;
    while (matched < static_cast<std::size_t>(row.length) && i + matched < s.size() &&
           in(row.bytes[matched], byte(matched))) {
      ++matched;
    }
    return {matched, matched == static_cast<std::size_t>(row.length)};
  }
  return {1, false};
}

inline bool well_formed(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Match m = match_at(s, i);
    if (!m.complete) return false;
    i += m.length;
  }
  return true;
}

inline constexpr std::int32_t kReplacement = 0xFFFD;

struct RefChar {
  std::int32_t cp;
  bool invalid;
};

// Maximal subparts: at each position, the longest prefix of a well-formed sequence; if it is
// the whole sequence, the code point, else one U+FFFD for that prefix. `consistent` turns
// false if utf8proc does not read a Table 3-7 sequence as one code point.
inline std::vector<RefChar> ref_decode(std::string_view s, bool& consistent) {
  std::vector<RefChar> chars;
  for (std::size_t i = 0; i < s.size();) {
    const Match m = match_at(s, i);
    if (m.complete) {
      utf8proc_int32_t cp = -1;
      const utf8proc_ssize_t n =
          utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                           static_cast<utf8proc_ssize_t>(m.length), &cp);
      if (n != static_cast<utf8proc_ssize_t>(m.length)) consistent = false;
      chars.push_back({cp, false});
    } else {
      chars.push_back({kReplacement, true});
    }
    i += m.length;
  }
  return chars;
}

enum class RefClass { kSeparator, kWord, kJoiner };

inline RefClass ref_classify(std::int32_t cp) {
  if (cp == '\'' || cp == 0x2019 || cp == '-' || cp == 0x2010 || cp == 0x2011) {
    return RefClass::kJoiner;
  }
  if (cp == kReplacement) return RefClass::kWord;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return RefClass::kWord;
    default:
      return RefClass::kSeparator;
  }
}

// The word case-folded; the word itself, and `consistent` false, if utf8proc cannot fold it.
inline std::string ref_fold(const std::string& word, bool& consistent) {
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                   static_cast<utf8proc_ssize_t>(word.size()), &folded, UTF8PROC_CASEFOLD);
  std::string result = word;
  if (n >= 0) {
    result.assign(reinterpret_cast<const char*>(folded), static_cast<std::size_t>(n));
  } else {
    consistent = false;
  }
  std::free(folded);  // NOLINT(cppcoreguidelines-no-malloc): utf8proc_map's buffer
  return result;
}

struct RefWords {
  std::vector<std::string> words;  // in record order
  std::uint64_t invalid = 0;       // maximal invalid subparts (each one U+FFFD)
  bool consistent = true;          // utf8proc agreed with the reference throughout
};

// The words of one record by the rule, case-folded unless `case_sensitive`.
inline RefWords reference_words(std::string_view record, bool case_sensitive) {
  RefWords r;
  const std::vector<RefChar> chars = ref_decode(record, r.consistent);
  std::vector<bool> in_word(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) {
    r.invalid += chars[i].invalid ? 1 : 0;
    switch (ref_classify(chars[i].cp)) {
      case RefClass::kWord:
        in_word[i] = true;
        break;
      case RefClass::kJoiner:
        in_word[i] = i > 0 && i + 1 < chars.size() &&
                     ref_classify(chars[i - 1].cp) == RefClass::kWord &&
                     ref_classify(chars[i + 1].cp) == RefClass::kWord;
        break;
      case RefClass::kSeparator:
        break;
    }
  }
  std::string word;
  for (std::size_t i = 0; i <= chars.size(); ++i) {
    if (i < chars.size() && in_word[i]) {
      utf8proc_uint8_t buf[4];
      const utf8proc_ssize_t n = utf8proc_encode_char(chars[i].cp, buf);
      word.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    } else if (!word.empty()) {
      r.words.push_back(case_sensitive ? word : ref_fold(word, r.consistent));
      word.clear();
    }
  }
  return r;
}

}  // namespace tally::testing::unicode_reference
