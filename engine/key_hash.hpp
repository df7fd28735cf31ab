// Hashing of job keys: XXH3 (Debian's libxxhash) for byte strings, a 64-bit finalizer mix for
// integers. The same hash picks a key's partition (high bits) and its slot in a table (low
// bits), so both must come from a well-mixed 64-bit value.
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace tally {

// Keys a job may use: byte strings (copied into engine-owned arenas when first seen) or
// integers.
template <typename K>
concept JobKey = std::same_as<K, std::string_view> || std::integral<K>;

// XXH3 of the bytes. Compiled in key_hash.cpp, so xxhash.h stays out of tally's public
// headers and programs that embed tally need no xxhash of their own.
std::uint64_t hash_key(std::string_view key) noexcept;

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
