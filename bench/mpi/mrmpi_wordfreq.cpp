// A word count with MR-MPI (Sandia's MapReduce-MPI library): the comparator that
// bench/mpi/mpi_bench.cpp runs across MPI ranks beside `tally wordcount`. Not part of tally.
//
//   mpirun -np R mrmpi_wordfreq [-o FILE] [--report FILE] [--tmp-dir DIR] PATH...
//
// It is MR-MPI's examples/wordfreq.cpp made to count and print as `tally wordcount -f tsv`
// does, so that its output can be checked against the same reference byte for byte. As in the
// example, map emits (word, nothing) for every word, collate brings every copy of a word to
// one rank, and reduce emits (word, how many values it had). What differs:
//  - The word rule is tally's default: a word is a maximal run of bytes other than the six
//    ASCII whitespace bytes, with A-Z lowercased (the example split at strtok's set, which
//    lacks \v, and kept case). Keys are the word's bytes without a terminating NUL.
//  - The input is read with MR-MPI's chunked map: kTasksPerRank tasks per rank, each about the
//    same number of bytes, cut after a newline, so that ranks get equal shares of one big file
//    (the example gave each rank whole files). PATH may name files or directories (searched
//    recursively by MR-MPI). MR-MPI finds a cut with strchr, so the text must hold no NUL byte,
//    and no line may be longer than kChunkSlack.
//  - The counts (8-byte) are gathered to rank 0, which writes them as `tally wordcount -f tsv`:
//    "word\tcount\n", count descending, then word ascending (bytewise), no header. To stdout,
//    or with -o into a temporary file next to FILE that is synced and renamed over it, as
//    tally writes -o, so that both pay the same for their output.
//  - --report FILE (written by rank 0) holds the communication as MR-MPI counts it, in the
//    shape of the "mpi" object of tally's run report, and the bytes MR-MPI wrote to its
//    out-of-core files:
//      {"mrmpi_wordfreq_report":1,"mpi":{"ranks":R,"exchange_bytes":B,"exchange_seconds":S,
//       "gather_bytes":B,"gather_seconds":S},"spill_bytes":B}
//    exchange_*: collate's all-to-all; gather_*: gather(1). Bytes are those sent, summed over
//    ranks; seconds the longest any rank spent communicating.
//  - --tmp-dir DIR: where MR-MPI writes the pages that do not fit in memory (MR-MPI keeps one
//    page of MapReduce::memsize MB per dataset and writes the rest to files). Default $TMPDIR,
//    else /tmp, as tally's --tmp-dir; MR-MPI's own default is the working directory.
//
// MR-MPI prints its warnings and errors with printf, so the process's stdout is kept aside
// for the counts and descriptor 1 is pointed at stderr before MR-MPI runs. (A file of less
// than kChunkSlack bytes a task gets fewer tasks, and MR-MPI warns about it there.)
//
// Exit status: 0 success, 2 usage, 3 an input cannot be read, 4 the output cannot be written.
// MR-MPI aborts the job (MPI_Abort) on errors of its own, such as a line longer than
// kChunkSlack.
#include <fcntl.h>
#include <mpi.h>
#include <mrmpi/keyvalue.h>
#include <mrmpi/mapreduce.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using MAPREDUCE_NS::KeyValue;
using MAPREDUCE_NS::MapReduce;

constexpr int kExitUsage = 2;
constexpr int kExitInput = 3;
constexpr int kExitOutput = 4;

// Map tasks per rank: more than one so that a rank whose chunk ends in long lines does not
// hold the others up for long, few so that each task's read stays large.
constexpr int kTasksPerRank = 4;
// How far past its share a task reads to find the newline that ends its last line. A longer
// line aborts the run (MR-MPI: "Could not find file separator within delta").
constexpr int kChunkSlack = 1 << 20;

// The countwords whitespace set, as tally's default word rule (jobs/word_scan.hpp).
constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

constexpr bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }

struct Options {
  std::string output;  // "" for stdout
  std::string report;  // "" for none
  std::string tmp_dir;
  std::vector<char*> paths;  // MR-MPI takes char**
};

// The options, or an error message.
std::pair<Options, std::string> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool takes_value = arg == "-o" || arg == "--report" || arg == "--tmp-dir";
    if (takes_value) {
      if (i + 1 == argc) return {o, std::string(arg) + " needs a value"};
      std::string& value = arg == "-o" ? o.output : arg == "--report" ? o.report : o.tmp_dir;
      value = argv[++i];
    } else if (arg.size() > 1 && arg[0] == '-') {
      return {o, "unknown option " + std::string(arg)};
    } else {
      o.paths.push_back(argv[i]);
    }
  }
  if (o.paths.empty()) return {o, "no input"};
  if (o.tmp_dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    o.tmp_dir = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  return {o, {}};
}

