#include "tally/jobs/fixed_strings.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <tmmintrin.h>
#define TALLY_HAVE_TEDDY 1
#endif

namespace tally::jobs {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;
constexpr int kHashBits = 16;

// How common a byte is in English text, higher for more common: the pair filter compares the
// two rarest bytes of its string, which agree by chance least often. A fixed guess rather
// than a measurement of the input: cheap, and good enough to keep off spaces and vowels.
int byte_rank(unsigned char c) {
  static constexpr std::string_view kLowerByFrequency = "etaoinshrdlcumwfgypbvkjxqz";
  if (c == ' ') return 255;
  if (c >= 'a' && c <= 'z') {
    return 250 - 2 * static_cast<int>(kLowerByFrequency.find(static_cast<char>(c)));
  }
  if (c == '\n' || c == ',' || c == '.') return 195;
  if (c >= 'A' && c <= 'Z') {
    return 175 - static_cast<int>(kLowerByFrequency.find(static_cast<char>(c - 'A' + 'a')));
  }
  if (c >= '0' && c <= '9') return 140;
  if (c >= 0x80) return 60;  // UTF-8 sequences: common in text other than English
  if (c > ' ' && c < 0x7f) return 120;
  if (c == '\t' || c == '\r') return 90;
  return 10;
}

bool teddy_supported() {
#if defined(TALLY_HAVE_TEDDY)
  __builtin_cpu_init();  // idempotent; needed if a FixedStrings is built by a static initializer
  return __builtin_cpu_supports("ssse3");
#else
  return false;
#endif
}

// The first `bytes` (at most 4) bytes at p as an integer, the same way for the strings and
// the text whatever the byte order.
std::uint32_t load_prefix(const char* p, std::size_t bytes) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, bytes);
  return v;
}

std::uint32_t prefix_hash(std::uint32_t v) {
  return (v * 0x9E3779B1u) >> (32 - kHashBits);  // Fibonacci hashing: the top bits mix best
}

#if defined(TALLY_HAVE_TEDDY)

// The Teddy scan of p[0, n) for strings whose first kBytes bytes the tables describe: the
// smallest offset at which verify(offset, buckets) finds one of the candidate buckets'
// strings, or kNpos. It stops where a 16-byte load would read past n: *scanned_to is the
// first offset it did not look at, for the caller to finish.
template <std::size_t kBytes, typename Verify>
__attribute__((target("ssse3"))) std::size_t teddy_scan(const char* p, std::size_t n,
                                                        const std::uint8_t (*lo_tables)[16],
                                                        const std::uint8_t (*hi_tables)[16],
                                                        std::size_t* scanned_to,
                                                        const Verify& verify) {
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  __m128i lo[kBytes];
  __m128i hi[kBytes];
  for (std::size_t j = 0; j < kBytes; ++j) {
    lo[j] = _mm_load_si128(reinterpret_cast<const __m128i*>(lo_tables[j]));
    hi[j] = _mm_load_si128(reinterpret_cast<const __m128i*>(hi_tables[j]));
  }
  alignas(16) std::uint8_t buckets[16];
  std::size_t i = 0;
  // Candidate starts i..i+15 read bytes up to i + 15 + (kBytes - 1).
  for (; i + kBytes + 15 <= n; i += 16) {
    __m128i found = _mm_set1_epi8(-1);
    for (std::size_t j = 0; j < kBytes; ++j) {
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + j));
      const __m128i l = _mm_shuffle_epi8(lo[j], _mm_and_si128(c, low_nibble));
      const __m128i h = _mm_shuffle_epi8(hi[j], _mm_and_si128(_mm_srli_epi16(c, 4), low_nibble));
      found = _mm_and_si128(found, _mm_and_si128(l, h));
    }
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(found, _mm_setzero_si128())) ^ 0xffff);
    if (mask == 0) continue;
    _mm_store_si128(reinterpret_cast<__m128i*>(buckets), found);
    do {
      const auto k = static_cast<std::size_t>(std::countr_zero(mask));
      if (verify(i + k, buckets[k])) return i + k;
      mask &= mask - 1;
    } while (mask != 0);
  }
  *scanned_to = i;
  return kNpos;
}

#endif

}  // namespace

