// Word count end to end: tally's WordCount job on files in the page cache, side by side in one
// binary with the programs the targets are set against (bench/README.md has the results).
//
// Corpora (written once per process to a temporary directory, read through the page cache;
// bench/jobs/process_bench.hpp writes kjv10 and distinct1e7 and holds their reference counts):
//  - kjv10: the King James Bible ten times over (43 MB), the countwords benchmark's input.
//    Taken from $TALLY_KJV, else from ../shared/corpus/kjvbible.txt next to the source tree;
//    when neither exists, a generated Zipf text of the same size and a similar vocabulary
//    stands in, and every result's label says "generated" instead of "kjv10".
//  - vocab1e7: 10^7 distinct words (each once, in scrambled order, ~120 MB): the tables
//    outgrow every cache and the merge dominates.
//  - distinct1e7: 10^7 distinct words, each once, one per line (80 MB): 7 lowercase letters,
//    the base-26 digits of a scrambled id, so no word shares more than chance with its
//    neighbours. One word a line so that `sort | uniq -c` counts words. With
//    TALLY_BENCH_SMALL=1 (the ctest smoke run) it has 10^5 words and is named distinct1e5.
//
// Contenders in this process:
//  - BM_Tally/<corpus>/threads:T  Engine::run(jobs::WordCount) on Inputs::paths: opening and
//    splitting the file, reading and mapping it, merging, and the sorted result are all timed.
//  - BM_TbbBaseline/<corpus>/threads:T  what a user would write with oneTBB and the standard
//    library: tbb::parallel_for over newline-aligned chunks of the mapped file, its own
//    byte-at-a-time tokenizer, a
//    tbb::enumerable_thread_specific<std::unordered_map<std::string, uint64_t>> per thread,
//    merged at the end, then sorted like tally's result. Its ratio to BM_Tally measures the
//    tokenizer and the hash table as much as the engine.
//  - BM_TbbTallyTable/<corpus>/threads:T  the same oneTBB skeleton with tally's own parts
//    inside: jobs::for_each_word (WordCount's tokenizer), tally's FlatTable per thread,
//    probed with padded keys as WordCount's sink probes it (hash_padded_key,
//    find_or_insert_padded), merged at the end, then sorted by key like tally's result; and
//    tally's way of reading the file: chunks of kTextReadBytes read (Inputs::read_at) into a
//    buffer per thread. Only the engine (scheduling, splitting, merging) differs from
//    BM_Tally, so their ratio isolates it.
//  - BM_CountwordsOptimizedC/kjv10  a port of the fastest single-threaded program of Ben
//    Hoyt's countwords benchmark (optimized.c): fread() into a 64 KiB buffer, lowercase and
//    FNV-1a hash each byte in one pass, a fixed 65536-slot linear-probing table, then qsort.
//    Its table does not grow, so it runs on kjv10 only (as in countwords).
// Every one-thread run, in-process or a program, runs on the same CPU (bench/one_cpu.hpp).
// Every run checks the total word count and the number of distinct words against a plain
// sequential count, so a contender that loses words reports an error, not a fast number.
//
// Contenders as programs, the way a user runs them (BM_Process_*): spawn to exit through
// bench/jobs/process_meter, wall time and peak RSS, the output written to a file and checked
// against the reference on the first iteration (process_bench.hpp says how):
//  - BM_Process_Tally/<corpus>/threads:T  `tally wordcount -j T -f tsv FILE`.
//  - BM_Process_TallyTwoAtOnce/kjv10  two `tally wordcount -j 1` at once: the machine's
//    ceiling for -j 2 (what two CPUs give two independent runs).
//  - BM_Process_TallyBaseline/<corpus>/threads:T  the same with the tally program named by
//    $TALLY_BASELINE_EXE (registered only when it is set): a build of an earlier commit.
//  - BM_Process_CountwordsOptimizedC/kjv10  bench/jobs/countwords_optimized.c: countwords'
//    optimized.c itself, reading the file as its stdin with fread; its output ("word count"
//    lines by count, ties in any order) is checked for every word and count.
//  - BM_Process_AbslFlatHashMap/<corpus>  bench/jobs/absl_wordcount.cpp: one thread, the same
//    word rule and output, an absl::flat_hash_map<std::string, uint64_t>.
//  - BM_Process_SortUniq/distinct1e7  `sh -c 'LC_ALL=C sort --parallel=2 -S 2G FILE |
//    LC_ALL=C uniq -c'`, one pipeline. It counts lines, so it runs on the one-word-a-line corpus
//    only. Its peak RSS is the largest of sh, sort and uniq (wait4 on sh reports the maximum
//    over sh and the children it reaped, not their sum; uniq and sh hold a few MB).
// For the two TSV programs the output check fixes the output byte for byte, so passing both
// checks means tally and the absl program wrote identical files.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/jobs/process_bench.hpp"
#include "bench/one_cpu.hpp"
#include "tally/engine/detail/flat_table.hpp"
#include "tally/engine/detail/records.hpp"
#include "tally/engine/engine.hpp"
#include "tally/engine/entry_order.hpp"
#include "tally/engine/key_hash.hpp"
#include "tally/jobs/word_scan.hpp"
#include "tally/jobs/wordcount.hpp"

