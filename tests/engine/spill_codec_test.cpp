#include "tally/engine/detail/spill_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using tally::detail::SpillCodec;

// Oracle: decoding what encode() wrote, entry after entry, gives back every key and value in
// order and ends exactly at the end of the payload; a payload cut anywhere inside its last
// entry fails to decode that entry (never reads past the end, never decodes a wrong one).
template <typename Key, typename T>
void round_trip(const std::vector<std::pair<Key, T>>& entries) {
  std::string payload;
  std::vector<std::size_t> ends;
  for (const auto& [k, v] : entries) {
    SpillCodec<Key, T>::encode(payload, k, v);
    ends.push_back(payload.size());
  }
  const char* p = payload.data();
  const char* end = p + payload.size();
  for (const auto& [k, v] : entries) {
    Key key{};
    T value{};
    ASSERT_TRUE((SpillCodec<Key, T>::decode(p, end, key, value)));
    EXPECT_EQ(key, k);
    EXPECT_EQ(value, v);
  }
  EXPECT_EQ(p, end);
  const std::size_t last_begin = ends.size() > 1 ? ends[ends.size() - 2] : 0;
  for (std::size_t cut = last_begin; cut < payload.size(); ++cut) {
    const char* q = payload.data() + last_begin;
    Key key{};
    T value{};
    EXPECT_FALSE((SpillCodec<Key, T>::decode(q, payload.data() + cut, key, value))) << cut;
  }
}

TEST(SpillCodec, StringKeysAndCounts) {
  std::vector<std::string> keys = {"", "a", std::string(200, 'x'), std::string(70000, 'y')};
  std::vector<std::pair<std::string_view, std::uint64_t>> entries;
  const std::uint64_t values[] = {0, 1, 127, 128, 300, std::numeric_limits<std::uint64_t>::max()};
  for (const std::string& k : keys) {
    for (std::uint64_t v : values) entries.emplace_back(k, v);
  }
  round_trip(entries);
}

TEST(SpillCodec, IntegerKeysAndPlainValues) {
  std::vector<std::pair<std::int64_t, double>> entries = {
      {-5, 0.5}, {0, -1e300}, {std::numeric_limits<std::int64_t>::min(), 3.0}};
  round_trip(entries);
}

TEST(SpillCodec, ValueLists) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<std::string_view, std::vector<std::uint32_t>>> counts;
  std::vector<std::pair<std::uint64_t, std::vector<double>>> doubles;
  for (std::size_t n : {0, 1, 2, 1000}) {
    std::vector<std::uint32_t> c(n);
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i) {
      c[i] = static_cast<std::uint32_t>(rng());
      d[i] = static_cast<double>(rng()) / 3.0;
    }
    counts.emplace_back("key", c);
    doubles.emplace_back(n, d);
  }
  round_trip(counts);
  round_trip(doubles);
}

// Oracle: a varint larger than the value type holds is a decoding failure, not a truncation.
TEST(SpillCodec, OversizedVarintIsRejected) {
  std::string payload;
  SpillCodec<std::string_view, std::uint64_t>::encode(payload, "k", std::uint64_t{1} << 40);
  const char* p = payload.data();
  std::string_view key;
  std::uint32_t value = 0;
  EXPECT_FALSE(
      (SpillCodec<std::string_view, std::uint32_t>::decode(p, p + payload.size(), key, value)));
}

}  // namespace
