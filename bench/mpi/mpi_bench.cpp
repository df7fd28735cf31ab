// tally across MPI ranks: the `tally` program run as one job over R ranks by Open MPI's
// mpirun, at R ranks of T threads each, beside MR-MPI's word count (bench/mpi/mrmpi_wordfreq)
// at the same ranks, and what mpirun costs before any of them counts a word
// (bench/README.md says how to run it).
//
// Corpora (process_bench.hpp writes them and holds their reference counts):
//  - kjv10: the King James Bible ten times over (43 MB), as in wordcount_bench.
//  - distinct1e7: 10^7 distinct words, each once, one per line (80 MB), as in spill_bench.
//  - generated1g: 1 GiB of `tally generate-corpus` text (Zipf over 50,000 words). Registered
//    only with TALLY_BENCH_LARGE=1: writing and counting it costs more than the rest of the
//    suite, and it takes 1 GiB in $TMPDIR (else /tmp).
// With TALLY_BENCH_SMALL=1 (the ctest smoke run) kjv10 becomes 4 MiB of generated text
// (generated4m, so that the smoke run needs no KJV file), distinct1e7 becomes 10^5 words
// (distinct1e5) and generated1g, when registered, 8 MiB (generated8m), so that every benchmark
// runs in seconds.
//
// Benchmarks, each a program run end to end through process_meter: wall time from spawning
// mpirun to its exit, peak RSS (the largest of mpirun and its ranks, not their sum), and the
// output checked against the reference on the first iteration (process_bench.hpp says how).
// Every program runs as `mpirun -np R --bind-to none [--oversubscribe] PROGRAM...`: unbound,
// so that a rank of 2 threads may use both cores, and oversubscribed only when R is above the
// cores this machine has (Open MPI refuses more ranks than slots otherwise).
//  - BM_Process_MpiLaunch/true/ranks:R  `mpirun ... true`: starting and reaping R processes
//    that do nothing.
//  - BM_Process_MpiLaunch/mpi_noop/ranks:R  `mpirun ... mpi_noop` (bench/mpi/mpi_noop.cpp):
//    R processes that call MPI_Init and MPI_Finalize and nothing else, so also connecting the
//    ranks and choosing their transports: the floor under every MPI program's time here. The
//    output of both (none) is checked like any other.
//  - BM_Process_MpiTally/<corpus>/ranks:R/threads:T  `mpirun ... tally wordcount -j T -f tsv
//    -o OUT --report REPORT PATH`, R and T in {1, 2}. Rank 0 writes OUT and REPORT. Counters
//    from the report's "mpi" object, averaged over the iterations: exchange_bytes,
//    exchange_rounds, exchange_seconds, gather_bytes, gather_seconds (bytes summed over ranks,
//    seconds the longest of any rank). A report without an "mpi" object, or one whose "ranks"
//    is not R, fails the benchmark: the program did not run as one job across the ranks.
//  - BM_Process_MrMpiWordFreq/<corpus>/ranks:R  `mpirun ... mrmpi_wordfreq -o OUT --report
//    REPORT --tmp-dir <scratch>/mrmpi PATH`, R in {1, 2}: MR-MPI's map, collate and reduce,
//    gathered to rank 0 and written in tally's TSV. Counters from its report, the same as
//    tally's but exchange_rounds, and spill_bytes: what MR-MPI wrote to its out-of-core files
//    (it keeps one page of 64 MB per dataset in memory).
//  - BM_Process_MpiTally/generated1g/ranks:R/threads:1, R in {1, 2}: one thread a rank on a
//    corpus large enough that the exchange is not lost in mpirun's start-up.
// One iteration per repetition on the distinct and generated1g corpora.
//
// Running as root: Open MPI's mpirun refuses to start unless OMPI_ALLOW_RUN_AS_ROOT=1 and
// OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 are in the environment. The suite does not set them; without
// them, as root, every benchmark fails with that reason instead of running.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/jobs/process_bench.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace tally::bench {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------------------------------
// Corpora
// ------------------------------------------------------------------------------------------

