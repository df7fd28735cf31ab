#include "tally/jobs/fixed_strings.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace tally::jobs {

// Names the strategy in the sweep's test names.
void PrintTo(FixedStrings::Strategy s, std::ostream* os) {
  static constexpr const char* kNames[] = {"auto", "none",  "empty", "byte",
                                           "pair", "teddy", "hash"};
  *os << kNames[static_cast<int>(s)];
}

}  // namespace tally::jobs

namespace {

using tally::jobs::FixedStrings;
using Strategy = FixedStrings::Strategy;

constexpr std::size_t kNpos = std::string_view::npos;

// The oracle: the smallest offset at which any string occurs, by trying every offset.
std::size_t naive_find(std::string_view text, const std::vector<std::string>& strings) {
  for (std::size_t at = 0; at <= text.size(); ++at) {
    for (const std::string& s : strings) {
      if (text.substr(at).starts_with(s)) return at;
    }
  }
  return kNpos;
}

// Bytes drawn mostly from a small alphabet, so that strings occur and overlap often, with
// now and then a NUL, a newline or a byte with the high bit set (other nibbles for Teddy).
std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  static constexpr std::string_view kCommon = "abcab";
  static constexpr char kRare[] = {'\0', '\n', '\xff', '\x80', 'z', 'A'};
  std::string s(n, ' ');
  for (char& c : s) {
    c = rng() % 16 == 0 ? kRare[rng() % sizeof kRare] : kCommon[rng() % kCommon.size()];
  }
  return s;
}

std::vector<std::string> random_strings(std::mt19937_64& rng, std::size_t count,
                                        std::size_t min_length, std::size_t max_length) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(random_bytes(rng, min_length + rng() % (max_length - min_length + 1)));
  }
  return out;
}

using Param = std::tuple<Strategy, std::size_t, std::size_t>;  // forced, strings, min length

class FixedStringsSweep : public ::testing::TestWithParam<Param> {};

// Oracle: find() equals naive_find on random texts of every length from 0 to 300 (so the
// vector loops, their scalar tails and texts shorter than one vector are all covered), and on
// every suffix of one long text, whatever strategy is forced.
TEST_P(FixedStringsSweep, FindsTheLeftmostOccurrence) {
  const auto [forced, count, min_length] = GetParam();
  std::mt19937_64 rng(count * 100 + min_length + static_cast<std::uint64_t>(forced));
  for (int set = 0; set < 6; ++set) {
    const std::vector<std::string> strings = random_strings(rng, count, min_length, min_length + 4);
    const FixedStrings search(strings, forced);
    for (std::size_t n = 0; n <= 300; ++n) {
      const std::string text = random_bytes(rng, n);
      ASSERT_EQ(search.find(text), naive_find(text, strings)) << "text size " << n;
    }
    // Strings planted at the very end, where only a scalar tail can see them.
    std::string text = random_bytes(rng, 2000);
    text += strings[rng() % strings.size()];
    for (std::size_t from = 0; from < text.size(); from += 1 + rng() % 7) {
      ASSERT_EQ(search.find(std::string_view(text).substr(from)),
                naive_find(std::string_view(text).substr(from), strings))
          << "from " << from;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, FixedStringsSweep,
    ::testing::Values(Param{Strategy::kAuto, 1, 1}, Param{Strategy::kAuto, 1, 2},
                      Param{Strategy::kAuto, 1, 5}, Param{Strategy::kPair, 1, 2},
                      Param{Strategy::kAuto, 2, 1}, Param{Strategy::kAuto, 3, 2},
                      Param{Strategy::kAuto, 8, 3}, Param{Strategy::kAuto, 9, 4},
                      Param{Strategy::kAuto, 64, 2}, Param{Strategy::kAuto, 65, 3},
                      Param{Strategy::kAuto, 300, 1}, Param{Strategy::kTeddy, 1, 3},
                      Param{Strategy::kHash, 1, 1}, Param{Strategy::kHash, 4, 2},
                      Param{Strategy::kHash, 20, 5}, Param{Strategy::kHash, 200, 6}));

// Oracle: the documented choice of algorithm for each shape of set.
TEST(FixedStrings, PicksTheStrategyBySetShape) {
  EXPECT_EQ(FixedStrings({}).strategy(), Strategy::kNone);
  EXPECT_EQ(FixedStrings({"abc", ""}).strategy(), Strategy::kEmpty);
  EXPECT_EQ(FixedStrings({"a"}).strategy(), Strategy::kByte);
  EXPECT_EQ(FixedStrings({"ab"}).strategy(), Strategy::kPair);
  const Strategy many = FixedStrings({"ab", "cd"}).strategy();
#if defined(__x86_64__)
  EXPECT_EQ(many, __builtin_cpu_supports("ssse3") ? Strategy::kTeddy : Strategy::kHash);
#else
  EXPECT_EQ(many, Strategy::kHash);
#endif
  std::vector<std::string> strings(FixedStrings::kMaxTeddyStrings + 1, "xy");
  EXPECT_EQ(FixedStrings(strings).strategy(), Strategy::kHash);
  // A forced strategy that cannot serve the set falls back to kHash.
  EXPECT_EQ(FixedStrings({"ab", "cd"}, Strategy::kPair).strategy(), Strategy::kHash);
  EXPECT_EQ(FixedStrings({"ab"}, Strategy::kByte).strategy(), Strategy::kHash);
}

// Oracle: no strings occur nowhere, not even in an empty text; an empty string occurs at 0,
// even in an empty text.
TEST(FixedStrings, EmptySetAndEmptyString) {
  EXPECT_EQ(FixedStrings({}).find("abc"), kNpos);
  EXPECT_EQ(FixedStrings({}).find(""), kNpos);
  EXPECT_EQ(FixedStrings({"zz", ""}).find("abc"), 0u);
  EXPECT_EQ(FixedStrings({""}).find(""), 0u);
}

// Oracle: a string longer than the text never occurs; one equal to it occurs at 0.
TEST(FixedStrings, StringsAsLongAsTheText) {
  for (const Strategy s : {Strategy::kAuto, Strategy::kTeddy, Strategy::kHash}) {
    EXPECT_EQ(FixedStrings({"abcdefghijklmnopqrstu"}, s).find("abcdefghijklmnopqrst"), kNpos);
    EXPECT_EQ(FixedStrings({"abcdefghijklmnopqrst"}, s).find("abcdefghijklmnopqrst"), 0u);
    EXPECT_EQ(FixedStrings({"xyz", "abcdefghijklmnopqrst"}, s).find("abcdefghijklmnopqrst"), 0u);
  }
}

}  // namespace
