// Linear regression (jobs/linreg.hpp) side by side with what its targets are set against
// (bench/README.md, "The jobs suite"): a hand-written sequential loop at one thread, and its
// own one-thread run at two.
//
// Inputs (written once per process into the scratch directory by the generators of
// `tally generate-corpus`, tools/tally/generate_pairs.hpp; read through the page cache):
//  - pairs500M: 500 MB of (int8 x, int8 y) byte pairs, Phoenix++'s "large" linear_regression
//    input. With TALLY_BENCH_SMALL=1 (the ctest smoke run): 4 MB, named pairs4M.
//  - csv50M: 50 MB of "x,y" decimal lines, for the text path (parsing dominates). Small: 1 MB,
//    named csv1M.
//
// Contenders, each at 1 and 2 threads where it has threads:
//  - BM_Linreg_Tally/<input>/threads:T  Engine::run(BinaryLinreg or TextLinreg) on
//    Inputs::paths: opening and mapping the file, splitting, mapping and merging are timed.
//  - BM_Linreg_Sequential/<input>  the plain loop: for pairs, int64 sums over the bytes of
//    the mapped file in one loop; for text, each line parsed with parse_numbers and merged
//    into Moments, in order.
//  - BM_Linreg_Tbb/<input>/threads:T  the same loops under tbb::parallel_reduce in a
//    task_arena of T threads: for pairs over ranges of pairs, for text over newline-aligned
//    1 MiB chunks.
//  - BM_Linreg_Process/<input>/threads:T  `tally linreg [--binary] -j T -f tsv FILE` as a
//    child process through bench/jobs/process_meter: spawn to exit, wall time and peak RSS.
// Every contender's result is checked against the sequential loop's (computed once, before
// any timing): the pair sums exactly, the text fit to a relative 1e-9 (merges in another
// order round differently) with n exact; the process's printed fit likewise.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/jobs/process_bench.hpp"
#include "bench/one_cpu.hpp"
#include "tally/engine/engine.hpp"
#include "tally/jobs/linreg.hpp"
#include "tally/jobs/numeric_fields.hpp"
#include "tools/tally/generate_pairs.hpp"
#include "tools/tally/output.hpp"

