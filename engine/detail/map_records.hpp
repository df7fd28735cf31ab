// map_records: runs a job's map() over every record of one split, into a sink. Shared by
// the map stages of hash-table and dense jobs (map_stage.hpp, dense_stage.hpp). It picks
//  - the unit map() takes: a Record, a RecordBlock for a job that maps fixed-size records a
//    block at a time, or a TextBlock of delimited records for a job that maps those;
//  - the sink map() sees: the sink itself when map() is templated on its output (emit() is
//    then an inline call), else an Emitter interface over it (a virtual call per pair);
//  - for a run that skips bad records, a StagedSink between map() and the sink, so that a
//    record whose map() throws leaves nothing behind (bad_records.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/detail/records.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/status.hpp"

namespace tally::detail {

// The Emitter interface over a sink, for map() functions that take an Emitter&.
template <typename Sink, typename Key, typename Value>
class EmitterAdapter final : public Emitter<Key, Value> {
 public:
  explicit EmitterAdapter(Sink& sink) : sink_(sink) {}
  void emit(Key key, Value value) override { sink_.emit(key, std::move(value)); }

 private:
  Sink& sink_;
};

// Holds one record's pairs until commit(); begin() drops what a failed record left. Keys
// that are views are copied (map() may emit a key from a buffer it then reuses).
template <typename Key, typename Value, typename Sink>
class StagedSink {
 public:
  explicit StagedSink(Sink& sink) : sink_(sink) {}

  void begin() {
    pending_.clear();
    key_bytes_.clear();
  }
  void emit(Key key, Value value) {
    if constexpr (std::is_same_v<Key, std::string_view>) {
      pending_.push_back({key_bytes_.size(), key.size(), std::move(value)});
      key_bytes_.append(key);
    } else {
      pending_.push_back({key, std::move(value)});
    }
  }
  void commit() {
    for (Pending& p : pending_) {
      if constexpr (std::is_same_v<Key, std::string_view>) {
        sink_.emit(std::string_view(key_bytes_).substr(p.offset, p.size), std::move(p.value));
      } else {
        sink_.emit(p.key, std::move(p.value));
      }
    }
  }

 private:
  struct ViewPending {
    std::size_t offset;
    std::size_t size;
    Value value;
  };
  struct PlainPending {
    Key key;
    Value value;
  };
  using Pending =
      std::conditional_t<std::is_same_v<Key, std::string_view>, ViewPending, PlainPending>;

  Sink& sink_;
  std::vector<Pending> pending_;
  std::string key_bytes_;
};

template <typename J>
using MapUnit = std::conditional_t<MapsRecordBlocks<J>, RecordBlock, Record>;

// Calls job.map(unit, out), through an Emitter interface if map() takes one.
template <typename J, typename Out>
[[gnu::always_inline]] inline void map_one(const J& job, const MapUnit<J>& unit, Out& out) {
  if constexpr (requires { job.map(unit, out); }) {
    job.map(unit, out);
  } else {
    EmitterAdapter<Out, typename J::Key, typename J::Value> adapter(out);
    job.map(unit, adapter);
  }
}

// Maps every record of `split` into `sink` (see the top of this file); *records_out as
// for_each_record.
template <typename J, typename Sink>
Status map_records(const J& job, const Inputs& inputs, const SplitPlan& plan, const Split& split,
                   const RecordLayout& layout, BadRecordLimit& bad, const std::stop_token& stop,
                   std::uint64_t* records_out, Sink& sink) {
  using Unit = MapUnit<J>;
  if constexpr (MapsTextBlocks<J>) {
    if (!bad.skipping() && layout.fixed_bytes == 0) {
      return for_each_text_block(
          inputs, plan, split, layout, stop, records_out, [&](const TextBlock& block) {
            if constexpr (requires { job.map(block, sink); }) {
              job.map(block, sink);
            } else {
              EmitterAdapter<Sink, typename J::Key, typename J::Value> adapter(sink);
              job.map(block, adapter);
            }
          });
    }
  }
  if (!bad.skipping()) {
    return for_each_record(inputs, plan, split, layout, nullptr, stop, records_out,
                           [&](const Unit& unit) { map_one(job, unit, sink); });
  }
  StagedSink<typename J::Key, typename J::Value, Sink> staged(sink);
  return for_each_record(inputs, plan, split, layout, &bad, stop, records_out,
                         [&](const Unit& unit) {
                           staged.begin();
                           map_one(job, unit, staged);
                           staged.commit();
                         });
}

}  // namespace tally::detail
