#include "tally/engine/run_report.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "tally/engine/memory_budget.hpp"

namespace tally {
namespace {

void json_array(std::ostringstream& out, const std::vector<std::uint64_t>& v) {
  out << '[';
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
  out << ']';
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", s);
  return buf;
}

std::uint64_t sum(const std::vector<std::uint64_t>& v) {
  return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}

void add_each(std::vector<std::uint64_t>& total, const std::vector<std::uint64_t>& later) {
  if (total.size() < later.size()) total.resize(later.size());
  for (std::size_t i = 0; i < later.size(); ++i) total[i] += later[i];
}

}  // namespace

void add_run(RunReport& total, const RunReport& later) {
  if (total.strategy.empty()) total.strategy = later.strategy;
  total.workers = std::max(total.workers, later.workers);
  total.split_seconds += later.split_seconds;
  total.map_seconds += later.map_seconds;
  total.merge_seconds += later.merge_seconds;
  total.finalize_seconds += later.finalize_seconds;
  total.inputs = std::max(total.inputs, later.inputs);
  total.input_retries = std::max(total.input_retries, later.input_retries);
  total.splits = std::max(total.splits, later.splits);
  total.bytes_in += later.bytes_in;
  total.records_in += later.records_in;
  total.bad_records += later.bad_records;
  total.pairs_emitted += later.pairs_emitted;
  total.distinct_keys = later.distinct_keys;
  total.tasks_run += later.tasks_run;
  total.tasks_stolen += later.tasks_stolen;
  total.steal_failures += later.steal_failures;
  add_each(total.tasks_run_per_worker, later.tasks_run_per_worker);
  add_each(total.tasks_stolen_per_worker, later.tasks_stolen_per_worker);
  total.combiner_flushes += later.combiner_flushes;
  total.batches += later.batches;
  total.channel_full_events += later.channel_full_events;
  add_each(total.shard_locks, later.shard_locks);
  add_each(total.shard_locks_contended, later.shard_locks_contended);
  total.peak_rss_bytes = std::max(total.peak_rss_bytes, later.peak_rss_bytes);
  total.memory_budget_bytes = std::max(total.memory_budget_bytes, later.memory_budget_bytes);
  total.tracked_peak_bytes = std::max(total.tracked_peak_bytes, later.tracked_peak_bytes);
  total.spill_runs += later.spill_runs;
  total.spill_bytes += later.spill_bytes;
  total.spill_merge_passes = std::max(total.spill_merge_passes, later.spill_merge_passes);
  total.spill_write_seconds += later.spill_write_seconds;
  total.spill_merge_seconds += later.spill_merge_seconds;
  total.result_spilled = later.result_spilled;
  total.ranks = std::max(total.ranks, later.ranks);
  total.exchange_rounds += later.exchange_rounds;
  total.exchange_bytes += later.exchange_bytes;
  total.exchange_seconds += later.exchange_seconds;
  total.gather_bytes += later.gather_bytes;
  total.gather_seconds += later.gather_seconds;
}

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string RunReport::to_text() const {
  std::ostringstream out;
  const double total = total_seconds();
  const double mb = static_cast<double>(bytes_in) / 1e6;
  out << "strategy " << strategy << ", " << workers << " workers, " << inputs << " inputs, "
      << splits << " splits";
  if (input_retries != 0) out << ", " << input_retries << " transient input errors retried";
  out << "\n";
  out << "split " << seconds(split_seconds) << ", map " << seconds(map_seconds) << ", merge "
      << seconds(merge_seconds) << ", finalize " << seconds(finalize_seconds);
  if (ranks != 0) {
    out << ", exchange " << seconds(exchange_seconds) << ", gather " << seconds(gather_seconds);
  }
  out << ", total " << seconds(total) << "\n";
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f MB/s", total > 0 ? mb / total : 0.0);
  out << bytes_in << " bytes, " << records_in << " records";
  if (bad_records != 0) out << " (" << bad_records << " bad, skipped)";
  out << ", " << pairs_emitted << " pairs, " << distinct_keys << " distinct keys, " << rate << "\n";
  out << tasks_run << " tasks, " << tasks_stolen << " stolen, " << steal_failures
      << " failed steals, " << combiner_flushes << " combiner flushes";
  if (batches != 0) {
    out << ", " << batches << " batches (" << channel_full_events << " found a channel full)";
  }
  if (!shard_locks.empty()) {
    out << ", " << sum(shard_locks) << " shard locks (" << sum(shard_locks_contended)
        << " contended)";
  }
  out << "\npeak RSS " << format_bytes(peak_rss_bytes) << ", tables and keys peak "
      << format_bytes(tracked_peak_bytes);
  if (memory_budget_bytes != 0) out << " (budget " << format_bytes(memory_budget_bytes) << ")";
  out << "\n";
  if (spill_runs != 0 || result_spilled) {
    out << "spilled " << spill_runs << " runs, " << format_bytes(spill_bytes) << " (writing "
        << seconds(spill_write_seconds) << "), " << spill_merge_passes
        << " intermediate merge passes (" << seconds(spill_merge_seconds) << ")"
        << (result_spilled ? ", result on disk" : "") << "\n";
  }
  if (rounds != 0) {
    out << rounds << (rounds == 1 ? " round, " : " rounds, ")
        << (converged ? "converged" : "did not converge") << "\n";
  }
  if (ranks != 0) {
    out << ranks << " ranks: exchange " << exchange_rounds << " rounds, "
        << format_bytes(exchange_bytes) << " between ranks (" << seconds(exchange_seconds)
        << "), gather " << format_bytes(gather_bytes) << " (" << seconds(gather_seconds) << ")\n";
  }
  return out.str();
}

std::string RunReport::to_json() const {
  std::ostringstream out;
  out << "{\"tally_run_report\":1,\"strategy\":\"" << strategy << "\",\"workers\":" << workers
      << ",\"phases\":{\"split_seconds\":" << split_seconds << ",\"map_seconds\":" << map_seconds
      << ",\"merge_seconds\":" << merge_seconds << ",\"finalize_seconds\":" << finalize_seconds
      << ",\"total_seconds\":" << total_seconds() << "},\"inputs\":" << inputs
      << ",\"input_retries\":" << input_retries << ",\"splits\":" << splits
      << ",\"bytes_in\":" << bytes_in << ",\"records_in\":" << records_in
      << ",\"bad_records\":" << bad_records << ",\"pairs_emitted\":" << pairs_emitted
      << ",\"distinct_keys\":" << distinct_keys << ",\"tasks_run\":" << tasks_run
      << ",\"tasks_stolen\":" << tasks_stolen << ",\"steal_failures\":" << steal_failures
      << ",\"tasks_run_per_worker\":";
  json_array(out, tasks_run_per_worker);
  out << ",\"tasks_stolen_per_worker\":";
  json_array(out, tasks_stolen_per_worker);
  out << ",\"combiner_flushes\":" << combiner_flushes << ",\"batches\":" << batches
      << ",\"channel_full_events\":" << channel_full_events << ",\"shard_locks\":";
  json_array(out, shard_locks);
  out << ",\"shard_locks_contended\":";
  json_array(out, shard_locks_contended);
  out << ",\"peak_rss_bytes\":" << peak_rss_bytes
      << ",\"memory_budget_bytes\":" << memory_budget_bytes
      << ",\"tracked_peak_bytes\":" << tracked_peak_bytes << ",\"spill\":{\"runs\":" << spill_runs
      << ",\"bytes\":" << spill_bytes << ",\"merge_passes\":" << spill_merge_passes
      << ",\"write_seconds\":" << spill_write_seconds
      << ",\"merge_seconds\":" << spill_merge_seconds
      << ",\"result_spilled\":" << (result_spilled ? "true" : "false") << "}";
  if (rounds != 0) {
    out << ",\"iterations\":{\"rounds\":" << rounds
        << ",\"converged\":" << (converged ? "true" : "false") << "}";
  }
  if (ranks != 0) {
    out << ",\"mpi\":{\"ranks\":" << ranks << ",\"exchange_rounds\":" << exchange_rounds
        << ",\"exchange_bytes\":" << exchange_bytes << ",\"exchange_seconds\":" << exchange_seconds
        << ",\"gather_bytes\":" << gather_bytes << ",\"gather_seconds\":" << gather_seconds << "}";
  }
  out << "}";
  return out.str();
}

}  // namespace tally
