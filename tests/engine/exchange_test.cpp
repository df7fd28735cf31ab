// The exchange strategies (engine/exchange/local.hpp, sharded.hpp, partitioned.hpp) through
// Engine::run, at a million distinct keys, against a sequential count.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tests/support/sanitized.hpp"
#include "tests/support/strategy_printer.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::ResultOrder;
using tally::RunOptions;
using tally::Strategy;

// Under a sanitizer every memory access costs several times more: a tenth of the keys still
// spills the 64-key combiner tables tens of thousands of times, so every path still runs.
#ifdef TALLY_TEST_SANITIZED
constexpr std::size_t kDistinctKeys = 100'000;
#else
constexpr std::size_t kDistinctKeys = 1'000'000;
#endif

// Every line (record) is one key, so keys may hold any byte but the delimiter '\n'.
struct CountLines {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(Record rec, tally::Emitter<Key, Value>& out) const { out.emit(rec.bytes, 1); }
  static Value combine(Value a, Value b) { return a + b; }
};

// A reduce job: every value of a key (the byte offsets of its lines) reaches one reduce().
struct OffsetStats {
  std::uint64_t min = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max = 0;
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  friend bool operator==(const OffsetStats&, const OffsetStats&) = default;
};

struct LineOffsets {
  using Key = std::string_view;
  using Value = OffsetStats;
  std::atomic<std::uint64_t>* reduce_calls = nullptr;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    out.emit(rec.bytes, {rec.offset, rec.offset, 1, rec.offset});
  }
  Value reduce(const Key&, std::span<const Value> values) const {
    reduce_calls->fetch_add(1, std::memory_order_relaxed);  // a tally, read after run()
    OffsetStats s;
    for (const OffsetStats& v : values) {
      s.min = std::min(s.min, v.min);
      s.max = std::max(s.max, v.max);
      s.count += v.count;
      s.sum += v.sum;
    }
    return s;
  }
};

static_assert(tally::CombineJob<CountLines>);
static_assert(tally::ReduceJob<LineOffsets>);

// `distinct` keys of the shapes the key order and the hash treat specially, each repeated a
// few times (a few keys thousands of times), in shuffled lines:
//  - every 1-byte key but '\n' (with '\0', 0x80 and 0xff) and the empty key (a blank line);
//  - decimal numbers, so that "1" is a prefix of "12" is a prefix of "123";
//  - keys sharing their first 8 bytes ("sharedp8") that differ only after byte 8, from 9 to
//    20 bytes long, so across the 16-byte inline hash boundary;
//  - keys differing only by trailing NUL bytes ("k12", "k12\0", "k12\0\0"), which an 8-byte
//    zero-padded prefix cannot tell apart;
//  - random binary keys of 1 to 8 bytes with NULs and bytes >= 0x80;
//  - long keys (> 16 bytes) sharing a 40-byte prefix.
struct Corpus {
  std::string text;
  std::vector<std::string> keys;            // each distinct line once
  std::vector<std::uint64_t> multiplicity;  // how many times keys[i] is a line of text
};

