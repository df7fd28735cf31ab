// for_each_record: the map loop shared by every kind of job. Walks one split's records (cut
// as RecordLayout says), calls fn(Record) for each, checks for a stop request and for a
// shrunken input (see Inputs::shrank) every kRecordsPerStopCheck records and after each
// segment, and turns an exception from fn into a Status naming the input and the record
// (its line or record number and byte offset). With a BadRecordLimit that skips, a record
// whose fn throws a skippable error is counted and passed over instead (bad_records.hpp).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/count_byte.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/status.hpp"

namespace tally::detail {

// Checked between records: often enough that a stop is seen within microseconds, rarely
// enough that the checks (a relaxed load each) cost nothing measurable.
inline constexpr std::uint64_t kRecordsPerStopCheck = 1024;

// The number of the record at byte `offset` of input `input`: rec.number when the run
// numbers records, else computed (a count of the delimiters before it: for error messages
// only).
inline std::uint64_t record_number_at(const Inputs& inputs, const RecordLayout& layout,
                                      std::size_t input, std::uint64_t offset,
                                      std::uint64_t known) {
  if (known != 0) return known;
  if (layout.fixed_bytes != 0) return (offset - layout.header_bytes) / layout.fixed_bytes + 1;
  const std::string_view before = inputs.data(input).substr(0, offset);
  return static_cast<std::uint64_t>(std::count(before.begin(), before.end(), layout.delimiter)) + 1;
}

// "input 'a.csv' line 17 (byte offset 345)"; "record" instead of "line" unless records are
// lines.
inline std::string record_context(const Inputs& inputs, const RecordLayout& layout,
                                  std::size_t input, std::uint64_t offset, std::uint64_t known) {
  const bool lines = layout.fixed_bytes == 0 && layout.delimiter == '\n';
  return "input '" + inputs.name(input) + "' " + (lines ? "line " : "record ") +
         std::to_string(record_number_at(inputs, layout, input, offset, known)) + " (byte offset " +
         std::to_string(offset) + ")";
}

// On success, *records_out is the number of records seen (skipped ones included).
// fn takes a Record, or, for fixed-size records only, a RecordBlock of up to
// kRecordsPerStopCheck records (a block is then skipped or fails as one record would).
// REQUIRES: `bad` outlives the call (it may be null: no record is skipped).
template <typename Fn>
Status for_each_record(const Inputs& inputs, const SplitPlan& plan, const Split& split,
                       const RecordLayout& layout, BadRecordLimit* bad, const std::stop_token& stop,
                       std::uint64_t* records_out, Fn&& fn) {
  constexpr bool kBlocks = std::invocable<Fn&, RecordBlock>;
  const bool skipping = bad != nullptr && bad->skipping();
  const std::uint64_t fixed = layout.fixed_bytes;
  if (kBlocks && fixed == 0) {
    return Status::InvalidArgument("a job that maps record blocks needs fixed-size records");
  }
  std::uint64_t records = 0;
  for (const Segment& seg : plan.segments_of(split)) {
    const std::string_view data = inputs.data(seg.input);
    std::uint64_t pos = seg.begin;
    std::uint64_t number = seg.first_record;
    if (fixed != 0 && layout.numbered) number = (pos - layout.header_bytes) / fixed + 1;
    try {
      while (pos < seg.end) {
        if (kBlocks || records % kRecordsPerStopCheck == 0) {
          if (stop.stop_requested()) return Status::Cancelled("map task stopped");
          // Its pages past the new end now read as zeros: stop rather than map them.
          if (inputs.shrank(seg.input)) return inputs.check_intact();
        }
        std::uint64_t end;
        std::uint64_t next;
        std::uint64_t count = 1;  // records in this call
        if (kBlocks) {
          end = std::min(seg.end, pos + fixed * kRecordsPerStopCheck);
          next = end;
          count = (end - pos) / fixed;
        } else if (fixed != 0) {
          end = pos + fixed;
          next = end;
        } else {
          const std::size_t d = data.find(layout.delimiter, pos);
          end = d == std::string_view::npos || d >= seg.end ? seg.end : d;
          next = end + 1;
        }
        const auto rec = [&] {
          if constexpr (kBlocks) {
            return RecordBlock{data.substr(pos, end - pos), fixed, seg.input, pos};
          } else {
            return Record{data.substr(pos, end - pos), seg.input, pos, number};
          }
        }();
        if (!skipping) {
          fn(rec);
        } else {
          try {
            fn(rec);
          } catch (...) {
            Status s = Status::FromException(std::current_exception());
            if (!BadRecordLimit::skippable(s)) throw;
            const BadRecord record{inputs.name(seg.input), pos, number, s.message()};
            if (!bad->skip(record)) {
              return Status(s.code(),
                            s.message() + " (more than " + std::to_string(bad->limit()) +
                                " bad records)",
                            s.cause())
                  .with_context(record_context(inputs, layout, seg.input, pos, number));
            }
          }
        }
        records += count;
        if (number != 0) number += count;
        pos = next;
      }
    } catch (...) {
      return Status::FromException(std::current_exception())
          .with_context(record_context(inputs, layout, seg.input, pos, number));
    }
    // Also after the segment: a shrink found by its last records (one long run of zeros is a
    // single record) fails this split, not only the run's final check.
    if (inputs.shrank(seg.input)) return inputs.check_intact();
  }
  *records_out = records;
  return Status::Ok();
}

// Bytes a TextBlock aims at: enough that the per-block work (finding its last delimiter,
// counting its records, a stop check) is noise, small enough to stay in the L2 cache while
// the records are counted and then mapped.
inline constexpr std::uint64_t kTextBlockBytes = std::uint64_t{32} << 10;

// How much of a file a map task reads at once when it reads rather than maps
// (Inputs::readable_at): a few text blocks, in the L2 cache with the worker's table.
inline constexpr std::size_t kTextReadBytes = std::size_t{256} << 10;

// Calls fn(TextBlock) on runs of whole records of `bytes`, bytes [pos, pos + bytes.size()) of
// input `input`, of about kTextBlockBytes each (one longer record makes a block of its own).
// `bytes` holds whole records: it ends just after a delimiter, or at the end of the input.
// Advances pos past each block mapped and `records` and `number` (0: not numbered) by its
// records, so that on a throw they name the block that threw.
template <typename Fn>
Status map_text_blocks(const Inputs& inputs, std::size_t input, std::string_view bytes, char delim,
                       const std::stop_token& stop, std::uint64_t& pos, std::uint64_t& records,
                       std::uint64_t& number, Fn& fn) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (stop.stop_requested()) return Status::Cancelled("map task stopped");
    if (inputs.shrank(input)) return inputs.check_intact();
    // The block ends just after the last delimiter in the next kTextBlockBytes, or after the
    // first delimiter past them when a record is longer.
    std::size_t end = bytes.size();
    if (bytes.size() - at > kTextBlockBytes) {
      const void* last = ::memrchr(bytes.data() + at, delim, kTextBlockBytes);
      if (last != nullptr) {
        end = static_cast<std::size_t>(static_cast<const char*>(last) - bytes.data()) + 1;
      } else {
        const std::size_t d = bytes.find(delim, at + kTextBlockBytes);
        end = d == std::string_view::npos ? bytes.size() : d + 1;
      }
    }
    const std::string_view block = bytes.substr(at, end - at);
    std::uint64_t count = count_byte(block, delim);
    if (block.back() != delim) ++count;  // the input's last record, without its delimiter
    fn(TextBlock{block, delim, input, pos});
    records += count;
    if (number != 0) number += count;
    pos += block.size();
    at = end;
  }
  return Status::Ok();
}

