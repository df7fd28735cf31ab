// Arena: every key it hands out is padded (key_hash.hpp), including one that ends exactly
// where its block's usable bytes end and the empty key; under AddressSanitizer a padded
// load past a block's allocation fails these tests.
#include "tally/engine/detail/arena.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/engine/key_hash.hpp"

namespace {

using tally::detail::Arena;

// A key read through the padded functions gives what the unpadded ones give.
void expect_padded(std::string_view key) {
  EXPECT_EQ(tally::hash_padded_key(key), tally::hash_key(key)) << "key of " << key.size();
  EXPECT_TRUE(tally::padded_keys_equal(key, key)) << "key of " << key.size();
}

TEST(Arena, AKeyFillingItsBlockIsPadded) {
  Arena arena;
  // The first block hands out kFirstBlock - kKeyPadding bytes: 16-byte keys fill it exactly.
  const std::size_t keys = (Arena::kFirstBlock - tally::kKeyPadding) / 16;
  std::vector<std::string_view> copies;
  for (std::size_t i = 0; i < keys; ++i) {
    std::string key(16, static_cast<char>('a' + i % 26));
    copies.push_back(arena.copy(key));
  }
  EXPECT_EQ(arena.bytes(), Arena::kFirstBlock) << "the keys should fill one block";
  for (const std::string_view key : copies) expect_padded(key);
  // The next key starts a new block.
  expect_padded(arena.copy("z"));
  EXPECT_GT(arena.bytes(), Arena::kFirstBlock);
}

TEST(Arena, KeysOfEveryShortLengthArePaddedAcrossBlocks) {
  Arena arena;
  std::vector<std::pair<std::string, std::string_view>> copies;
  for (std::size_t i = 0; i < 20000; ++i) {
    std::string key(i % 18, static_cast<char>('a' + i % 23));
    const std::string_view copy = arena.copy(key);
    copies.emplace_back(std::move(key), copy);
  }
  for (const auto& [key, copy] : copies) {
    EXPECT_EQ(copy, key);
    expect_padded(copy);
  }
}

TEST(Arena, TheEmptyKeyIsPadded) {
  Arena arena;
  const std::string_view empty = arena.copy("");
  EXPECT_TRUE(empty.empty());
  ASSERT_NE(empty.data(), nullptr);
  expect_padded(empty);
  EXPECT_EQ(arena.bytes(), 0u) << "an empty key takes no storage";
}

}  // namespace
