// The inverted index (word -> sorted postings of input and line) on the engine beside a
// plain sequential loop and oneTBB, in one binary, and the `tally index` program end to end.
//
// Input: Phoenix's "large" reverse index size, 500 MB of text in 50 files of 10 MiB (with
// TALLY_BENCH_SMALL=1, the ctest smoke run: 4 files of 1 MiB), written once per process by
// `tally generate-corpus --size S --seed i` (Zipf text, 50,000 words, 12 a line) into
// <scratch>/c/NN.txt. Every contender opens the directory as Inputs::paths (the same mapped
// files, a directory's files in sorted order) inside its timed loop, and builds the same
// index: every word of every line by jobs::for_each_word (word count's rule),
// a list of postings {input, line} per word, each line once per word, the words in bytewise
// order. Bytes processed: the corpus once per iteration.
//
// Contenders in this process (wall time of the build, from opening the inputs to the index
// in word order):
//  - BM_Index_Tally/threads:T  Engine::run(jobs::InvertedIndex) with numbered records, its
//    result table read by key.
//  - BM_Index_Sequential  one pass over the inputs in order: a hash map from word to its
//    postings, a posting appended unless it is the list's last (the same line), then the
//    words sorted. Its index is the reference.
//  - BM_Index_Tbb/threads:T  the same with tbb::parallel_for over newline-aligned chunks of
//    about 1 MiB (line numbers from a first parallel pass that counts each chunk's lines), a
//    hash map per thread (tbb::enumerable_thread_specific), the maps merged per word, each
//    word's list sorted and de-duplicated and the words sorted in parallel, in a task_arena
//    of T threads.
// Each computes a digest of its index (the words in order, each with its postings in order)
// after the timed part of its first iteration and fails (SkipWithError) unless it equals the
// reference's.
//
// The program (BM_Process_TallyIndex/threads:T): `tally index -j T -f tsv c` run in the
// scratch directory (so that postings print as c/NN.txt:line) by measure_program
// (process_bench.hpp), spawn to exit: reading, indexing, writing about 1.4 GB of TSV; wall
// time and peak RSS. Its output is parsed and its digest checked against the reference on
// the first run.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/jobs/process_bench.hpp"
#include "bench/one_cpu.hpp"
#include "tally/engine/engine.hpp"
#include "tally/jobs/inverted_index.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace tally::bench {
namespace {

namespace fs = std::filesystem;
using jobs::InvertedIndex;
using jobs::Posting;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------------------------------
// The digest every contender's index must match
// ------------------------------------------------------------------------------------------

// Words, postings and an order-dependent digest of an index read in word order.
struct Summary {
  std::uint64_t words = 0;
  std::uint64_t postings = 0;
  std::uint64_t digest = 0;
  bool operator==(const Summary&) const = default;

  void add_word(std::string_view word) {
    ++words;
    mix(std::hash<std::string_view>{}(word));
  }
  void add_posting(std::uint64_t input, std::uint64_t line) {
    ++postings;
    mix((input << 40) ^ line);
  }
  std::string to_string() const {
    return std::to_string(words) + " words, " + std::to_string(postings) + " postings, digest " +
           std::to_string(digest);
  }

