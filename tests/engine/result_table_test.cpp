#include "tally/engine/result_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tally/engine/key_hash.hpp"

namespace {

using Table = tally::ResultTable<std::string_view, std::uint64_t>;
using Entry = Table::Entry;

enum class Values { kFewDistinct, kAllEqual, kAllDistinct };

// The test's own entries: the keys are owned by `keys` (the tables get no storage).
struct Data {
  std::vector<std::string> keys;  // distinct
  std::set<std::string> key_set;  // the same keys
  std::vector<Entry> entries;     // in key-generation order
};

Data make_data(std::size_t n, Values values, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Data d;
  d.keys.reserve(n);  // the entries point into the keys
  while (d.keys.size() < n) {
    std::string k;
    for (std::size_t len = rng() % 12; len > 0; --len) k += static_cast<char>(rng() % 256);
    if (d.key_set.insert(k).second) d.keys.push_back(k);
  }
  for (const std::string& k : d.keys) {
    std::uint64_t v = 7;
    if (values == Values::kFewDistinct) v = rng() % 4;
    if (values == Values::kAllDistinct) v = d.entries.size() * 3 + 1;
    d.entries.emplace_back(k, v);
  }
  return d;
}

// The runs the engine would build: entry e in run partition_of(hash_key(e.key), runs), each
// run sorted by key.
std::vector<Table::Run> partitioned_runs(const std::vector<Entry>& entries, std::size_t runs) {
  std::vector<Table::Run> out(runs);
  for (const Entry& e : entries) {
    out[tally::detail::partition_of(tally::hash_key(e.first), runs)].push_back(e);
  }
  for (auto& run : out) {
    std::sort(run.begin(), run.end(),
              [](const Entry& a, const Entry& b) { return a.first < b.first; });
  }
  return out;
}

std::vector<Entry> sorted_by_key(std::vector<Entry> v) {
  std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) { return a.first < b.first; });
  return v;
}

// Value descending, then key ascending, written independently of ValueDescendingLess.
std::vector<Entry> sorted_by_value(std::vector<Entry> v) {
  std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return v;
}

template <typename Range>
std::vector<Entry> collect(const Range& range) {
  std::vector<Entry> out;
  for (const auto& e : range) out.push_back(e);
  return out;
}

// Calls fn(p) for every run on a thread of its own, as order_by_value allows.
const auto kThreadPerRun = [](std::size_t n, auto&& fn) {
  std::vector<std::jthread> threads;
  for (std::size_t p = 0; p < n; ++p) threads.emplace_back([&fn, p] { fn(p); });
};

using Param = std::tuple<std::size_t, std::size_t, Values>;  // runs, entries, values

class ResultTableTest : public ::testing::TestWithParam<Param> {};