namespace tally::bench {
namespace {

using tally::jobs::is_ascii_space;

// ------------------------------------------------------------------------------------------
// Corpora
// ------------------------------------------------------------------------------------------
// 10^7 distinct words, each once, in an order scrambled by an odd multiplier modulo 2^24.
const Corpus& vocab1e7() {
  static const Corpus corpus = [] {
    constexpr std::uint64_t kWords = 10'000'000;
    constexpr std::uint64_t kSpace = std::uint64_t{1} << 24;  // > kWords, a power of two
    std::string text;
    text.reserve(kWords * 12);
    std::uint64_t in_line = 0;
    for (std::uint64_t i = 0; i < kSpace; ++i) {
      const std::uint64_t id = (i * 0x9e3779b1u) & (kSpace - 1);  // a bijection on [0, 2^24)
      if (id >= kWords) continue;
      text += synthetic_word(id);
      text += ++in_line % 12 == 0 ? '\n' : ' ';
    }
    return write_corpus("vocab1e7", text);
  }();
  return corpus;
}

// TALLY_BENCH_SMALL set (and not "0") shrinks distinct1e7 to 10^5 words, named distinct1e5.
// The ctest smoke run sets it (bench/jobs/CMakeLists.txt) so that no test run writes 80 MB.
bool small_corpora() { return env_flag("TALLY_BENCH_SMALL"); }

std::string distinct_name() { return small_corpora() ? "distinct1e5" : "distinct1e7"; }

// 10^7 (or 10^5) distinct words, each once, one per line (write_distinct_corpus).
const Corpus& distinct() {
  static const Corpus corpus =
      write_distinct_corpus(distinct_name(), small_corpora() ? 100'000 : 10'000'000);
  return corpus;
}

// Checks a contender's totals against the reference; false (and the benchmark marked as
// failed) if they differ.
bool check(benchmark::State& state, const Corpus& c, std::uint64_t words, std::uint64_t distinct) {
  if (words == c.words && distinct == c.distinct) return true;
  const std::string what = "wrong count: " + std::to_string(words) + " words / " +
                           std::to_string(distinct) + " distinct, expected " +
                           std::to_string(c.words) + " / " + std::to_string(c.distinct);
  state.SkipWithError(what.c_str());
  return false;
}

// ------------------------------------------------------------------------------------------
// tally
// ------------------------------------------------------------------------------------------

void BM_Tally(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  tally::Engine engine({.threads = static_cast<std::size_t>(state.range(0))});
  for (auto _ : state) {
    tally::Inputs inputs = tally::Inputs::paths({c.path});
    auto result = engine.run(tally::jobs::WordCount{}, inputs);
    if (!result.ok()) {
      state.SkipWithError(result.status().to_string().c_str());
      return;
    }
    std::uint64_t words = 0;
    for (const auto& [w, n] : result->table) words += n;
    if (!check(state, c, words, result->table.size())) return;
  }
  report_corpus(state, c);
}

// ------------------------------------------------------------------------------------------
// oneTBB baseline
// ------------------------------------------------------------------------------------------

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using Counts = std::unordered_map<std::string, std::uint64_t, StringHash, std::equal_to<>>;

void count_chunk(std::string_view text, Counts& counts) {
  std::string word;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_ascii_space(static_cast<unsigned char>(text[i]))) ++i;
    word.clear();
    while (i < text.size() && !is_ascii_space(static_cast<unsigned char>(text[i]))) {
      const char ch = text[i++];
      word += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    }
    if (word.empty()) break;
    if (auto it = counts.find(std::string_view(word)); it != counts.end()) {
      ++it->second;
    } else {
      counts.emplace(word, 1);
    }
  }
}

void BM_TbbBaseline(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  const int threads = static_cast<int>(state.range(0));
  tbb::task_arena arena(threads);
  for (auto _ : state) {
    tally::Inputs inputs = tally::Inputs::paths({c.path});  // read through its mapping
    if (!inputs.open().ok()) {
      state.SkipWithError("cannot open the corpus");
      return;
    }
    const std::string_view text = inputs.data(0);
    const std::vector<std::size_t> cuts = line_chunk_cuts(text, std::size_t{1} << 20);
    std::vector<std::pair<std::string, std::uint64_t>> sorted;
    arena.execute([&] {
      tbb::enumerable_thread_specific<Counts> partials;
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, cuts.size() - 1),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          Counts& mine = partials.local();
                          for (std::size_t k = r.begin(); k != r.end(); ++k) {
                            count_chunk(text.substr(cuts[k], cuts[k + 1] - cuts[k]), mine);
                          }
                        });
      Counts total;
      for (Counts& p : partials) {
        if (total.empty()) {
          total = std::move(p);
          continue;
        }
        for (auto& [w, n] : p) total[w] += n;
      }
      sorted.assign(std::make_move_iterator(total.begin()), std::make_move_iterator(total.end()));
      std::sort(sorted.begin(), sorted.end());
    });
    std::uint64_t words = 0;
    for (const auto& [w, n] : sorted) words += n;
    if (!check(state, c, words, sorted.size())) return;
  }
  report_corpus(state, c);
}

