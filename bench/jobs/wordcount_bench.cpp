// Word count end to end: tally's WordCount job on files in the page cache, side by side in one
// binary with the two programs the targets are set against (bench/README.md has the results).
//
// Corpora (written once per process to a temporary directory, read through the page cache):
//  - kjv10: the King James Bible ten times over (43 MB), the countwords benchmark's input.
//    Taken from $TALLY_KJV, else from ../shared/corpus/kjvbible.txt next to the source tree;
//    when neither exists, a generated Zipf text of the same size and a similar vocabulary
//    stands in, and every result's label says "generated" instead of "kjv10".
//  - vocab1e7: 10^7 distinct words (each once, in scrambled order, ~120 MB): the tables
//    outgrow every cache and the merge dominates.
//
// Contenders:
//  - BM_Tally/<corpus>/threads:T  Engine::run(jobs::WordCount) on Inputs::paths: opening and
//    mapping the file, splitting, mapping, merging, and the sorted result are all timed.
//  - BM_TbbBaseline/<corpus>/threads:T  what a user would write with oneTBB:
//    tbb::parallel_for over newline-aligned chunks of the mapped file, a
//    tbb::enumerable_thread_specific<std::unordered_map<std::string, uint64_t>> per thread,
//    merged at the end, then sorted like tally's result.
//  - BM_CountwordsOptimizedC/kjv10  a port of the fastest single-threaded program of Ben
//    Hoyt's countwords benchmark (optimized.c): fread() into a 64 KiB buffer, lowercase and
//    FNV-1a hash each byte in one pass, a fixed 65536-slot linear-probing table, then qsort.
//    Its table does not grow, so it runs on kjv10 only (as in countwords).
// Every run checks the total word count and the number of distinct words against a plain
// sequential count, so a contender that loses words reports an error, not a fast number.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/jobs/wordcount.hpp"

namespace {

namespace fs = std::filesystem;
using tally::jobs::is_ascii_space;

// ------------------------------------------------------------------------------------------
// Corpora
// ------------------------------------------------------------------------------------------

struct Corpus {
  std::string name;  // "kjv10", "generated" or "vocab1e7"
  std::string path;
  std::uint64_t bytes = 0;
  std::uint64_t words = 0;     // the sequential reference count
  std::uint64_t distinct = 0;  // ditto
};

// The countwords word rule, counted the plainest way: the reference every contender must match.
void reference_count(const std::string& text, Corpus& c) {
  std::unordered_map<std::string, std::uint64_t> counts;
  std::string word;
  for (const char ch : text) {
    if (is_ascii_space(static_cast<unsigned char>(ch))) {
      if (!word.empty()) ++counts[word];
      word.clear();
    } else {
      word += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    }
  }
  if (!word.empty()) ++counts[word];
  c.bytes = text.size();
  c.distinct = counts.size();
  for (const auto& [w, n] : counts) c.words += n;
}

// A directory removed when the process exits.
const fs::path& scratch_dir() {
  struct Dir {
    fs::path path =
        fs::temp_directory_path() / ("tally-wordcount-bench-" + std::to_string(getpid()));
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };
  static const Dir dir;
  return dir.path;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Corpus write_corpus(std::string name, const std::string& text) {
  Corpus c;
  c.name = std::move(name);
  c.path = (scratch_dir() / (c.name + ".txt")).string();
  std::ofstream(c.path, std::ios::binary) << text;
  reference_count(text, c);
  return c;
}

// Word i of a synthetic vocabulary: distinct, lowercase, 2-14 letters.
std::string synthetic_word(std::uint64_t i) {
  static const char* const kSyllables[] = {"ta", "le", "ri", "mo", "nu", "sa", "ke", "di",
                                           "po", "ga", "ve", "li", "ro", "ma", "ne", "th"};
  std::string w;
  do {
    w += kSyllables[i % 16];
    i /= 16;
  } while (i > 0);
  return w;
}

fs::path kjv_source() {
  if (const char* env = std::getenv("TALLY_KJV"); env != nullptr && *env != '\0') return env;
  return fs::path(TALLY_SOURCE_DIR) / ".." / "shared" / "corpus" / "kjvbible.txt";
}

// KJV x10, or a generated stand-in of the same size (Zipf(1) over 32,000 words, 12 a line).
const Corpus& kjv10() {
  static const Corpus corpus = [] {
    const fs::path kjv = kjv_source();
    if (fs::is_regular_file(kjv)) {
      const std::string once = read_file(kjv);
      std::string text;
      text.reserve(once.size() * 10);
      for (int i = 0; i < 10; ++i) text += once;
      return write_corpus("kjv10", text);
    }
    constexpr std::size_t kBytes = 43'059'080;  // the size of kjvbible.txt x10
    constexpr double kVocabulary = 32000;
    std::mt19937_64 rng(10);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::string text;
    text.reserve(kBytes + 64);
    for (int in_line = 0; text.size() < kBytes; in_line = (in_line + 1) % 12) {
      const auto rank = static_cast<std::uint64_t>(std::exp(u(rng) * std::log(kVocabulary)));
      std::string w = synthetic_word(rank);
      if (in_line == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
      text += w;
      text += in_line == 11 ? '\n' : ' ';
    }
    return write_corpus("generated", text);
  }();
  return corpus;
}

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

void finish(benchmark::State& state, const Corpus& c) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.bytes));
  state.SetLabel(c.name);
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
  finish(state, c);
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
    tally::Inputs inputs = tally::Inputs::paths({c.path});  // the same mmap tally uses
    if (!inputs.open().ok()) {
      state.SkipWithError("cannot open the corpus");
      return;
    }
    const std::string_view text = inputs.data(0);
    // Chunks of about 1 MiB, each ending just after a newline.
    std::vector<std::size_t> cuts{0};
    while (cuts.back() < text.size()) {
      std::size_t next = std::min(text.size(), cuts.back() + (std::size_t{1} << 20));
      while (next < text.size() && text[next - 1] != '\n') ++next;
      cuts.push_back(next);
    }
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
  finish(state, c);
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
  finish(state, c);
}

void register_all() {
  const auto real_time = [](benchmark::internal::Benchmark* b) {
    b->UseRealTime()->Unit(benchmark::kMillisecond)->ArgName("threads");
  };
  real_time(
      benchmark::RegisterBenchmark("BM_Tally/kjv10", BM_Tally, &kjv10)->Arg(1)->Arg(2)->Arg(4));
  real_time(
      benchmark::RegisterBenchmark("BM_TbbBaseline/kjv10", BM_TbbBaseline, &kjv10)->Arg(1)->Arg(2));
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
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
