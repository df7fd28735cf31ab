#include "bench/jobs/process_bench.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <unordered_map>
#include <utility>

#include "tally/jobs/word_scan.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace tally::bench {

namespace fs = std::filesystem;

namespace {

// The countwords word rule, counted the plainest way: the reference every contender must match.
// Text arrives in pieces; a word may straddle two.
class ReferenceCount {
 public:
  void add(std::string_view text) {
    bytes_ += text.size();
    for (const char ch : text) {
      if (jobs::is_ascii_space(static_cast<unsigned char>(ch))) {
        if (!word_.empty()) ++counts_[word_];
        word_.clear();
      } else {
        word_ += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
      }
    }
  }

  // Sets c's sizes, counts and digest. REQUIRES: called once, after the last add.
  void finish(Corpus& c) {
    if (!word_.empty()) ++counts_[word_];
    c.bytes = bytes_;
    c.distinct = counts_.size();
    for (const auto& [w, n] : counts_) {
      c.words += n;
      c.digest += row_digest(w, n);
    }
  }

 private:
  std::unordered_map<std::string, std::uint64_t> counts_;
  std::string word_;
  std::uint64_t bytes_ = 0;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string corpus_path(const std::string& name) {
  return (scratch_dir() / (name + ".txt")).string();
}

fs::path kjv_source() {
  if (const char* env = std::getenv("TALLY_KJV"); env != nullptr && *env != '\0') return env;
  return fs::path(TALLY_SOURCE_DIR) / ".." / "shared" / "corpus" / "kjvbible.txt";
}

// Lines of a file, a piece at a time. A line is valid until the next call.
class LineReader {
 public:
  explicit LineReader(const fs::path& path) : in_(path, std::ios::binary) {}

  // The next line without its newline; false at the end of the file. A last line without a
  // newline sets unterminated().
  bool next(std::string_view& line) {
    for (;;) {
      const std::size_t eol = buf_.find('\n', at_);
      if (eol != std::string::npos) {
        line = std::string_view(buf_).substr(at_, eol - at_);
        at_ = eol + 1;
        return true;
      }
      buf_.erase(0, at_);
      at_ = 0;
      const std::size_t kept = buf_.size();
      buf_.resize(kept + kPiece);
      in_.read(buf_.data() + kept, static_cast<std::streamsize>(kPiece));
      buf_.resize(kept + static_cast<std::size_t>(in_.gcount()));
      if (buf_.size() == kept) {
        unterminated_ = kept > 0;
        return false;
      }
    }
  }

  bool unterminated() const { return unterminated_; }

