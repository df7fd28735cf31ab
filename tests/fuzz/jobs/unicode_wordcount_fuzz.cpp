// Fuzz target for jobs/unicode_wordcount.hpp/.cpp (the Unicode word rule).
//
// Oracle: the reference of the unit test (tests/support/unicode_reference.hpp: the rule in
// unicode_wordcount.hpp in separate plain passes, with other utf8proc entry points than the
// job uses). On any bytes, in both case modes:
//  1. the job emits exactly the reference's words, in the same order, each with the value 1;
//  2. every word is non-empty, well-formed UTF-8 (checked against Table 3-7 here, not by
//     the reference's decoder), and begins and ends with a word character, never a joiner;
//  3. invalid_sequences() grows by the reference's count of maximal invalid subparts, which
//     is at most the number of bytes >= 0x80;
//  4. under ASan and UBSan, no invalid access and no undefined behaviour.
//
// Input: one flag byte taken from the end (case_sensitive), the rest is the record.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/job.hpp"
#include "tally/jobs/unicode_wordcount.hpp"
#include "tests/fuzz/support/fuzz_check.hpp"
#include "tests/support/unicode_reference.hpp"

namespace {

using namespace tally::testing::unicode_reference;

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
  bool consistent = true;
  return ref_classify(ref_decode(s.substr(i), consistent).front().cp) == RefClass::kJoiner;
}
bool starts_with_joiner(std::string_view s) {
  bool consistent = true;
  return ref_classify(ref_decode(s.substr(0, match_at(s, 0).length), consistent).front().cp) ==
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

  const RefWords ref = reference_words(record, case_sensitive);
  TALLY_FUZZ_CHECK(ref.consistent, "utf8proc agrees with the reference's decoding and folding");
  TALLY_FUZZ_CHECK(job.invalid_sequences() == ref.invalid,
                   "one replacement per maximal invalid subpart");
  TALLY_FUZZ_CHECK(out.words == ref.words, "the job emits the reference's words in order");
  return 0;
}