 private:
  void mix(std::uint64_t x) {
    x += digest * 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64's finalizer
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    digest = x ^ (x >> 31);
  }
};

// An index as the in-process contenders other than the engine build it.
using Index = std::vector<std::pair<std::string, std::vector<Posting>>>;

Summary summarize(const Index& index) {
  Summary s;
  for (const auto& [word, postings] : index) {
    s.add_word(word);
    for (const Posting& p : postings) s.add_posting(p.input, p.line);
  }
  return s;
}

// ------------------------------------------------------------------------------------------
// The corpus
// ------------------------------------------------------------------------------------------

// Runs argv (argv[0] an absolute path) in the scratch directory with stdout and stderr
// discarded and waits for it: empty if it exited 0, else what happened.
std::string run_in_scratch(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::vector<char*> c_args;
  for (std::string& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, scratch_dir().c_str());
  pid_t pid = 0;
  int status = 0;
  const int rc = posix_spawn(&pid, c_args[0], &actions, nullptr, c_args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return "cannot start " + argv[0] + ": " + std::strerror(rc);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return argv[0] + " " + argv[1] + " failed with status " + std::to_string(status);
}

// The working directory of this process, changed for the scope (benchmarks run one at a
// time, so nothing else reads it meanwhile).
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : previous_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~WorkingDirectory() {
    std::error_code ignored;
    fs::current_path(previous_, ignored);
  }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  fs::path previous_;
};

struct Corpus {
  std::string dir = "c";  // relative to scratch_dir(): postings print as c/NN.txt:line
  std::uint64_t bytes = 0;
  std::string error;  // set: the corpus could not be written
  Summary reference;  // BM_Index_Sequential's index
};

Index sequential_index(const Inputs& inputs);

// Written (and its reference built) on the first call.
const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus out;
    const bool small = env_flag("TALLY_BENCH_SMALL");
    const int files = small ? 4 : 50;
    const std::string size = small ? "1M" : "10M";
    if (tally_program() == nullptr) {
      out.error = "built without the tally program (TALLY_BUILD_TOOLS=OFF)";
      return out;
    }
    fs::create_directories(scratch_dir() / out.dir);
    for (int i = 0; i < files; ++i) {
      const std::string name = (i < 10 ? "0" : "") + std::to_string(i) + ".txt";
      out.error = run_in_scratch({tally_program(), "generate-corpus", "--size", size, "--seed",
                                  std::to_string(i + 1), "-o", out.dir + "/" + name});
      if (!out.error.empty()) return out;
    }
    Inputs inputs = Inputs::paths({(scratch_dir() / out.dir).string()});
    if (Status s = inputs.open(); !s.ok()) {
      out.error = s.to_string();
      return out;
    }
    out.bytes = inputs.total_bytes();
    out.reference = summarize(sequential_index(inputs));
    return out;
  }();
  return c;
}

// The corpus, or nullptr after failing the benchmark.
const Corpus* corpus_or_skip(benchmark::State& state) {
  const Corpus& c = corpus();
  if (c.error.empty()) return &c;
  state.SkipWithError(c.error.c_str());
  return nullptr;
}

// The corpus's inputs, opened (the files mapped); a failure is in status().
Inputs open_corpus(const Corpus& c, Status& status) {
  Inputs inputs = Inputs::paths({(scratch_dir() / c.dir).string()});
  status = inputs.open();
  return inputs;
}

// Fails the benchmark unless `got` is the reference; false then.
bool check(benchmark::State& state, const Corpus& c, const Summary& got) {
  if (got == c.reference) return true;
  state.SkipWithError(
      ("wrong index: " + got.to_string() + ", expected " + c.reference.to_string()).c_str());
  return false;
}

void report(benchmark::State& state, const Corpus& c) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.bytes));
  state.counters["postings"] = static_cast<double>(c.reference.postings);
}

// ------------------------------------------------------------------------------------------
// The sequential loop and oneTBB
// ------------------------------------------------------------------------------------------

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using PostingMap =
    std::unordered_map<std::string, std::vector<Posting>, StringHash, std::equal_to<>>;

// Adds the words of `text` (whole lines, the first numbered `first_line`, of input `input`)
// to `map`: a posting per word and line, appended unless the list ends with it already.
void index_lines(std::string_view text, std::uint64_t input, std::uint64_t first_line,
                 PostingMap& map) {
  std::uint64_t line = first_line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const Posting posting{input, line};
    jobs::for_each_word<true>(text.substr(pos, nl - pos), [&](std::string_view w) {
      auto it = map.find(w);
      if (it == map.end()) it = map.emplace(std::string(w), std::vector<Posting>()).first;
      if (it->second.empty() || it->second.back() != posting) it->second.push_back(posting);
    });
    ++line;
    pos = nl + 1;
  }
}

