#include "tally/jobs/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>

#include "tally/engine/iterate.hpp"

namespace tally::jobs {
namespace {

// What one round hands the next.
struct Centroids {
  std::vector<double> centroids;  // k x dims
  std::vector<std::uint64_t> sizes;
  std::uint64_t changes = 0;
};

// The engine's default split size is made for text, where a split of 256 KiB is little
// work; a point costs k distance computations, so splits are sized by points instead:
// about 16 per worker, so that stealing can even out the rounds, but at least
// kMinSplitPoints points each (one RecordBlock), so that a split is worth a task.
constexpr std::uint64_t kMinSplitPoints = 1024;

std::uint64_t default_split_bytes(std::size_t n, std::size_t dims, std::size_t workers) {
  const std::uint64_t points =
      std::max<std::uint64_t>(n / (16 * std::max<std::size_t>(workers, 1)), kMinSplitPoints);
  return points * dims * sizeof(double);
}

}  // namespace

std::vector<std::size_t> kmeans_initial_rows(std::size_t n, std::size_t k, std::uint64_t seed) {
  // Floyd: for j = n-k .. n-1, draw t in [0, j]; take t, or j if t is taken already. Each
  // k-subset comes out equally likely, with k draws and no array of n indices.
  std::mt19937_64 rng(seed);
  std::unordered_set<std::size_t> taken;
  std::vector<std::size_t> rows;
  rows.reserve(k);
  for (std::size_t j = n - k; j < n; ++j) {
    const auto t = static_cast<std::size_t>(rng() % (static_cast<std::uint64_t>(j) + 1));
    const std::size_t pick = taken.insert(t).second ? t : j;
    if (pick == j) taken.insert(j);
    rows.push_back(pick);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

Result<KMeansResult> kmeans(Engine& engine, std::span<const double> points, std::size_t dims,
                            const KMeansOptions& options, const RunOptions& run_options) {
  if (dims == 0) return Status::InvalidArgument("k-means needs points of at least 1 dimension");
  if (points.size() % dims != 0) {
    return Status::InvalidArgument(std::to_string(points.size()) + " coordinates are not rows of " +
                                   std::to_string(dims));
  }
  const std::size_t n = points.size() / dims;
  const std::size_t k = options.k;
  if (n == 0) return Status::InvalidArgument("there are no points to cluster");
  if (k == 0) return Status::InvalidArgument("k must be at least 1");
  if (k > n) {
    return Status::InvalidArgument("k = " + std::to_string(k) + " is more than the " +
                                   std::to_string(n) + (n == 1 ? " point" : " points"));
  }
  if (k >= KMeansRound::kUnassigned) {
    return Status::InvalidArgument("k = " + std::to_string(k) + " is too large");
  }

  Centroids start;
  start.centroids.reserve(k * dims);
  for (const std::size_t row : kmeans_initial_rows(n, k, options.seed)) {
    const auto first = points.begin() + static_cast<std::ptrdiff_t>(row * dims);
    start.centroids.insert(start.centroids.end(), first, first + static_cast<std::ptrdiff_t>(dims));
  }
  start.sizes.assign(k, 0);

  std::vector<std::uint32_t> assignment(n, KMeansRound::kUnassigned);
  Inputs inputs = Inputs::array<double>("points", points);
  RunOptions round_options;
  round_options.split_bytes = run_options.split_bytes != 0
                                  ? run_options.split_bytes
                                  : default_split_bytes(n, dims, engine.num_workers());
  round_options.records = array_records<double>(dims);
  round_options.deadline = run_options.deadline;
  round_options.stop = run_options.stop;
  round_options.memory_budget = run_options.memory_budget;
  round_options.progress_bytes = run_options.progress_bytes;
  round_options.on_phase = run_options.on_phase;

  const auto make_job = [&](const Centroids& s) {
    return KMeansRound(s.centroids, dims, assignment.data());
  };
  std::vector<CompensatedSum> sums;
  const auto step = [&](Centroids& s, RunOutput<KMeansRound>& out) {
    const KMeansRound job = make_job(s);
    sums.assign(job.key_count(), CompensatedSum{});
    out.table.for_each([&](const auto& entry) { sums[entry.first] = entry.second; });
    double moved = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const double count = sums[job.count_key(c)].value();
      s.sizes[c] = static_cast<std::uint64_t>(count);
      if (count == 0) continue;  // an empty cluster keeps its centroid
      double distance = 0;
      for (std::size_t j = 0; j < dims; ++j) {
        double& x = s.centroids[c * dims + j];
        const double mean = sums[job.sum_key(c, j)].value() / count;
        distance += (mean - x) * (mean - x);
        x = mean;
      }
      moved = std::max(moved, std::sqrt(distance));
    }
    s.changes = static_cast<std::uint64_t>(sums[job.changes_key()].value());
    return s.changes == 0 || moved < options.tolerance;
  };
  auto iterated = iterate(engine, inputs, round_options, std::move(start), make_job, step,
                          {.max_rounds = options.max_iterations});
  if (!iterated.ok()) return iterated.status();

  KMeansResult result;
  result.k = k;
  result.dims = dims;
  result.centroids = std::move(iterated->state.centroids);
  result.sizes = std::move(iterated->state.sizes);
  result.iterations = iterated->rounds;
  result.converged = iterated->converged;
  result.last_changes = iterated->state.changes;
  result.report = std::move(iterated->report);
  return result;
}

}  // namespace tally::jobs
