// RecordLayout: how an input's bytes are cut into records (input.hpp, RunOptions).
#pragma once

#include <cstdint>

namespace tally {

// How an input's bytes are cut into records.
//  - Delimited (fixed_bytes == 0): a record ends with `delimiter` or at the end of its input.
//  - Fixed-size (fixed_bytes > 0): each input is `header_bytes` that belong to no record,
//    then records of exactly fixed_bytes each (binary records, the pixel rows of an image,
//    the elements of an array). With record_count == 0 the records run to the end of the
//    input, and an input whose remaining size is not a multiple of fixed_bytes is an error;
//    with record_count > 0 each input holds exactly that many records, and the bytes after
//    them belong to no record (an image's trailer); an input too short for them is an error
//    (check_record_layout).
struct RecordLayout {
  char delimiter = '\n';
  std::uint64_t fixed_bytes = 0;
  std::uint64_t header_bytes = 0;
  std::uint64_t record_count = 0;
  // Whether a run numbers the records (Record::number): free for fixed-size records; for
  // delimited ones it costs a parallel pass counting the delimiters of every split.
  bool numbered = false;
};

}  // namespace tally
