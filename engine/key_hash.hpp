// Hashing of job keys. The same hash picks a key's partition (high bits) and its slot in a
// table (low bits), so both must come from a well-mixed 64-bit value.
//
// Byte strings of up to 16 bytes (nearly every word of natural text) are hashed inline here:
// the key's bytes, zero-padded to 16, as two words lo and hi. lo goes through a bijective
// mix (murmur3's finalizer), hi through wyhash's 64x64->128 multiply-fold, which maps 0 to 0.
// So among keys of one length up to kExactHashLength (8) bytes, whose hi is 0, the hash is
// a bijection of the bytes: equal hashes mean equal keys, and a table probe need not read
// the stored key's bytes to confirm a match (FlatTable::probe). Longer keys go to XXH3 (Debian's
// xxHash, used header-only in key_hash.cpp) so that xxhash.h stays out of tally's public headers.
// Inlining the short path matters: an out-of-line call per word was a fifth of the word-count
// profile.
//
// A padded key is one longer than 16 bytes, or one with kKeyPadding (16) readable bytes from
// its first on, whatever its length (a word in a scratch buffer, a key in a table's Arena).
// A short padded key is hashed and compared with one 16-byte load and a mask, where an
// unpadded one takes a branch on its length, which the branch predictor cannot guess in a
// word-count loop over natural text (bench/jobs/wordcount_bench.cpp measures that loop).
// Both ways give the same hash.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tally {

// Keys a job may use: byte strings (copied into engine-owned arenas when first seen) or
// integers.
template <typename K>
concept JobKey = std::same_as<K, std::string_view> || std::integral<K>;

namespace detail {

__extension__ using Uint128 = unsigned __int128;  // __extension__: no -Wpedantic warning

// The high and low halves of the 128-bit product, folded: wyhash's mixing step.
inline std::uint64_t multiply_fold(std::uint64_t a, std::uint64_t b) noexcept {
  const Uint128 product = static_cast<Uint128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

inline std::uint64_t load_u64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint64_t load_u32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The first min(n, 8) bytes at p as a little-endian word, zero above them. Reads only the
// bytes p[0, n).
inline std::uint64_t low_bytes(const char* p, std::size_t n) noexcept {
  if (n >= 8) return load_u64(p);
  if (n >= 4) return load_u32(p) | (load_u32(p + n - 4) << ((n - 4) * 8));  // overlapping
  if (n == 0) return 0;
  const auto byte = [p](std::size_t i) {
    return std::uint64_t{static_cast<unsigned char>(p[i])} << (i * 8);
  };
  return byte(0) | byte(n / 2) | byte(n - 1);  // every byte of a key of 1 to 3 bytes
}

// murmur3's 64-bit finalizer: a bijection (each xor-shift and each multiplication by an odd
// number can be undone) whose every output bit depends on every input bit.
inline constexpr std::uint64_t kMixMultiplier0 = 0xff51afd7ed558ccdull;
inline constexpr std::uint64_t kMixMultiplier1 = 0xc4ceb9fe1a85ec53ull;
inline std::uint64_t mix_bijective(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= kMixMultiplier0;
  x ^= x >> 33;
  x *= kMixMultiplier1;
  x ^= x >> 33;
  return x;
}

// wyhash's default secret words: odd, with balanced bits.
inline constexpr std::uint64_t kSecret0 = 0xa0761d6478bd642full;
inline constexpr std::uint64_t kSecret1 = 0xe7037ed1a0b428dbull;

// The mix of a short key: its bytes zero-padded to 16 as words lo and hi, and its length n
// (so that keys that differ only in trailing zero bytes differ). For a given n, lo ^ n * k
// is a bijection of lo, and multiply_fold(0, k) is 0: with hi == 0 (n <= 8) the whole mix is
// a bijection of lo (see the top of this file). Xoring in a term of hi alone keeps a
// uniformly mixed lo term uniform.
inline std::uint64_t mix_short_key(std::uint64_t lo, std::uint64_t hi, std::size_t n) noexcept {
  return mix_bijective(lo ^ (n * kSecret0)) ^ multiply_fold(hi, kSecret1);
}

#if defined(__SSE2__)
// Loaded from kShortKeyMask + 16 - n: n bytes of 0xff, then zeros.
alignas(32) inline constexpr unsigned char kShortKeyMask[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// The first n (<= 16) bytes of a padded key, zero-padded to 16.
inline __m128i load_padded_key(const char* p, std::size_t n) noexcept {
  const __m128i mask = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kShortKeyMask + 16 - n));
  return _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), mask);
}
#endif

// The partition (of `partitions`) a key with this hash_key belongs to. From the high bits
// (multiply-shift, no division): a table's slot index uses the low bits, so the keys of one
// partition still spread over all of its table's slots.
inline std::size_t partition_of(std::uint64_t hash, std::size_t partitions) noexcept {
  return static_cast<std::size_t>((static_cast<Uint128>(hash) * partitions) >> 64);
}