// ------------------------------------------------------------------------------------------
// oneTBB with tally's tokenizer and table
// ------------------------------------------------------------------------------------------

using TallyTable = tally::detail::FlatTable<std::string_view, std::uint64_t>;

void count_chunk_with_tally_parts(std::string_view text, TallyTable& counts) {
  // Lowercased words are padded (word_scan.hpp), as in WordCount::map.
  tally::jobs::for_each_word<true>(text, [&counts](std::string_view w) {
    ++*counts.find_or_insert_padded(w, tally::hash_padded_key(w)).first;
  });
}

void BM_TbbTallyTable(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  const int threads = static_cast<int>(state.range(0));
  tbb::task_arena arena(threads);
  for (auto _ : state) {
    tally::Inputs inputs = tally::Inputs::paths({c.path});  // read as tally reads it
    if (!inputs.open().ok()) {
      state.SkipWithError("cannot open the corpus");
      return;
    }
    const std::string_view text = inputs.data(0);
    const std::vector<std::size_t> cuts = line_chunk_cuts(text, tally::detail::kTextReadBytes);
    std::vector<std::pair<std::string_view, std::uint64_t>> sorted;
    TallyTable total;  // owns the keys `sorted` points to
    const bool readable = inputs.readable_at(0);
    std::atomic<bool> read_failed{false};
    arena.execute([&] {
      tbb::enumerable_thread_specific<TallyTable> partials;
      tbb::enumerable_thread_specific<std::vector<char>> buffers;
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, cuts.size() - 1),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          TallyTable& mine = partials.local();
                          std::vector<char>& buffer = buffers.local();
                          for (std::size_t k = r.begin(); k != r.end(); ++k) {
                            const std::size_t n = cuts[k + 1] - cuts[k];
                            if (!readable) {  // a small file, held in memory
                              count_chunk_with_tally_parts(text.substr(cuts[k], n), mine);
                              continue;
                            }
                            if (buffer.size() < n) buffer.resize(n);
                            if (!inputs.read_at(0, cuts[k], {buffer.data(), n}).ok()) {
                              read_failed.store(true, std::memory_order_relaxed);
                              return;
                            }
                            count_chunk_with_tally_parts(std::string_view(buffer.data(), n), mine);
                          }
                        });
      for (TallyTable& p : partials) {
        if (total.empty()) {
          total = std::move(p);
          continue;
        }
        p.for_each([&total](std::uint64_t hash, std::string_view w, std::uint64_t n) {
          *total.find_or_insert(w, hash).first += n;
        });
      }
      sorted.reserve(total.size());
      total.for_each([&sorted](std::uint64_t, std::string_view w, std::uint64_t n) {
        sorted.emplace_back(w, n);
      });
      std::sort(sorted.begin(), sorted.end(), tally::KeyLess{});
    });
    if (read_failed.load()) {
      state.SkipWithError("cannot read the corpus");
      return;
    }
    std::uint64_t words = 0;
    for (const auto& [w, n] : sorted) words += n;
    if (!check(state, c, words, sorted.size())) return;
  }
  report_corpus(state, c);
}

