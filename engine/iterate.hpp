// iterate: runs a job round after round over the same inputs, opened and split once, with
// state carried from each round to the next (k-means, fixed points, power iteration).
//
//   struct Centroids { std::vector<double> xs; };
//   auto result = tally::iterate(
//       engine, inputs, {.records = tally::array_records<double>(3)}, Centroids{first},
//       [](const Centroids& s) { return AssignToNearest{s.xs}; },   // this round's job
//       [](Centroids& s, tally::RunOutput<AssignToNearest>& out) {  // the state it leads to
//         s.xs = means_of(out.table);
//         return nothing_moved;                                     // true: done
//       },
//       {.max_rounds = 100});
//   if (!result.ok()) { ... result.status() ... }
//   use(result->state, result->rounds, result->converged, result->report);
//
// What it does:
//  1. Engine::plan(inputs, options) once: opens the inputs if needed, checks them against
//     options.records, cuts them into splits (and numbers the records if asked). The
//     inputs are never opened, read for planning or split again.
//  2. Each round r = 1, 2, ...: job = make_job(state); Engine::run(job, inputs, plan,
//     options); done = step(state, output). It stops after the round whose step returned
//     true (converged), or after max_rounds rounds (not converged).
// make_job and step run on the calling thread, between rounds, so they may read and write
// the state freely; the job's map() runs on the workers, concurrently (job.hpp).
//
// Stops and deadlines: options.stop and options.deadline reach every round's map tasks, and
// are checked before each round starts as well, so a stop between rounds starts no other:
// iterate returns kCancelled ("stopped before round 3") or kDeadlineExceeded.
// Failure: a round that fails (its run, or an exception from make_job or step) ends the
// iteration and iterate returns its status, with "round N: " before its message; the state
// is lost with it.
//
// The report: the plan's time as the split phase (it is reported to options.on_phase as a
// kSplit phase of its own, before the rounds' own phases), then every round's added to it
// (add_run in run_report.hpp: times and counters summed, splits the plan's); rounds and
// converged set.
//
// Thread safety: as Engine::run (one run at a time per Engine).
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/status.hpp"

namespace tally {

struct IterateOptions {
  // Rounds at most; 0 runs none (the result is the initial state, not converged).
  std::size_t max_rounds = 100;
};

template <typename State>
struct IterateResult {
  State state;
  std::size_t rounds = 0;  // rounds run
  bool converged = false;  // the last round's step returned true
  RunReport report;        // the plan's and every round's (see the top of this file)
};

namespace detail {

// Why no further round may start, if options say so: a stop or a spent deadline.
inline Status round_may_start(const RunOptions& options, std::size_t round) {
  const std::string which = "round " + std::to_string(round);
  if (options.stop.stop_requested()) return Status::Cancelled("stopped before " + which);
  if (options.deadline && std::chrono::steady_clock::now() >= *options.deadline) {
    return Status::DeadlineExceeded("deadline passed before " + which);
  }
  return Status::Ok();
}

}  // namespace detail

// Runs make_job(state)'s job over `inputs` round after round (see the top of this file).
// MakeJob: (const State&) -> J, a Job. Step: (State&, RunOutput<J>&) -> bool, true once
// done. REQUIRES: `inputs` outlives the call.
template <typename State, typename MakeJob, typename Step,
          typename J = std::remove_cvref_t<std::invoke_result_t<MakeJob&, const State&>>>
requires(Job<J>&& std::is_invocable_r_v<bool, Step&, State&, RunOutput<J>&>)
    Result<IterateResult<State>> iterate(Engine& engine, Inputs& inputs, const RunOptions& options,
                                         State initial, MakeJob&& make_job, Step&& step,
                                         const IterateOptions& iterate_options = {}) {
  IterateResult<State> result{
      .state = std::move(initial), .rounds = 0, .converged = false, .report = {}};
  Result<SplitPlan> plan = [&] {
    const detail::PhaseScope split_phase(options, Phase::kSplit, result.report.split_seconds);
    return engine.plan(inputs, options);
  }();
  if (!plan.ok()) return plan.status();
  result.report.inputs = inputs.size();
  result.report.input_retries = inputs.transient_retries();
  result.report.splits = plan->splits.size();
  result.report.workers = engine.num_workers();

  while (result.rounds < iterate_options.max_rounds && !result.converged) {
    const std::size_t round = result.rounds + 1;
    if (Status s = detail::round_may_start(options, round); !s.ok()) return s;
    const std::string context = "round " + std::to_string(round);
    try {
      const J job = make_job(std::as_const(result.state));
      Result<RunOutput<J>> output = engine.run(job, inputs, *plan, options);
      if (!output.ok()) return output.status().with_context(context);
      result.converged = step(result.state, *output);
      add_run(result.report, output->report);
    } catch (...) {
      return Status::FromException(std::current_exception()).with_context(context);
    }
    result.rounds = round;
  }
  result.report.rounds = result.rounds;
  result.report.converged = result.converged;
  return result;
}

}  // namespace tally