Index sequential_index(const Inputs& inputs) {
  PostingMap map;
  for (std::size_t i = 0; i < inputs.size(); ++i) index_lines(inputs.data(i), i, 1, map);
  Index index;
  index.reserve(map.size());
  for (auto& [word, postings] : map) index.emplace_back(word, std::move(postings));
  std::sort(index.begin(), index.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return index;
}

void BM_Index_Sequential(benchmark::State& state) {
  const Corpus* c = corpus_or_skip(state);
  if (c == nullptr) return;
  bool checked = false;
  for (auto _ : state) {
    const auto start = Clock::now();
    Status opened;
    const Inputs inputs = open_corpus(*c, opened);
    if (!opened.ok()) {
      state.SkipWithError(opened.to_string().c_str());
      return;
    }
    const Index index = sequential_index(inputs);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (!checked && !check(state, *c, summarize(index))) return;
    checked = true;
  }
  report(state, *c);
}
BENCHMARK(BM_Index_Sequential)->Apply(on_one_cpu)->Unit(benchmark::kMillisecond)->UseManualTime();

// A newline-aligned piece of one input, with the number of its first line.
struct Chunk {
  std::size_t input = 0;
  std::string_view text;
  std::uint64_t first_line = 0;
};

Index tbb_index(const Inputs& inputs) {
  constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view text = inputs.data(i);
    std::size_t begin = 0;
    while (begin < text.size()) {
      std::size_t end = std::min(text.size(), begin + kChunkBytes);
      while (end < text.size() && text[end - 1] != '\n') ++end;
      chunks.push_back({i, text.substr(begin, end - begin), 0});
      begin = end;
    }
  }
  // Line numbers: each chunk's lines counted in parallel, then a prefix sum per input.
  std::vector<std::uint64_t> lines(chunks.size());
  tbb::parallel_for(std::size_t{0}, chunks.size(), [&](std::size_t k) {
    const std::string_view t = chunks[k].text;
    lines[k] = static_cast<std::uint64_t>(std::count(t.begin(), t.end(), '\n')) +
               (t.empty() || t.back() == '\n' ? 0 : 1);
  });
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    const bool first_of_input = k == 0 || chunks[k - 1].input != chunks[k].input;
    chunks[k].first_line = first_of_input ? 1 : chunks[k - 1].first_line + lines[k - 1];
  }
  tbb::enumerable_thread_specific<PostingMap> maps;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunks.size(), 1),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      PostingMap& mine = maps.local();
                      for (std::size_t k = r.begin(); k != r.end(); ++k) {
                        index_lines(chunks[k].text, chunks[k].input, chunks[k].first_line, mine);
                      }
                    });
  PostingMap all;
  for (PostingMap& m : maps) {
    if (all.empty()) {
      all = std::move(m);
      continue;
    }
    for (auto& [word, postings] : m) {
      std::vector<Posting>& into = all[word];
      into.insert(into.end(), postings.begin(), postings.end());
    }
  }
  Index index;
  index.reserve(all.size());
  for (auto& [word, postings] : all) index.emplace_back(word, std::move(postings));
  tbb::parallel_for(std::size_t{0}, index.size(), [&](std::size_t w) {
    std::vector<Posting>& p = index[w].second;
    if (!std::is_sorted(p.begin(), p.end())) std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
  });
  tbb::parallel_sort(index.begin(), index.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  return index;
}

void BM_Index_Tbb(benchmark::State& state) {
  const Corpus* c = corpus_or_skip(state);
  if (c == nullptr) return;
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  bool checked = false;
  for (auto _ : state) {
    const auto start = Clock::now();
    Status opened;
    const Inputs inputs = open_corpus(*c, opened);
    if (!opened.ok()) {
      state.SkipWithError(opened.to_string().c_str());
      return;
    }
    Index index;
    arena.execute([&] { index = tbb_index(inputs); });
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (!checked && !check(state, *c, summarize(index))) return;
    checked = true;
  }
  report(state, *c);
}
BENCHMARK(BM_Index_Tbb)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Apply(one_thread_on_one_cpu)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// ------------------------------------------------------------------------------------------
// The engine
// ------------------------------------------------------------------------------------------

