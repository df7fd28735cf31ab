// exchange_entries: sends the entries of a result table to the ranks that own them, in rounds
// of bounded size, and files what this rank receives as sorted runs of a SpillStore. A
// distributed run (mpi/run.hpp) does it twice: every rank's share of the keys to the rank
// that owns them (rank_of), and then every rank's result to rank 0.
//
// What travels. The sender reads its table a partition at a time, in key order, so that the
// entries one rank sends another form, per partition, a stream sorted by key. A round's
// message to a rank is a flags byte and then segments: the partition, the entry count and
// the byte count as varints, then the entries encoded as a spill block's payload
// (spill_codec.hpp). The receiver appends each segment as one block of the run that the
// sender's stream of that partition becomes, so it neither decodes nor copies entries, and
// what it holds is bounded by the store (on disk under a budget, else in memory).
//
// Rounds. Each rank sends each rank at most `round_bytes / ranks` of entries per round (one
// entry larger than that goes alone), so what one rank sends or receives in a round stays
// within round_bytes, and within the int counts of MPI_Alltoallv, whatever the total. A
// round ends for every destination when one destination's share is full.
//
// Failure. Each message's flags say whether its sender has sent everything and whether it
// failed (a stop, a deadline, or an error reading its table or writing what it received).
// Every rank sees every flag in the same round, so all leave the loop in the same round: once
// every rank is done, or as soon as one failed. A failure after a rank sent its flags
// (storing the last round) is returned to the caller, whose next collective step (agree)
// shares it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "tally/engine/detail/spill_codec.hpp"
#include "tally/engine/detail/spill_run.hpp"
#include "tally/engine/detail/spill_store.hpp"
#include "tally/engine/mpi/communicator.hpp"
#include "tally/engine/result_table.hpp"
#include "tally/engine/status.hpp"