FixedStrings::FixedStrings(std::vector<std::string> strings, Strategy strategy)
    : strings_(std::move(strings)) {
  if (strings_.empty()) {
    strategy_ = Strategy::kNone;
    return;
  }
  min_length_ = strings_[0].size();
  for (const std::string& s : strings_) min_length_ = std::min(min_length_, s.size());
  if (min_length_ == 0) {
    strategy_ = Strategy::kEmpty;
    return;
  }
  const bool one = strings_.size() == 1;
  const bool teddy_fits = strings_.size() <= kMaxTeddyStrings && teddy_supported();
  switch (strategy) {
    case Strategy::kByte:
      strategy_ = one && min_length_ == 1 ? Strategy::kByte : Strategy::kHash;
      break;
    case Strategy::kPair:
      strategy_ = one && min_length_ >= 2 ? Strategy::kPair : Strategy::kHash;
      break;
    case Strategy::kTeddy:
      strategy_ = teddy_fits ? Strategy::kTeddy : Strategy::kHash;
      break;
    case Strategy::kHash:
      strategy_ = Strategy::kHash;
      break;
    default:  // kAuto, or kNone / kEmpty, which describe sets rather than algorithms
      if (one) {
        strategy_ = min_length_ == 1 ? Strategy::kByte : Strategy::kPair;
      } else {
        strategy_ = teddy_fits ? Strategy::kTeddy : Strategy::kHash;
      }
  }

  if (strategy_ == Strategy::kPair) {
    const std::string& s = strings_[0];
    std::vector<std::size_t> by_rarity(s.size());
    std::iota(by_rarity.begin(), by_rarity.end(), std::size_t{0});
    std::stable_sort(by_rarity.begin(), by_rarity.end(), [&](std::size_t a, std::size_t b) {
      return byte_rank(static_cast<unsigned char>(s[a])) <
             byte_rank(static_cast<unsigned char>(s[b]));
    });
    rare1_ = std::min(by_rarity[0], by_rarity[1]);
    rare2_ = std::max(by_rarity[0], by_rarity[1]);
  } else if (strategy_ == Strategy::kTeddy) {
    // Neighbours in sorted order share prefixes, so a bucket of them lets fewer chance
    // nibble combinations through than a bucket of unrelated strings.
    std::vector<std::uint32_t> order(strings_.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return strings_[a] < strings_[b]; });
    teddy_bytes_ = std::min<std::size_t>(min_length_, 3);
    for (std::size_t r = 0; r < order.size(); ++r) {
      const std::size_t bucket = r * 8 / order.size();
      const std::string& s = strings_[order[r]];
      bucket_strings_[bucket].push_back(order[r]);
      for (std::size_t j = 0; j < teddy_bytes_; ++j) {
        const auto c = static_cast<unsigned char>(s[j]);
        teddy_lo_[j][c & 0x0f] |= static_cast<std::uint8_t>(1u << bucket);
        teddy_hi_[j][c >> 4] |= static_cast<std::uint8_t>(1u << bucket);
      }
    }
  } else if (strategy_ == Strategy::kHash) {
    hash_bytes_ = std::min<std::size_t>(min_length_, 4);
    const std::size_t slots = std::size_t{1} << kHashBits;
    hash_bitmap_.assign(slots / 64, 0);
    std::vector<std::uint32_t> hashes(strings_.size());
    hash_first_.assign(slots + 1, 0);
    for (std::size_t i = 0; i < strings_.size(); ++i) {
      hashes[i] = prefix_hash(load_prefix(strings_[i].data(), hash_bytes_));
      hash_bitmap_[hashes[i] / 64] |= std::uint64_t{1} << (hashes[i] % 64);
      ++hash_first_[hashes[i] + 1];
    }
    std::partial_sum(hash_first_.begin(), hash_first_.end(), hash_first_.begin());
    hash_strings_.resize(strings_.size());
    std::vector<std::uint32_t> filled(hash_first_.begin(), hash_first_.end() - 1);
    for (std::size_t i = 0; i < strings_.size(); ++i) {
      hash_strings_[filled[hashes[i]]++] = static_cast<std::uint32_t>(i);
    }
  }
}

bool FixedStrings::occurs_at(std::string_view text, std::size_t at, std::size_t i) const noexcept {
  const std::string& s = strings_[i];
  return s.size() <= text.size() - at && std::memcmp(text.data() + at, s.data(), s.size()) == 0;
}