bool small_corpora() { return env_flag("TALLY_BENCH_SMALL"); }

// A corpus this suite may fail to make (`tally generate-corpus` can fail), with the reason.
struct MadeCorpus {
  Corpus corpus;
  std::string error;
};

// Runs `argv` (argv[0] an absolute path) to its end with stdout and stderr to `log`: empty if
// it exited 0, else what went wrong.
std::string run_to_end(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<std::string> args_storage = argv;
  std::vector<char*> args;
  for (std::string& a : args_storage) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return "cannot start " + argv[0] + ": " + std::strerror(rc);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::ifstream in(log);
  std::string said(300, '\0');
  in.read(said.data(), static_cast<std::streamsize>(said.size()));
  said.resize(static_cast<std::size_t>(in.gcount()));
  return argv[0] + " failed: " + said;
}

std::string generated_name(std::uint64_t mib) {
  return "generated" +
         (mib % 1024 == 0 ? std::to_string(mib / 1024) + "g" : std::to_string(mib) + "m");
}

// `mib` MiB of `tally generate-corpus` text (its default vocabulary and seed), counted for
// reference; written on the first call for each size.
const MadeCorpus& generated(std::uint64_t mib) {
  static std::map<std::uint64_t, MadeCorpus> made;
  if (const auto it = made.find(mib); it != made.end()) return it->second;
  MadeCorpus& m = made[mib];
  const std::string name = generated_name(mib);
  const fs::path path = scratch_dir() / (name + ".txt");
  if (tally_program() == nullptr) {
    m.error = "built without the tally program (TALLY_BUILD_TOOLS=OFF): no " + name;
  } else {
    m.error = run_to_end({tally_program(), "generate-corpus", "--size", std::to_string(mib) + "M",
                          "-o", path.string()},
                         scratch_dir() / (name + ".log"));
  }
  if (m.error.empty()) {
    m.corpus = count_corpus(name, path.string());
  } else {
    m.corpus.name = name;
  }
  return m;
}

constexpr std::uint64_t kSmallTextMib = 4;

std::string text_name() { return small_corpora() ? generated_name(kSmallTextMib) : "kjv10"; }
std::string distinct_name() { return small_corpora() ? "distinct1e5" : "distinct1e7"; }
std::uint64_t large_mib() { return small_corpora() ? 8 : 1024; }

const MadeCorpus& text_corpus() {
  static const MadeCorpus corpus =
      small_corpora() ? generated(kSmallTextMib) : MadeCorpus{.corpus = kjv10(), .error = {}};
  return corpus;
}

