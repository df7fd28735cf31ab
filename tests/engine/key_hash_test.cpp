// hash_key and keys_equal for byte strings: the inline short-key paths must agree with plain
// byte comparison at every length, the hash must spread keys over a table's low and high
// bits, and it must identify a key of up to 8 bytes.
#include "tally/engine/key_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/key_from_hash.hpp"

namespace {

using tally::hash_key;
using tally::hash_padded_key;
using tally::keys_equal;
using tally::padded_keys_equal;

// `key` followed by 16 bytes of `fill`: a padded copy of it whose padding differs with fill.
std::string padded(std::string_view key, char fill) {
  std::string buffer(key);
  buffer.append(tally::kKeyPadding, fill);
  return buffer;
}

// Every length from 0 to 40 (covering the 1-3, 4-7, 8-16 and long paths), every position of a
// one-byte difference: keys_equal agrees with operator==.
TEST(KeysEqual, AgreesWithByteComparisonAtEveryLengthAndPosition) {
  for (std::size_t n = 0; n <= 40; ++n) {
    // Separate buffers, so that equal keys never share an address.
    std::string a(n, 'k');
    std::string b(n, 'k');
    for (std::size_t i = 0; i < n; ++i) a[i] = b[i] = static_cast<char>('a' + i % 26);
    EXPECT_TRUE(keys_equal(std::string_view(a), std::string_view(b))) << "length " << n;
    for (std::size_t i = 0; i < n; ++i) {
      std::string c = b;
      c[i] = static_cast<char>(c[i] ^ 0x40);
      EXPECT_FALSE(keys_equal(std::string_view(a), std::string_view(c)))
          << "length " << n << " differing at " << i;
    }
    if (n > 0) {
      EXPECT_FALSE(keys_equal(std::string_view(a), std::string_view(a).substr(0, n - 1)));
    }
  }
}

// A padded key hashes as the same bytes unpadded, whatever follows it, at every length
// (the masked path up to 16 bytes and the long path past it).
TEST(HashPaddedKey, EqualsHashKeyWhateverThePaddingHolds) {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string key(n, '\0');
    for (std::size_t i = 0; i < n; ++i) key[i] = static_cast<char>(0x61 + (i * 7) % 200);
    const std::uint64_t want = hash_key(std::string_view(key));
    for (const char fill : {'\0', 'x', '\xff'}) {
      const std::string buffer = padded(key, fill);
      EXPECT_EQ(hash_padded_key(std::string_view(buffer).substr(0, n)), want)
          << "length " << n << ", padding " << int{fill};
    }
  }
}

// padded_keys_equal agrees with operator== at every length and position of a one-byte
// difference, with different bytes after the two keys.
TEST(PaddedKeysEqual, AgreesWithByteComparisonWhateverThePaddingHolds) {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string key(n, '\0');
    for (std::size_t i = 0; i < n; ++i) key[i] = static_cast<char>('a' + i % 26);
    const std::string a = padded(key, 'p');
    const std::string b = padded(key, 'q');
    const auto view = [n](const std::string& s) { return std::string_view(s).substr(0, n); };
    EXPECT_TRUE(padded_keys_equal(view(a), view(b))) << "length " << n;
    for (std::size_t i = 0; i < n; ++i) {
      std::string c = b;
      c[i] = static_cast<char>(c[i] ^ 0x40);
      EXPECT_FALSE(padded_keys_equal(view(a), view(c))) << "length " << n << " differing at " << i;
    }
    if (n > 0) {
      EXPECT_FALSE(padded_keys_equal(view(a), std::string_view(b).substr(0, n - 1)));
    }
  }
}

// Keys that are prefixes of one another, or differ only in length of a run of zero bytes,
// hash differently (the length is mixed in).
TEST(HashKey, PrefixesAndZeroRunsDiffer) {
  std::set<std::uint64_t> hashes;
  const std::string zeros(40, '\0');
  const std::string letters = "abcdefghijklmnopqrstuvwxyzabcdefghijklmn";
  for (std::size_t n = 0; n <= 40; ++n) {
    hashes.insert(hash_key(std::string_view(zeros).substr(0, n)));
    hashes.insert(hash_key(std::string_view(letters).substr(0, n)));
  }
  // 41 zero runs + 41 letter prefixes, where the two empty strings are the same key.
  EXPECT_EQ(hashes.size(), 81u);
}

// Equal keys at different addresses hash the same, at every length.
TEST(HashKey, DependsOnBytesNotAddress) {
  for (std::size_t n = 0; n <= 40; ++n) {
    const std::string a(n, 'q');
    const std::string b = " " + a;
    EXPECT_EQ(hash_key(std::string_view(a)), hash_key(std::string_view(b).substr(1))) << n;
  }
}

// The low bits pick a table slot and the high bits a partition: sequential keys (the worst
// case for a weak mix) fill 1024 buckets of either evenly. "w0".."w99999" differ in their
// first 8 bytes; "sequence0".."sequence99999" share them and differ only in the rest.
TEST(HashKey, SpreadsSequentialKeysOverLowAndHighBits) {
  constexpr std::size_t kKeys = 100000;
  constexpr std::size_t kBuckets = 1024;
  for (const std::string prefix : {"w", "sequence"}) {
    std::vector<std::size_t> low(kBuckets);
    std::vector<std::size_t> high(kBuckets);
    for (std::size_t i = 0; i < kKeys; ++i) {
      const std::string key = prefix + std::to_string(i);
      const std::uint64_t h = hash_key(std::string_view(key));
      ++low[h % kBuckets];
      ++high[h >> 54];
    }
    // Mean 97.7 per bucket; a uniform hash stays well inside [50, 150] for every bucket.
    EXPECT_LT(*std::max_element(low.begin(), low.end()), 150u) << prefix;
    EXPECT_GT(*std::min_element(low.begin(), low.end()), 50u) << prefix;
    EXPECT_LT(*std::max_element(high.begin(), high.end()), 150u) << prefix;
    EXPECT_GT(*std::min_element(high.begin(), high.end()), 50u) << prefix;
  }
}

// The hash of a key of up to kExactHashLength bytes identifies it among the keys of its
// length (FlatTable relies on it): the key can be computed back from the hash. Random bytes,
// zeros included, at every such length.
TEST(HashKey, IdentifiesEveryKeyOfUpToEightBytes) {
  std::mt19937_64 random(7);
  for (std::size_t n = 0; n <= tally::kExactHashLength; ++n) {
    for (int i = 0; i < 2000; ++i) {
      std::string key(n, '\0');
      for (char& c : key) c = static_cast<char>(random() % 4 == 0 ? 0 : random());
      const auto back = tally::testing::key_with_hash(hash_key(key), n);
      ASSERT_TRUE(back.has_value()) << "length " << n;
      EXPECT_EQ(*back, key) << "length " << n;
    }
  }
}

}  // namespace
