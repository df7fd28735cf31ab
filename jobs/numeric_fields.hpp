// parse_numbers: the fields of one line of numeric delimited text (CSV or TSV of numbers),
// for jobs that read numbers from text (linreg, kmeans).
//
//   std::vector<double> row;
//   tally::jobs::parse_numbers("1.5, -2e3,7", row);   // row == {1.5, -2000, 7}
//
// Fields are separated by commas when the line holds one, else by runs of tabs and spaces.
// Spaces around a field and a trailing '\r' (CRLF line ends) are ignored, as is a leading
// '+'. Each field must be a whole finite decimal number (std::from_chars: "1", "-2.5",
// "3e-7"); anything else (an empty field, "abc", "1.5x", "nan", "inf") throws
// StatusError(kInvalidArgument) "column 2: 'abc' is not a number", which the engine reports
// with the input and line, or skips as a bad record (bad_records.hpp). A blank line has no
// fields.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tally/engine/status.hpp"

namespace tally::jobs {

namespace detail {

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

[[noreturn]] inline void not_a_number(std::size_t column, std::string_view field) {
  constexpr std::size_t kShown = 40;  // a field is quoted whole unless it is huge
  std::string shown(field.substr(0, kShown));
  if (field.size() > kShown) shown += "...";
  throw StatusError(Status::InvalidArgument("column " + std::to_string(column) + ": '" + shown +
                                            "' is not a number"));
}

inline double parse_field(std::string_view field, std::size_t column) {
  std::size_t b = 0;
  std::size_t e = field.size();
  while (b < e && is_blank(field[b])) ++b;
  while (e > b && is_blank(field[e - 1])) --e;
  std::string_view f = field.substr(b, e - b);
  if (f.size() > 1 && f[0] == '+' && f[1] != '-') f.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (f.empty() || ec != std::errc() || end != f.data() + f.size() || !std::isfinite(v)) {
    not_a_number(column, field.substr(b, e - b));
  }
  return v;
}

}  // namespace detail

// Replaces `out` with the numbers of `line` (see the top of this file).
inline void parse_numbers(std::string_view line, std::vector<double>& out) {
  out.clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find(',') != std::string_view::npos) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      const std::string_view field = line.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      out.push_back(detail::parse_field(field, out.size() + 1));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return;
  }
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && detail::is_blank(line[i])) ++i;
    if (i == line.size()) break;
    std::size_t j = i;
    while (j < line.size() && !detail::is_blank(line[j])) ++j;
    out.push_back(detail::parse_field(line.substr(i, j - i), out.size() + 1));
    i = j;
  }
}

}  // namespace tally::jobs