Corpus make_corpus(std::size_t distinct, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::unordered_set<std::string> seen;
  std::vector<std::string> keys;
  keys.reserve(distinct);
  const auto add = [&](std::string k) {
    if (keys.size() < distinct && seen.insert(k).second) keys.push_back(std::move(k));
  };
  const auto random_byte = [&] {
    char c;
    do {
      c = static_cast<char>(rng() & 0xff);
    } while (c == '\n');
    return c;
  };
  add("");
  for (int c = 0; c < 256; ++c) {
    if (c != '\n') add(std::string(1, static_cast<char>(c)));
  }
  while (keys.size() < distinct) {
    switch (rng() % 8) {
      case 0:
        add(std::to_string(rng() % 10'000'000));
        break;
      case 1: {
        std::string k = "sharedp8";
        for (std::size_t n = 1 + rng() % 12; n > 0; --n) k += random_byte();
        add(std::move(k));
        break;
      }
      case 2: {
        const std::string base = "k" + std::to_string(rng() % 1'000'000);
        add(base);
        add(base + std::string(1 + rng() % 3, '\0'));
        break;
      }
      case 3: {
        std::string k;
        for (std::size_t n = 1 + rng() % 8; n > 0; --n) k += random_byte();
        add(std::move(k));
        break;
      }
      case 4:
        add("a long key, longer than sixteen bytes, #" + std::to_string(rng()));
        break;
      default:
        add("w" + std::to_string(rng() % 100'000'000));
        break;
    }
  }
  // Multiplicities: most keys once, some a few times, a few tens of times, ten keys 5000
  // times.
  Corpus c;
  std::vector<std::uint32_t> lines;
  for (std::uint32_t i = 0; i < keys.size(); ++i) {
    const std::uint64_t r = rng() % 100;
    std::uint64_t m = r < 80 ? 1 : r < 97 ? 2 + rng() % 2 : 4 + rng() % 37;
    if (i % (keys.size() / 10 + 1) == 5) m = 5000;
    lines.insert(lines.end(), m, i);
    c.multiplicity.push_back(m);
  }
  std::shuffle(lines.begin(), lines.end(), rng);
  for (std::uint32_t i : lines) {
    c.text += keys[i];
    c.text += '\n';
  }
  c.keys = std::move(keys);
  return c;
}

using Entry = std::pair<std::string_view, std::uint64_t>;

// The oracle, computed once per process: what the generator put in the corpus (each key and
// how many lines it wrote of it), and those entries sorted two ways with std::sort.
struct Oracle {
  Corpus corpus;
  std::string_view text;
  std::uint64_t lines = 0;
  std::unordered_map<std::string_view, std::uint64_t> counts;
  std::vector<Entry> by_key;    // key ascending (std::string_view's operator<)
  std::vector<Entry> by_value;  // count descending, then key ascending
};

const Oracle& oracle() {
  static const Oracle* const o = [] {
    auto* built = new Oracle;
    built->corpus = make_corpus(kDistinctKeys, 20261201);
    built->text = built->corpus.text;
    const Corpus& c = built->corpus;
    built->counts.reserve(c.keys.size());
    for (std::size_t i = 0; i < c.keys.size(); ++i) {
      built->counts.emplace(c.keys[i], c.multiplicity[i]);
      built->by_key.emplace_back(c.keys[i], c.multiplicity[i]);
      built->lines += c.multiplicity[i];
    }
    std::sort(built->by_key.begin(), built->by_key.end(),
              [](const Entry& a, const Entry& b) { return a.first < b.first; });
    built->by_value = built->by_key;
    std::stable_sort(built->by_value.begin(), built->by_value.end(),
                     [](const Entry& a, const Entry& b) { return a.second > b.second; });
    return built;
  }();
  return *o;
}

std::string printable(std::string_view key) {
  std::ostringstream s;
  for (char c : key) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f) {
      s << c;
    } else {
      s << "\\x"
        << "0123456789abcdef"[b >> 4] << "0123456789abcdef"[b & 15];
    }
  }
  return s.str();
}

// Compares a range of result entries with the expected sequence; reports the first mismatch
// only (a million identical failures would say nothing more).
template <typename Range>
void expect_sequence(const Range& range, const std::vector<Entry>& want, const char* what,
                     bool strictly_increasing = false) {
  std::size_t i = 0;
  std::string_view previous;
  for (const auto& [key, value] : range) {
    if (strictly_increasing && i > 0 && !(previous < key)) {
      ADD_FAILURE() << what << ": " << printable(previous) << " before " << printable(key);
      return;
    }
    previous = key;
    if (i == want.size()) {
      ADD_FAILURE() << what << ": more entries than the oracle's " << want.size();
      return;
    }
    if (key != want[i].first || value != want[i].second) {
      ADD_FAILURE() << what << ": entry " << i << " is (" << printable(key) << ", " << value
                    << "), the oracle has (" << printable(want[i].first) << ", " << want[i].second
                    << ")";
      return;
    }
    ++i;
  }
  EXPECT_EQ(i, want.size()) << what << ": fewer entries than the oracle";
}

