// detail::sort_by_key (engine/detail/sort_by_key.hpp), and the key order it relies on:
// key_prefix and key_less (engine/key_hash.hpp).
#include "tally/engine/detail/sort_by_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/key_hash.hpp"

namespace {

// Keys each in a heap block of exactly their size, so that AddressSanitizer reports any read
// past a key's end (a std::string's inline buffer would hide it).
class ExactKeys {
 public:
  std::string_view add(std::string_view s) {
    if (s.empty()) return {};
    blocks_.push_back(std::make_unique<char[]>(s.size()));
    std::memcpy(blocks_.back().get(), s.data(), s.size());
    return {blocks_.back().get(), s.size()};
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
};

enum class Shape {
  kRandomBytes,   // 0 to 20 bytes of any value: NULs, >= 0x80
  kSharedPrefix,  // "commonpf" then 0 to 12 bytes: equal 8-byte prefixes
  kTrailingNuls,  // "ab", "ab\0", "ab\0\0", ...: equal zero-padded prefixes
  kOneBucket,     // every key starts "\x41\x00": one radix bucket for all of them
};

std::string make_key(Shape shape, std::mt19937_64& rng) {
  const auto bytes = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>(rng() & 0xff);
    return s;
  };
  switch (shape) {
    case Shape::kRandomBytes:
      return bytes(rng() % 21);
    case Shape::kSharedPrefix:
      return "commonpf" + bytes(rng() % 13);
    case Shape::kTrailingNuls:
      return std::string(rng() % 2 ? "ab" : "abc") + std::string(rng() % 12, '\0') +
             (rng() % 4 == 0 ? bytes(1) : "");
    case Shape::kOneBucket:
      return std::string("\x41\x00", 2) + bytes(rng() % 10);
  }
  return {};
}

using Pair = std::pair<std::string_view, std::uint32_t>;

using Param = std::tuple<Shape, std::size_t>;  // shape, pairs

class SortByKeyStrings : public ::testing::TestWithParam<Param> {};

// Oracle: sort_by_key leaves the pairs in key order exactly as std::sort with
// std::string_view's operator< (bytewise, unsigned) orders them, each pair (key and value)
// once. Its precondition is that keys are distinct, so the generated keys are deduplicated
// (shapes with few possible keys give fewer pairs than asked for).
TEST_P(SortByKeyStrings, EqualsStdSort) {
  const auto [shape, asked] = GetParam();
  std::mt19937_64 rng(asked * 31 + static_cast<std::size_t>(shape));
  ExactKeys storage;
  std::set<std::string> seen;
  std::vector<Pair> pairs;
  for (std::size_t attempt = 0; pairs.size() < asked && attempt < 4 * asked; ++attempt) {
    std::string key = make_key(shape, rng);
    if (!seen.insert(key).second) continue;
    pairs.emplace_back(storage.add(key), static_cast<std::uint32_t>(pairs.size()));
  }
  const std::size_t n = pairs.size();
  std::vector<Pair> want = pairs;
  std::sort(want.begin(), want.end());

  tally::detail::sort_by_key(pairs);
  ASSERT_EQ(pairs.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(pairs[i], want[i]) << "position " << i;
  }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  static const char* const kNames[] = {"randomBytes", "sharedPrefix", "trailingNuls", "oneBucket"};
  return std::string(kNames[static_cast<int>(std::get<0>(info.param))]) + "_" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, SortByKeyStrings,
    ::testing::Combine(::testing::Values(Shape::kRandomBytes, Shape::kSharedPrefix,
                                         Shape::kTrailingNuls, Shape::kOneBucket),
                       ::testing::Values(0, 1, 2, 17, 5000, 200000)),
    param_name);

// Oracle: distinct integer keys sort numerically (negative before positive for signed
// keys), as std::sort orders them, each pair once.
template <typename K>
void check_integer_sort(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<K> seen{std::numeric_limits<K>::min(), std::numeric_limits<K>::max(), K{0}};
  std::vector<std::pair<K, std::uint32_t>> pairs;
  for (K k : seen) pairs.emplace_back(k, static_cast<std::uint32_t>(pairs.size()));
  for (std::size_t attempt = 0; pairs.size() < n && attempt < 4 * n; ++attempt) {
    const K k = static_cast<K>(rng());
    if (seen.insert(k).second) pairs.emplace_back(k, static_cast<std::uint32_t>(pairs.size()));
  }
  std::shuffle(pairs.begin(), pairs.end(), rng);
  auto want = pairs;
  std::sort(want.begin(), want.end());
  tally::detail::sort_by_key(pairs);
  EXPECT_EQ(pairs, want);
}

TEST(SortByKeyIntegers, EqualsStdSort) {
  for (std::size_t n : {0u, 1u, 3u, 1000u, 100000u}) {
    SCOPED_TRACE(n);
    check_integer_sort<std::uint64_t>(n, n + 1);
    check_integer_sort<std::int64_t>(n, n + 2);
    check_integer_sort<std::int32_t>(n, n + 3);
    check_integer_sort<std::uint8_t>(n, n + 4);
  }
}

// Every string of length 0 to max_len over `alphabet`.
std::vector<std::string> all_strings(std::string_view alphabet, std::size_t max_len) {
  std::vector<std::string> out{""};
  std::size_t level_begin = 0;
  for (std::size_t len = 1; len <= max_len; ++len) {
    const std::size_t level_end = out.size();
    for (std::size_t i = level_begin; i < level_end; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    level_begin = level_end;
  }
  return out;
}

// The prefix as documented, computed byte by byte: the first 8 bytes, zero-padded, as a
// big-endian number.
std::uint64_t reference_prefix(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = (v << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
  }
  return v;
}

// Oracle: key_prefix equals the byte-by-byte reference for every key of up to 4 bytes over
// {'\0', 0x01, 'a', 0x7f, 0x80, 0xff} and of up to 9 bytes over {'\0', 'a', 0xff}; key_less(a, b)
// == (a < b) (std::string_view's order) for every pair of the first set, for every pair of
// neighbours in the sorted second set, and for a million random pairs of the second set.
TEST(KeyOrder, KeyPrefixAndKeyLessMatchStringViewOrder) {
  ExactKeys storage;
  const std::string six("\x00\x01\x61\x7f\x80\xff", 6);
  std::vector<std::string_view> small;
  for (const std::string& s : all_strings(six, 4)) small.push_back(storage.add(s));
  for (std::string_view a : small) {
    ASSERT_EQ(tally::key_prefix(a), reference_prefix(a));
    for (std::string_view b : small) {
      if (tally::key_less(a, b) != (a < b)) {
        // One failure: a wrong pair would otherwise report thousands of times.
        FAIL() << "key_less disagrees with operator< for keys of " << a.size() << " and "
               << b.size() << " bytes: prefixes " << std::hex << tally::key_prefix(a) << ", "
               << tally::key_prefix(b);
      }
    }
  }

  const std::string three("\x00\x61\xff", 3);
  std::vector<std::string_view> longer;
  for (const std::string& s : all_strings(three, 9)) longer.push_back(storage.add(s));
  for (std::string_view a : longer) ASSERT_EQ(tally::key_prefix(a), reference_prefix(a));
  std::sort(longer.begin(), longer.end());
  for (std::size_t i = 1; i < longer.size(); ++i) {
    ASSERT_TRUE(tally::key_less(longer[i - 1], longer[i])) << i;
    ASSERT_FALSE(tally::key_less(longer[i], longer[i - 1])) << i;
    ASSERT_FALSE(tally::key_less(longer[i], longer[i])) << i;
    ASSERT_LE(tally::key_prefix(longer[i - 1]), tally::key_prefix(longer[i])) << i;
  }
  std::mt19937_64 rng(9);
  for (int i = 0; i < 1'000'000; ++i) {
    const std::string_view a = longer[rng() % longer.size()];
    const std::string_view b = longer[rng() % longer.size()];
    ASSERT_EQ(tally::key_less(a, b), a < b);
  }
}

}  // namespace
