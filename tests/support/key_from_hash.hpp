// Inverts hash_key for keys of up to kExactHashLength bytes (engine/key_hash.hpp): the key of
// a given length that has a given hash, where there is one. With it a test can show that
// such a hash identifies its key, and build keys with chosen hashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "tally/engine/key_hash.hpp"

namespace tally::testing {

// The inverse of an odd number modulo 2^64: each Newton step doubles the correct low bits
// (3 to start with, as c * c == 1 mod 8), and 6 steps pass 64.
constexpr std::uint64_t inverse_of_odd(std::uint64_t c) {
  std::uint64_t x = c;
  for (int i = 0; i < 6; ++i) x *= 2 - c * x;
  return x;
}

// The inverse of detail::mix_bijective: its steps undone in reverse order. A shift by 33 of
// 64 bits is undone by doing it again.
constexpr std::uint64_t unmix_bijective(std::uint64_t x) {
  x ^= x >> 33;
  x *= inverse_of_odd(detail::kMixMultiplier1);
  x ^= x >> 33;
  x *= inverse_of_odd(detail::kMixMultiplier0);
  x ^= x >> 33;
  return x;
}

// The key of `length` (<= kExactHashLength) bytes whose hash_key is `hash`, or nothing if no
// key of that length has it.
inline std::optional<std::string> key_with_hash(std::uint64_t hash, std::size_t length) {
  const std::uint64_t lo = unmix_bijective(hash) ^ (length * detail::kSecret0);
  if (length < 8 && (lo >> (8 * length)) != 0) return std::nullopt;
  std::string key(length, '\0');
  for (std::size_t i = 0; i < length; ++i) key[i] = static_cast<char>(lo >> (8 * i));
  return key;
}

}  // namespace tally::testing
