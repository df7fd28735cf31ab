// k-means (Lloyd's algorithm) on the engine beside a plain sequential loop and oneTBB, in one
// binary, and the `tally kmeans` program end to end.
//
// Input: Phoenix's "large" k-means, 500,000 3-D points and k = 100 (with TALLY_BENCH_SMALL=1,
// the ctest smoke run: 20,000 points, k = 10), written once per process as CSV by the
// generator of `tally generate-corpus --kind points` (tools/tally/generate_points.hpp, seed
// 1) into the scratch directory, then parsed once into memory for the in-process contenders.
// Every contender runs the same algorithm (jobs/kmeans.hpp: the same initial rows, seed 1,
// the same nearest-centroid rule, compensated sums, the same stopping rule) for at most
// kIterations iterations, so they all do the same work; the counter `iterations` says how
// many ran. Items processed: points x iterations.
//
// Contenders in this process (the points already in memory; one k-means run per iteration):
//  - BM_KMeans_Tally/threads:T  jobs::kmeans on an Engine of T workers: iterate() over the
//    points as an Inputs::array, a dense job per round.
//  - BM_KMeans_Sequential  the plain loop: per iteration, every point to its nearest centroid,
//    sums per cluster, new centroids. Its result is the reference.
//  - BM_KMeans_Tbb/threads:T  the same loop with the points cut by tbb::parallel_reduce
//    (per-task arrays of sums, joined), in a task_arena of T threads.
// Each checks its iterations, cluster sizes (exactly) and centroids (to 1e-9 of the data's
// scale) against the reference, and fails (SkipWithError) on a mismatch.
//
// The program (BM_Process_TallyKMeans/threads:T): `tally kmeans -j T -k K --max-iter N
// --seed 1 -f tsv points.csv` through bench/jobs/process_meter, spawn to exit: reading and
// parsing the CSV, the iterations, the output. Its output is checked against the reference
// on the first run.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/jobs/process_bench.hpp"
#include "bench/one_cpu.hpp"
#include "tally/engine/engine.hpp"
#include "tally/jobs/compensated_sum.hpp"
#include "tally/jobs/kmeans.hpp"
#include "tally/jobs/numeric_fields.hpp"
#include "tools/tally/generate_points.hpp"

namespace tally::bench {
namespace {

namespace fs = std::filesystem;
using jobs::CompensatedSum;

constexpr std::size_t kDims = cli::PointRows::kDims;
constexpr std::size_t kIterations = 10;
constexpr std::uint64_t kSeed = 1;

bool small() { return env_flag("TALLY_BENCH_SMALL"); }

// What every contender must produce.
struct Clustering {
  std::vector<double> centroids;  // k x kDims
  std::vector<std::uint64_t> sizes;
  std::size_t iterations = 0;
};

struct Workload {
  std::string name;  // the label: "points500000_k100"
  std::string path;  // the CSV
  std::size_t k = 0;
  std::vector<double> points;  // parsed from the CSV, row after row
  double scale = 0;            // the largest |coordinate|: the centroids' tolerance is 1e-9 of it
  Clustering reference;        // the sequential result
};

// ------------------------------------------------------------------------------------------
// The sequential loop (the reference) and the oneTBB one
// ------------------------------------------------------------------------------------------

// The state of one run: the centroids and each point's cluster.
struct Lloyd {
  std::vector<double> centroids;
  std::vector<std::uint32_t> cluster_of;
  std::vector<std::uint64_t> sizes;
  std::size_t iterations = 0;

  Lloyd(const std::vector<double>& points, std::size_t k)
      : cluster_of(points.size() / kDims, std::numeric_limits<std::uint32_t>::max()), sizes(k, 0) {
    for (const std::size_t row : jobs::kmeans_initial_rows(points.size() / kDims, k, kSeed)) {
      for (std::size_t j = 0; j < kDims; ++j) centroids.push_back(points[row * kDims + j]);
    }
  }

  std::size_t k() const { return sizes.size(); }

  std::uint32_t nearest(const double* x) const {
    std::uint32_t best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (std::uint32_t c = 0; c < k(); ++c) {
      double distance = 0;
      for (std::size_t j = 0; j < kDims; ++j) {
        const double diff = x[j] - centroids[c * kDims + j];
        distance += diff * diff;
      }
      if (distance < best_distance) {
        best_distance = distance;
        best = c;
      }
    }
    return best;
  }

