// FlatTable: lookups of padded keys (key_hash.hpp) and of plain ones meet the same entries;
// a match decided from the hash alone never joins two keys.
#include "tally/engine/detail/flat_table.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/key_hash.hpp"
#include "tests/support/key_from_hash.hpp"

namespace {

// A table finds the same entry for a key whether it is looked up padded or not.
TEST(FlatTable, PaddedAndUnpaddedLookupsFindTheSameEntries) {
  tally::detail::FlatTable<std::string_view, std::uint64_t> table;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < 5000; ++i) keys.push_back("k" + std::to_string(i * 7919));
  keys.emplace_back();         // the empty key
  keys.emplace_back(40, 'L');  // a long one
  for (std::size_t round = 0; round < 4; ++round) {
    for (const std::string& key : keys) {
      if (round % 2 == 0) {
        std::string buffer = key;
        buffer.append(tally::kKeyPadding, '#');
        const std::string_view padded = std::string_view(buffer).substr(0, key.size());
        ++*table.find_or_insert_padded(padded, tally::hash_padded_key(padded)).first;
      } else {
        ++*table.find_or_insert(key, tally::hash_key(key)).first;
      }
    }
  }
  EXPECT_EQ(table.size(), keys.size());
  std::size_t checked = 0;
  table.for_each([&](std::uint64_t, std::string_view, std::uint64_t count) {
    EXPECT_EQ(count, 4u);
    ++checked;
  });
  EXPECT_EQ(checked, keys.size());
}

// A table stores hash 0 as 1 (0 marks an empty slot), so two keys of one length whose
// hashes are 0 and 1 have the same slot hash; the probe that trusts the hash for keys of up
// to 8 bytes must still keep them apart.
TEST(FlatTable, KeysWhoseHashesAreZeroAndOneStayApart) {
  const auto zero = tally::testing::key_with_hash(0, tally::kExactHashLength);
  const auto one = tally::testing::key_with_hash(1, tally::kExactHashLength);
  ASSERT_TRUE(zero.has_value() && one.has_value());
  ASSERT_EQ(tally::hash_key(*zero), 0u);
  ASSERT_EQ(tally::hash_key(*one), 1u);
  tally::detail::FlatTable<std::string_view, std::uint64_t> table;
  for (int round = 0; round < 3; ++round) {
    *table.find_or_insert(*zero, tally::hash_key(*zero)).first += 1;
    *table.find_or_insert(*one, tally::hash_key(*one)).first += 10;
  }
  ASSERT_EQ(table.size(), 2u);
  table.for_each([&](std::uint64_t, std::string_view key, std::uint64_t count) {
    EXPECT_EQ(count, key == *zero ? 3u : 30u);
  });
}

}  // namespace
