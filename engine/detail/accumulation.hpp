// Accumulation<J>: how the values of one key accumulate between map() and the result, for
// the two shapes of job (job.hpp). A CombineJob folds each value in at once (the accumulator
// is a Value); a ReduceJob collects them (the accumulator is a list) and reduces once at the
// end, into its ResultValue<J> (job.hpp). Every stage that holds per-key state (combiner tables,
// exchange strategies, the final reduce) goes through these three operations, so none of them
// branches on the job's shape.
#pragma once

#include <iterator>
#include <span>
#include <utility>
#include <vector>

#include "tally/engine/job.hpp"

namespace tally::detail {

template <typename J>
struct Accumulation;

template <CombineJob J>
struct Accumulation<J> {
  using Value = typename J::Value;
  using Reduced = Value;
  using Acc = Value;
  // `fresh`: the accumulator was just created (value-initialized) for this key.
  static void add(Acc& acc, Value v, bool fresh) {
    acc = fresh ? std::move(v) : J::combine(std::move(acc), std::move(v));
  }
  static void merge(Acc& into, Acc&& from, bool fresh) { add(into, std::move(from), fresh); }
  static Reduced finish(const J&, const typename J::Key&, Acc&& acc) { return std::move(acc); }
};

template <ReduceJob J>
struct Accumulation<J> {
  using Value = typename J::Value;
  using Reduced = ResultValue<J>;
  using Acc = std::vector<Value>;
  static void add(Acc& acc, Value v, bool /*fresh*/) { acc.push_back(std::move(v)); }
  static void merge(Acc& into, Acc&& from, bool fresh) {
    if (fresh) {
      into = std::move(from);
    } else {
      into.insert(into.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
    }
  }
  static Reduced finish(const J& job, const typename J::Key& key, Acc&& acc) {
    return job.reduce(key, std::span<const Value>(acc));
  }
};

}  // namespace tally::detail