void BM_Index_Tally(benchmark::State& state) {
  const Corpus* c = corpus_or_skip(state);
  if (c == nullptr) return;
  Engine engine({.threads = static_cast<std::size_t>(state.range(0))});
  RunOptions options;
  options.records.numbered = true;
  bool checked = false;
  for (auto _ : state) {
    const auto start = Clock::now();
    Inputs inputs = Inputs::paths({(scratch_dir() / c->dir).string()});
    auto result = engine.run(InvertedIndex{}, inputs, options);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (!result.ok()) {
      state.SkipWithError(result.status().to_string().c_str());
      return;
    }
    if (!checked) {
      Summary got;
      for (const auto& [word, postings] : result->table.by_key()) {
        got.add_word(word);
        for (const Posting& p : postings) got.add_posting(p.input, p.line);
      }
      if (!check(state, *c, got)) return;
      checked = true;
    }
  }
  report(state, *c);
}
BENCHMARK(BM_Index_Tally)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Apply(one_thread_on_one_cpu)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// ------------------------------------------------------------------------------------------
// The program, end to end
// ------------------------------------------------------------------------------------------

// The digest of `tally index -f tsv` output ("word<TAB>path:line,..." lines), a path
// standing for its index in `paths`; `error` says what is malformed.
Summary summarize_tsv(const fs::path& path, const std::vector<std::string>& paths,
                      std::string& error) {
  std::unordered_map<std::string, std::uint64_t> input_of;
  for (std::size_t i = 0; i < paths.size(); ++i) input_of[paths[i]] = i;
  Summary s;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      error = "a line without a tab: " + line.substr(0, 100);
      return s;
    }
    s.add_word(std::string_view(line).substr(0, tab));
    std::size_t pos = tab + 1;
    while (pos <= line.size()) {
      std::size_t comma = line.find(',', pos);
      if (comma == std::string::npos) comma = line.size();
      const std::string_view posting = std::string_view(line).substr(pos, comma - pos);
      const std::size_t colon = posting.rfind(':');
      std::uint64_t number = 0;
      const auto it = colon == std::string_view::npos
                          ? input_of.end()
                          : input_of.find(std::string(posting.substr(0, colon)));
      const std::string_view digits =
          colon == std::string_view::npos ? std::string_view() : posting.substr(colon + 1);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
      if (it == input_of.end() || ec != std::errc() || end != digits.data() + digits.size()) {
        error = "a malformed posting: " + std::string(posting.substr(0, 100));
        return s;
      }
      s.add_posting(it->second, number);
      pos = comma + 1;
    }
  }
  return s;
}

void BM_Process_TallyIndex(benchmark::State& state) {
  if (skip_without_tally(state)) return;
  const Corpus* c = corpus_or_skip(state);
  if (c == nullptr) return;
  // The inputs in the order the postings number them, named as the program names them: the
  // directory as given joined with each file's name.
  Status opened;
  std::vector<std::string> paths;
  {
    const Inputs inputs = open_corpus(*c, opened);
    for (std::size_t i = 0; opened.ok() && i < inputs.size(); ++i) {
      paths.push_back(c->dir + "/" + fs::path(inputs.name(i)).filename().string());
    }
  }
  const auto check_tsv = [&](const fs::path& out) {
    if (!opened.ok()) return opened.to_string();
    std::string error;
    const Summary got = summarize_tsv(out, paths, error);
    if (!error.empty()) return error;
    if (got == c->reference) return std::string();
    return got.to_string() + ", expected " + c->reference.to_string();
  };
  const WorkingDirectory in_scratch(scratch_dir());
  measure_program(
      state, {tally_program(), "index", "-j", std::to_string(state.range(0)), "-f", "tsv", c->dir},
      "index-" + std::to_string(state.range(0)), check_tsv);
  report(state, *c);
}
BENCHMARK(BM_Process_TallyIndex)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Apply(one_thread_on_one_cpu)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

}  // namespace
}  // namespace tally::bench

int main(int argc, char** argv) {
  tbb::info::default_concurrency();  // before any pinned run: bench/one_cpu.hpp says why
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
