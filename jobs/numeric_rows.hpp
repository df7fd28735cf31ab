// load_numeric_rows: reads rows of numbers (CSV or TSV, parse_numbers' rules) from inputs
// into one in-memory array of doubles, in input order, parsing in parallel on the engine:
// for jobs that go over the same numbers many times (kmeans), so that the text is read,
// split and parsed once.
//
//   tally::Inputs inputs = tally::Inputs::paths({"points.csv"});
//   auto rows = tally::jobs::load_numeric_rows(engine, inputs, {.max_bad_records = 10});
//   if (!rows.ok()) ... // e.g. "input 'points.csv' line 3 (byte offset 40): column 2: 'x' ..."
//   std::span<const double> row_7(&rows->values[7 * rows->width], rows->width);
//
// Rows: each line is a row (blank lines are none). The width of every row is that of the
// first row that parses, in input order; a row of another width is a bad record ("has 2
// numbers, expected 3 (the width of the first row)"), as is a row with a field that is not
// a number (parse_numbers: "column 2: 'abc' is not a number").
// Bad records are judged in input order, not in the order the workers find them: without
// RunOptions::max_bad_records the first bad row in input order fails the load, with it the
// first max_bad_records bad rows in input order are skipped (each handed to
// RunOptions::on_bad_record, with its line number) and the next fails the load, its message
// ending "(more than N bad records)". The error names the input and line as the engine's do:
// "input 'a.csv' line 17 (byte offset 345): <what>" (kInvalidArgument).
//
// How: one run_map_only pass, ordered (map_only.hpp): each split's map parses its lines into
// a binary chunk (rows as raw doubles, bad rows as their error); the sink takes the chunks in
// input order, appends the rows to the array and applies the bad-record rules. The width is
// found first, by parsing lines from the start until one parses (usually the first).
//
// From RunOptions it uses split_bytes, stop, deadline, max_bad_records, on_bad_record and
// records.numbered (line numbers for on_bad_record; set whenever max_bad_records is);
// records.delimiter ends lines. Other fields are ignored. REQUIRES: records.fixed_bytes == 0.
// Thread safety: as Engine::run. on_bad_record is called on the sink's thread, one at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/status.hpp"

namespace tally::jobs {

struct NumericRows {
  std::vector<double> values;  // rows() x width, row after row, in input order
  std::size_t width = 0;       // numbers per row; 0 when there is no row
  RunReport report;            // the parsing pass (bad_records: rows skipped)

  std::size_t rows() const noexcept { return width == 0 ? 0 : values.size() / width; }
};

// Reads the rows of `inputs` (see the top of this file). Opens them if needed. Errors: the
// inputs' (open), a bad row (kInvalidArgument, naming input, line and byte offset), a stop
// or deadline.
Result<NumericRows> load_numeric_rows(Engine& engine, Inputs& inputs,
                                      const RunOptions& options = {});

}  // namespace tally::jobs