// map_text_blocks over segment `seg` of an input that Inputs::readable_at, read
// kTextReadBytes at a time into `buffer` (kTextReadBytes long): the buffer's whole records are
// mapped, the partial last one is carried over to the next read. A record longer than the
// buffer is mapped from data() instead. pos, records and number as for map_text_blocks.
template <typename Fn>
Status map_text_blocks_read(const Inputs& inputs, const Segment& seg, char delim,
                            const std::stop_token& stop, char* buffer, std::uint64_t& pos,
                            std::uint64_t& records, std::uint64_t& number, Fn& fn) {
  std::size_t held = 0;  // bytes [pos, pos + held) are in the buffer already
  while (pos < seg.end) {
    if (stop.stop_requested()) return Status::Cancelled("map task stopped");
    const auto more = static_cast<std::size_t>(
        std::min<std::uint64_t>(kTextReadBytes - held, seg.end - pos - held));
    if (Status s = inputs.read_at(seg.input, pos + held, {buffer + held, more}); !s.ok()) return s;
    const std::size_t filled = held + more;
    std::size_t whole = filled;  // the buffer's whole records end here
    if (pos + filled < seg.end) {
      const void* last = ::memrchr(buffer, delim, filled);
      if (last == nullptr) {
        // One record fills the buffer: map it from the mapping.
        const std::string_view data = inputs.data(seg.input);
        const std::size_t d = data.find(delim, pos + filled);
        const std::uint64_t end = d == std::string_view::npos || d >= seg.end ? seg.end : d + 1;
        if (Status s = map_text_blocks(inputs, seg.input, data.substr(pos, end - pos), delim, stop,
                                       pos, records, number, fn);
            !s.ok()) {
          return s;
        }
        held = 0;
        continue;
      }
      whole = static_cast<std::size_t>(static_cast<const char*>(last) - buffer) + 1;
    }
    if (Status s = map_text_blocks(inputs, seg.input, std::string_view(buffer, whole), delim, stop,
                                   pos, records, number, fn);
        !s.ok()) {
      return s;
    }
    held = filled - whole;
    std::memmove(buffer, buffer + whole, held);
  }
  return Status::Ok();
}