  // Sums per cluster: kDims coordinates then the count, then the changes at the end.
  std::size_t sum_slots() const { return k() * (kDims + 1) + 1; }

  // Assigns points [lo, hi) and adds them into `sums` (sum_slots() of them).
  void assign(const std::vector<double>& points, std::size_t lo, std::size_t hi,
              std::vector<CompensatedSum>& sums) {
    for (std::size_t i = lo; i < hi; ++i) {
      const double* x = &points[i * kDims];
      const std::uint32_t c = nearest(x);
      for (std::size_t j = 0; j < kDims; ++j) sums[c * (kDims + 1) + j].add(x[j]);
      sums[c * (kDims + 1) + kDims].add(1);
      if (cluster_of[i] != c) {
        sums.back().add(1);
        cluster_of[i] = c;
      }
    }
  }

  // New centroids from the sums; true once no point changed cluster.
  bool update(const std::vector<CompensatedSum>& sums) {
    ++iterations;
    for (std::size_t c = 0; c < k(); ++c) {
      const double count = sums[c * (kDims + 1) + kDims].value();
      sizes[c] = static_cast<std::uint64_t>(count);
      if (count == 0) continue;
      for (std::size_t j = 0; j < kDims; ++j) {
        centroids[c * kDims + j] = sums[c * (kDims + 1) + j].value() / count;
      }
    }
    return sums.back().value() == 0;
  }

  Clustering result() const { return {centroids, sizes, iterations}; }
};

Clustering sequential_kmeans(const std::vector<double>& points, std::size_t k) {
  Lloyd lloyd(points, k);
  const std::size_t n = points.size() / kDims;
  std::vector<CompensatedSum> sums;
  for (std::size_t round = 0; round < kIterations; ++round) {
    sums.assign(lloyd.sum_slots(), CompensatedSum{});
    lloyd.assign(points, 0, n, sums);
    if (lloyd.update(sums)) break;
  }
  return lloyd.result();
}

Clustering tbb_kmeans(const std::vector<double>& points, std::size_t k, tbb::task_arena& arena) {
  Lloyd lloyd(points, k);
  const std::size_t n = points.size() / kDims;
  arena.execute([&] {
    for (std::size_t round = 0; round < kIterations; ++round) {
      const std::vector<CompensatedSum> sums = tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(0, n), std::vector<CompensatedSum>(lloyd.sum_slots()),
          [&](const tbb::blocked_range<std::size_t>& r, std::vector<CompensatedSum> acc) {
            lloyd.assign(points, r.begin(), r.end(), acc);
            return acc;
          },
          [](std::vector<CompensatedSum> a, const std::vector<CompensatedSum>& b) {
            for (std::size_t i = 0; i < a.size(); ++i) a[i] = CompensatedSum::combine(a[i], b[i]);
            return a;
          });
      if (lloyd.update(sums)) break;
    }
  });
  return lloyd.result();
}

// ------------------------------------------------------------------------------------------
// The workload
// ------------------------------------------------------------------------------------------

const Workload& workload() {
  static const Workload w = [] {
    const std::size_t n = small() ? 20'000 : 500'000;
    Workload out;
    out.k = small() ? 10 : 100;
    out.name = "points" + std::to_string(n) + "_k" + std::to_string(out.k);
    out.path = (scratch_dir() / (out.name + ".csv")).string();
    cli::PointRows rows(kSeed);
    std::string text;
    for (std::size_t i = 0; i < n; ++i) rows.append_row(text);
    std::ofstream(out.path, std::ios::binary) << text;
    std::vector<double> row;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      jobs::parse_numbers(std::string_view(text).substr(start, end - start), row);
      out.points.insert(out.points.end(), row.begin(), row.end());
      start = end + 1;
    }
    for (const double x : out.points) out.scale = std::max(out.scale, std::fabs(x));
    out.reference = sequential_kmeans(out.points, out.k);
    return out;
  }();
  return w;
}