// Every path names a file or directory that can be read; else the first that does not, and why.
std::string check_inputs(const Options& o) {
  for (const char* path : o.paths) {
    struct stat st {};
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
      return std::string(path) + ": " + std::strerror(errno);
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
      return std::string(path) + ": not a file or directory";
    }
  }
  return {};
}

// MR-MPI's chunked map callback: `text` is one chunk of a file, `size` bytes with the NUL that
// MR-MPI put after it. The chunk is MR-MPI's own buffer, freed after this call, so words are
// lowercased in place and added from there (KeyValue::add copies them).
void map_words(int /*task*/, char* text, int size, KeyValue* kv, void* /*ptr*/) {
  char* const end = text + size - 1;
  char* p = text;
  for (;;) {
    while (p != end && is_ascii_space(*p)) ++p;
    if (p == end) return;
    char* const word = p;
    for (; p != end && !is_ascii_space(*p); ++p) {
      if (is_upper(*p)) *p = static_cast<char>(*p - 'A' + 'a');
    }
    kv->add(word, static_cast<int>(p - word), nullptr, 0);
  }
}

// MR-MPI's reduce callback: one word with all its (empty) values; emits (word, count). A word
// whose values span more than one page comes with nvalues 0, and `valuebytes` is then the
// MapReduce object, which knows the total.
void sum_counts(char* key, int keybytes, char* /*multivalue*/, int nvalues, int* valuebytes,
                KeyValue* kv, void* /*ptr*/) {
  std::uint64_t count = static_cast<std::uint64_t>(nvalues);
  if (nvalues == 0) {
    int blocks = 0;
    count = reinterpret_cast<MapReduce*>(valuebytes)->multivalue_blocks(blocks);
  }
  kv->add(key, keybytes, reinterpret_cast<char*>(&count), sizeof count);
}

using Rows = std::vector<std::pair<std::string, std::uint64_t>>;

// MR-MPI's scan callback over the gathered (word, count) pairs.
void collect_row(char* key, int keybytes, char* value, int /*valuebytes*/, void* ptr) {
  std::uint64_t count = 0;
  std::memcpy(&count, value, sizeof count);
  static_cast<Rows*>(ptr)->emplace_back(std::string(key, static_cast<std::size_t>(keybytes)),
                                        count);
}

// Writes all of `bytes` to `fd`; false, with errno set, if a write fails.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t w = write(fd, bytes.data(), bytes.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

// Writes the rows as TSV to `fd` through a buffer of a few hundred KB; false, with errno set,
// if a write fails.
bool write_rows(int fd, const Rows& rows) {
  constexpr std::size_t kBuffer = std::size_t{256} << 10;
  std::string buf;
  buf.reserve(kBuffer + 64);
  char digits[24];
  for (const auto& [word, count] : rows) {
    buf += word;
    digits[0] = '\t';
    char* last = std::to_chars(digits + 1, digits + sizeof digits - 1, count).ptr;
    *last++ = '\n';
    buf.append(digits, static_cast<std::size_t>(last - digits));
    if (buf.size() >= kBuffer) {
      if (!write_all(fd, buf)) return false;
      buf.clear();
    }
  }
  return write_all(fd, buf);
}

// Calls write_to(fd) for `stdout_fd` (the process's stdout, kept aside) if `path` is "" or "-",
// else for a temporary file next to `path` that is then synced and renamed over it. Empty on
// success, else what failed.
template <typename WriteTo>
std::string write_file(const std::string& path, int stdout_fd, const WriteTo& write_to) {
  if (path.empty() || path == "-") {
    return write_to(stdout_fd) ? "" : std::string("stdout: ") + std::strerror(errno);
  }
  const std::filesystem::path target(path);
  const std::filesystem::path tmp =
      target.parent_path() /
      ("." + target.filename().string() + ".mrmpi_wordfreq-" + std::to_string(getpid()));
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return "a temporary file next to " + path + ": " + std::strerror(errno);
  bool ok = write_to(fd) && fsync(fd) == 0;
  int err = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmp.c_str(), target.c_str()) == 0) return {};
  if (ok) err = errno;
  unlink(tmp.c_str());
  return path + ": " + std::strerror(err);
}

// What one rank counted of its communication and out-of-core files; after fold_traffic, the
// whole job's.
struct Traffic {
  std::uint64_t exchange_bytes = 0;
  std::uint64_t gather_bytes = 0;
  std::uint64_t spill_bytes = 0;
  double exchange_seconds = 0;
  double gather_seconds = 0;
};

