// Word count end to end: tally's WordCount job on files in the page cache, side by side in one
// binary with the programs the targets are set against (bench/README.md has the results).
//
// Corpora (written once per process to a temporary directory, read through the page cache):
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
//
// Contenders as programs, the way a user runs them (BM_Process_*): each iteration starts the
// program with posix_spawn, stdin from /dev/null, stdout to a file in the scratch directory
// (truncated before the program starts, so every byte is really written, into the page cache;
// writeback to disk is not waited for) and stderr to another. The time is wall clock from just
// before the spawn to wait4's return: exec, dynamic loading, reading the input, counting,
// sorting, writing the last byte and exiting. peak_rss_bytes is the largest ru_maxrss wait4
// reported over the iterations; it counts the pages of a mapped input that were touched (tally
// and the absl program map it, sort reads it). Both come from bench/jobs/process_meter, a small
// program that starts the contender, so that the benchmark's own size does not leak into the
// contender's ru_maxrss (process_meter.cpp says how it would); the floor is about 1 MB.
//  - BM_Process_Tally/<corpus>/threads:T  `tally wordcount -j T -f tsv FILE`.
//  - BM_Process_TallyBaseline/<corpus>/threads:T  the same with the tally program named by
//    $TALLY_BASELINE_EXE (registered only when it is set): a build of an earlier commit.
//  - BM_Process_AbslFlatHashMap/<corpus>  bench/jobs/absl_wordcount.cpp: one thread, the same
//    word rule and output, an absl::flat_hash_map<std::string, uint64_t>.
//  - BM_Process_SortUniq/distinct1e7  `sh -c 'LC_ALL=C sort --parallel=2 -S 2G FILE |
//    LC_ALL=C uniq -c'`, one pipeline. It counts lines, so it runs on the one-word-a-line corpus
//    only. Its peak RSS is the largest of sh, sort and uniq (wait4 on sh reports the maximum
//    over sh and the children it reaped, not their sum; uniq and sh hold a few MB).
// The first iteration of every run checks the output against the corpus's reference counts:
// every distinct word once with its count (row count, total and an order-independent digest)
// and the promised order. For the two TSV programs this fixes the output byte for byte, so
// passing both checks means tally and the absl program wrote identical files.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
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

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace {

namespace fs = std::filesystem;
using tally::jobs::is_ascii_space;

// ------------------------------------------------------------------------------------------
// Corpora
// ------------------------------------------------------------------------------------------

struct Corpus {
  std::string name;  // "kjv10", "generated", "vocab1e7" or "distinct1e7"
  std::string path;
  std::uint64_t bytes = 0;
  std::uint64_t words = 0;     // the sequential reference count
  std::uint64_t distinct = 0;  // ditto
  std::uint64_t digest = 0;    // the sum of row_digest over the distinct words
};

// One (word, count) row's share of an order-independent digest of a whole count.
std::uint64_t row_digest(std::string_view word, std::uint64_t count) {
  std::uint64_t x = std::hash<std::string_view>{}(word) ^ (count * 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64's finalizer
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

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
  for (const auto& [w, n] : counts) {
    c.words += n;
    c.digest += row_digest(w, n);
  }
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

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = (scratch_dir() / (name + ".txt")).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Corpus write_corpus(std::string name, const std::string& text) {
  Corpus c;
  c.name = std::move(name);
  c.path = write_text(c.name, text);
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

// TALLY_BENCH_SMALL set (and not "0") shrinks distinct1e7 to 10^5 words, named distinct1e5.
// The ctest smoke run sets it (bench/jobs/CMakeLists.txt) so that no test run writes 80 MB.
bool small_corpora() {
  const char* env = std::getenv("TALLY_BENCH_SMALL");
  return env != nullptr && *env != '\0' && std::string_view(env) != "0";
}

std::string distinct_name() { return small_corpora() ? "distinct1e5" : "distinct1e7"; }

// 10^7 (or 10^5) distinct words, each once, one per line, 8 bytes a line. Line i holds id
// (i * odd) mod 2^k, ids past the count skipped (a bijection on [0, 2^k), so every id comes
// once, scrambled); the word is (id * 2654435761) mod 26^7 written as 7 base-26 digits a-z,
// again a bijection (the multiplier is prime to 26), so the words are distinct and spread over
// the whole alphabet rather than sharing the prefix "aa". Every count is 1, so the reference
// is known without counting.
const Corpus& distinct() {
  static const Corpus corpus = [] {
    const std::uint64_t n = small_corpora() ? 100'000 : 10'000'000;
    constexpr std::uint64_t kLetters = 7;
    constexpr std::uint64_t kWordSpace = 8'031'810'176;  // 26^7
    const std::uint64_t space = std::bit_ceil(n);
    Corpus c;
    c.name = distinct_name();
    std::string text(n * (kLetters + 1), '\n');
    std::size_t at = 0;
    for (std::uint64_t i = 0; i < space; ++i) {
      const std::uint64_t id = (i * 0x9e3779b1u) & (space - 1);
      if (id >= n) continue;
      std::uint64_t v = (id * 2'654'435'761u) % kWordSpace;
      for (std::uint64_t k = kLetters; k-- > 0; v /= 26)
        text[at + k] = static_cast<char>('a' + v % 26);
      c.digest += row_digest(std::string_view(text).substr(at, kLetters), 1);
      at += kLetters + 1;
    }
    c.path = write_text(c.name, text);
    c.bytes = text.size();
    c.words = n;
    c.distinct = n;
    return c;
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

// ------------------------------------------------------------------------------------------
// Programs run end to end, as child processes
// ------------------------------------------------------------------------------------------

struct ProcessRun {
  double seconds = 0;              // spawn to reap, wall clock
  std::int64_t max_rss_bytes = 0;  // wait4's ru_maxrss
  std::string error;               // empty if the program ran and exited 0
};

// Opens `path` for the child's descriptor; -1 and run.error on failure.
int open_for_child(const fs::path& path, int flags, ProcessRun& run) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0 && run.error.empty()) {
    run.error = "cannot open " + path.string() + ": " + std::strerror(errno);
  }
  return fd;
}

// Runs argv[0] (an absolute path) under bench/jobs/process_meter, which times it from spawn
// to reap and takes its peak RSS from wait4 (why not from here: process_meter.cpp). stdin is
// /dev/null; stdout goes to `out` and stderr to `err`, both truncated before the program
// starts.
ProcessRun run_process(const std::vector<std::string>& argv, const fs::path& out,
                       const fs::path& err) {
  ProcessRun run;
  const fs::path report = fs::path(out).replace_extension(".meter");
  const int in_fd = open_for_child("/dev/null", O_RDONLY, run);
  const int out_fd = open_for_child(out, O_WRONLY | O_CREAT | O_TRUNC, run);
  const int err_fd = open_for_child(err, O_WRONLY | O_CREAT | O_TRUNC, run);
  std::vector<std::string> meter_argv{PROCESS_METER_EXE, report.string()};
  meter_argv.insert(meter_argv.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (std::string& a : meter_argv) args.push_back(a.data());
  args.push_back(nullptr);
  int status = 0;
  if (run.error.empty()) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    pid_t pid = 0;
    if (const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
        rc != 0) {
      run.error = std::string("cannot start ") + args[0] + ": " + std::strerror(rc);
    } else {
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        run.error = "process_meter failed: " + read_file(err).substr(0, 300);
      }
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  for (const int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  if (!run.error.empty()) return run;

  long long ns = 0;
  long long rss = 0;
  std::ifstream(report) >> ns >> rss >> status;
  run.seconds = static_cast<double>(ns) * 1e-9;
  run.max_rss_bytes = rss;
  if (ns <= 0) {
    run.error = "process_meter wrote no report";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    run.error = argv[0] +
                (WIFEXITED(status) ? " exited " + std::to_string(WEXITSTATUS(status))
                                   : " killed by signal " + std::to_string(WTERMSIG(status))) +
                ": " + read_file(err).substr(0, 300);
  }
  return run;
}

enum class OutputFormat {
  kTsv,    // "word\tcount\n", count descending, then word ascending (bytewise)
  kUniqC,  // uniq -c's "%7d word\n", word ascending (LC_ALL=C sort's bytewise order)
};

// Checks a program's output file against the corpus's reference: one row per distinct word,
// with its count (row count, total of the counts, digest), in the order of `format`, each
// line exactly as the format prints it. Empty if it holds, else what is wrong.
std::string check_output(const fs::path& path, const Corpus& c, OutputFormat format) {
  const std::string text = read_file(path);
  std::uint64_t rows = 0;
  std::uint64_t words = 0;
  std::uint64_t digest = 0;
  std::string_view prev_word;
  std::uint64_t prev_count = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t eol = text.find('\n', at);
    if (eol == std::string::npos) return "the last line has no newline";
    const std::string_view line(text.data() + at, eol - at);
    at = eol + 1;
    std::string_view word;
    std::string_view number;
    if (format == OutputFormat::kTsv) {
      const std::size_t tab = line.find('\t');
      if (tab == std::string_view::npos) return "a line without a tab: " + std::string(line);
      word = line.substr(0, tab);
      number = line.substr(tab + 1);
    } else {
      const std::size_t digits = line.find_first_not_of(' ');
      const std::size_t space = line.find(' ', digits);
      if (digits == std::string_view::npos || space == std::string_view::npos) {
        return "not a uniq -c line: " + std::string(line);
      }
      number = line.substr(digits, space - digits);
      word = line.substr(space + 1);
    }
    std::uint64_t count = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc() || end != number.data() + number.size() || count == 0 ||
        number[0] == '0' || word.empty()) {
      return "a malformed line: " + std::string(line);
    }
    if (rows > 0) {
      const bool ordered = format == OutputFormat::kTsv
                               ? count < prev_count || (count == prev_count && prev_word < word)
                               : prev_word < word;
      if (!ordered) return "out of order: " + std::string(prev_word) + " then " + std::string(word);
    }
    ++rows;
    words += count;
    digest += row_digest(word, count);
    prev_word = word;
    prev_count = count;
  }
  if (rows != c.distinct || words != c.words || digest != c.digest) {
    return std::to_string(rows) + " rows of " + std::to_string(words) + " words, expected " +
           std::to_string(c.distinct) + " of " + std::to_string(c.words) +
           (digest != c.digest ? ", and other words or counts" : "");
  }
  return {};
}

// Runs the program `argv` once per iteration and reports its wall-clock time (manual time)
// and peak RSS; `out_name` names its output files in the scratch directory.
void measure_process(benchmark::State& state, const Corpus& c, const std::vector<std::string>& argv,
                     OutputFormat format, const std::string& out_name) {
  const fs::path out = scratch_dir() / (out_name + ".out");
  const fs::path err = scratch_dir() / (out_name + ".err");
  std::int64_t peak_rss = 0;
  bool checked = false;
  for (auto _ : state) {
    const ProcessRun run = run_process(argv, out, err);
    if (!run.error.empty()) {
      state.SkipWithError(run.error.c_str());
      return;
    }
    state.SetIterationTime(run.seconds);
    peak_rss = std::max(peak_rss, run.max_rss_bytes);
    if (!checked) {
      if (const std::string wrong = check_output(out, c, format); !wrong.empty()) {
        state.SkipWithError(("wrong output: " + wrong).c_str());
        return;
      }
      checked = true;
    }
  }
  state.counters["peak_rss_bytes"] = benchmark::Counter(
      static_cast<double>(peak_rss), benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  finish(state, c);
}

void BM_Process_Tally(benchmark::State& state, const Corpus& (*corpus_fn)()) {
#ifdef TALLY_EXE
  const Corpus& c = corpus_fn();
  const std::string threads = std::to_string(state.range(0));
  measure_process(state, c, {TALLY_EXE, "wordcount", "-j", threads, "-f", "tsv", c.path},
                  OutputFormat::kTsv, "tally-" + c.name + "-" + threads);
#else
  (void)corpus_fn;
  for (auto _ : state) {
    state.SkipWithError("built without the tally program (TALLY_BUILD_TOOLS=OFF)");
    break;
  }
#endif
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

  // Programs end to end: wall clock of the child process, not of this one.
  const auto process = [](benchmark::internal::Benchmark* b) {
    return b->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  process(benchmark::RegisterBenchmark("BM_Process_Tally/kjv10", BM_Process_Tally, &kjv10))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2);
  process(benchmark::RegisterBenchmark("BM_Process_AbslFlatHashMap/kjv10",
                                       BM_Process_AbslFlatHashMap, &kjv10));
  const char* baseline = std::getenv("TALLY_BASELINE_EXE");
  const bool with_baseline = baseline != nullptr && *baseline != '\0';
  if (with_baseline) {
    process(benchmark::RegisterBenchmark("BM_Process_TallyBaseline/kjv10", BM_Process_TallyBaseline,
                                         &kjv10))
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2);
  }
  // Seconds per iteration: one iteration per repetition.
  const std::string distinct_corpus = distinct_name();
  process(benchmark::RegisterBenchmark(("BM_Process_Tally/" + distinct_corpus).c_str(),
                                       BM_Process_Tally, &distinct))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
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
      ->Iterations(1);
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
