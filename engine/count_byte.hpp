// count_byte: how many times a byte occurs in a buffer, 16 bytes at a step where the target
// has SSE2. For counting lines (record numbers: detail/record_numbers.hpp; the records of a
// text block: detail/records.hpp; grep's line numbers between matches), where a
// byte-at-a-time loop, which is what std::count compiles to here, costs more than the work
// it serves (bench/jobs/grep_bench.cpp, bench/jobs/wordcount_bench.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tally {

inline std::uint64_t count_byte(std::string_view text, char byte) noexcept {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::uint64_t count = 0;
  std::size_t i = 0;
#if defined(__SSE2__)
  // Each byte lane counts down (a match compares as -1) for at most 255 blocks, then the
  // lanes are summed (psadbw) before they could wrap.
  const __m128i target = _mm_set1_epi8(byte);
  while (i + 16 <= n) {
    __m128i lanes = _mm_setzero_si128();
    const std::size_t blocks = std::min<std::size_t>((n - i) / 16, 255);
    for (std::size_t b = 0; b < blocks; ++b, i += 16) {
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(c, target));
    }
    const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
    count += static_cast<std::uint64_t>(_mm_cvtsi128_si64(sums)) +
             static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  for (; i < n; ++i) count += static_cast<std::uint64_t>(p[i] == byte);
  return count;
}

}  // namespace tally
