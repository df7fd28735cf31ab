#include "tally/engine/mpi/collective.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "tally/engine/detail/spill_codec.hpp"

namespace tally::mpi {
namespace {

using detail::get_varint;
using detail::put_varint;

// A reader of what put_varint wrote; a short message reads as zeros (it cannot come from
// another build: every rank runs the same program).
struct Reader {
  const char* p;
  const char* end;
  std::uint64_t next() {
    std::uint64_t v = 0;
    if (!get_varint(p, end, v)) p = end;
    return v;
  }
  std::string text(std::size_t n) {
    n = std::min<std::size_t>(n, static_cast<std::size_t>(end - p));
    std::string out(p, n);
    p += n;
    return out;
  }
};

// Walks the fields of one or more reports in step: op.count for what sums over the ranks,
// op.peak for what takes the largest, op.secs for times (the slowest rank's), op.list for
// per-worker lists (concatenated in rank order) and op.per_shard for per-shard lists (summed
// element-wise: every rank has the same shards). Encoding, decoding and combining all walk
// this one list, so a field added here travels and combines.
template <typename Op, typename... Report>
void visit_fields(Op&& op, Report&... r) {
  op.count(r.workers...);
  op.secs(r.split_seconds...);
  op.secs(r.map_seconds...);
  op.secs(r.merge_seconds...);
  op.secs(r.finalize_seconds...);
  op.peak(r.inputs...);
  op.count(r.input_retries...);
  op.count(r.splits...);
  op.count(r.bytes_in...);
  op.count(r.records_in...);
  op.count(r.bad_records...);
  op.count(r.pairs_emitted...);
  op.count(r.distinct_keys...);
  op.count(r.tasks_run...);
  op.count(r.tasks_stolen...);
  op.count(r.steal_failures...);
  op.list(r.tasks_run_per_worker...);
  op.list(r.tasks_stolen_per_worker...);
  op.count(r.combiner_flushes...);
  op.count(r.batches...);
  op.count(r.channel_full_events...);
  op.per_shard(r.shard_locks...);
  op.per_shard(r.shard_locks_contended...);
  op.peak(r.peak_rss_bytes...);
  op.peak(r.memory_budget_bytes...);
  op.peak(r.tracked_peak_bytes...);
  op.count(r.spill_runs...);
  op.count(r.spill_bytes...);
  op.peak(r.spill_merge_passes...);
  op.secs(r.spill_write_seconds...);
  op.secs(r.spill_merge_seconds...);
  op.peak(r.exchange_rounds...);
  op.count(r.exchange_bytes...);
  op.secs(r.exchange_seconds...);
  op.count(r.gather_bytes...);
  op.secs(r.gather_seconds...);
}

struct Encode {
  std::string& out;
  void count(std::uint64_t v) { put_varint(out, v); }
  void peak(std::uint64_t v) { put_varint(out, v); }
  void secs(double s) { put_varint(out, std::bit_cast<std::uint64_t>(s)); }
  void list(const std::vector<std::uint64_t>& v) {
    put_varint(out, v.size());
    for (const std::uint64_t x : v) put_varint(out, x);
  }
  void per_shard(const std::vector<std::uint64_t>& v) { list(v); }
};

struct Decode {
  Reader& in;
  void count(std::uint64_t& v) { v = in.next(); }
  void peak(std::uint64_t& v) { v = in.next(); }
  void secs(double& s) { s = std::bit_cast<double>(in.next()); }
  void list(std::vector<std::uint64_t>& v) {
    // At least a byte per element: a bad length cannot allocate past the message.
    v.resize(std::min<std::uint64_t>(in.next(), static_cast<std::uint64_t>(in.end - in.p)));
    for (std::uint64_t& x : v) x = in.next();
  }
  void per_shard(std::vector<std::uint64_t>& v) { list(v); }
};

// Adds one rank's share to the total.
struct Add {
  void count(std::uint64_t& total, std::uint64_t v) { total += v; }
  void peak(std::uint64_t& total, std::uint64_t v) { total = std::max(total, v); }
  void secs(double& total, double v) { total = std::max(total, v); }
  void list(std::vector<std::uint64_t>& total, const std::vector<std::uint64_t>& v) {
    total.insert(total.end(), v.begin(), v.end());
  }
  void per_shard(std::vector<std::uint64_t>& total, const std::vector<std::uint64_t>& v) {
    total.resize(std::max(total.size(), v.size()));
    for (std::size_t k = 0; k < v.size(); ++k) total[k] += v[k];
  }
};

std::string encode(const RunReport& report) {
  std::string out;
  visit_fields(Encode{out}, report);
  put_varint(out, report.result_spilled ? 1 : 0);
  put_varint(out, report.strategy.size());
  out += report.strategy;
  return out;
}

RunReport decode(const std::string& bytes) {
  RunReport r;
  Reader in{bytes.data(), bytes.data() + bytes.size()};
  visit_fields(Decode{in}, r);
  r.result_spilled = in.next() != 0;
  r.strategy = in.text(in.next());
  return r;
}

}  // namespace

Status agree(Communicator& comm, const Status& mine) {
  std::string message;
  put_varint(message, static_cast<std::uint64_t>(mine.code()));
  message += mine.message();
  const std::vector<std::string> all = comm.all_gather(message);
  Status first_cancelled;
  for (std::size_t r = 0; r < all.size(); ++r) {
    Reader in{all[r].data(), all[r].data() + all[r].size()};
    const auto code = static_cast<StatusCode>(in.next());
    if (code == StatusCode::kOk) continue;
    std::string text = in.text(all[r].size());
    if (r != 0) text += " (rank " + std::to_string(r) + ")";
    if (code != StatusCode::kCancelled) return Status(code, std::move(text));
    if (first_cancelled.ok()) first_cancelled = Status(code, std::move(text));
  }
  return first_cancelled;
}

// Every rank's numbers, indexed by rank.
std::vector<std::vector<std::uint64_t>> gather_numbers(Communicator& comm,
                                                       std::initializer_list<std::uint64_t> mine) {
  std::string message;
  for (const std::uint64_t v : mine) put_varint(message, v);
  std::vector<std::vector<std::uint64_t>> all;
  for (const std::string& m : comm.all_gather(message)) {
    Reader in{m.data(), m.data() + m.size()};
    auto& numbers = all.emplace_back();
    for (std::size_t i = 0; i < mine.size(); ++i) numbers.push_back(in.next());
  }
  return all;
}

std::uint64_t sum(Communicator& comm, std::uint64_t mine) {
  std::uint64_t total = 0;
  for (const auto& numbers : gather_numbers(comm, {mine})) total += numbers[0];
  return total;
}

std::uint64_t max(Communicator& comm, std::uint64_t mine) {
  std::uint64_t most = 0;
  for (const auto& numbers : gather_numbers(comm, {mine})) most = std::max(most, numbers[0]);
  return most;
}

Status agree_on_inputs(Communicator& comm, std::uint64_t inputs, std::uint64_t total_bytes) {
  const auto all = gather_numbers(comm, {inputs, total_bytes});
  for (std::size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    return Status::InvalidArgument(
        "the ranks see different inputs: rank 0 has " + std::to_string(all[0][0]) + " inputs of " +
        std::to_string(all[0][1]) + " bytes, rank " + std::to_string(r) + " has " +
        std::to_string(all[r][0]) + " of " + std::to_string(all[r][1]) +
        " bytes (every rank must see the same files at the same paths)");
  }
  return Status::Ok();
}

RunReport combine_reports(Communicator& comm, const RunReport& mine) {
  const std::vector<std::string> all = comm.all_gather(encode(mine));
  if (comm.rank() != 0) return mine;
  RunReport total;
  for (std::size_t r = 0; r < all.size(); ++r) {
    const RunReport rank = decode(all[r]);
    if (r == 0) {
      total = rank;
    } else {
      visit_fields(Add{}, total, rank);
      total.result_spilled = total.result_spilled || rank.result_spilled;
    }
  }
  total.ranks = all.size();
  return total;
}

}  // namespace tally::mpi
