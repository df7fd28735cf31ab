// k-means clustering (Lloyd's algorithm) on the engine, for points of any dimension d held in
// memory (load_numeric_rows in numeric_rows.hpp reads them from CSV or TSV once).
//
//   auto rows = tally::jobs::load_numeric_rows(engine, inputs);
//   if (!rows.ok()) ...
//   auto result = tally::jobs::kmeans(engine, rows->values, rows->width, {.k = 10, .seed = 7});
//   if (!result.ok()) ...   // k = 0, k above the number of points, a stop, a deadline
//   for (std::size_t c = 0; c < result->k; ++c)
//     use(result->sizes[c], result->centroid(c));  // d coordinates
//
// The algorithm, exactly (the sequential oracle of tests/jobs/kmeans_test.cpp does the same):
//  - Start: k distinct rows drawn by kmeans_initial_rows(n, k, seed); cluster c starts at the
//    c-th of them in row order.
//  - Each round (an "iteration"):
//    1. every point goes to its nearest centroid: the smallest squared Euclidean distance
//       sum_j (x_j - c_j)^2, added up in coordinate order; the lowest cluster on a tie;
//    2. every centroid becomes the mean of its points; a cluster with no point keeps its
//       centroid (so the result always has k centroids, some perhaps with size 0);
//    3. the run has converged if no point changed cluster in this round (in the first round
//       every point does), or if tolerance > 0 and every centroid moved less than tolerance
//       (Euclidean distance).
//    Rounds go on until converged, or max_iterations rounds.
//  - Result: the centroids after the last round, and the sizes of its clusters: each centroid
//    is the mean of the `size` points the last round put in it (or kept, if size is 0).
//
// On the engine: iterate() (engine/iterate.hpp) runs one KMeansRound per round over the
// points as an Inputs::array<double>, one fixed-size record of d doubles per point, planned
// and split once. KMeansRound is a DenseJob (job.hpp): per-worker arrays of k(d+1)+1 sums,
// no hashing. The sums are CompensatedSums (compensated_sum.hpp), so that the centroids,
// hence the assignments and the number of rounds, come out the same at any thread count and
// split size in practice; with plain double sums their last bits would depend on which
// worker added which points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/status.hpp"
#include "tally/jobs/compensated_sum.hpp"

namespace tally::jobs {

// One round of Lloyd's algorithm over points stored as fixed-size records of `dims` doubles
// (Inputs::array<double> with array_records<double>(dims), one input, no header).
// Keys: sum_key(c, j) sums coordinate j of the points nearest to centroid c, count_key(c)
// counts them (each point adds 1), changes_key() counts the points whose cluster differs
// from the one in `assignment` (all of them while it holds kUnassigned).
//
// map() also writes each point's new cluster into assignment[point], point being the
// record's index (offset / record bytes): a side effect, and safe because each record is
// mapped exactly once per run, by one task, so no two tasks write one element; the run's
// end joins its tasks, so the caller (and the next round) sees every write once run()
// returns. REQUIRES: `centroids` (k x dims) and `assignment` (one per point) outlive the run;
// no other run uses `assignment` meanwhile.
class KMeansRound {
 public:
  using Key = std::uint64_t;
  using Value = CompensatedSum;
  static constexpr std::uint32_t kUnassigned = std::numeric_limits<std::uint32_t>::max();

  // REQUIRES: dims >= 1, centroids.size() a non-zero multiple of dims, k < kUnassigned.
  KMeansRound(std::span<const double> centroids, std::size_t dims, std::uint32_t* assignment)
      : centroids_(centroids), dims_(dims), k_(centroids.size() / dims), assignment_(assignment) {}

  std::size_t key_count() const noexcept { return k_ * (dims_ + 1) + 1; }
  Key sum_key(std::size_t cluster, std::size_t j) const noexcept {
    return cluster * (dims_ + 1) + j;
  }
  Key count_key(std::size_t cluster) const noexcept { return cluster * (dims_ + 1) + dims_; }
  Key changes_key() const noexcept { return k_ * (dims_ + 1); }

