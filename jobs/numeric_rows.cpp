#include "tally/jobs/numeric_rows.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "tally/engine/bad_records.hpp"
#include "tally/engine/map_only.hpp"
#include "tally/jobs/numeric_fields.hpp"

namespace tally::jobs {
namespace {

// The chunks a split's map hands to the sink are entries, each followed by the delimiter
// that RecordSink::emit appends (skipped when decoding):
//   row:  kRowTag, then width doubles (their bytes, native order: the chunk never leaves
//         this process)
//   bad:  kBadTag, u32 input, u64 byte offset, u64 record number (0: not numbered),
//         u32 message length, the message
constexpr char kRowTag = 'R';
constexpr char kBadTag = 'B';

// Lines looked at between two checks for a stop while looking for the first row.
constexpr std::size_t kLinesPerStopCheck = 1024;

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T take(std::string_view chunk, std::size_t& pos) {
  T v;
  std::memcpy(&v, chunk.data() + pos, sizeof v);
  pos += sizeof v;
  return v;
}

// The map of the parsing pass: each line to a row or bad entry (blank lines to nothing).
class RowParser {
 public:
  explicit RowParser(std::size_t width) : width_(width) {}

  void map(const Record& rec, RecordSink& out) const {
    // Per thread, so that a line costs no allocation once they have grown.
    thread_local std::vector<double> row;
    thread_local std::string entry;
    entry.clear();
    try {
      parse_numbers(rec.bytes, row);
    } catch (const StatusError& e) {
      if (e.status().code() != StatusCode::kInvalidArgument) throw;
      put_bad(entry, rec, e.status().message());
      out.emit(entry);
      return;
    }
    if (row.empty()) return;
    if (row.size() != width_) {
      put_bad(entry, rec,
              "has " + std::to_string(row.size()) + (row.size() == 1 ? " number" : " numbers") +
                  ", expected " + std::to_string(width_) + " (the width of the first row)");
    } else {
      entry.push_back(kRowTag);
      entry.append(reinterpret_cast<const char*>(row.data()), row.size() * sizeof(double));
    }
    out.emit(entry);
  }

 private:
  static void put_bad(std::string& entry, const Record& rec, std::string_view message) {
    entry.push_back(kBadTag);
    put(entry, static_cast<std::uint32_t>(rec.input));
    put(entry, rec.offset);
    put(entry, rec.number);
    put(entry, static_cast<std::uint32_t>(message.size()));
    entry.append(message);
  }

  std::size_t width_;
};

// The sink of the parsing pass: takes the chunks in input order (one call at a time).
class RowCollector {
 public:
  RowCollector(const Inputs& inputs, const RunOptions& options, NumericRows& out)
      : inputs_(inputs), options_(options), out_(out) {}

  Status take_chunk(std::string_view chunk) {
    const std::size_t row_bytes = out_.width * sizeof(double);
    std::size_t pos = 0;
    while (pos < chunk.size()) {
      const char tag = chunk[pos++];
      if (tag == kRowTag) {
        const std::size_t at = out_.values.size();
        out_.values.resize(at + out_.width);
        std::memcpy(out_.values.data() + at, chunk.data() + pos, row_bytes);
        pos += row_bytes;
      } else {
        const auto input = take<std::uint32_t>(chunk, pos);
        const auto offset = take<std::uint64_t>(chunk, pos);
        const auto number = take<std::uint64_t>(chunk, pos);
        const auto size = take<std::uint32_t>(chunk, pos);
        const std::string_view message = chunk.substr(pos, size);
        pos += size;
        if (Status s = bad_row(input, offset, number, message); !s.ok()) return s;
      }
      ++pos;  // the delimiter RecordSink::emit appended
    }
    return Status::Ok();
  }

  std::uint64_t skipped() const noexcept { return skipped_; }

 private:
  // Skips the bad row if the limit allows, else fails with it.
  Status bad_row(std::size_t input, std::uint64_t offset, std::uint64_t number,
                 std::string_view message) {
    if (skipped_ < options_.max_bad_records) {
      ++skipped_;
      if (options_.on_bad_record) {
        options_.on_bad_record(
            BadRecord{inputs_.name(input), offset, number, std::string(message)});
      }
      return Status::Ok();
    }
    std::string what(message);
    if (options_.max_bad_records != 0) {
      what += " (more than " + std::to_string(options_.max_bad_records) + " bad records)";
    }
    return Status::InvalidArgument(std::move(what)).with_context(where(input, offset, number));
  }

  // "input 'a.csv' line 17 (byte offset 345)", as the engine names a record; "record" for
  // records that are not lines. The line is counted when the run did not number them: once,
  // for the error that ends the load.
  std::string where(std::size_t input, std::uint64_t offset, std::uint64_t number) const {
    const char delimiter = options_.records.delimiter;
    if (number == 0) {
      const std::string_view before = inputs_.data(input).substr(0, offset);
      number = static_cast<std::uint64_t>(std::count(before.begin(), before.end(), delimiter)) + 1;
    }
    return "input '" + inputs_.name(input) + "' " + (delimiter == '\n' ? "line " : "record ") +
           std::to_string(number) + " (byte offset " + std::to_string(offset) + ")";
  }

  const Inputs& inputs_;
  const RunOptions& options_;
  NumericRows& out_;
  std::uint64_t skipped_ = 0;
};

// The width of the first line that parses, in input order; 0 if none does.
Result<std::size_t> first_row_width(const Inputs& inputs, char delimiter,
                                    const std::stop_token& stop) {
  std::vector<double> row;
  std::size_t lines = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view data = inputs.data(i);
    std::size_t pos = 0;
    while (pos < data.size()) {
      if (++lines % kLinesPerStopCheck == 0 && stop.stop_requested()) {
        return Status::Cancelled("stopped while looking for the first row");
      }
      const std::size_t end = std::min(data.find(delimiter, pos), data.size());
      try {
        parse_numbers(data.substr(pos, end - pos), row);
        if (!row.empty()) return row.size();
      } catch (const StatusError&) {
        // A bad row: the parsing pass reports it (or skips it) in its place.
      }
      pos = end + 1;
    }
  }
  return std::size_t{0};
}

}  // namespace

Result<NumericRows> load_numeric_rows(Engine& engine, Inputs& inputs, const RunOptions& options) {
  if (options.records.fixed_bytes != 0) {
    return Status::InvalidArgument("numeric rows are lines of text, not fixed-size records");
  }
  RunOptions used = options;
  // Line numbers for the dead-letter records; an error without them counts its line itself.
  if (used.max_bad_records != 0) used.records.numbered = true;
  if (!inputs.is_open()) {
    if (Status s = inputs.open({.stop = used.stop, .deadline = used.deadline}); !s.ok()) return s;
  }
  NumericRows out;
  Result<std::size_t> width = first_row_width(inputs, used.records.delimiter, used.stop);
  if (!width.ok()) return width.status();
  out.width = *width;

  RowCollector collector(inputs, used, out);
  Result<RunReport> report = run_map_only(
      engine, RowParser(out.width), inputs,
      [&collector](std::string_view chunk) { return collector.take_chunk(chunk); },
      MapOnlyOptions{.ordered = true,
                     .split_bytes = used.split_bytes,
                     .records = used.records,
                     .deadline = used.deadline,
                     .stop = used.stop});
  if (!report.ok()) return report.status();
  out.report = std::move(*report);
  out.report.bad_records = collector.skipped();
  if (out.values.empty()) out.width = 0;
  return out;
}

}  // namespace tally::jobs