// Every rank's traffic folded on rank 0: bytes summed, seconds the longest.
Traffic fold_traffic(const Traffic& mine) {
  const std::uint64_t bytes[3] = {mine.exchange_bytes, mine.gather_bytes, mine.spill_bytes};
  const double seconds[2] = {mine.exchange_seconds, mine.gather_seconds};
  std::uint64_t bytes_sum[3] = {};
  double seconds_max[2] = {};
  MPI_Reduce(bytes, bytes_sum, 3, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(seconds, seconds_max, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  return {.exchange_bytes = bytes_sum[0],
          .gather_bytes = bytes_sum[1],
          .spill_bytes = bytes_sum[2],
          .exchange_seconds = seconds_max[0],
          .gather_seconds = seconds_max[1]};
}

std::string report_json(int ranks, const Traffic& t) {
  return "{\"mrmpi_wordfreq_report\":1,\"mpi\":{\"ranks\":" + std::to_string(ranks) +
         ",\"exchange_bytes\":" + std::to_string(t.exchange_bytes) +
         ",\"exchange_seconds\":" + std::to_string(t.exchange_seconds) +
         ",\"gather_bytes\":" + std::to_string(t.gather_bytes) +
         ",\"gather_seconds\":" + std::to_string(t.gather_seconds) +
         "},\"spill_bytes\":" + std::to_string(t.spill_bytes) + "}\n";
}

// The whole run on one rank; its exit status.
int run(int argc, char** argv, int rank, int ranks, int stdout_fd) {
  auto [options, usage_error] = parse_options(argc, argv);
  if (!usage_error.empty()) {
    if (rank == 0) {
      std::fprintf(stderr,
                   "mrmpi_wordfreq: %s\nusage: mpirun -np R mrmpi_wordfreq [-o FILE] "
                   "[--report FILE] [--tmp-dir DIR] PATH...\n",
                   usage_error.c_str());
    }
    return kExitUsage;
  }
  // Checked by rank 0 alone, as MR-MPI lists the files there; the verdict goes to every rank
  // so that all of them return instead of MR-MPI aborting the job.
  int inputs_ok = 1;
  if (rank == 0) {
    if (const std::string wrong = check_inputs(options); !wrong.empty()) {
      std::fprintf(stderr, "mrmpi_wordfreq: %s\n", wrong.c_str());
      inputs_ok = 0;
    }
  }
  MPI_Bcast(&inputs_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (inputs_ok == 0) return kExitInput;

  Traffic traffic;
  Rows rows;
  {
    MapReduce mr(MPI_COMM_WORLD);
    mr.verbosity = 0;
    mr.timer = 0;
    mr.set_fpath(options.tmp_dir.c_str());
    mr.map(kTasksPerRank * ranks, static_cast<int>(options.paths.size()), options.paths.data(),
           /*recurse=*/1, /*readfile=*/0, '\n', kChunkSlack, map_words, nullptr);
    mr.collate(nullptr);
    mr.reduce(sum_counts, nullptr);
    traffic.exchange_bytes = MapReduce::cssize;
    traffic.exchange_seconds = MapReduce::commtime;
    mr.gather(1);
    traffic.gather_bytes = MapReduce::cssize - traffic.exchange_bytes;
    traffic.gather_seconds = MapReduce::commtime - traffic.exchange_seconds;
    traffic.spill_bytes = MapReduce::wsize;
    // Collective (it ends in an all-reduce); the ranks other than 0 hold nothing after gather.
    mr.scan(collect_row, &rows);
  }
  traffic = fold_traffic(traffic);
  if (rank != 0) return 0;

  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::string wrong =
      write_file(options.output, stdout_fd, [&rows](int fd) { return write_rows(fd, rows); });
  if (wrong.empty() && !options.report.empty()) {
    const std::string json = report_json(ranks, traffic);
    wrong = write_file(options.report, stdout_fd, [&json](int fd) { return write_all(fd, json); });
  }
  if (!wrong.empty()) {
    std::fprintf(stderr, "mrmpi_wordfreq: cannot write %s\n", wrong.c_str());
    return kExitOutput;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int stdout_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (stdout_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::fprintf(stderr, "mrmpi_wordfreq: cannot set stdout aside: %s\n", std::strerror(errno));
    return kExitOutput;
  }
  MPI_Init(&argc, &argv);
  int rank = 0;
  int ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const int status = run(argc, argv, rank, ranks, stdout_fd);
  MPI_Finalize();
  return status;
}
