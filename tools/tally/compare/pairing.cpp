#include "tools/tally/compare/pairing.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace tally::compare {

std::vector<BenchmarkSeries> group_into_series(const BenchmarkReport& report) {
  std::vector<const BenchmarkRun*> runs;
  runs.reserve(report.runs.size());
  for (const BenchmarkRun& run : report.runs) runs.push_back(&run);
  // gbench.util.sort_benchmark_results: a stable sort on these keys, missing ones as -1.
  std::stable_sort(runs.begin(), runs.end(), [](const BenchmarkRun* a, const BenchmarkRun* b) {
    return std::tuple(a->family_index, a->per_family_instance_index, a->is_aggregate,
                      a->repetition_index) < std::tuple(b->family_index,
                                                        b->per_family_instance_index,
                                                        b->is_aggregate, b->repetition_index);
  });
  std::vector<BenchmarkSeries> series;
  std::map<std::string, std::size_t> index_of_name;
  for (const BenchmarkRun* run : runs) {
    const auto [it, inserted] = index_of_name.emplace(run->name, series.size());
    if (inserted) series.push_back({.name = run->name, .runs = {}});
    series[it->second].runs.push_back(run);
  }
  return series;
}

Result<Pairing> pair_benchmarks(const BenchmarkReport& base, const BenchmarkReport& contender) {
  std::vector<BenchmarkSeries> base_series = group_into_series(base);
  std::vector<BenchmarkSeries> new_series = group_into_series(contender);
  std::map<std::string, std::size_t> new_index;
  for (std::size_t i = 0; i < new_series.size(); ++i) new_index.emplace(new_series[i].name, i);

  Pairing pairing;
  std::vector<bool> paired(new_series.size(), false);
  for (BenchmarkSeries& b : base_series) {
    const auto it = new_index.find(b.name);
    if (it == new_index.end()) {
      pairing.only_in_base.push_back(b.name);
      continue;
    }
    BenchmarkSeries& n = new_series[it->second];
    if (b.first().is_percentage != n.first().is_percentage) {
      const auto unit = [](const BenchmarkSeries& s) {
        return s.first().is_percentage ? std::string("a percentage") : "a time";
      };
      return Status::InvalidArgument("'" + contender.path + "': mismatched units for '" + b.name +
                                     "': " + unit(n) + " here, " + unit(b) + " in '" + base.path +
                                     "'");
    }
    paired[it->second] = true;
    pairing.pairs.push_back({.base = std::move(b), .contender = std::move(n)});
  }
  for (std::size_t i = 0; i < new_series.size(); ++i) {
    if (!paired[i]) pairing.only_in_new.push_back(new_series[i].name);
  }
  return pairing;
}

}  // namespace tally::compare
