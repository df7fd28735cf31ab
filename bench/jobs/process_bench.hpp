// What the benchmark suites of whole programs share (wordcount_bench, spill_bench): corpora
// written once per process to a scratch directory, their reference counts, and programs run
// end to end as child processes, timed, metered and their output checked.
//
// Corpora. A Corpus is a file in scratch_dir() with the counts every contender must reproduce
// (the countwords word rule: words split at ASCII whitespace, ASCII letters folded to lower
// case): total words, distinct words, and an order-independent digest of the (word, count)
// rows, so that a contender that loses, invents or miscounts a word fails its check instead of
// reporting a fast number.
//
// Programs (BM_Process_*): measure_process runs a program once per iteration through
// bench/jobs/process_meter, with posix_spawn: stdin from /dev/null, stdout to a file in the
// scratch directory (truncated before the program starts, so every byte is really written,
// into the page cache; writeback to disk is not waited for) and stderr to another. The time is
// wall clock from just before the spawn to wait4's return: exec, dynamic loading, reading the
// input, counting, sorting, writing the last byte and exiting. peak_rss_bytes is the largest
// ru_maxrss wait4 reported over the iterations; it counts the pages of a mapped input that were
// touched, and for a pipeline under `sh -c` the largest of its processes, not their sum.
// process_meter (process_meter.cpp says why it is a process of its own) keeps the benchmark's
// own size out of the contender's ru_maxrss; the floor is about 1 MB. The first iteration
// checks the output against the corpus's reference: every distinct word once with its count
// and the promised order. For TSV this fixes the output byte for byte.
//
// Thread safety: none; benchmarks run one at a time.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tally::bench {

struct Corpus {
  std::string name;  // the benchmark label: "kjv10", "generated", "distinct1e7", ...
  std::string path;
  std::uint64_t bytes = 0;
  std::uint64_t words = 0;     // the sequential reference count
  std::uint64_t distinct = 0;  // ditto
  std::uint64_t digest = 0;    // the sum of row_digest over the distinct words
};

// One (word, count) row's share of an order-independent digest of a whole count.
std::uint64_t row_digest(std::string_view word, std::uint64_t count);

// True if the environment variable `name` is set to something other than "" or "0".
bool env_flag(const char* name);

// A directory of this process's, removed when it exits: tally-<program>-<pid> in
// std::filesystem::temp_directory_path() ($TMPDIR, else /tmp).
const std::filesystem::path& scratch_dir();

// Writes `text` to <scratch>/<name>.txt and counts it the plainest way (a hash map of
// std::string): the reference every contender must match.
Corpus write_corpus(std::string name, const std::string& text);

// Counts an existing file as write_corpus counts its text, a few MB at a time (the text of a
// 1 GB corpus never sits in this process's memory; its distinct words do). A file that cannot
// be read counts as empty, and measure_process then fails on its size.
Corpus count_corpus(std::string name, std::string path);

// Word i of a synthetic vocabulary: distinct, lowercase, 2-14 letters.
std::string synthetic_word(std::uint64_t i);

// Where the oneTBB baselines cut `text` into chunks: 0, then each cut the first position at
// least `chunk_bytes` past the previous one that follows a newline (or the end), so every
// chunk holds whole lines.
std::vector<std::size_t> line_chunk_cuts(std::string_view text, std::size_t chunk_bytes);

// The King James Bible ten times over (43 MB, 32,187 distinct words), the countwords
// benchmark's input: from $TALLY_KJV, else ../shared/corpus/kjvbible.txt next to the source
// tree. When neither exists, a generated Zipf text of the same size and a similar vocabulary
// (Zipf(1) over 32,000 words, 12 a line) stands in and is named "generated". Written on the
// first call.
const Corpus& kjv10();

// Writes <scratch>/<name>.txt: `n` distinct words, each once, one per line, 8 bytes a line
// (REQUIRES: n <= 26^7). Line i holds id (i * odd) mod 2^k, ids past n skipped (a bijection on
// [0, 2^k), so every id comes once, scrambled); the word is (id * 2654435761) mod 26^7 written
// as 7 base-26 digits a-z, again a bijection (the multiplier is prime to 26), so the words are
// distinct and spread over the whole alphabet rather than sharing the prefix "aa". Every count
// is 1, so the reference is known without counting. Written a few MB at a time: 10^8 words
// (800 MB) never sit in this process's memory.
Corpus write_distinct_corpus(std::string name, std::uint64_t n);

// Sets the benchmark's bytes processed (the corpus once per iteration) and its label.
void report_corpus(benchmark::State& state, const Corpus& c);

// The tally program this binary was built with, or nullptr (TALLY_BUILD_TOOLS=OFF).
const char* tally_program();

// Marks a benchmark of the tally program as failed when there is none; true if it did.
bool skip_without_tally(benchmark::State& state);

enum class OutputFormat {
  kTsv,    // "word\tcount\n", count descending, then word ascending (bytewise)
  kUniqC,  // uniq -c's "%7d word\n", word ascending (LC_ALL=C sort's bytewise order)
  // countwords' "word count\n", count descending, words of equal count in any order (its
  // programs sort by count only)
  kCountwords,
};

// Checks a program's output file against the corpus's reference: one row per distinct word,
// with its count (row count, total of the counts, digest), in the order of `format`, each line
// exactly as the format prints it. Empty if it holds, else what is wrong. Reads the file a
// piece at a time, so a 1.6 GB output costs no more memory than a small one.
std::string check_output(const std::filesystem::path& path, const Corpus& c, OutputFormat format);

// Called after each run that exited 0, e.g. to read counters from a report the program wrote:
// empty if the run is acceptable, else what is wrong (the benchmark then fails with it).
using AfterRun = std::function<std::string()>;

// The file that measure_process checks for `out_name`: <scratch>/<out_name>.out, where the
// program's stdout goes. A program told to write its output to this path itself (`-o`, by
// renaming a finished file over it) replaces that file, and the check reads what it wrote.
std::filesystem::path output_path(const std::string& out_name);

// What is wrong with a program's output file, or empty if it is right.
using CheckOutput = std::function<std::string(const std::filesystem::path& out)>;

// Runs the program `argv` (argv[0] an absolute path) once per iteration through
// process_meter and reports its wall time (manual time) and peak RSS (the counter
// peak_rss_bytes); `check` judges its output (stdout, or what it wrote to output_path) on the
// first iteration, and the benchmark fails with what it says. `out_name` names its files in
// the scratch directory (<out_name>.out, .err, .meter), removed once the benchmark is done.
// For programs other than word counts (the other jobs' suites).
void measure_program(benchmark::State& state, const std::vector<std::string>& argv,
                     const std::string& out_name, const CheckOutput& check,
                     const AfterRun& after_run = nullptr);

// measure_program for a word count of `c`: checks the corpus file first, then the output
// against the corpus's reference (check_output), and reports the corpus's bytes.
void measure_process(benchmark::State& state, const Corpus& c, const std::vector<std::string>& argv,
                     OutputFormat format, const std::string& out_name,
                     const AfterRun& after_run = nullptr);

}  // namespace tally::bench