namespace tally::bench {
namespace {

namespace fs = std::filesystem;
using jobs::LinearFit;
using jobs::Moments;
using jobs::PairSums;

// ------------------------------------------------------------------------------------------
// Inputs and their reference results
// ------------------------------------------------------------------------------------------

struct Dataset {
  std::string name;  // the benchmark label
  std::string path;
  std::uint64_t bytes = 0;
  bool binary = false;
  PairSums sums;      // binary: the sequential loop's, exact
  Moments moments;    // text: the sequential loop's
  LinearFit fit;      // fit_line of the above
  std::string error;  // what went wrong making it, if anything
};

bool small_inputs() { return env_flag("TALLY_BENCH_SMALL"); }

// Writes `bytes` of the generator's output to <scratch>/<name>; "" or what failed.
std::string generate(void (*generator)(const cli::GeneratorArgs&, cli::OutputFile&),
                     const std::string& path, std::uint64_t bytes) {
  cli::OutputFile out;
  if (Status s = out.open(path); !s.ok()) return s.to_string();
  generator(cli::GeneratorArgs{.bytes = bytes, .seed = 1}, out);
  if (Status s = out.commit(); !s.ok()) return s.to_string();
  return {};
}

// The mapped file (the same mapping the engine makes), or an error.
Result<Inputs> open_file(const std::string& path) {
  Inputs inputs = Inputs::paths({path});
  if (Status s = inputs.open(); !s.ok()) return s;
  return inputs;
}

// The hand-written loop: int64 sums over the pairs of `bytes`.
PairSums hand_loop(std::string_view bytes) {
  const auto* p = reinterpret_cast<const std::int8_t*>(bytes.data());
  const std::size_t n = bytes.size() / 2;
  std::int64_t sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t x = p[2 * i];
    const std::int64_t y = p[2 * i + 1];
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  return {static_cast<std::int64_t>(n), sx, sy, sxx, syy, sxy};
}

// The text loop: every line parsed and merged in order (the job's rules: blank lines
// skipped; these inputs have no bad line).
Moments text_loop(std::string_view text) {
  Moments m;
  std::vector<double> fields;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    jobs::parse_numbers(text.substr(pos, end - pos), fields);
    if (fields.size() >= 2) m = merge(m, Moments::of(fields[0], fields[1]));
    pos = end + 1;
  }
  return m;
}

std::string dataset_name(bool binary) {
  if (binary) return small_inputs() ? "pairs4M" : "pairs500M";
  return small_inputs() ? "csv1M" : "csv50M";
}

Dataset make_dataset(bool binary) {
  Dataset d;
  d.binary = binary;
  d.name = dataset_name(binary);
  if (binary) {
    d.bytes = small_inputs() ? 4'000'000 : 500'000'000;
  } else {
    d.bytes = small_inputs() ? 1'000'000 : 50'000'000;
  }
  d.path = (scratch_dir() / (d.name + (binary ? ".bin" : ".csv"))).string();
  d.error = generate(binary ? &cli::generate_pairs : &cli::generate_pairs_csv, d.path, d.bytes);
  if (!d.error.empty()) return d;
  d.bytes = fs::file_size(d.path);
  auto inputs = open_file(d.path);
  if (!inputs.ok()) {
    d.error = inputs.status().to_string();
    return d;
  }
  Result<LinearFit> fit = Status::Internal("unset");
  if (binary) {
    d.sums = hand_loop(inputs->data(0));
    fit = jobs::fit_line(d.sums);
  } else {
    d.moments = text_loop(inputs->data(0));
    fit = jobs::fit_line(d.moments);
  }
  if (!fit.ok()) {
    d.error = fit.status().to_string();
  } else {
    d.fit = *fit;
  }
  return d;
}

const Dataset& pairs() {
  static const Dataset d = make_dataset(true);
  return d;
}

const Dataset& csv() {
  static const Dataset d = make_dataset(false);
  return d;
}

// ------------------------------------------------------------------------------------------
// Checks
// ------------------------------------------------------------------------------------------

bool close(double got, double want) {
  return got == want || std::fabs(got - want) <= 1e-9 * std::fabs(want);
}

// "" if `fit` is the reference's: exactly for pairs, to 1e-9 for text (n exact for both).
std::string wrong_fit(const Dataset& d, const LinearFit& fit) {
  const bool same =
      d.binary ? fit.slope == d.fit.slope && fit.intercept == d.fit.intercept && fit.r2 == d.fit.r2
               : close(fit.slope, d.fit.slope) && close(fit.intercept, d.fit.intercept) &&
                     close(fit.r2, d.fit.r2);
  if (same && fit.n == d.fit.n) return {};
  std::ostringstream s;
  s.precision(17);
  s << "wrong fit: slope " << fit.slope << " intercept " << fit.intercept << " r2 " << fit.r2
    << " n " << fit.n << ", expected " << d.fit.slope << " " << d.fit.intercept << " " << d.fit.r2
    << " " << d.fit.n;
  return s.str();
}

// Fails the benchmark with `error` unless it is empty; true if it did.
bool failed(benchmark::State& state, const std::string& error) {
  if (error.empty()) return false;
  state.SkipWithError(error.c_str());
  return true;
}

void report_bytes(benchmark::State& state, const Dataset& d) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.bytes));
  state.SetLabel(d.name);
}

std::string check_sums(const Dataset& d, const PairSums& s) {
  if (s == d.sums) return {};
  return "wrong sums: n " + std::to_string(s.n) + " Sxy " + std::to_string(s.sxy) + ", expected " +
         std::to_string(d.sums.n) + " " + std::to_string(d.sums.sxy);
}

std::string check_moments(const Dataset& d, const Moments& m) {
  auto fit = jobs::fit_line(m);
  if (!fit.ok()) return fit.status().to_string();
  return wrong_fit(d, *fit);
}

// ------------------------------------------------------------------------------------------
// Contenders in this process
// ------------------------------------------------------------------------------------------

void BM_Linreg_Tally(benchmark::State& state, const Dataset& (*dataset)()) {
  const Dataset& d = dataset();
  if (failed(state, d.error)) return;
  Engine engine({.threads = static_cast<std::size_t>(state.range(0))});
  RunOptions options;
  if (d.binary) options.records = jobs::BinaryLinreg::kRecords;
  for (auto _ : state) {
    Inputs inputs = Inputs::paths({d.path});
    if (d.binary) {
      auto result = engine.run(jobs::BinaryLinreg{}, inputs, options);
      if (failed(state, result.ok() ? "" : result.status().to_string())) return;
      if (failed(state, check_sums(d, *result->table.find(0)))) return;
    } else {
      auto result = engine.run(jobs::TextLinreg{}, inputs, options);
      if (failed(state, result.ok() ? "" : result.status().to_string())) return;
      if (failed(state, check_moments(d, *result->table.find(0)))) return;
    }
  }
  report_bytes(state, d);
}

void BM_Linreg_Sequential(benchmark::State& state, const Dataset& (*dataset)()) {
  const Dataset& d = dataset();
  if (failed(state, d.error)) return;
  for (auto _ : state) {
    auto inputs = open_file(d.path);
    if (failed(state, inputs.ok() ? "" : inputs.status().to_string())) return;
    if (d.binary) {
      if (failed(state, check_sums(d, hand_loop(inputs->data(0))))) return;
    } else {
      if (failed(state, check_moments(d, text_loop(inputs->data(0))))) return;
    }
  }
  report_bytes(state, d);
}

