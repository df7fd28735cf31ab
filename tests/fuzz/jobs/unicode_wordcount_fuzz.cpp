// Fuzz target for jobs/unicode_wordcount.hpp/.cpp (the Unicode word rule).
//
// Oracle: a reference written here from the rule in unicode_wordcount.hpp, in separate plain
// passes with other utf8proc entry points than the job uses (decode the whole record by
// Unicode Table 3-7 into code points and maximal invalid subparts; classify each; keep a
// joiner only between two word characters; cut the runs; case-fold each word with
// utf8proc_map). On any bytes, in both case modes:
//  1. the job emits exactly the reference's words, in the same order, each with the value 1;
//  2. every word is non-empty, well-formed UTF-8 (checked against Table 3-7 here, not by
//     the reference's decoder), and begins and ends with a word character, never a joiner;
//  3. invalid_sequences() grows by the reference's count of maximal invalid subparts, which
//     is at most the number of bytes >= 0x80;
//  4. under ASan and UBSan, no invalid access and no undefined behaviour.
//
// Input: one flag byte taken from the end (case_sensitive), the rest is the record.
#include <fuzzer/FuzzedDataProvider.h>
#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/job.hpp"
#include "tally/jobs/unicode_wordcount.hpp"
#include "tests/fuzz/support/fuzz_check.hpp"

namespace {

struct ByteRange {
  unsigned char lo, hi;
};

// Unicode Table 3-7, the well-formed UTF-8 byte sequences, row by row.
struct WellFormedRow {
  int length;
  ByteRange bytes[4];
};
constexpr WellFormedRow kWellFormed[] = {
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

bool in(ByteRange r, unsigned char b) { return b >= r.lo && b <= r.hi; }

// How many bytes at s[i] match a row of Table 3-7 (the maximal subpart), and whether they
// make the whole sequence. Always at least one byte.
struct Match {
  std::size_t length;
  bool complete;
};
Match match_at(std::string_view s, std::size_t i) {
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

bool well_formed(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Match m = match_at(s, i);
    if (!m.complete) return false;
    i += m.length;
  }
  return true;
}

constexpr std::int32_t kReplacement = 0xFFFD;

struct RefChar {
  std::int32_t cp;
  bool invalid;
};

std::vector<RefChar> ref_decode(std::string_view s) {
  std::vector<RefChar> chars;
  for (std::size_t i = 0; i < s.size();) {
    const Match m = match_at(s, i);
    if (m.complete) {
      utf8proc_int32_t cp = -1;
      const utf8proc_ssize_t n =
          utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                           static_cast<utf8proc_ssize_t>(m.length), &cp);
      TALLY_FUZZ_CHECK(n == static_cast<utf8proc_ssize_t>(m.length),
                       "utf8proc agrees that a Table 3-7 sequence is one code point");
      chars.push_back({cp, false});
    } else {
      chars.push_back({kReplacement, true});
    }
    i += m.length;
  }
  return chars;
}

enum class RefClass { kSeparator, kWord, kJoiner };

RefClass ref_classify(std::int32_t cp) {
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

std::string ref_fold(const std::string& word) {
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                   static_cast<utf8proc_ssize_t>(word.size()), &folded, UTF8PROC_CASEFOLD);
  TALLY_FUZZ_CHECK(n >= 0, "utf8proc_map folds a word of valid code points");
  std::string result(reinterpret_cast<const char*>(folded), static_cast<std::size_t>(n));
  std::free(folded);
  return result;
}

struct RefOutcome {
  std::vector<std::string> words;
  std::uint64_t invalid = 0;
};

RefOutcome reference(std::string_view record, bool case_sensitive) {
  RefOutcome r;
  const std::vector<RefChar> chars = ref_decode(record);
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
      r.words.push_back(case_sensitive ? word : ref_fold(word));
      word.clear();
    }
  }
  return r;
}

class Collect final : public tally::Emitter<std::string_view, std::uint64_t> {
 public:
  void emit(std::string_view key, std::uint64_t value) override {
    TALLY_FUZZ_CHECK(value == 1, "UnicodeWordCount emits 1 per word");
    words.emplace_back(key);
  }
  std::vector<std::string> words;
};

// Whether the first or last code point of the non-empty, well-formed `s` is a joiner.
bool ends_with_joiner(std::string_view s) {
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return ref_classify(ref_decode(s.substr(i)).front().cp) == RefClass::kJoiner;
}
bool starts_with_joiner(std::string_view s) {
  return ref_classify(ref_decode(s.substr(0, match_at(s, 0).length)).front().cp) ==
         RefClass::kJoiner;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const bool case_sensitive = fdp.ConsumeBool();
  const std::string record = fdp.ConsumeRemainingBytesAsString();

  const tally::jobs::UnicodeWordCount job{.case_sensitive = case_sensitive};
  Collect out;
  job.map(tally::Record{.bytes = record}, out);

  std::uint64_t high_bytes = 0;
  for (const char c : record) high_bytes += static_cast<unsigned char>(c) >= 0x80 ? 1 : 0;
  for (const std::string& word : out.words) {
    TALLY_FUZZ_CHECK(!word.empty(), "no empty word");
    TALLY_FUZZ_CHECK(well_formed(word), "every word is well-formed UTF-8");
    TALLY_FUZZ_CHECK(!starts_with_joiner(word) && !ends_with_joiner(word),
                     "a joiner never starts or ends a word");
  }
  TALLY_FUZZ_CHECK(job.invalid_sequences() <= high_bytes,
                   "at most one replacement per byte >= 0x80");

  const RefOutcome ref = reference(record, case_sensitive);
  TALLY_FUZZ_CHECK(job.invalid_sequences() == ref.invalid,
                   "one replacement per maximal invalid subpart");
  TALLY_FUZZ_CHECK(out.words == ref.words, "the job emits the reference's words in order");
  return 0;
}