namespace tally::mpi::detail {

using tally::detail::get_varint;
using tally::detail::put_varint;

// The rank (of `ranks`) that owns keys with this hash_key. The low half of the hash, where
// partition_of reads the high half: a rank holds keys of every partition, so its partitions
// stay balanced for its own parallel merge.
inline int rank_of(std::uint64_t hash, int ranks) noexcept {
  return static_cast<int>(((hash & 0xffff'ffffu) * static_cast<std::uint64_t>(ranks)) >> 32);
}

struct ExchangeTotals {
  std::uint64_t rounds = 0;
  std::uint64_t bytes_sent = 0;  // to other ranks, flags and framing included
  double seconds = 0;
};

struct ExchangeLimits {
  std::size_t round_bytes = std::size_t{64} << 20;
  std::stop_token stop{};
  std::optional<std::chrono::steady_clock::time_point> deadline{};
};

// The entries of a ResultTable, a partition at a time in key order: runs() in memory, or
// spilled_runs() read a block at a time.
template <typename Key, typename Value>
class TableCursor {
 public:
  using Entry = std::pair<Key, Value>;
  explicit TableCursor(const ResultTable<Key, Value>& table)
      : table_(table),
        partitions_(table.spilled() ? table.spilled_runs().size() : table.runs().size()) {
    settle();
  }
  std::size_t partitions() const noexcept { return partitions_; }
  // The current entry and its partition; nullptr once every entry was read.
  const Entry* head() const noexcept { return head_; }
  std::size_t partition() const noexcept { return partition_; }
  void advance() {
    if (reader_) {
      reader_->advance();
    } else {
      ++index_;
    }
    settle();
  }

 private:
  // Points head_ at the next entry, moving past exhausted partitions.
  void settle() {
    for (; partition_ < partitions_; ++partition_, index_ = 0, reader_.reset()) {
      if (table_.spilled()) {
        if (!reader_) reader_.emplace(table_.spilled_runs()[partition_]);
        if ((head_ = reader_->head()) != nullptr) return;
      } else if (const auto& run = table_.runs()[partition_]; index_ < run.size()) {
        head_ = &run[index_];
        return;
      }
    }
    head_ = nullptr;
  }

  const ResultTable<Key, Value>& table_;
  const std::size_t partitions_;
  std::size_t partition_ = 0;
  std::size_t index_ = 0;
  std::optional<tally::detail::RunReader<Key, Value>> reader_;
  const Entry* head_ = nullptr;
};

enum : unsigned char { kDone = 1, kFailed = 2 };

// Sends every entry of `table` to rank dest_of(key) (see the top of this file); files what
// this rank receives in `store`, one run per (sender, partition), under the partition.
// Returns this rank's own failure, if any: after another rank's failure stopped the loop it
// returns OK, and the caller learns of the failure from agree(). REQUIRES: every rank's table has
// `partitions` runs (or none), and `store` as many.
template <typename Key, typename Value, typename DestOf>
Status exchange_entries(Communicator& comm, const ResultTable<Key, Value>& table, DestOf&& dest_of,
                        tally::detail::SpillStore& store, const ExchangeLimits& limits,
                        ExchangeTotals& totals) {
  using Codec = tally::detail::SpillCodec<Key, Value>;
  const auto start = std::chrono::steady_clock::now();
  const int ranks = comm.size();
  const auto n = static_cast<std::size_t>(ranks);
  const std::size_t cap = std::max<std::size_t>(limits.round_bytes / n, 1);
  std::optional<TableCursor<Key, Value>> cursor;
  Status status;
  try {
    cursor.emplace(table);
  } catch (...) {
    status = Status::FromException(std::current_exception());
  }

  // Per destination: the round's message, and the segment being filled.
  struct Outbox {
    std::string message;
    std::string segment;
    std::size_t partition = 0;
    std::uint64_t entries = 0;
    std::size_t bytes() const noexcept { return message.size() + segment.size(); }
    void close_segment() {
      if (entries == 0) return;
      put_varint(message, partition);
      put_varint(message, entries);
      put_varint(message, segment.size());
      message += segment;
      segment.clear();
      entries = 0;
    }
  };
  std::vector<Outbox> out(n);
  std::vector<std::string> messages(n);
  // Per sender and partition: the run its stream is becoming.
  std::vector<std::vector<tally::detail::SpillRun>> incoming(
      n, std::vector<tally::detail::SpillRun>(store.partitions()));

  const auto pack_round = [&] {
    for (;;) {
      const auto* e = cursor->head();
      if (e == nullptr) return;
      const auto d = static_cast<std::size_t>(dest_of(e->first));
      Outbox& box = out[d];
      if (box.entries != 0 && box.partition != cursor->partition()) box.close_segment();
      const std::size_t held = box.bytes();
      const std::size_t before_entry = box.segment.size();
      Codec::encode(box.segment, e->first, e->second);  // straight into its segment
      const std::size_t added = box.segment.size() - before_entry;
      if (held != 0 && held + added > cap) {  // the round is full: the entry waits for the next
        box.segment.resize(before_entry);
        return;
      }
      if (added > Communicator::kMaxRoundBytes / n) {
        throw StatusError(Status::ResourceExhausted("an entry of " + std::to_string(added) +
                                                    " bytes is too large to send between " +
                                                    std::to_string(ranks) + " ranks"));
      }
      box.partition = cursor->partition();
      ++box.entries;
      cursor->advance();
    }
  };

  // Files the segments of one message from `sender`; false if it says the sender failed.
  const auto receive = [&](std::size_t sender, const std::string& message, bool& done) {
    const char* p = message.data();
    const char* end = p + message.size();
    const auto flags =
        message.empty() ? static_cast<unsigned char>(kFailed) : static_cast<unsigned char>(*p++);
    done = (flags & kDone) != 0;
    if ((flags & kFailed) != 0) return false;
    while (status.ok() && p < end) {
      std::uint64_t partition = 0, entries = 0, bytes = 0;
      if (!get_varint(p, end, partition) || !get_varint(p, end, entries) ||
          !get_varint(p, end, bytes) || partition >= store.partitions() ||
          bytes > static_cast<std::uint64_t>(end - p)) {
        throw StatusError(
            Status::DataLoss("a malformed message from rank " + std::to_string(sender)));
      }
      tally::detail::SpillRun& run = incoming[sender][partition];
      tally::detail::SpillFile& file = store.file();
      run.file = &file;
      run.blocks.push_back(file.append(std::string_view(p, bytes)));
      run.entries += entries;
      run.bytes += tally::detail::SpillFile::kHeaderBytes + bytes;
      p += bytes;
    }
    return true;
  };

  for (;;) {
    if (status.ok() && limits.stop.stop_requested()) status = Status::Cancelled("stopped");
    if (status.ok() && limits.deadline && std::chrono::steady_clock::now() >= *limits.deadline) {
      status = Status::DeadlineExceeded("the deadline passed while exchanging entries");
    }
    if (status.ok()) {
      try {
        pack_round();
      } catch (...) {
        status = Status::FromException(std::current_exception());
      }
    }
    for (std::size_t d = 0; d < n; ++d) {
      Outbox& box = out[d];
      box.close_segment();
      messages[d].clear();
      const bool done = status.ok() && cursor->head() == nullptr;
      messages[d].push_back(static_cast<char>((status.ok() ? 0 : kFailed) | (done ? kDone : 0)));
      if (status.ok()) messages[d] += box.message;
      box.message.clear();
      if (static_cast<int>(d) != comm.rank()) totals.bytes_sent += messages[d].size();
    }
    const std::vector<std::string> received = comm.all_to_all(messages);
    ++totals.rounds;
    bool all_done = true;
    bool any_failed = false;
    for (std::size_t s = 0; s < n; ++s) {
      bool done = false;
      try {
        if (!receive(s, received[s], done)) any_failed = true;
      } catch (...) {
        if (status.ok()) status = Status::FromException(std::current_exception());
      }
      all_done = all_done && done;
    }
    if (any_failed || all_done) break;
  }
  if (status.ok()) {
    for (auto& runs : incoming) {
      for (std::size_t p = 0; p < runs.size(); ++p) {
        if (!runs[p].blocks.empty()) store.add_run(p, std::move(runs[p]));
      }
    }
  }
  totals.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return status;
}

}  // namespace tally::mpi::detail