 private:
  static constexpr std::size_t kPiece = std::size_t{1} << 20;
  std::ifstream in_;
  std::string buf_;
  std::size_t at_ = 0;
  bool unterminated_ = false;
};

// The outcome of one metered run of a program.
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
// to reap and takes its peak RSS from wait4. stdin is /dev/null; stdout goes to `out` and
// stderr to `err`, both truncated before the program starts; the meter's report to `report`.
ProcessRun run_process(const std::vector<std::string>& argv, const fs::path& out,
                       const fs::path& err, const fs::path& report) {
  ProcessRun run;
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

// What is wrong with the corpus file, if anything: a disk that filled up while it was written
// would otherwise show as every contender's "wrong output".
std::string check_corpus_file(const Corpus& c) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(c.path, ec);
  if (ec) return "cannot read the corpus " + c.path + ": " + ec.message();
  if (size != c.bytes) {
    return "the corpus " + c.path + " has " + std::to_string(size) + " bytes, expected " +
           std::to_string(c.bytes) + " (disk full?)";
  }
  return {};
}

}  // namespace

std::uint64_t row_digest(std::string_view word, std::uint64_t count) {
  std::uint64_t x = std::hash<std::string_view>{}(word) ^ (count * 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64's finalizer
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool env_flag(const char* name) {
  const char* env = std::getenv(name);
  return env != nullptr && *env != '\0' && std::string_view(env) != "0";
}

const fs::path& scratch_dir() {
  struct Dir {
    fs::path path =
        fs::temp_directory_path() /
        ("tally-" + std::string(program_invocation_short_name) + "-" + std::to_string(getpid()));
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };
  static const Dir dir;
  return dir.path;
}

Corpus write_corpus(std::string name, const std::string& text) {
  Corpus c;
  c.name = std::move(name);
  c.path = corpus_path(c.name);
  std::ofstream(c.path, std::ios::binary) << text;
  ReferenceCount count;
  count.add(text);
  count.finish(c);
  return c;
}

Corpus count_corpus(std::string name, std::string path) {
  Corpus c;
  c.name = std::move(name);
  c.path = std::move(path);
  std::ifstream in(c.path, std::ios::binary);
  ReferenceCount count;
  std::string piece(std::size_t{8} << 20, '\0');
  while (in.read(piece.data(), static_cast<std::streamsize>(piece.size())) || in.gcount() > 0) {
    count.add(std::string_view(piece).substr(0, static_cast<std::size_t>(in.gcount())));
  }
  count.finish(c);
  return c;
}

std::vector<std::size_t> line_chunk_cuts(std::string_view text, std::size_t chunk_bytes) {
  std::vector<std::size_t> cuts{0};
  while (cuts.back() < text.size()) {
    const std::size_t next = std::min(text.size(), cuts.back() + chunk_bytes);
    const std::size_t nl = text.find('\n', next - 1);
    cuts.push_back(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return cuts;
}

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

Corpus write_distinct_corpus(std::string name, std::uint64_t n) {
  constexpr std::size_t kLetters = 7;
  constexpr std::size_t kLine = kLetters + 1;
  constexpr std::uint64_t kWordSpace = 8'031'810'176;  // 26^7
  constexpr std::size_t kPieceBytes = kLine << 20;     // 8 MiB written at a time
  const std::uint64_t space = std::bit_ceil(n);
  Corpus c;
  c.name = std::move(name);
  c.path = corpus_path(c.name);
  std::ofstream out(c.path, std::ios::binary);
  std::string piece;
  piece.reserve(kPieceBytes);
  char line[kLine];
  line[kLetters] = '\n';
  for (std::uint64_t i = 0; i < space; ++i) {
    const std::uint64_t id = (i * 0x9e3779b1u) & (space - 1);
    if (id >= n) continue;
    std::uint64_t v = (id * 2'654'435'761u) % kWordSpace;
    for (std::size_t k = kLetters; k-- > 0; v /= 26) line[k] = static_cast<char>('a' + v % 26);
    c.digest += row_digest(std::string_view(line, kLetters), 1);
    piece.append(line, kLine);
    if (piece.size() == kPieceBytes) {
      out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      piece.clear();
    }
  }
  out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
  c.bytes = n * kLine;
  c.words = n;
  c.distinct = n;
  return c;
}

void report_corpus(benchmark::State& state, const Corpus& c) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.bytes));
  state.SetLabel(c.name);
}

const char* tally_program() {
#ifdef TALLY_EXE
  return TALLY_EXE;
#else
  return nullptr;
#endif
}

bool skip_without_tally(benchmark::State& state) {
  if (tally_program() != nullptr) return false;
  for (auto _ : state) {
    state.SkipWithError("built without the tally program (TALLY_BUILD_TOOLS=OFF)");
    break;
  }
  return true;
}

std::string check_output(const fs::path& path, const Corpus& c, OutputFormat format) {
  LineReader lines(path);
  std::uint64_t rows = 0;
  std::uint64_t words = 0;
  std::uint64_t digest = 0;
  std::string prev_word;
  std::uint64_t prev_count = 0;
  std::string_view line;
  while (lines.next(line)) {
    std::string_view word;
    std::string_view number;
    if (format == OutputFormat::kTsv) {
      const std::size_t tab = line.find('\t');
      if (tab == std::string_view::npos) return "a line without a tab: " + std::string(line);
      word = line.substr(0, tab);
      number = line.substr(tab + 1);
    } else if (format == OutputFormat::kCountwords) {
      const std::size_t space = line.rfind(' ');
      if (space == std::string_view::npos) return "a line without a space: " + std::string(line);
      word = line.substr(0, space);
      number = line.substr(space + 1);
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
      bool ordered = false;
      switch (format) {
        case OutputFormat::kTsv:
          ordered = count < prev_count || (count == prev_count && prev_word < word);
          break;
        case OutputFormat::kCountwords:
          ordered = count <= prev_count;  // a repeated word shows in the digest
          break;
        case OutputFormat::kUniqC:
          ordered = prev_word < word;
          break;
      }
      if (!ordered) return "out of order: " + prev_word + " then " + std::string(word);
    }
    ++rows;
    words += count;
    digest += row_digest(word, count);
    prev_word.assign(word);
    prev_count = count;
  }
  if (lines.unterminated()) return "the last line has no newline";
  if (rows != c.distinct || words != c.words || digest != c.digest) {
    return std::to_string(rows) + " rows of " + std::to_string(words) + " words, expected " +
           std::to_string(c.distinct) + " of " + std::to_string(c.words) +
           (digest != c.digest ? ", and other words or counts" : "");
  }
  return {};
}

fs::path output_path(const std::string& out_name) { return scratch_dir() / (out_name + ".out"); }

void measure_program(benchmark::State& state, const std::vector<std::string>& argv,
                     const std::string& out_name, const CheckOutput& check,
                     const AfterRun& after_run) {
  const fs::path out = output_path(out_name);
  const fs::path err = scratch_dir() / (out_name + ".err");
  const fs::path report = scratch_dir() / (out_name + ".meter");
  // Outputs of 10^8-word corpora are gigabytes: none outlives its benchmark.
  struct RemoveFiles {
    std::vector<fs::path> paths;
    ~RemoveFiles() {
      std::error_code ignored;
      for (const fs::path& p : paths) fs::remove(p, ignored);
    }
  } const remove_files{{out, err, report}};
  std::int64_t peak_rss = 0;
  bool checked = false;
  for (auto _ : state) {
    const ProcessRun run = run_process(argv, out, err, report);
    if (!run.error.empty()) {
      state.SkipWithError(run.error.c_str());
      return;
    }
    state.SetIterationTime(run.seconds);
    peak_rss = std::max(peak_rss, run.max_rss_bytes);
    if (!checked) {
      if (const std::string wrong = check(out); !wrong.empty()) {
        state.SkipWithError(("wrong output: " + wrong).c_str());
        return;
      }
      checked = true;
    }
    if (after_run) {
      if (const std::string wrong = after_run(); !wrong.empty()) {
        state.SkipWithError(wrong.c_str());
        return;
      }
    }
  }
  state.counters["peak_rss_bytes"] = benchmark::Counter(
      static_cast<double>(peak_rss), benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
}

void measure_process(benchmark::State& state, const Corpus& c, const std::vector<std::string>& argv,
                     OutputFormat format, const std::string& out_name, const AfterRun& after_run) {
  if (const std::string wrong = check_corpus_file(c); !wrong.empty()) {
    state.SkipWithError(wrong.c_str());
    return;
  }
  measure_program(
      state, argv, out_name,
      [&c, format](const fs::path& out) { return check_output(out, c, format); }, after_run);
  report_corpus(state, c);
}

}  // namespace tally::bench
