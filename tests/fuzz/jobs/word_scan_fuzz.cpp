// Fuzz target for jobs/word_scan.hpp (the SSE2 word scan) and the WordCount job built on it.
//
// Oracle: a scalar reference written here from the rule in jobs/wordcount.hpp (a word is a
// maximal run of bytes other than the six ASCII whitespace bytes; A-Z lowercased unless
// case_sensitive), and scan_word's contract from word_scan.hpp:
//  1. WordCount::map emits exactly the reference's words, in the same order;
//  2. scan_word<kLowercase>(p, end, dst, room) at a word start consumes min(room, word length)
//     bytes, advances p by as much, returns it, and (kLowercase) writes those bytes lowercased
//     to dst[0, n), never past dst[room + 16);
//  3. no byte outside the input is read: the input sits at the very end of a heap block (so
//     ASan sees any over-read) starting at a fuzzed offset (so the 16-byte loads meet every
//     alignment).
//
// Input: flags and sizes taken from the end of the data (FuzzedDataProvider), then the bytes
// to scan; a "dense" flag maps each byte onto the values at the edges of the SSE2 compares,
// so whitespace and case boundaries are frequent.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/key_hash.hpp"
#include "tally/jobs/word_scan.hpp"
#include "tally/jobs/wordcount.hpp"
#include "tests/fuzz/support/fuzz_check.hpp"

namespace {

// The rule, byte by byte: ' ' and '\t' '\n' '\v' '\f' '\r' (9..13) separate words.
bool ref_is_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); }
char ref_lower(unsigned char c, bool lowercase) {
  return static_cast<char>(lowercase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

std::vector<std::string> ref_words(const unsigned char* p, std::size_t n, bool lowercase) {
  std::vector<std::string> words;
  std::string word;
  for (std::size_t i = 0; i <= n; ++i) {
    if (i < n && !ref_is_space(p[i])) {
      word += ref_lower(p[i], lowercase);
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  return words;
}

// WordCount's output sink, in emit order. It takes padded keys as the engine's sink does, and
// checks them: the padded hash is the plain one, and a padded key equals its own copy (both
// read 16 bytes from a short key's first, which AddressSanitizer checks are there).
struct Collect {
  std::vector<std::string> words;
  std::size_t padded = 0;
  void emit(std::string_view key, std::uint64_t value) {
    TALLY_FUZZ_CHECK(value == 1, "WordCount emits 1 per word");
    words.emplace_back(key);
  }
  void emit_padded(std::string_view key, std::uint64_t value) {
    TALLY_FUZZ_CHECK(tally::hash_padded_key(key) == tally::hash_key(key),
                     "a padded key hashes as the same bytes unpadded");
    std::string copy(key);
    copy.append(tally::kKeyPadding, '\0');
    TALLY_FUZZ_CHECK(tally::padded_keys_equal(key, std::string_view(copy).substr(0, key.size())),
                     "a padded key equals its copy");
    ++padded;
    emit(key, value);
  }
};

// Bytes at the edges of word_scan.hpp's compares: the whitespace range 9..13 and its
// neighbours, ' ' and its neighbours, 'A'..'Z' and theirs, the signed-byte boundary.
constexpr unsigned char kDense[] = {
    0x00, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x1F, 0x20, 0x21, 0x40, 0x41, 0x4D, 0x5A, 0x5B,
    0x60, 0x61, 0x7A, 0x7F, 0x80, 0x89, 0x8D, 0xA0, 0xC1, 0xE9, 0xFF, 'x',  'x',  'x',  'X',  ' '};

template <bool kLowercase>
void check_scan_word(const unsigned char* begin, const unsigned char* end, std::size_t room,
                     char* dst) {
  for (const unsigned char* word = begin; word < end;) {
    if (ref_is_space(*word)) {
      ++word;
      continue;
    }
    std::size_t length = 0;
    while (word + length < end && !ref_is_space(word[length])) ++length;
    const std::size_t expected = std::min(room, length);

    const unsigned char* p = word;
    const std::size_t n = tally::jobs::scan_word<kLowercase>(p, end, dst, room);
    TALLY_FUZZ_CHECK(n == expected, "scan_word consumes min(room, word length) bytes");
    TALLY_FUZZ_CHECK(p == word + n, "scan_word advances p by what it consumed");
    if constexpr (kLowercase) {
      for (std::size_t i = 0; i < n; ++i) {
        TALLY_FUZZ_CHECK(dst[i] == ref_lower(word[i], true), "scan_word lowercases A-Z only");
      }
    }
    word += length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const bool case_sensitive = fdp.ConsumeBool();
  const bool dense = fdp.ConsumeBool();
  const auto offset = fdp.ConsumeIntegralInRange<std::size_t>(0, 15);
  const auto room = fdp.ConsumeIntegralInRange<std::size_t>(1, 80);
  std::vector<unsigned char> bytes = fdp.ConsumeRemainingBytes<unsigned char>();
  if (dense) {
    for (unsigned char& b : bytes) b = kDense[b % sizeof kDense];
  }

  // The input ends where its heap block ends: a read past it is an ASan error.
  const std::size_t n = bytes.size();
  const auto block = std::make_unique<unsigned char[]>(offset + n);
  unsigned char* const begin = block.get() + offset;
  if (n > 0) std::memcpy(begin, bytes.data(), n);
  const unsigned char* const end = begin + n;

  // 1. The job, as the engine runs it on one record.
  Collect out;
  const tally::jobs::WordCount job{.case_sensitive = case_sensitive};
  job.map(tally::Record{.bytes = std::string_view(reinterpret_cast<const char*>(begin), n)}, out);
  TALLY_FUZZ_CHECK(out.words == ref_words(begin, n, !case_sensitive),
                   "WordCount emits the reference's words in order");
  TALLY_FUZZ_CHECK(out.padded == (case_sensitive ? 0 : out.words.size()),
                   "lowercased words, and only those, are emitted padded");

  // 2. scan_word itself, at every word start, with a destination of exactly room + 16 bytes.
  const auto dst = std::make_unique<char[]>(room + 16);
  check_scan_word<true>(begin, end, room, dst.get());
  check_scan_word<false>(begin, end, room, nullptr);
  check_scan_word<false>(begin, end, SIZE_MAX, nullptr);
  return 0;
}