// XXH3 of keys longer than 16 bytes (key_hash.cpp).
std::uint64_t hash_long_key(std::string_view key) noexcept;

}  // namespace detail

// Bytes that must be readable from a padded key's first byte on (see the top of this file).
inline constexpr std::size_t kKeyPadding = 16;

// Two byte-string keys of the same length n <= kExactHashLength are equal exactly when their
// hash_key values are (see the top of this file).
inline constexpr std::size_t kExactHashLength = 8;

[[gnu::always_inline]] inline std::uint64_t hash_key(std::string_view key) noexcept {
  const char* p = key.data();
  const std::size_t n = key.size();
  if (n > 16) return detail::hash_long_key(key);
  const std::uint64_t lo = detail::low_bytes(p, n);
  const std::uint64_t hi = n > 8 ? detail::low_bytes(p + 8, n - 8) : 0;
  return detail::mix_short_key(lo, hi, n);
}

// hash_key(key) for a padded key, without a branch on its length up to 16.
[[gnu::always_inline]] inline std::uint64_t hash_padded_key(std::string_view key) noexcept {
#if defined(__SSE2__)
  const std::size_t n = key.size();
  if (n > 16) return detail::hash_long_key(key);
  const __m128i v = detail::load_padded_key(key.data(), n);
  const auto lo = static_cast<std::uint64_t>(_mm_cvtsi128_si64(v));
  const auto hi = static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)));
  return detail::mix_short_key(lo, hi, n);
#else
  return hash_key(key);
#endif
}

// Byte-string equality, inline for short keys: a libc memcmp call per table probe was a
// fifth of the word-count profile.
[[gnu::always_inline]] inline bool keys_equal(std::string_view x, std::string_view y) noexcept {
  const std::size_t n = x.size();
  if (n != y.size()) return false;
  if (n > 16) return std::memcmp(x.data(), y.data(), n) == 0;
  const char* p = x.data();
  const char* q = y.data();
  if (n >= 8) {
    return ((detail::load_u64(p) ^ detail::load_u64(q)) |
            (detail::load_u64(p + n - 8) ^ detail::load_u64(q + n - 8))) == 0;
  }
  if (n >= 4) {
    return ((detail::load_u32(p) ^ detail::load_u32(q)) |
            (detail::load_u32(p + n - 4) ^ detail::load_u32(q + n - 4))) == 0;
  }
  if (n == 0) return true;
  // Bytes 0, n/2 and n-1 are every byte of a key of 1 to 3 bytes.
  return p[0] == q[0] && p[n / 2] == q[n / 2] && p[n - 1] == q[n - 1];
}

// keys_equal(x, y) for two padded keys, without a branch on their length up to 16.
[[gnu::always_inline]] inline bool padded_keys_equal(std::string_view x,
                                                     std::string_view y) noexcept {
#if defined(__SSE2__)
  const std::size_t n = x.size();
  if (n != y.size()) return false;
  if (n > 16) return std::memcmp(x.data(), y.data(), n) == 0;
  const __m128i same =
      _mm_cmpeq_epi8(detail::load_padded_key(x.data(), n), detail::load_padded_key(y.data(), n));
  return _mm_movemask_epi8(same) == 0xffff;
#else
  return keys_equal(x, y);
#endif
}

// The first 8 bytes of `key` as a big-endian number, zero-padded: where two prefixes
// differ, they order the keys as a bytewise comparison does. Inline, with loads that stay
// within the key, as for hash_key.
[[gnu::always_inline]] inline std::uint64_t key_prefix(std::string_view key) noexcept {
  static_assert(std::endian::native == std::endian::little, "prefix loads assume x86-64");
  return __builtin_bswap64(detail::low_bytes(key.data(), key.size()));
}

// Bytewise key order (as std::string_view's operator<), deciding on the 8-byte prefixes
// where they differ: no call into libc for most pairs.
[[gnu::always_inline]] inline bool key_less(std::string_view a, std::string_view b) noexcept {
  const std::uint64_t pa = key_prefix(a);
  const std::uint64_t pb = key_prefix(b);
  if (pa != pb) return pa < pb;
  return a < b;
}

template <std::integral K>
bool key_less(K a, K b) noexcept {
  return a < b;
}

// A 64-bit number that orders keys as key_less does where two numbers differ: the prefix of
// a string, an integer with its sign bit flipped (so that negatives come first).
inline std::uint64_t key_summary(std::string_view key) noexcept { return key_prefix(key); }
template <std::integral K>
std::uint64_t key_summary(K key) noexcept {
  if constexpr (std::is_signed_v<K>) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(key)) ^ (std::uint64_t{1} << 63);
  } else {
    return static_cast<std::uint64_t>(key);
  }
}

template <std::integral K>
bool keys_equal(K x, K y) noexcept {
  return x == y;
}

template <std::integral K>
std::uint64_t hash_key(K key) noexcept {
  // splitmix64's finalizer: every input bit affects every output bit.
  auto x = static_cast<std::uint64_t>(key);
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace tally