// ------------------------------------------------------------------------------------------
// countwords optimized.c, ported: same buffer, same fused loop, same fixed table.
// ------------------------------------------------------------------------------------------

namespace countwords {

constexpr std::size_t kBufSize = 65536;
constexpr std::size_t kHashLen = 65536;  // a power of two; the table never grows
constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

struct Entry {
  char* word;
  int word_len;
  int count;
};

struct Table {
  std::vector<Entry> slots = std::vector<Entry>(kHashLen, Entry{nullptr, 0, 0});
  std::size_t unique = 0;
  bool full = false;
  ~Table() {
    for (Entry& e : slots) std::free(e.word);
  }
  void increment(const char* word, int word_len, std::uint64_t hash) {
    std::size_t index = hash & (kHashLen - 1);
    for (std::size_t probes = 0; probes < kHashLen; ++probes) {
      Entry& e = slots[index];
      if (e.word == nullptr) {
        e.word = static_cast<char*>(std::malloc(static_cast<std::size_t>(word_len)));
        std::memcpy(e.word, word, static_cast<std::size_t>(word_len));
        e.word_len = word_len;
        e.count = 1;
        ++unique;
        return;
      }
      if (e.word_len == word_len &&
          std::memcmp(e.word, word, static_cast<std::size_t>(word_len)) == 0) {
        ++e.count;
        return;
      }
      index = (index + 1) & (kHashLen - 1);
    }
    full = true;  // optimized.c would loop forever here; the port reports it instead
  }
};

// Returns false if the table filled up.
bool run(const char* path, std::uint64_t& words, std::uint64_t& distinct) {
  std::FILE* in = std::fopen(path, "rb");
  if (in == nullptr) return false;
  Table table;
  char buf[kBufSize];
  std::size_t offset = 0;
  for (;;) {
    const std::size_t num_read = std::fread(buf + offset, 1, kBufSize - offset, in);
    if (num_read == 0) break;
    // Process up to the last whitespace byte; carry the partial word over.
    std::ptrdiff_t space = static_cast<std::ptrdiff_t>(offset + num_read) - 1;
    for (; space >= 0; --space) {
      if (static_cast<unsigned char>(buf[space]) <= ' ') break;
    }
    const std::size_t num_process =
        space >= 0 ? static_cast<std::size_t>(space) : offset + num_read;
    std::size_t i = 0;
    for (;;) {
      for (; i < num_process; ++i) {
        if (static_cast<unsigned char>(buf[i]) > ' ') break;
      }
      std::uint64_t hash = kFnvOffset;
      const std::size_t start = i;
      for (; i < num_process; ++i) {
        char c = buf[i];
        if (static_cast<unsigned char>(c) <= ' ') break;
        if (c >= 'A' && c <= 'Z') {
          c = static_cast<char>(c + ('a' - 'A'));
          buf[i] = c;
        }
        hash *= kFnvPrime;
        hash ^= static_cast<std::uint64_t>(static_cast<unsigned char>(c));
      }
      if (i <= start) break;
      table.increment(buf + start, static_cast<int>(i - start), hash);
    }
    if (space >= 0) {
      offset = offset + num_read - 1 - static_cast<std::size_t>(space);
      std::memmove(buf, buf + space + 1, offset);
    } else {
      offset = 0;
    }
  }
  std::fclose(in);
  // Sorted by count, as optimized.c does before printing.
  std::vector<Entry> ordered;
  ordered.reserve(table.unique);
  for (const Entry& e : table.slots) {
    if (e.word != nullptr) ordered.push_back(e);
  }
  std::qsort(ordered.data(), ordered.size(), sizeof(Entry), [](const void* a, const void* b) {
    return static_cast<const Entry*>(b)->count - static_cast<const Entry*>(a)->count;
  });
  words = 0;
  for (const Entry& e : ordered) words += static_cast<std::uint64_t>(e.count);
  distinct = ordered.size();
  return !table.full;
}

}  // namespace countwords