// What differs between a result and the reference; empty if nothing.
std::string mismatch(const Clustering& got, const Workload& w) {
  const Clustering& want = w.reference;
  if (got.iterations != want.iterations) {
    return std::to_string(got.iterations) + " iterations, the reference ran " +
           std::to_string(want.iterations);
  }
  if (got.sizes != want.sizes) return "cluster sizes differ from the reference";
  if (got.centroids.size() != want.centroids.size()) return "wrong number of centroids";
  for (std::size_t i = 0; i < got.centroids.size(); ++i) {
    if (!(std::fabs(got.centroids[i] - want.centroids[i]) <= 1e-9 * w.scale)) {
      return "centroid coordinate " + std::to_string(i) + " is " +
             std::to_string(got.centroids[i]) + ", the reference's " +
             std::to_string(want.centroids[i]);
    }
  }
  return {};
}

void report(benchmark::State& state, const Workload& w) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w.points.size() / kDims *
                                                                         w.reference.iterations));
  state.counters["iterations"] = static_cast<double>(w.reference.iterations);
  state.SetLabel(w.name);
}

// ------------------------------------------------------------------------------------------
// In process
// ------------------------------------------------------------------------------------------

void BM_KMeans_Tally(benchmark::State& state) {
  const Workload& w = workload();
  Engine engine({.threads = static_cast<std::size_t>(state.range(0))});
  for (auto _ : state) {
    auto result = jobs::kmeans(engine, w.points, kDims,
                               {.k = w.k, .seed = kSeed, .max_iterations = kIterations});
    if (!result.ok()) {
      state.SkipWithError(result.status().to_string().c_str());
      return;
    }
    const std::string wrong = mismatch({result->centroids, result->sizes, result->iterations}, w);
    if (!wrong.empty()) {
      state.SkipWithError(wrong.c_str());
      return;
    }
  }
  report(state, w);
}
BENCHMARK(BM_KMeans_Tally)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Apply(one_thread_on_one_cpu)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_KMeans_Sequential(benchmark::State& state) {
  const Workload& w = workload();
  for (auto _ : state) {
    const Clustering result = sequential_kmeans(w.points, w.k);
    benchmark::DoNotOptimize(result.centroids.data());
    if (const std::string wrong = mismatch(result, w); !wrong.empty()) {
      state.SkipWithError(wrong.c_str());
      return;
    }
  }
  report(state, w);
}
BENCHMARK(BM_KMeans_Sequential)->Apply(on_one_cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_KMeans_Tbb(benchmark::State& state) {
  const Workload& w = workload();
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const Clustering result = tbb_kmeans(w.points, w.k, arena);
    if (const std::string wrong = mismatch(result, w); !wrong.empty()) {
      state.SkipWithError(wrong.c_str());
      return;
    }
  }
  report(state, w);
}
BENCHMARK(BM_KMeans_Tbb)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Apply(one_thread_on_one_cpu)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ------------------------------------------------------------------------------------------
// The program, end to end
// ------------------------------------------------------------------------------------------

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The clustering in `tally kmeans -f tsv` output: cluster, size, x1..x3 a line.
Clustering parse_tsv(const std::string& text, std::size_t iterations) {
  Clustering c;
  c.iterations = iterations;
  std::istringstream lines(text);
  std::string line;
  std::vector<double> row;
  while (std::getline(lines, line)) {
    jobs::parse_numbers(line, row);
    if (row.size() != 2 + kDims) return {};
    c.sizes.push_back(static_cast<std::uint64_t>(row[1]));
    c.centroids.insert(c.centroids.end(), row.begin() + 2, row.end());
  }
  return c;
}

void BM_Process_TallyKMeans(benchmark::State& state) {
  if (skip_without_tally(state)) return;
  const Workload& w = workload();
  const std::vector<std::string> argv = {tally_program(),
                                         "kmeans",
                                         "-j",
                                         std::to_string(state.range(0)),
                                         "-k",
                                         std::to_string(w.k),
                                         "--max-iter",
                                         std::to_string(kIterations),
                                         "--seed",
                                         std::to_string(kSeed),
                                         "-f",
                                         "tsv",
                                         w.path};
  // The program does not print its iterations on stdout; sizes and centroids decide.
  measure_program(state, argv, "kmeans-" + std::to_string(state.range(0)),
                  [&w](const fs::path& out) {
                    return mismatch(parse_tsv(read_file(out), w.reference.iterations), w);
                  });
  report(state, w);
}
BENCHMARK(BM_Process_TallyKMeans)
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