// Oracle: for entries spread over 1 to 16 runs the way the engine spreads them (few, equal
// or distinct values, so runs in value order already and value ties are both covered), and
// the same entries as one unsorted run (the one-run constructor):
//  - by_key() (and begin()/end()) equals the entries sorted by key with std::sort;
//  - by_value() equals them sorted by value descending, then key ascending, both before and
//    after order_by_value() (run on a thread per run), and streaming it equals sorting a
//    copy of every entry;
//  - top(k) equals the first k of that for k = 0, 1, size-1, size, size+1, 2 size + 5,
//    with and without the index;
//  - find() finds every key with its value, and nothing for absent keys.
TEST_P(ResultTableTest, ReadsEqualSortedEntries) {
  const auto [runs, n, values] = GetParam();
  const Data d = make_data(n, values, runs * 1000 + n);
  const std::vector<Entry> by_key = sorted_by_key(d.entries);
  const std::vector<Entry> by_value = sorted_by_value(d.entries);

  Table partitioned(partitioned_runs(d.entries, runs), {});
  Table indexed(partitioned_runs(d.entries, runs), {});
  Table one_run(d.entries, {});
  indexed.order_by_value(kThreadPerRun);
  ASSERT_EQ(partitioned.runs().size(), runs);
  ASSERT_EQ(one_run.runs().size(), 1u);

  for (const Table* t : {&partitioned, &indexed, &one_run}) {
    SCOPED_TRACE(t == &partitioned ? "partitioned" : t == &indexed ? "indexed" : "one run");
    EXPECT_EQ(t->size(), n);
    EXPECT_EQ(t->empty(), n == 0);
    EXPECT_EQ(collect(t->by_key()), by_key);
    EXPECT_EQ(collect(*t), by_key);
    EXPECT_EQ(collect(t->by_value()), by_value);
    for (std::size_t k :
         {std::size_t{0}, std::size_t{1}, n == 0 ? 0 : n - 1, n, n + 1, 2 * n + 5}) {
      const std::vector<Entry> want(by_value.begin(),
                                    by_value.begin() + static_cast<std::ptrdiff_t>(std::min(k, n)));
      EXPECT_EQ(t->top(k), want) << "top(" << k << ")";
    }
    for (const Entry& e : d.entries) {
      const std::optional<std::uint64_t> v = t->find(e.first);
      ASSERT_TRUE(v.has_value()) << "find missed a key";
      EXPECT_EQ(*v, e.second);
    }
    // Absent keys: each key with a byte appended or its last byte dropped, where that is
    // not a key too.
    for (const std::string& k : d.keys) {
      for (const std::string& other : {k + '\x01', k + '\xff', k.substr(0, k.size() - 1)}) {
        if (!d.key_set.contains(other)) {
          EXPECT_EQ(t->find(other), std::nullopt);
        }
      }
    }
  }
  // The table is read-only: reading it again gives the same, and two ranges read at once
  // do not disturb each other.
  auto a = partitioned.by_value();
  auto b = partitioned.by_value();
  auto ia = a.begin();
  auto ib = b.begin();
  for (std::size_t i = 0; i < n; ++i, ++ia, ++ib) {
    ASSERT_FALSE(ia == std::default_sentinel);
    ASSERT_FALSE(ib == std::default_sentinel);
    EXPECT_EQ(*ia, by_value[i]);
    EXPECT_EQ(*ib, by_value[i]);
  }
  EXPECT_TRUE(ia == std::default_sentinel);
  EXPECT_TRUE(ib == std::default_sentinel);
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto [runs, n, values] = info.param;
  const char* v = values == Values::kFewDistinct ? "fewValues"
                  : values == Values::kAllEqual  ? "equalValues"
                                                 : "distinctValues";
  return std::to_string(runs) + "runs_" + std::to_string(n) + "entries_" + v;
}

INSTANTIATE_TEST_SUITE_P(Sweep, ResultTableTest,
                         ::testing::Combine(::testing::Values(1, 3, 8, 16),
                                            ::testing::Values(0, 1, 2, 100, 3000),
                                            ::testing::Values(Values::kFewDistinct,
                                                              Values::kAllEqual,
                                                              Values::kAllDistinct)),
                         param_name);

// Oracle: a default-constructed table is empty in every reading.
TEST(ResultTable, DefaultIsEmpty) {
  const Table t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(collect(t.by_key()).empty());
  EXPECT_TRUE(collect(t.by_value()).empty());
  EXPECT_TRUE(t.top(3).empty());
  EXPECT_EQ(t.find("x"), std::nullopt);
  EXPECT_EQ(t.find(""), std::nullopt);
}

// Oracle: integer keys order numerically (negative first), by_value ties by key ascending,
// and find() finds each one, in partitioned runs and in one run.
TEST(ResultTable, IntegerKeys) {
  using IntTable = tally::ResultTable<std::int64_t, int>;
  std::vector<IntTable::Entry> entries;
  for (std::int64_t k = -500; k < 500; k += 3)
    entries.emplace_back(k * 7919, static_cast<int>(k % 5));
  std::vector<IntTable::Run> runs(5);
  for (const auto& e : entries) {
    runs[tally::detail::partition_of(tally::hash_key(e.first), runs.size())].push_back(e);
  }
  for (auto& run : runs) std::sort(run.begin(), run.end());
  auto by_key = entries;
  std::sort(by_key.begin(), by_key.end());
  auto by_value = entries;
  std::sort(by_value.begin(), by_value.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  const IntTable partitioned(runs, {});
  const IntTable one_run(entries, {});
  for (const IntTable* t : {&partitioned, &one_run}) {
    std::vector<IntTable::Entry> got_key;
    for (const auto& e : t->by_key()) got_key.push_back(e);
    EXPECT_EQ(got_key, by_key);
    std::vector<IntTable::Entry> got_value;
    for (const auto& e : t->by_value()) got_value.push_back(e);
    EXPECT_EQ(got_value, by_value);
    EXPECT_EQ(t->top(10), std::vector<IntTable::Entry>(by_value.begin(), by_value.begin() + 10));
    for (const auto& [k, v] : entries) {
      ASSERT_TRUE(t->find(k).has_value()) << k;
      EXPECT_EQ(*t->find(k), v);
      EXPECT_EQ(t->find(k + 1), std::nullopt) << k + 1;  // keys are 3 x 7919 apart
    }
  }
}

}  // namespace