  // The nearest centroid to `point` (dims coordinates): see step 1 at the top of this file.
  std::uint32_t nearest(const double* point) const noexcept {
    std::uint32_t best = 0;
    double best_distance = squared_distance(point, 0);
    for (std::uint32_t c = 1; c < k_; ++c) {
      const double d = squared_distance(point, c);
      if (d < best_distance) {
        best_distance = d;
        best = c;
      }
    }
    return best;
  }

  template <typename Out>
  void map(const RecordBlock& block, Out& out) const {
    const std::span<const double> xs = elements_of<double>(block.bytes);
    const std::size_t first = block.offset / block.record_bytes;
    const std::size_t points = block.size();
    for (std::size_t i = 0; i < points; ++i) {
      const double* x = xs.data() + i * dims_;
      const std::uint32_t c = nearest(x);
      for (std::size_t j = 0; j < dims_; ++j) out.emit(sum_key(c, j), Value{x[j], 0});
      out.emit(count_key(c), Value{1, 0});
      std::uint32_t& assigned = assignment_[first + i];
      if (assigned != c) {
        out.emit(changes_key(), Value{1, 0});
        assigned = c;
      }
    }
  }

  static Value combine(Value a, const Value& b) noexcept { return CompensatedSum::combine(a, b); }

 private:
  double squared_distance(const double* point, std::size_t cluster) const noexcept {
    const double* c = centroids_.data() + cluster * dims_;
    double sum = 0;
    for (std::size_t j = 0; j < dims_; ++j) {
      const double diff = point[j] - c[j];
      sum += diff * diff;
    }
    return sum;
  }

  std::span<const double> centroids_;
  std::size_t dims_;
  std::size_t k_;
  std::uint32_t* assignment_;
};

struct KMeansOptions {
  std::size_t k = 1;                 // clusters
  std::uint64_t seed = 1;            // for kmeans_initial_rows
  std::size_t max_iterations = 100;  // rounds at most (0: none, the initial centroids)
  double tolerance = 0;              // 0: converged only once no point changes cluster
};

struct KMeansResult {
  std::size_t k = 0;
  std::size_t dims = 0;
  std::vector<double> centroids;     // k x dims, cluster after cluster
  std::vector<std::uint64_t> sizes;  // points per cluster in the last round
  std::size_t iterations = 0;        // rounds run
  bool converged = false;
  std::uint64_t last_changes = 0;  // points that changed cluster in the last round
  RunReport report;                // iterate()'s: the rounds, rounds and converged set

  std::span<const double> centroid(std::size_t c) const {
    return std::span<const double>(centroids).subspan(c * dims, dims);
  }
};

// The initial rows: k distinct indices in [0, n), ascending, drawn by Robert Floyd's
// sampling algorithm from std::mt19937_64(seed), each draw below m taken as rng() % m. The
// same on every platform (std::uniform_int_distribution's algorithm is the library's
// choice, so it is not used); the modulo's bias is below m / 2^64. REQUIRES: k <= n.
std::vector<std::size_t> kmeans_initial_rows(std::size_t n, std::size_t k, std::uint64_t seed);

// Lloyd's algorithm over `points` (n rows of `dims` doubles, row after row), as described at
// the top of this file. From `options` it uses stop, deadline, split_bytes, memory_budget,
// on_phase and progress_bytes; the records are always the points. split_bytes 0 picks
// splits of about n / (16 x workers) points, at least 1024 (a point is worth k distances,
// far more work than a byte of text, the engine's default's measure). Errors: kInvalidArgument
// for dims == 0, a size that is not a multiple of dims, no points, k == 0, k > n ("k = 5 is
// more than the 3 points"); kCancelled, kDeadlineExceeded.
Result<KMeansResult> kmeans(Engine& engine, std::span<const double> points, std::size_t dims,
                            const KMeansOptions& options, const RunOptions& run_options = {});

}  // namespace tally::jobs