// strategy, threads, (split bytes, combiner keys) (0: the default), order
using Sizes = std::pair<std::uint64_t, std::size_t>;
using Param = std::tuple<Strategy, std::size_t, Sizes, ResultOrder>;

class ExchangeOracle : public ::testing::TestWithParam<Param> {};

// Oracle: for every strategy, thread count, split size and combiner size, counting the lines
// of the corpus gives exactly the sequential count:
//  - size() and distinct_keys equal the number of distinct lines, pairs_emitted the lines;
//  - by_key() is strictly increasing (std::string_view order) and equals the oracle's
//    entries sorted by key, so every key has its count and no key is there twice;
//  - by_value() equals the oracle's entries sorted by count descending, then key ascending;
//  - top(k) equals the first k of that, for k = 1, 10, 1000 and 100000;
//  - find(x) agrees with the oracle's lookup, for keys present, keys with one byte less (present
//    or not) and keys with a '\n' appended (absent: no line holds one).
TEST_P(ExchangeOracle, CountsEqualSequentialCount) {
  const auto [strategy, threads, sizes, order] = GetParam();
  const auto [split, combiner_keys] = sizes;
  const Oracle& o = oracle();
  Engine engine({.threads = threads});
  Inputs inputs = Inputs::buffers({{"corpus", std::string(o.text)}});
  auto result = engine.run(CountLines{}, inputs,
                           {.strategy = strategy,
                            .split_bytes = split,
                            .combiner_keys = combiner_keys,
                            .channel_capacity = 4,
                            .order = order});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const auto& table = result->table;
  ASSERT_EQ(table.size(), o.counts.size());
  EXPECT_EQ(result->report.distinct_keys, o.counts.size());
  EXPECT_EQ(result->report.pairs_emitted, o.lines);
  EXPECT_EQ(result->report.bytes_in, o.text.size());

  // Strictly increasing, checked on its own: by_key() could equal a wrong oracle otherwise.
  expect_sequence(table.by_key(), o.by_key, "by_key()", /*strictly_increasing=*/true);
  expect_sequence(table.by_value(), o.by_value, "by_value()");
  for (std::size_t k : {1, 10, 1000, 100'000}) {
    const std::size_t n = std::min(k, o.by_value.size());
    expect_sequence(table.top(k), std::vector<Entry>(o.by_value.begin(), o.by_value.begin() + n),
                    ("top(" + std::to_string(k) + ")").c_str());
  }

  const auto expect_find = [&](const std::string& key) {
    const std::optional<std::uint64_t> got = table.find(key);
    const auto want = o.counts.find(key);
    if (want == o.counts.end()) {
      EXPECT_EQ(got, std::nullopt) << "find(" << printable(key) << ") found an absent key";
    } else if (!got) {
      ADD_FAILURE() << "find(" << printable(key) << ") missed a present key";
    } else {
      EXPECT_EQ(*got, want->second) << "find(" << printable(key) << ")";
    }
  };
  for (std::size_t i = 0; i < o.by_key.size(); i += 97) {
    const std::string key(o.by_key[i].first);
    expect_find(key);
    expect_find(key + '\n');
    if (!key.empty()) expect_find(key.substr(0, key.size() - 1));
  }
  expect_find("");
  expect_find("\n");
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto [strategy, threads, sizes, order] = info.param;
  const auto [split, combiner_keys] = sizes;
  std::ostringstream name;
  name << tally::to_string(strategy) << "_" << threads << "threads_split"
       << (split == 0 ? std::string("Default") : std::to_string(split)) << "_combiner"
       << (combiner_keys == 0 ? std::string("Default") : std::to_string(combiner_keys))
       << (order == ResultOrder::kByValue ? "_byValue" : "");
  return name.str();
}

const auto kStrategies =
    ::testing::Values(Strategy::kLocal, Strategy::kSharded, Strategy::kPartitioned);

// Sizes: 4 KiB splits (thousands of map tasks) with 64-key combiner tables
// (handed on tens of thousands of times), and both defaults (256 KiB splits here). Paired,
// not crossed, to keep the sweep within seconds at a million keys.
INSTANTIATE_TEST_SUITE_P(Sweep, ExchangeOracle,
                         ::testing::Combine(kStrategies, ::testing::Values(1, 2, 4),
                                            ::testing::Values(Sizes{4096, 64}, Sizes{0, 0}),
                                            ::testing::Values(ResultOrder::kByKey)),
                         param_name);

// With RunOptions::order = kByValue the engine builds the value index in parallel; by_value()
// and top() then read through it.
INSTANTIATE_TEST_SUITE_P(ValueIndex, ExchangeOracle,
                         ::testing::Combine(kStrategies, ::testing::Values(3),
                                            ::testing::Values(Sizes{4096, 64}),
                                            ::testing::Values(ResultOrder::kByValue)),
                         param_name);

// strategy, threads, combiner keys
using ReduceParam = std::tuple<Strategy, std::size_t, std::size_t>;

class ExchangeReduceOracle : public ::testing::TestWithParam<ReduceParam> {};

// Oracle: a reduce job gets every value of a key in exactly one reduce() call, whichever way
// the values travelled (spilled runs, shards, channels): per key, the min, max, count and sum
// of its lines' byte offsets equal a sequential pass over the lines, and reduce() ran once
// per distinct key.
TEST_P(ExchangeReduceOracle, EveryValueReachesOneReduce) {
  const auto [strategy, threads, combiner_keys] = GetParam();
  static const std::string text = make_corpus(kDistinctKeys / 10, 7).text;
  std::unordered_map<std::string_view, OffsetStats> want;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t nl = text.find('\n', pos);
    OffsetStats& s = want[std::string_view(text).substr(pos, nl - pos)];
    s.min = std::min<std::uint64_t>(s.min, pos);
    s.max = std::max<std::uint64_t>(s.max, pos);
    ++s.count;
    s.sum += pos;
    pos = nl + 1;
  }
  std::atomic<std::uint64_t> reduce_calls{0};
  Engine engine({.threads = threads});
  Inputs inputs = Inputs::buffers({{"corpus", text}});
  auto result = engine.run(LineOffsets{.reduce_calls = &reduce_calls}, inputs,
                           {.strategy = strategy,
                            .split_bytes = 1024,
                            .combiner_keys = combiner_keys,
                            .channel_capacity = 2});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  ASSERT_EQ(result->table.size(), want.size());
  EXPECT_EQ(reduce_calls.load(), want.size());
  std::size_t mismatches = 0;
  for (const auto& [key, got] : result->table) {
    const auto it = want.find(key);
    if (it == want.end() || !(it->second == got)) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "key " << printable(key) << ": count " << got.count << " min " << got.min
                      << " max " << got.max;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

std::string reduce_param_name(const ::testing::TestParamInfo<ReduceParam>& info) {
  const auto [strategy, threads, combiner_keys] = info.param;
  return std::string(tally::to_string(strategy)) + "_" + std::to_string(threads) +
         "threads_combiner" +
         (combiner_keys == 0 ? std::string("Default") : std::to_string(combiner_keys));
}

INSTANTIATE_TEST_SUITE_P(Sweep, ExchangeReduceOracle,
                         ::testing::Combine(kStrategies, ::testing::Values(1, 3),
                                            ::testing::Values(4, 0)),
                         reduce_param_name);

}  // namespace
