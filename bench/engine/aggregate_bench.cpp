// Word-count-shaped aggregation: the engine's three strategies side by side with an in-project
// oneTBB baseline, in one binary so that the ratios come from one run.
//
// Workload: a generated text of kTextBytes, lines of words "w<id>" with ids drawn from a
// Zipf(1) distribution over `distinct` ids (a few very hot words, a long tail), so the
// number of distinct keys is the knob (10^3, 10^5, 10^6) and the hot keys stress combining.
// The text is generated once per vocabulary size, outside the timing, and stays in memory.
//
//  - BM_Engine_<Strategy>/distinct:D/threads:T (Local, Sharded, Partitioned): Engine::run with a
//    space-splitting word-count job over the text in place (Inputs::views, as the baseline
//    reads it: a copy per iteration would time fresh pages faulting in, as often as the
//    allocator hands out new ones); bytes_per_second is input bytes per second.
//  - BM_TbbCombinable/distinct:D/threads:T: the baseline a user would write with oneTBB:
//    tbb::parallel_for over the lines with a tbb::combinable<std::unordered_map<std::string,
//    std::uint64_t>>, combined at the end, inside a tbb::task_arena of T threads.
//  - BM_Table_Flat / BM_Table_UnorderedMap (distinct:D): one thread inserting the same word
//    stream into the engine's FlatTable and into std::unordered_map<std::string_view,...>
//    keyed by views into the text: the hash-table choice alone.
// Every engine and baseline run checks the total count against the number of words in the
// text, so a run that loses words reports an error instead of a fast number.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tally/engine/detail/flat_table.hpp"
#include "tally/engine/engine.hpp"

namespace {

constexpr std::size_t kTextBytes = std::size_t{16} << 20;

struct Text {
  std::string bytes;
  std::vector<std::size_t> line_starts;  // for the TBB baseline's range
  std::uint64_t words = 0;
};

// Zipf(1) over [1, n] by inverting the continuous approximation of its CDF: cheap and good
// enough to give the head/tail shape of natural-language word frequencies.
std::uint64_t zipf(std::mt19937_64& rng, double n) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return static_cast<std::uint64_t>(std::exp(u(rng) * std::log(n)));
}

const Text& TextFor(std::size_t distinct) {
  static std::map<std::size_t, Text> cache;
  auto [it, fresh] = cache.try_emplace(distinct);
  Text& t = it->second;
  if (!fresh) return t;
  std::mt19937_64 rng(distinct);
  t.bytes.reserve(kTextBytes + 64);
  while (t.bytes.size() < kTextBytes) {
    t.line_starts.push_back(t.bytes.size());
    for (int w = 0; w < 10; ++w) {
      t.bytes += 'w';
      t.bytes += std::to_string(zipf(rng, static_cast<double>(distinct)));
      t.bytes += w == 9 ? '\n' : ' ';
      ++t.words;
    }
  }
  return t;
}

// Words are runs of bytes other than ' ' and '\n' (the baseline and the table benchmarks see
// whole lines or the whole text, the engine sees lines without their '\n').
template <typename Fn>
void for_each_word(std::string_view text, Fn&& fn) {
  const auto is_space = [](char c) { return c == ' ' || c == '\n'; };
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) fn(text.substr(start, i - start));
  }
}

struct SpaceWordCount {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(tally::Record rec, tally::Emitter<Key, Value>& out) const {
    for_each_word(rec.bytes, [&](std::string_view w) { out.emit(w, 1); });
  }
  static Value combine(Value a, Value b) { return a + b; }
};

void BM_Engine(benchmark::State& state, tally::Strategy strategy) {
  const Text& text = TextFor(static_cast<std::size_t>(state.range(0)));
  tally::Engine engine({.threads = static_cast<std::size_t>(state.range(1))});
  for (auto _ : state) {
    tally::Inputs inputs = tally::Inputs::views({{"text", text.bytes}});
    auto result = engine.run(SpaceWordCount{}, inputs, {.strategy = strategy});
    if (!result.ok()) {
      state.SkipWithError(result.status().to_string().c_str());
      break;
    }
    std::uint64_t total = 0;
    for (const auto& [w, n] : result->table) total += n;
    if (total != text.words) {
      state.SkipWithError("engine lost or invented words");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.bytes.size()));
}

void BM_Engine_Local(benchmark::State& state) { BM_Engine(state, tally::Strategy::kLocal); }
void BM_Engine_Sharded(benchmark::State& state) { BM_Engine(state, tally::Strategy::kSharded); }
void BM_Engine_Partitioned(benchmark::State& state) {
  BM_Engine(state, tally::Strategy::kPartitioned);
}

void BM_TbbCombinable(benchmark::State& state) {
  const Text& text = TextFor(static_cast<std::size_t>(state.range(0)));
  tbb::task_arena arena(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    std::uint64_t total = 0;
    arena.execute([&] {
      tbb::combinable<std::unordered_map<std::string, std::uint64_t>> partials;
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, text.line_starts.size()),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          auto& mine = partials.local();
                          for (std::size_t l = r.begin(); l < r.end(); ++l) {
                            const std::size_t begin = text.line_starts[l];
                            const std::size_t end = l + 1 < text.line_starts.size()
                                                        ? text.line_starts[l + 1]
                                                        : text.bytes.size();
                            for_each_word(std::string_view(text.bytes).substr(begin, end - begin),
                                          [&](std::string_view w) { ++mine[std::string(w)]; });
                          }
                        });
      std::unordered_map<std::string, std::uint64_t> merged;
      partials.combine_each([&](const auto& m) {
        for (const auto& [w, n] : m) merged[w] += n;
      });
      for (const auto& [w, n] : merged) total += n;
    });
    if (total != text.words) {
      state.SkipWithError("baseline lost or invented words");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.bytes.size()));
}

void BM_Table_Flat(benchmark::State& state) {
  const Text& text = TextFor(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    tally::detail::FlatTable<std::string_view, std::uint64_t> table;
    for_each_word(text.bytes, [&](std::string_view w) {
      ++*table.find_or_insert(w, tally::hash_key(w)).first;
    });
    benchmark::DoNotOptimize(table.size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.bytes.size()));
}

void BM_Table_UnorderedMap(benchmark::State& state) {
  const Text& text = TextFor(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::unordered_map<std::string_view, std::uint64_t> table;
    for_each_word(text.bytes, [&](std::string_view w) { ++table[w]; });
    benchmark::DoNotOptimize(table.size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.bytes.size()));
}

void EngineArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"distinct", "threads"});
  for (std::int64_t d : {1000, 100000, 1000000}) {
    for (std::int64_t t : {1, 2}) b->Args({d, t});
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Engine_Local)->Apply(EngineArgs);
BENCHMARK(BM_Engine_Sharded)->Apply(EngineArgs);
BENCHMARK(BM_Engine_Partitioned)->Apply(EngineArgs);
BENCHMARK(BM_TbbCombinable)->Apply(EngineArgs);
BENCHMARK(BM_Table_Flat)
    ->ArgName("distinct")
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Table_UnorderedMap)
    ->ArgName("distinct")
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
