#include "tally/engine/engine.hpp"

#include <algorithm>
#include <cstdint>

#include "tally/engine/detail/record_numbers.hpp"
#include "tally/engine/system.hpp"

namespace tally {

std::string_view to_string(Strategy s) noexcept {
  switch (s) {
    case Strategy::kLocal:
      return "local";
    case Strategy::kSharded:
      return "sharded";
    case Strategy::kPartitioned:
      return "partitioned";
  }
  return "unknown";
}

std::optional<Strategy> parse_strategy(std::string_view name) noexcept {
  if (name == "local") return Strategy::kLocal;
  if (name == "sharded") return Strategy::kSharded;
  if (name == "partitioned") return Strategy::kPartitioned;
  return std::nullopt;
}

Result<SplitPlan> Engine::plan(Inputs& inputs, const RunOptions& options) {
  if (!inputs.is_open()) {
    if (Status s = inputs.open({.stop = options.stop, .deadline = options.deadline}); !s.ok()) {
      return s;
    }
  }
  if (Status s = check_record_layout(inputs, options.records); !s.ok()) return s;
  const std::uint64_t split_bytes =
      options.split_bytes != 0
          ? options.split_bytes
          : std::clamp<std::uint64_t>(
                inputs.total_bytes() / (16 * std::max<std::uint64_t>(num_workers(), 1)), 256u << 10,
                16u << 20);
  SplitPlan plan = plan_splits(inputs, {.target_bytes = split_bytes, .records = options.records});
  if (options.records.numbered) detail::number_records(inputs, plan, options.records, scheduler_);
  return plan;
}

Result<SplitPlan> Engine::split_phase(Inputs& inputs, const SplitPlan* given,
                                      const RunOptions& options, RunReport& report) {
  const detail::PhaseScope phase(options, Phase::kSplit, report.split_seconds);
  Result<SplitPlan> plan =
      given != nullptr ? Result<SplitPlan>(*given) : this->plan(inputs, options);
  if (!plan.ok()) return plan;
  if (options.split_share.count > 1) {
    keep_share(*plan, options.split_share.index, options.split_share.count);
  }
  report.inputs = inputs.size();
  report.input_retries = inputs.transient_retries();
  report.splits = plan->splits.size();
  return plan;
}

void Engine::fill_report(RunReport& report, const std::vector<SchedulerStats>& before,
                         const MemoryBudget& budget, const RunOptions& options) const {
  const auto after = scheduler_.worker_stats();
  for (std::size_t i = 0; i < after.size(); ++i) {
    report.tasks_run_per_worker.push_back(after[i].tasks_run - before[i].tasks_run);
    report.tasks_stolen_per_worker.push_back(after[i].tasks_stolen - before[i].tasks_stolen);
    report.tasks_run += report.tasks_run_per_worker.back();
    report.tasks_stolen += report.tasks_stolen_per_worker.back();
    report.steal_failures += after[i].steal_failures - before[i].steal_failures;
  }
  report.peak_rss_bytes = peak_rss_bytes();
  report.memory_budget_bytes = options.memory_budget;
  report.tracked_peak_bytes = budget.peak();
}

}  // namespace tally