void BM_CountwordsOptimizedC(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  for (auto _ : state) {
    std::uint64_t words = 0;
    std::uint64_t distinct = 0;
    if (!countwords::run(c.path.c_str(), words, distinct)) {
      state.SkipWithError("the fixed 65536-slot table filled up");
      return;
    }
    // Its word rule splits on every byte <= ' ', a superset of the six ASCII whitespace
    // bytes; on text without other control bytes the counts agree.
    if (!check(state, c, words, distinct)) return;
  }
  report_corpus(state, c);
}

// ------------------------------------------------------------------------------------------
// Programs run end to end, as child processes
// ------------------------------------------------------------------------------------------

void BM_Process_Tally(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  if (skip_without_tally(state)) return;
  const Corpus& c = corpus_fn();
  const std::string threads = std::to_string(state.range(0));
  measure_process(state, c, {tally_program(), "wordcount", "-j", threads, "-f", "tsv", c.path},
                  OutputFormat::kTsv, "tally-" + c.name + "-" + threads);
}

// Two `tally wordcount -j 1` processes at once on the same file, each free to run on its own
// CPU: the wall time until both have exited. Nothing is shared between them but the machine
// (caches, memory bandwidth, the hypervisor's share of the host), so 2 x the -j 1 time over
// this one is the most any -j 2 run can gain here: the ceiling the -j 2 row is read against.
// The second process's output is checked; the first's goes to /dev/null.
void BM_Process_TallyTwoAtOnce(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  if (skip_without_tally(state)) return;
  const Corpus& c = corpus_fn();
  measure_process(state, c,
                  {"/bin/sh", "-c",
                   "\"$0\" wordcount -j 1 -f tsv -- \"$1\" > /dev/null & first=$!; "
                   "\"$0\" wordcount -j 1 -f tsv -- \"$1\" || exit 1; wait \"$first\"",
                   tally_program(), c.path},
                  OutputFormat::kTsv, "tally-two-at-once-" + c.name);
  state.SetBytesProcessed(state.iterations() * 2 * static_cast<std::int64_t>(c.bytes));
}

// The same command with another build of tally (TALLY_BASELINE_EXE, e.g. the commit before a
// change): a before/after comparison within one session, on one machine state.
void BM_Process_TallyBaseline(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  const std::string threads = std::to_string(state.range(0));
  measure_process(
      state, c,
      {std::getenv("TALLY_BASELINE_EXE"), "wordcount", "-j", threads, "-f", "tsv", c.path},
      OutputFormat::kTsv, "baseline-" + c.name + "-" + threads);
}

void BM_Process_CountwordsOptimizedC(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  measure_process(state, c, {COUNTWORDS_OPTIMIZED_EXE, c.path}, OutputFormat::kCountwords,
                  "countwords-optimized-" + c.name);
}

void BM_Process_AbslFlatHashMap(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  measure_process(state, c, {ABSL_WORDCOUNT_EXE, c.path}, OutputFormat::kTsv, "absl-" + c.name);
}

void BM_Process_SortUniq(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  measure_process(state, c,
                  {"/bin/sh", "-c", "LC_ALL=C sort --parallel=2 -S 2G -- \"$1\" | LC_ALL=C uniq -c",
                   "sh", c.path},
                  OutputFormat::kUniqC, "sortuniq-" + c.name);
}

