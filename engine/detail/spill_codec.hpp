// SpillCodec<Key, T>: how one (key, value) entry of a spilled run is laid out in a block's
// payload (spill_file.hpp), and read back.
//
//   string key   varint length, then the bytes
//   integer key  its bytes
//   T            a varint for an unsigned integer (counts are mostly small: a count of 1
//                takes one byte, not eight); its bytes for any other trivially copyable T
//                (a Value, a combined accumulator); a varint count, then each value as
//                above, for std::vector<V> (the value list of a ReduceJob's key)
//
// The bytes are the machine's own: spill files live only as long as the run that wrote them,
// on the machine that wrote them. Decoding checks every length against the payload's end, so
// a payload that passed its checksum but was written by another build cannot be read past.
//
// Spillable<J>: the jobs whose accumulators and results can be spilled: their Value and
// their ResultValue (what reduce() returns, job.hpp) are trivially copyable. A budgeted run of
// any other job (a reduce job returning a list, say) fails with kResourceExhausted when what
// it holds does not fit (memory_budget.hpp), rather than growing past the budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/detail/accumulation.hpp"
#include "tally/engine/job.hpp"

namespace tally::detail {

template <typename T>
struct IsValueList : std::false_type {};
template <typename V>
struct IsValueList<std::vector<V>> : std::is_trivially_copyable<V> {};

template <typename T>
concept SpillableValue = std::is_trivially_copyable_v<T> || IsValueList<T>::value;

template <typename J>
concept Spillable = Job<J> && std::is_trivially_copyable_v<typename J::Value> &&
    std::is_trivially_copyable_v<ResultValue<J>>;

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads a varint at `p`; false (p unspecified) if it runs past `end` or past 64 bits.
inline bool get_varint(const char*& p, const char* end, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}

template <typename Key, SpillableValue T>
struct SpillCodec {
  static void encode(std::string& out, const Key& key, const T& value) {
    if constexpr (std::is_same_v<Key, std::string_view>) {
      put_varint(out, key.size());
      out.append(key);
    } else {
      put_bytes(out, &key, sizeof key);
    }
    if constexpr (IsValueList<T>::value) {
      put_varint(out, value.size());
      if constexpr (kVarint<typename T::value_type>) {
        for (const auto& v : value) put_varint(out, v);
      } else {
        put_bytes(out, value.data(), value.size() * sizeof(typename T::value_type));
      }
    } else {
      put_value(out, value);
    }
  }

  // Decodes the entry at `p` into key and value and moves `p` past it; false if the entry
  // does not lie within [p, end). A string key points into the payload.
  static bool decode(const char*& p, const char* end, Key& key, T& value) {
    if constexpr (std::is_same_v<Key, std::string_view>) {
      std::uint64_t n = 0;
      if (!get_varint(p, end, n) || n > static_cast<std::uint64_t>(end - p)) return false;
      key = std::string_view(p, n);
      p += n;
    } else if (!get_bytes(p, end, &key, sizeof key)) {
      return false;
    }
    if constexpr (IsValueList<T>::value) {
      using V = typename T::value_type;
      std::uint64_t n = 0;
      // Every value takes a byte at least.
      if (!get_varint(p, end, n) || n > static_cast<std::uint64_t>(end - p)) return false;
      value.resize(n);
      if constexpr (kVarint<V>) {
        for (V& v : value) {
          if (!get_value(p, end, v)) return false;
        }
        return true;
      } else {
        if (n > static_cast<std::uint64_t>(end - p) / sizeof(V)) return false;
        return get_bytes(p, end, value.data(), n * sizeof(V));
      }
    } else {
      return get_value(p, end, value);
    }
  }

 private:
  template <typename V>
  static constexpr bool kVarint = std::is_integral_v<V>&& std::is_unsigned_v<V> &&
                                  !std::is_same_v<V, bool> && sizeof(V) <= sizeof(std::uint64_t);

  template <typename V>
  static void put_value(std::string& out, const V& v) {
    if constexpr (kVarint<V>) {
      put_varint(out, v);
    } else {
      put_bytes(out, &v, sizeof v);
    }
  }
  template <typename V>
  static bool get_value(const char*& p, const char* end, V& v) {
    if constexpr (kVarint<V>) {
      std::uint64_t x = 0;
      if (!get_varint(p, end, x) || x > std::numeric_limits<V>::max()) return false;
      v = static_cast<V>(x);
      return true;
    } else {
      return get_bytes(p, end, &v, sizeof v);
    }
  }

  static void put_bytes(std::string& out, const void* data, std::size_t n) {
    out.append(static_cast<const char*>(data), n);
  }
  static bool get_bytes(const char*& p, const char* end, void* data, std::size_t n) {
    if (n > static_cast<std::size_t>(end - p)) return false;
    if (n != 0) std::memcpy(data, p, n);
    p += n;
    return true;
  }
};

}  // namespace tally::detail
