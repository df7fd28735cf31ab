// Spilling under a memory budget: the `tally` program with `--memory` on corpora whose
// distinct words outgrow the budget, beside GNU sort at the same budget, and what a budget that
// is never reached costs (bench/README.md has the results).
//
// Corpora (process_bench.hpp writes them and holds their reference counts):
//  - distinct1e7: 10^7 distinct words, each once, one per line (80 MB), as in wordcount_bench.
//  - distinct1e8: 10^8 distinct words the same way (800 MB). Registered only when
//    TALLY_BENCH_LARGE=1: its benchmarks take minutes, and the scratch directory in $TMPDIR
//    (else /tmp) then holds up to about 5 GB at once (the corpus, an output of up to 1.6 GB,
//    tally's spill files or sort's temporary files).
//  - kjv10: the King James Bible ten times over (43 MB), as in wordcount_bench.
// With TALLY_BENCH_SMALL=1 (the ctest smoke run) distinct1e7 shrinks to 10^5 words (named
// distinct1e5) and distinct1e8 to 10^6 (distinct1e6, registered whatever TALLY_BENCH_LARGE
// says), and the budgets of 64, 128 and 256 MiB become 1, 2 and 4 MiB, so that the smoke run
// spills and merges (in more than one pass at 1 MiB) as the real run does, in seconds.
//
// Benchmarks, each a program run end to end through process_meter: wall time, peak RSS, the
// output checked against the reference on the first iteration (process_bench.hpp says how).
// One iteration per repetition on the distinct corpora.
//  - BM_Process_TallySpill/<corpus>/memory_mib:M  `tally wordcount -j 2 -f tsv --memory MM
//    --tmp-dir <scratch>/spill --report <scratch>/<name>.report.json FILE`, no --memory for
//    M = 0 (unlimited). Counters from the run report's "spill" object: spill_bytes, spill_runs,
//    merge_passes, result_spilled (1 if the result was merged on disk and streamed from there).
//    TSV's order is total (count, then word), so a passing check means the output is byte for
//    byte that of the unlimited run.
//  - BM_Process_SortUniq/<corpus>/memory_mib:M  `sh -c 'LC_ALL=C sort --parallel=2 -S MM -T
//    <scratch>/sorttmp -- FILE | LC_ALL=C uniq -c'`. sort has no "unlimited": memory_mib:0 runs
//    `-S 2G`, as wordcount_bench's BM_Process_SortUniq does, and its label says so. Its peak
//    RSS is the largest of sh, sort and uniq. sort's temporary bytes are not counted.
//  - BM_Process_TallyBudgetUnreached/kjv10/memory_mib:M  `tally wordcount -j 2 -f tsv --report
//    <scratch>/<name>.report.json [--memory 1024M] kjv10` for M = 0 and 1024: the cost of a
//    budget that is never reached. The report is written in both, and a run that spills fails
//    the benchmark (the budget would then not be "never reached").
#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/jobs/process_bench.hpp"