// for_each_record for a job that maps TextBlocks: calls fn(TextBlock) on runs of whole
// delimited records of about kTextBlockBytes (map_text_blocks), with the same stop, shrink
// and error handling, one block standing for one record. *records_out counts the records, as
// for_each_record does.
//
// An input that Inputs::readable_at is read through one buffer rather than through its
// mapping (map_text_blocks_read): touching a mapping sets up a page-table entry for every page
// (or large folio) it reads and tears them down again, where the buffer's pages are set up
// once.
// REQUIRES: delimited records (layout.fixed_bytes == 0); no bad records are skipped.
template <typename Fn>
Status for_each_text_block(const Inputs& inputs, const SplitPlan& plan, const Split& split,
                           const RecordLayout& layout, const std::stop_token& stop,
                           std::uint64_t* records_out, Fn&& fn) {
  const char delim = layout.delimiter;
  std::uint64_t records = 0;
  std::unique_ptr<char[]> buffer;
  for (const Segment& seg : plan.segments_of(split)) {
    const std::string_view data = inputs.data(seg.input);
    std::uint64_t pos = seg.begin;  // the first byte not yet mapped: a record's first
    std::uint64_t number = seg.first_record;
    try {
      if (!inputs.readable_at(seg.input)) {
        const std::string_view bytes = data.substr(pos, seg.end - pos);
        if (Status s =
                map_text_blocks(inputs, seg.input, bytes, delim, stop, pos, records, number, fn);
            !s.ok()) {
          return s;
        }
      } else {
        if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(kTextReadBytes);
        if (Status s = map_text_blocks_read(inputs, seg, delim, stop, buffer.get(), pos, records,
                                            number, fn);
            !s.ok()) {
          return s;
        }
      }
    } catch (...) {
      return Status::FromException(std::current_exception())
          .with_context(record_context(inputs, layout, seg.input, pos, number));
    }
    if (inputs.shrank(seg.input)) return inputs.check_intact();
  }
  *records_out = records;
  return Status::Ok();
}

}  // namespace tally::detail