std::size_t FixedStrings::find(std::string_view text) const noexcept {
  switch (strategy_) {
    case Strategy::kNone:
      return kNpos;
    case Strategy::kEmpty:
      return 0;
    case Strategy::kByte: {
      const void* at = std::memchr(text.data(), strings_[0][0], text.size());
      return at == nullptr ? kNpos
                           : static_cast<std::size_t>(static_cast<const char*>(at) - text.data());
    }
    case Strategy::kPair:
      return find_pair(text);
    case Strategy::kTeddy:
      return find_teddy(text);
    default:
      return find_hash(text);
  }
}

std::size_t FixedStrings::find_pair(std::string_view text) const noexcept {
  const std::string& s = strings_[0];
  const std::size_t m = s.size();
  const std::size_t n = text.size();
  const char* const p = text.data();
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(s[rare1_]);
  const __m128i second = _mm_set1_epi8(s[rare2_]);
  // Candidate starts i..i+15 read bytes up to i + 15 + rare2_.
  for (; i + rare2_ + 16 <= n; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + rare1_));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + rare2_));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, second))));
    while (mask != 0) {
      const std::size_t at = i + static_cast<std::size_t>(std::countr_zero(mask));
      if (occurs_at(text, at, 0)) return at;
      mask &= mask - 1;
    }
  }
#endif
  for (; i + m <= n; ++i) {
    if (p[i + rare1_] == s[rare1_] && p[i + rare2_] == s[rare2_] && occurs_at(text, i, 0)) {
      return i;
    }
  }
  return kNpos;
}

std::size_t FixedStrings::find_teddy(std::string_view text) const noexcept {
#if defined(TALLY_HAVE_TEDDY)
  const auto verify = [&](std::size_t at, std::uint8_t buckets) {
    for (; buckets != 0; buckets &= static_cast<std::uint8_t>(buckets - 1)) {
      for (const std::uint32_t i : bucket_strings_[std::countr_zero(buckets)]) {
        if (occurs_at(text, at, i)) return true;
      }
    }
    return false;
  };
  std::size_t scanned = 0;
  std::size_t at = kNpos;
  switch (teddy_bytes_) {
    case 1:
      at = teddy_scan<1>(text.data(), text.size(), teddy_lo_, teddy_hi_, &scanned, verify);
      break;
    case 2:
      at = teddy_scan<2>(text.data(), text.size(), teddy_lo_, teddy_hi_, &scanned, verify);
      break;
    default:
      at = teddy_scan<3>(text.data(), text.size(), teddy_lo_, teddy_hi_, &scanned, verify);
  }
  if (at != kNpos) return at;
  // The last few offsets, too close to the end for a 16-byte load: every string, in full.
  for (; scanned < text.size(); ++scanned) {
    for (std::size_t i = 0; i < strings_.size(); ++i) {
      if (occurs_at(text, scanned, i)) return scanned;
    }
  }
  return kNpos;
#else
  return find_hash(text);  // unreachable: kTeddy is chosen only where it is compiled
#endif
}

std::size_t FixedStrings::find_hash(std::string_view text) const noexcept {
  const std::size_t n = text.size();
  const char* const p = text.data();
  const std::size_t k = hash_bytes_;
  const auto candidates_at = [&](std::size_t at, std::uint32_t prefix) {
    const std::uint32_t h = prefix_hash(prefix);
    if ((hash_bitmap_[h / 64] >> (h % 64) & 1) == 0) return false;
    for (std::uint32_t j = hash_first_[h]; j < hash_first_[h + 1]; ++j) {
      if (occurs_at(text, at, hash_strings_[j])) return true;
    }
    return false;
  };
  // A whole 4-byte load masked down to the first k bytes, the same value as load_prefix(k).
  std::uint32_t mask = 0;
  std::memset(&mask, 0xff, k);
  std::size_t i = 0;
  for (; i + 4 <= n; ++i) {
    if (candidates_at(i, load_prefix(p + i, 4) & mask)) return i;
  }
  for (; i + k <= n; ++i) {
    if (candidates_at(i, load_prefix(p + i, k))) return i;
  }
  return kNpos;
}

}  // namespace tally::jobs
