#include "tally/engine/result_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using tally::MergedRange;
using tally::MergedRuns;
using tally::SortedRun;

// An entry remembers where it came from, so the order of equal keys can be checked.
struct Item {
  int key = 0;
  std::size_t run = 0;
  std::size_t pos = 0;  // its rank within its run's sorted order
  friend bool operator==(const Item&, const Item&) = default;
};

// Compares keys only: items of equal keys are ties for the merge.
struct KeyOnlyLess {
  bool operator()(const Item& a, const Item& b) const { return a.key < b.key; }
};

std::ostream& operator<<(std::ostream& os, const Item& i) {
  return os << "{key " << i.key << ", run " << i.run << ", pos " << i.pos << "}";
}

enum class Layout { kPlain, kThroughOrder };

struct Runs {
  std::vector<std::vector<Item>> sorted;           // each run in its sorted order
  std::vector<std::vector<Item>> stored;           // each run as the merge reads it
  std::vector<std::vector<std::uint32_t>> orders;  // kThroughOrder: stored[order[j]] = sorted[j]
  std::vector<SortedRun<Item>> views;
};

// k runs of 0 to 40 items each, every third run empty, keys from a range of `key_range`
// (small: many ties within and across runs). kThroughOrder stores each run shuffled and
// reads it through an order index.
Runs make_runs(std::size_t k, int key_range, Layout layout, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Runs r;
  r.sorted.resize(k);
  r.stored.resize(k);
  r.orders.resize(k);
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t n = i % 3 == 1 ? 0 : rng() % 41;
    std::vector<int> keys(n);
    for (int& key : keys) key = static_cast<int>(rng() % static_cast<std::uint64_t>(key_range));
    std::sort(keys.begin(), keys.end());
    for (std::size_t j = 0; j < n; ++j) r.sorted[i].push_back({keys[j], i, j});
    if (layout == Layout::kPlain) {
      r.stored[i] = r.sorted[i];
    } else {
      std::vector<std::uint32_t> where(n);
      std::iota(where.begin(), where.end(), 0u);
      std::shuffle(where.begin(), where.end(), rng);
      r.stored[i].resize(n);
      for (std::size_t j = 0; j < n; ++j) r.stored[i][where[j]] = r.sorted[i][j];
      r.orders[i] = where;
    }
  }
  for (std::size_t i = 0; i < k; ++i) {
    r.views.push_back({r.stored[i].data(), layout == Layout::kPlain ? nullptr : r.orders[i].data(),
                       r.stored[i].size()});
  }
  return r;
}

// The expected order two independent ways: std::merge folded over the runs in run order
// (std::merge takes the first range's element of a tie, so lower runs come first), and a
// stable sort of the runs' concatenation.
std::vector<Item> expected_merge(const Runs& r) {
  std::vector<Item> merged;
  for (const auto& run : r.sorted) {
    std::vector<Item> next;
    std::merge(merged.begin(), merged.end(), run.begin(), run.end(), std::back_inserter(next),
               KeyOnlyLess{});
    merged = std::move(next);
  }
  std::vector<Item> all;
  for (const auto& run : r.sorted) all.insert(all.end(), run.begin(), run.end());
  std::stable_sort(all.begin(), all.end(), KeyOnlyLess{});
  EXPECT_EQ(merged, all) << "the two oracles disagree";
  return merged;
}

using Param = std::tuple<std::size_t, int, Layout>;  // runs, key range, layout

class MergedRunsTest : public ::testing::TestWithParam<Param> {};

// Oracle: for k runs (k = 0 to 33, empty runs among them, runs read as stored or through an
// order index), MergedRuns yields exactly std::merge of the runs folded in run order: every
// entry once, keys non-decreasing, equal keys from the lower run first and in run order
// within a run. After the last entry next() keeps returning nullptr. MergedRange yields the
// same sequence.
TEST_P(MergedRunsTest, EqualsFoldedStdMerge) {
  const auto [k, key_range, layout] = GetParam();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Runs r = make_runs(k, key_range, layout, seed);
    const std::vector<Item> want = expected_merge(r);

    MergedRuns<Item, KeyOnlyLess> merged(r.views, KeyOnlyLess{});
    std::vector<Item> got;
    while (const Item* e = merged.next()) {
      got.push_back(*e);
      ASSERT_LE(got.size(), want.size()) << "more entries than the runs hold";
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(merged.next(), nullptr);
    EXPECT_EQ(merged.next(), nullptr);

    std::vector<Item> ranged;
    for (const Item& e : MergedRange<Item, KeyOnlyLess>(r.views, KeyOnlyLess{})) {
      ranged.push_back(e);
    }
    EXPECT_EQ(ranged, want);
  }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto [k, key_range, layout] = info.param;
  return std::to_string(k) + "runs_keys" + std::to_string(key_range) +
         (layout == Layout::kPlain ? "_plain" : "_throughOrder");
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, MergedRunsTest,
    ::testing::Combine(::testing::Values(0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33),
                       ::testing::Values(3, 1000),
                       ::testing::Values(Layout::kPlain, Layout::kThroughOrder)),
    param_name);

// Oracle: runs that are all empty, or only the last one non-empty, or only the first, merge
// to exactly the non-empty run's entries (the winner-exhausted shortcut must not end early
// or late).
TEST(MergedRunsEdges, OnlyOneRunNonEmpty) {
  for (std::size_t k : {1u, 2u, 3u, 6u, 16u}) {
    for (std::size_t full = 0; full <= k; ++full) {  // full == k: every run empty
      std::vector<std::vector<Item>> runs(k);
      if (full < k) {
        for (std::size_t j = 0; j < 5; ++j) runs[full].push_back({static_cast<int>(j), full, j});
      }
      std::vector<SortedRun<Item>> views;
      for (const auto& run : runs) views.push_back({run.data(), nullptr, run.size()});
      MergedRuns<Item, KeyOnlyLess> merged(views, KeyOnlyLess{});
      std::vector<Item> got;
      while (const Item* e = merged.next()) got.push_back(*e);
      EXPECT_EQ(got, full < k ? runs[full] : std::vector<Item>{})
          << k << " runs, run " << full << " non-empty";
    }
  }
}

// Oracle: every key equal, across 7 runs: the output is run 0's entries, then run 1's, ...,
// each in its own order (ties are broken by run index alone).
TEST(MergedRunsEdges, AllTiesComeOutInRunOrder) {
  std::vector<std::vector<Item>> runs(7);
  std::vector<Item> want;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t j = 0; j < i + 1; ++j) runs[i].push_back({42, i, j});
    want.insert(want.end(), runs[i].begin(), runs[i].end());
  }
  std::vector<SortedRun<Item>> views;
  for (const auto& run : runs) views.push_back({run.data(), nullptr, run.size()});
  std::vector<Item> got;
  for (const Item& e : MergedRange<Item, KeyOnlyLess>(views, KeyOnlyLess{})) got.push_back(e);
  EXPECT_EQ(got, want);
}

}  // namespace