// Pairs per tbb task at least: large enough that a task's overhead is noise.
constexpr std::size_t kTbbGrainPairs = std::size_t{1} << 16;
constexpr std::size_t kTbbChunkBytes = std::size_t{1} << 20;

void BM_Linreg_Tbb(benchmark::State& state, const Dataset& (*dataset)()) {
  const Dataset& d = dataset();
  if (failed(state, d.error)) return;
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto inputs = open_file(d.path);
    if (failed(state, inputs.ok() ? "" : inputs.status().to_string())) return;
    const std::string_view data = inputs->data(0);
    std::string wrong;
    if (d.binary) {
      const PairSums sums = arena.execute([&] {
        return tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, data.size() / 2, kTbbGrainPairs), PairSums{},
            [&](const tbb::blocked_range<std::size_t>& r, PairSums acc) {
              return acc + hand_loop(data.substr(2 * r.begin(), 2 * r.size()));
            },
            [](const PairSums& a, const PairSums& b) { return a + b; });
      });
      wrong = check_sums(d, sums);
    } else {
      const std::vector<std::size_t> cuts = line_chunk_cuts(data, kTbbChunkBytes);
      const Moments m = arena.execute([&] {
        return tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, cuts.size() - 1), Moments{},
            [&](const tbb::blocked_range<std::size_t>& r, Moments acc) {
              for (std::size_t k = r.begin(); k != r.end(); ++k) {
                acc = merge(acc, text_loop(data.substr(cuts[k], cuts[k + 1] - cuts[k])));
              }
              return acc;
            },
            [](const Moments& a, const Moments& b) { return merge(a, b); });
      });
      wrong = check_moments(d, m);
    }
    if (failed(state, wrong)) return;
  }
  report_bytes(state, d);
}

// ------------------------------------------------------------------------------------------
// The tally program, end to end
// ------------------------------------------------------------------------------------------

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The fit printed as TSV ("slope\tintercept\tr2\tn\n"), checked against the reference.
std::string check_printed(const Dataset& d, const std::string& tsv) {
  std::istringstream in(tsv);
  std::string slope, intercept, r2, n;
  if (!std::getline(in, slope, '\t') || !std::getline(in, intercept, '\t') ||
      !std::getline(in, r2, '\t') || !std::getline(in, n, '\n')) {
    return "unexpected output: " + tsv.substr(0, 200);
  }
  // Printed in the shortest form that reads back as the same double: strtod is exact.
  return wrong_fit(
      d, LinearFit{std::strtod(slope.c_str(), nullptr), std::strtod(intercept.c_str(), nullptr),
                   std::strtod(r2.c_str(), nullptr), std::stoull(n)});
}

void BM_Linreg_Process(benchmark::State& state, const Dataset& (*dataset)()) {
  if (skip_without_tally(state)) return;
  const Dataset& d = dataset();
  if (failed(state, d.error)) return;
  const std::string threads = std::to_string(state.range(0));
  std::vector<std::string> argv{tally_program(), "linreg", "-j", threads, "-f", "tsv", d.path};
  if (d.binary) argv.insert(argv.begin() + 2, "--binary");
  measure_program(state, argv, "linreg-" + d.name + "-" + threads,
                  [&d](const fs::path& out) { return check_printed(d, read_text(out)); });
  report_bytes(state, d);
}

void register_all() {
  for (const auto& [binary, dataset] :
       {std::pair<bool, const Dataset& (*)()>{true, &pairs}, {false, &csv}}) {
    const std::string suffix = "/" + dataset_name(binary);
    const auto real_time = [](benchmark::internal::Benchmark* b) {
      return b->UseRealTime()->Unit(benchmark::kMillisecond)->ArgName("threads");
    };
    real_time(benchmark::RegisterBenchmark(("BM_Linreg_Tally" + suffix).c_str(), BM_Linreg_Tally,
                                           dataset))
        ->Arg(1)
        ->Arg(2)
        ->Apply(one_thread_on_one_cpu);
    real_time(benchmark::RegisterBenchmark(("BM_Linreg_Sequential" + suffix).c_str(),
                                           BM_Linreg_Sequential, dataset))
        ->Arg(1)
        ->Apply(on_one_cpu);
    real_time(
        benchmark::RegisterBenchmark(("BM_Linreg_Tbb" + suffix).c_str(), BM_Linreg_Tbb, dataset))
        ->Arg(1)
        ->Arg(2)
        ->Apply(one_thread_on_one_cpu);
    benchmark::RegisterBenchmark(("BM_Linreg_Process" + suffix).c_str(), BM_Linreg_Process, dataset)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->Apply(one_thread_on_one_cpu);
  }
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