namespace tally::bench {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------------------------------
// Corpora and budgets
// ------------------------------------------------------------------------------------------

bool small_corpora() { return env_flag("TALLY_BENCH_SMALL"); }

std::string distinct1e7_name() { return small_corpora() ? "distinct1e5" : "distinct1e7"; }
std::string distinct1e8_name() { return small_corpora() ? "distinct1e6" : "distinct1e8"; }

const Corpus& distinct1e7() {
  static const Corpus corpus =
      write_distinct_corpus(distinct1e7_name(), small_corpora() ? 100'000 : 10'000'000);
  return corpus;
}

const Corpus& distinct1e8() {
  static const Corpus corpus =
      write_distinct_corpus(distinct1e8_name(), small_corpora() ? 1'000'000 : 100'000'000);
  return corpus;
}

// The budgets below "unlimited" (0), in MiB.
std::vector<std::int64_t> budgets_mib() {
  if (small_corpora()) return {1, 2, 4};
  return {64, 128, 256};
}

// `path`, made if it does not exist.
fs::path made_dir(fs::path path) {
  fs::create_directories(path);
  return path;
}

const fs::path& spill_dir() {
  static const fs::path dir = made_dir(scratch_dir() / "spill");
  return dir;
}

const fs::path& sort_tmp_dir() {
  static const fs::path dir = made_dir(scratch_dir() / "sorttmp");
  return dir;
}

// ------------------------------------------------------------------------------------------
// tally's run report
// ------------------------------------------------------------------------------------------

struct SpillCounters {
  std::uint64_t runs = 0;
  std::uint64_t bytes = 0;
  std::uint64_t merge_passes = 0;
  bool result_spilled = false;
};

// The unsigned number after "key": in `json`, if there is one.
std::optional<std::uint64_t> json_number(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\":";
  const std::size_t at = json.find(quoted);
  if (at == std::string_view::npos) return std::nullopt;
  const char* first = json.data() + at + quoted.size();
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(first, json.data() + json.size(), value);
  if (ec != std::errc() || end == first) return std::nullopt;
  return value;
}

// The "spill" object of a run report that `tally wordcount --report` wrote:
// "spill":{"runs":N,"bytes":N,"merge_passes":N,...,"result_spilled":true|false}. A string
// search is enough for the one object of the report that has these keys.
std::optional<SpillCounters> read_spill_report(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::size_t at = text.find("\"spill\":{");
  if (at == std::string::npos) return std::nullopt;
  const std::string_view spill = std::string_view(text).substr(at);
  const auto runs = json_number(spill, "runs");
  const auto bytes = json_number(spill, "bytes");
  const auto passes = json_number(spill, "merge_passes");
  constexpr std::string_view kResultSpilled = "\"result_spilled\":";
  const std::size_t flag = spill.find(kResultSpilled);
  if (!runs || !bytes || !passes || flag == std::string_view::npos) return std::nullopt;
  return SpillCounters{.runs = *runs,
                       .bytes = *bytes,
                       .merge_passes = *passes,
                       .result_spilled = spill.substr(flag + kResultSpilled.size(), 4) == "true"};
}

// Reads and removes the report of the run that just ended, so that every run must write its
// own; the largest counters over the iterations go to the benchmark's counters.
class SpillReport {
 public:
  SpillReport(benchmark::State& state, fs::path path) : state_(state), path_(std::move(path)) {}
  ~SpillReport() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  SpillReport(const SpillReport&) = delete;
  SpillReport& operator=(const SpillReport&) = delete;

  const fs::path& path() const { return path_; }
  const SpillCounters& most() const { return most_; }

  // Empty if the report was read, else what is wrong.
  std::string read() {
    const std::optional<SpillCounters> spill = read_spill_report(path_);
    std::error_code ignored;
    fs::remove(path_, ignored);
    if (!spill) return "no spill counters in the run report " + path_.string();
    most_.runs = std::max(most_.runs, spill->runs);
    most_.bytes = std::max(most_.bytes, spill->bytes);
    most_.merge_passes = std::max(most_.merge_passes, spill->merge_passes);
    most_.result_spilled = most_.result_spilled || spill->result_spilled;
    state_.counters["spill_bytes"] =
        benchmark::Counter(static_cast<double>(most_.bytes), benchmark::Counter::kDefaults,
                           benchmark::Counter::kIs1024);
    state_.counters["spill_runs"] = static_cast<double>(most_.runs);
    state_.counters["merge_passes"] = static_cast<double>(most_.merge_passes);
    state_.counters["result_spilled"] = most_.result_spilled ? 1 : 0;
    return {};
  }

 private:
  benchmark::State& state_;
  fs::path path_;
  SpillCounters most_;
};

// ------------------------------------------------------------------------------------------
// Benchmarks
// ------------------------------------------------------------------------------------------

void BM_Process_TallySpill(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  if (skip_without_tally(state)) return;
  const Corpus& c = corpus_fn();
  const std::int64_t mib = state.range(0);
  const std::string name = "tally-" + c.name + "-" + std::to_string(mib);
  SpillReport report(state, scratch_dir() / (name + ".report.json"));
  std::vector<std::string> argv{tally_program(), "wordcount", "-j", "2", "-f", "tsv"};
  if (mib != 0) argv.insert(argv.end(), {"--memory", std::to_string(mib) + "M"});
  argv.insert(argv.end(),
              {"--tmp-dir", spill_dir().string(), "--report", report.path().string(), c.path});
  measure_process(state, c, argv, OutputFormat::kTsv, name, [&] { return report.read(); });
}

void BM_Process_SortUniq(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  const Corpus& c = corpus_fn();
  const std::int64_t mib = state.range(0);
  const std::string size = mib == 0 ? "2G" : std::to_string(mib) + "M";
  measure_process(state, c,
                  {"/bin/sh", "-c",
                   "LC_ALL=C sort --parallel=2 -S \"$2\" -T \"$3\" -- \"$1\" | LC_ALL=C uniq -c",
                   "sh", c.path, size, sort_tmp_dir().string()},
                  OutputFormat::kUniqC, "sortuniq-" + c.name + "-" + std::to_string(mib));
  if (mib == 0) state.SetLabel(c.name + ", sort -S 2G");
}

void BM_Process_TallyBudgetUnreached(benchmark::State& state, const Corpus& (*corpus_fn)()) {
  if (skip_without_tally(state)) return;
  const Corpus& c = corpus_fn();
  const std::int64_t mib = state.range(0);
  const std::string name = "unreached-" + c.name + "-" + std::to_string(mib);
  SpillReport report(state, scratch_dir() / (name + ".report.json"));
  std::vector<std::string> argv{tally_program(), "wordcount", "-j", "2", "-f", "tsv"};
  if (mib != 0) argv.insert(argv.end(), {"--memory", std::to_string(mib) + "M"});
  argv.insert(argv.end(), {"--report", report.path().string(), c.path});
  measure_process(state, c, argv, OutputFormat::kTsv, name, [&]() -> std::string {
    if (std::string wrong = report.read(); !wrong.empty()) return wrong;
    if (report.most().runs != 0 || report.most().result_spilled) {
      return "the budget was reached (" + std::to_string(report.most().runs) +
             " spill runs): this benchmark is for a budget that never is";
    }
    return {};
  });
}

void register_all() {
  // Wall clock of the child process, not of this one.
  const auto process = [](benchmark::internal::Benchmark* b) {
    return b->UseManualTime()->Unit(benchmark::kMillisecond)->ArgName("memory_mib");
  };
  struct Distinct {
    std::string name;
    const Corpus& (*corpus)();
  };
  std::vector<Distinct> corpora{{distinct1e7_name(), &distinct1e7}};
  if (small_corpora() || env_flag("TALLY_BENCH_LARGE")) {
    corpora.push_back({distinct1e8_name(), &distinct1e8});
  }
  for (const Distinct& d : corpora) {
    // Seconds to minutes per iteration: one iteration per repetition.
    auto* tally = process(benchmark::RegisterBenchmark(("BM_Process_TallySpill/" + d.name).c_str(),
                                                       BM_Process_TallySpill, d.corpus));
    auto* sort = process(benchmark::RegisterBenchmark(("BM_Process_SortUniq/" + d.name).c_str(),
                                                      BM_Process_SortUniq, d.corpus));
    for (auto* b : {tally, sort}) {
      b->Arg(0);
      for (const std::int64_t mib : budgets_mib()) b->Arg(mib);
      b->Iterations(1);
    }
  }
  process(benchmark::RegisterBenchmark("BM_Process_TallyBudgetUnreached/kjv10",
                                       BM_Process_TallyBudgetUnreached, &kjv10))
      ->Arg(0)
      ->Arg(1024);
}

}  // namespace
}  // namespace tally::bench

int main(int argc, char** argv) {
  tally::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