const MadeCorpus& distinct_corpus() {
  static const MadeCorpus corpus{
      .corpus = write_distinct_corpus(distinct_name(), small_corpora() ? 100'000 : 10'000'000),
      .error = {}};
  return corpus;
}

const MadeCorpus& large_corpus() { return generated(large_mib()); }

const fs::path& mrmpi_tmp_dir() {
  static const fs::path dir = [] {
    fs::path d = scratch_dir() / "mrmpi";
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// ------------------------------------------------------------------------------------------
// mpirun
// ------------------------------------------------------------------------------------------

// Why mpirun cannot start here, found without running it, or empty.
std::string launch_problem() {
  if (geteuid() == 0 &&
      !(env_flag("OMPI_ALLOW_RUN_AS_ROOT") && env_flag("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"))) {
    return "running as root: Open MPI's mpirun needs OMPI_ALLOW_RUN_AS_ROOT=1 and "
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment";
  }
  return {};
}

// Marks the benchmark failed, with the reason, if its program cannot be run; true if it did.
bool skip_if(benchmark::State& state, const std::string& problem) {
  if (problem.empty()) return false;
  for (auto _ : state) {
    state.SkipWithError(problem.c_str());
    break;
  }
  return true;
}

// `mpirun -np ranks --bind-to none [--oversubscribe] program...`.
std::vector<std::string> under_mpirun(std::int64_t ranks, const std::vector<std::string>& program) {
  std::vector<std::string> argv{MPIEXEC_EXE, "-np", std::to_string(ranks), "--bind-to", "none"};
  if (ranks > static_cast<std::int64_t>(std::thread::hardware_concurrency())) {
    argv.emplace_back("--oversubscribe");
  }
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

// ------------------------------------------------------------------------------------------
// Run reports
// ------------------------------------------------------------------------------------------

// A number of a run report that becomes a benchmark counter.
struct ReportField {
  const char* pointer;  // a JSON pointer into the report
  const char* counter;
  bool bytes;  // shown in powers of 1024
};

constexpr ReportField kTallyFields[] = {
    {"/mpi/exchange_bytes", "exchange_bytes", true},
    {"/mpi/exchange_rounds", "exchange_rounds", false},
    {"/mpi/exchange_seconds", "exchange_seconds", false},
    {"/mpi/gather_bytes", "gather_bytes", true},
    {"/mpi/gather_seconds", "gather_seconds", false},
};

constexpr ReportField kMrMpiFields[] = {
    {"/mpi/exchange_bytes", "exchange_bytes", true},
    {"/mpi/exchange_seconds", "exchange_seconds", false},
    {"/mpi/gather_bytes", "gather_bytes", true},
    {"/mpi/gather_seconds", "gather_seconds", false},
    {"/spill_bytes", "spill_bytes", true},
};

// The report that the program of one benchmark writes on every run: read and removed after
// each run, so that every run must write its own; its fields become counters, averaged over
// the runs.
class RankReport {
 public:
  template <std::size_t N>
  RankReport(benchmark::State& state, fs::path path, std::int64_t ranks,
             const ReportField (&fields)[N])
      : state_(state),
        path_(std::move(path)),
        ranks_(ranks),
        fields_(fields, fields + N),
        sums_(N, 0.0) {}
  ~RankReport() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  RankReport(const RankReport&) = delete;
  RankReport& operator=(const RankReport&) = delete;

  const fs::path& path() const { return path_; }

  // Empty if the report was read, else what is wrong with it.
  std::string read() {
    std::ifstream in(path_);
    const nlohmann::json report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    in.close();
    std::error_code ignored;
    fs::remove(path_, ignored);
    if (report.is_discarded()) return "no run report, or not JSON: " + path_.string();
    const nlohmann::json* mpi =
        report.is_object() && report.contains("mpi") ? &report["mpi"] : nullptr;
    if (mpi == nullptr || !mpi->is_object()) {
      return "the run report has no \"mpi\" object: the ranks did not run as one job";
    }
    if (!mpi->contains("ranks") || !(*mpi)["ranks"].is_number_integer() ||
        (*mpi)["ranks"].get<std::int64_t>() != ranks_) {
      return "the run report's mpi.ranks is not " + std::to_string(ranks_) + ": " + mpi->dump();
    }
    std::vector<double> values;
    for (const ReportField& f : fields_) {
      const nlohmann::json::json_pointer at(f.pointer);
      if (!report.contains(at) || !report[at].is_number()) {
        return std::string("the run report has no number at ") + f.pointer;
      }
      values.push_back(report[at].get<double>());
    }
    ++runs_;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      sums_[i] += values[i];
      state_.counters[fields_[i].counter] = benchmark::Counter(
          sums_[i] / static_cast<double>(runs_), benchmark::Counter::kDefaults,
          fields_[i].bytes ? benchmark::Counter::kIs1024 : benchmark::Counter::kIs1000);
    }
    return {};
  }

 private:
  benchmark::State& state_;
  fs::path path_;
  std::int64_t ranks_;
  std::vector<ReportField> fields_;
  std::vector<double> sums_;
  std::int64_t runs_ = 0;
};

// ------------------------------------------------------------------------------------------
// Benchmarks
// ------------------------------------------------------------------------------------------

void BM_Process_MpiLaunch(benchmark::State& state, const char* program) {
  if (skip_if(state, launch_problem())) return;
  static const Corpus nothing = write_corpus("empty", "");
  const std::int64_t ranks = state.range(0);
  const std::string name = fs::path(program).filename().string();
  measure_process(state, nothing, under_mpirun(ranks, {program}), OutputFormat::kTsv,
                  "launch-" + name + "-" + std::to_string(ranks));
  state.SetLabel(name);
}

void BM_Process_MpiTally(benchmark::State& state, const MadeCorpus& (*corpus_fn)()) {
  if (skip_without_tally(state) || skip_if(state, launch_problem())) return;
  const MadeCorpus& made = corpus_fn();
  if (skip_if(state, made.error)) return;
  const Corpus& c = made.corpus;
  const std::int64_t ranks = state.range(0);
  const std::int64_t threads = state.range(1);
  const std::string name =
      "tally-" + c.name + "-" + std::to_string(ranks) + "x" + std::to_string(threads);
  RankReport report(state, scratch_dir() / (name + ".report.json"), ranks, kTallyFields);
  measure_process(state, c,
                  under_mpirun(ranks, {tally_program(), "wordcount", "-j", std::to_string(threads),
                                       "-f", "tsv", "-o", output_path(name).string(), "--report",
                                       report.path().string(), c.path}),
                  OutputFormat::kTsv, name, [&] { return report.read(); });
}

void BM_Process_MrMpiWordFreq(benchmark::State& state, const MadeCorpus& (*corpus_fn)()) {
  if (skip_if(state, launch_problem())) return;
  const MadeCorpus& made = corpus_fn();
  if (skip_if(state, made.error)) return;
  const Corpus& c = made.corpus;
  const std::int64_t ranks = state.range(0);
  const std::string name = "mrmpi-" + c.name + "-" + std::to_string(ranks);
  RankReport report(state, scratch_dir() / (name + ".report.json"), ranks, kMrMpiFields);
  measure_process(
      state, c,
      under_mpirun(ranks, {MRMPI_WORDFREQ_EXE, "-o", output_path(name).string(), "--report",
                           report.path().string(), "--tmp-dir", mrmpi_tmp_dir().string(), c.path}),
      OutputFormat::kTsv, name, [&] { return report.read(); });
}

void register_all() {
  // Wall clock of the child process, not of this one.
  const auto process = [](benchmark::internal::Benchmark* b) {
    return b->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  for (const char* program : {"true", MPI_NOOP_EXE}) {
    const std::string name = fs::path(program).filename().string();
    process(benchmark::RegisterBenchmark(("BM_Process_MpiLaunch/" + name).c_str(),
                                         BM_Process_MpiLaunch, program))
        ->ArgName("ranks")
        ->Arg(1)
        ->Arg(2);
  }
  struct Input {
    std::string name;
    const MadeCorpus& (*corpus)();
    bool one_iteration;  // seconds per run: one iteration per repetition
  };
  for (const Input& in :
       {Input{text_name(), &text_corpus, false}, Input{distinct_name(), &distinct_corpus, true}}) {
    auto* tally = process(benchmark::RegisterBenchmark(("BM_Process_MpiTally/" + in.name).c_str(),
                                                       BM_Process_MpiTally, in.corpus))
                      ->ArgNames({"ranks", "threads"})
                      ->ArgsProduct({{1, 2}, {1, 2}});
    auto* mrmpi =
        process(benchmark::RegisterBenchmark(("BM_Process_MrMpiWordFreq/" + in.name).c_str(),
                                             BM_Process_MrMpiWordFreq, in.corpus))
            ->ArgName("ranks")
            ->Arg(1)
            ->Arg(2);
    if (in.one_iteration) {
      tally->Iterations(1);
      mrmpi->Iterations(1);
    }
  }
  if (env_flag("TALLY_BENCH_LARGE")) {
    process(
        benchmark::RegisterBenchmark(("BM_Process_MpiTally/" + generated_name(large_mib())).c_str(),
                                     BM_Process_MpiTally, &large_corpus))
        ->ArgNames({"ranks", "threads"})
        ->Args({1, 1})
        ->Args({2, 1})
        ->Iterations(1);
  }
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
