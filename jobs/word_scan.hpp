// The inner loop of the default word rule: find where a word ends and lowercase it, 16 bytes
// at a time with SSE2 (part of every x86-64 CPU), one byte at a time elsewhere and near the
// end of a record (bench/jobs/wordcount_bench.cpp measures the word count built on it).
//
// Safety: a 16-byte load is only made when all 16 bytes lie before the record's end, so no
// byte outside the record is ever read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tally::jobs {

// The countwords whitespace set: exactly these six bytes separate words.
constexpr bool is_ascii_space(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

namespace detail {

// Per byte: whether it separates words, and its lowercase form.
struct ByteTables {
  bool space[256];
  char lower[256];
};

constexpr ByteTables make_byte_tables() {
  ByteTables t{};
  for (int c = 0; c < 256; ++c) {
    t.space[c] = is_ascii_space(static_cast<unsigned char>(c));
    t.lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return t;
}

inline constexpr ByteTables kByteTables = make_byte_tables();

#if defined(__SSE2__)

// Bit i set where byte i of v is ASCII whitespace: ' ', or '\t'..'\r' (9..13). The range test
// is one signed compare: adding 119 maps 9..13, and only those, onto -128..-124.
inline unsigned space_mask(__m128i v) noexcept {
  const __m128i is_blank = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
  const __m128i is_control =
      _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(119)), _mm_set1_epi8(-123));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(is_blank, is_control)));
}

// v with A-Z lowercased. Bytes >= 0x80 are negative as signed and fail the >= 'A' test.
inline __m128i lowercase(__m128i v) noexcept {
  const __m128i is_upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                         _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
  return _mm_or_si128(v, _mm_and_si128(is_upper, _mm_set1_epi8(0x20)));
}

#endif

}  // namespace detail

// Scans the word starting at p (which is not whitespace): advances p past it, or past its
// first `room` bytes if it is longer, and returns how many bytes were consumed. With
// kLowercase, the consumed bytes are written to dst lowercased; dst must have room + 16
// bytes (whole 16-byte blocks are stored). Without, dst is not touched.
template <bool kLowercase>
inline std::size_t scan_word(const unsigned char*& p, const unsigned char* end, char* dst,
                             std::size_t room) noexcept {
  std::size_t n = 0;
#if defined(__SSE2__)
  while (end - p >= 16 && n < room) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (kLowercase) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + n), detail::lowercase(v));
    }
    const unsigned spaces = detail::space_mask(v);
    if (spaces != 0) {
      const auto k =
          std::min<std::size_t>(static_cast<std::size_t>(__builtin_ctz(spaces)), room - n);
      p += k;
      return n + k;
    }
    const std::size_t k = std::min<std::size_t>(16, room - n);
    p += k;
    n += k;
  }
#endif
  const auto& tables = detail::kByteTables;
  while (p < end && n < room && !tables.space[*p]) {
    if constexpr (kLowercase) dst[n] = tables.lower[*p];
    ++p;
    ++n;
  }
  return n;
}

// Words longer than this are built on the heap by for_each_word (shorter ones in a buffer on
// the stack).
inline constexpr std::size_t kShortWord = 64;

// Calls fn(word) for every word of `bytes` in order (maximal runs of non-whitespace bytes),
// lowercased (A-Z only) with kLowercase. A lowercased word is valid only during its call:
// its buffer is reused. A lowercased word is also padded (engine/key_hash.hpp): if it has
// 16 bytes or fewer, 16 bytes of its buffer are readable from its first. Forced inline, so
// that a job's word loop (WordCount, InvertedIndex) compiles into the engine's map task with
// fn inlined into it.
//
// With SSE2, the bytes are read 16 at a time: one load, one whitespace mask and one
// lowercasing serve every word that ends within those 16 bytes, and the whitespace between
// them is skipped by bit arithmetic rather than byte by byte. A word that runs past them is
// read again from its first byte; one of 16 bytes or more takes scan_word's path. The last
// 15 bytes take the byte-at-a-time loop, so no load reaches past `bytes`.
template <bool kLowercase, typename Fn>
[[gnu::always_inline]] inline void for_each_word(std::string_view bytes, Fn&& fn) {
  const auto& tables = detail::kByteTables;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* const end = p + bytes.size();
  // scan_word stores whole 16-byte blocks, and a word starts within the first 16 bytes or at
  // 0: the slack keeps both inside, and pads every word of kShortWord bytes or fewer. Zeroed
  // so that padding is never uninitialized memory.
  alignas(16) char lowered[kShortWord + 16] = {};
  std::string long_word;
  // A word that starts at p, which is not whitespace.
  const auto word_at = [&] {
    if constexpr (!kLowercase) {  // the word is the input's bytes as they are
      const auto* const start = p;
      scan_word<false>(p, end, nullptr, SIZE_MAX);
      fn(std::string_view(reinterpret_cast<const char*>(start),
                          static_cast<std::size_t>(p - start)));
      return;
    }
    const std::size_t n = scan_word<true>(p, end, lowered, kShortWord);
    if (p < end && !tables.space[*p]) {  // longer than the buffer: finish it on the heap
      long_word.assign(lowered, n);
      while (p < end && !tables.space[*p]) long_word.push_back(tables.lower[*p++]);
      fn(std::string_view(long_word));
      return;
    }
    fn(std::string_view(lowered, n));
  };
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned spaces = detail::space_mask(v);
    unsigned starts = ~spaces & 0xffffu;  // bit i: byte i is part of a word
    if (starts == 0) {
      p += 16;
      continue;
    }
    if constexpr (kLowercase) {
      _mm_store_si128(reinterpret_cast<__m128i*>(lowered), detail::lowercase(v));
    }
    const char* const words = kLowercase ? lowered : reinterpret_cast<const char*>(p);
    unsigned first = static_cast<unsigned>(__builtin_ctz(starts));
    // Every word whose whitespace after it is within these 16 bytes.
    for (;;) {
      const unsigned after = spaces >> first;  // bit 0 clear: byte `first` is a word's
      if (after == 0) break;                   // the word runs past the 16 bytes
      const unsigned stop = first + static_cast<unsigned>(__builtin_ctz(after));
      fn(std::string_view(words + first, stop - first));
      starts &= 0xffffu << stop;
      if (starts == 0) break;
      first = static_cast<unsigned>(__builtin_ctz(starts));
    }
    if (starts == 0) {
      p += 16;
    } else if (first != 0) {
      p += first;  // read the unfinished word again from its first byte
    } else {
      word_at();  // a word of 16 bytes or more
    }
  }
#endif
  while (p < end) {
    while (p < end && tables.space[*p]) ++p;
    if (p == end) break;
    word_at();
  }
}

}  // namespace tally::jobs