void register_all() {
  const auto real_time = [](benchmark::internal::Benchmark* b) {
    b->UseRealTime()->Unit(benchmark::kMillisecond)->ArgName("threads");
    one_thread_on_one_cpu(b);
  };
  real_time(
      benchmark::RegisterBenchmark("BM_Tally/kjv10", BM_Tally, &kjv10)->Arg(1)->Arg(2)->Arg(4));
  real_time(
      benchmark::RegisterBenchmark("BM_TbbBaseline/kjv10", BM_TbbBaseline, &kjv10)->Arg(1)->Arg(2));
  real_time(benchmark::RegisterBenchmark("BM_TbbTallyTable/kjv10", BM_TbbTallyTable, &kjv10)
                ->Arg(1)
                ->Arg(2));
  real_time(
      benchmark::RegisterBenchmark("BM_CountwordsOptimizedC/kjv10", BM_CountwordsOptimizedC, &kjv10)
          ->Arg(1));
  // Seconds per iteration: one iteration per repetition.
  real_time(benchmark::RegisterBenchmark("BM_Tally/vocab1e7", BM_Tally, &vocab1e7)
                ->Arg(1)
                ->Arg(2)
                ->Iterations(1));
  real_time(benchmark::RegisterBenchmark("BM_TbbBaseline/vocab1e7", BM_TbbBaseline, &vocab1e7)
                ->Arg(2)
                ->Iterations(1));

  // Programs end to end: wall clock of the child process, not of this one.
  const auto process = [](benchmark::internal::Benchmark* b) {
    return b->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  process(benchmark::RegisterBenchmark("BM_Process_Tally/kjv10", BM_Process_Tally, &kjv10))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Apply(one_thread_on_one_cpu);
  process(benchmark::RegisterBenchmark("BM_Process_TallyTwoAtOnce/kjv10", BM_Process_TallyTwoAtOnce,
                                       &kjv10));
  process(benchmark::RegisterBenchmark("BM_Process_CountwordsOptimizedC/kjv10",
                                       BM_Process_CountwordsOptimizedC, &kjv10))
      ->Apply(on_one_cpu);
  process(benchmark::RegisterBenchmark("BM_Process_AbslFlatHashMap/kjv10",
                                       BM_Process_AbslFlatHashMap, &kjv10))
      ->Apply(on_one_cpu);
  const char* baseline = std::getenv("TALLY_BASELINE_EXE");
  const bool with_baseline = baseline != nullptr && *baseline != '\0';
  if (with_baseline) {
    process(benchmark::RegisterBenchmark("BM_Process_TallyBaseline/kjv10", BM_Process_TallyBaseline,
                                         &kjv10))
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->Apply(one_thread_on_one_cpu);
  }
  // Seconds per iteration: one iteration per repetition.
  const std::string distinct_corpus = distinct_name();
  process(benchmark::RegisterBenchmark(("BM_Process_Tally/" + distinct_corpus).c_str(),
                                       BM_Process_Tally, &distinct))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Apply(one_thread_on_one_cpu)
      ->Iterations(1);
  if (with_baseline) {
    process(benchmark::RegisterBenchmark(("BM_Process_TallyBaseline/" + distinct_corpus).c_str(),
                                         BM_Process_TallyBaseline, &distinct))
        ->ArgName("threads")
        ->Arg(2)
        ->Iterations(1);
  }
  process(benchmark::RegisterBenchmark(("BM_Process_SortUniq/" + distinct_corpus).c_str(),
                                       BM_Process_SortUniq, &distinct))
      ->Iterations(1);
  process(benchmark::RegisterBenchmark(("BM_Process_AbslFlatHashMap/" + distinct_corpus).c_str(),
                                       BM_Process_AbslFlatHashMap, &distinct))
      ->Apply(on_one_cpu)
      ->Iterations(1);
}

}  // namespace

}  // namespace tally::bench

int main(int argc, char** argv) {
  tbb::info::default_concurrency();  // before any pinned run: bench/one_cpu.hpp says why
  tally::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
