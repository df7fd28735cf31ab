// FlatTable: lookups of padded keys (key_hash.hpp) and of plain ones meet the same entries.
#include "tally/engine/detail/flat_table.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/key_hash.hpp"

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

}  // namespace
