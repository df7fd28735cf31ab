#include "tools/tally/table_output.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>

namespace tally::cli {

std::string format_double(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip
  return std::string(buf, end);
}

namespace {

void append_json_cell(std::string& out, const std::string& cell, bool numeric) {
  if (!numeric) {
    append_json_string(out, cell);
    return;
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size() || !std::isfinite(v)) {
    out += "null";  // JSON has no NaN or infinity
  } else {
    out += cell;
  }
}

}  // namespace

std::string TableOutput::render(Format format) const {
  std::string out;
  switch (format) {
    case Format::kText: {
      std::vector<std::size_t> width(columns_.size());
      for (std::size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].name.size();
      for (const auto& row : rows_) {
        for (std::size_t c = 0; c < columns_.size(); ++c) {
          width[c] = std::max(width[c], row[c].size());
        }
      }
      const auto line = [&](auto cell_of) {
        for (std::size_t c = 0; c < columns_.size(); ++c) {
          const std::string& cell = cell_of(c);
          const std::string pad(width[c] - cell.size(), ' ');
          if (c != 0) out += "  ";
          if (columns_[c].numeric) {
            out += pad + cell;
          } else {
            out += cell;
            if (c + 1 != columns_.size()) out += pad;
          }
        }
        out += '\n';
      };
      line([&](std::size_t c) -> const std::string& { return columns_[c].name; });
      for (const auto& row : rows_) {
        line([&](std::size_t c) -> const std::string& { return row[c]; });
      }
      break;
    }
    case Format::kTsv:
      for (const auto& row : rows_) {
        for (std::size_t c = 0; c < row.size(); ++c) {
          if (c != 0) out += '\t';
          out += row[c];
        }
        out += '\n';
      }
      break;
    case Format::kCsv:
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        if (c != 0) out += ',';
        append_csv_field(out, columns_[c].name);
      }
      out += "\r\n";  // RFC 4180: CRLF, as wordcount's CSV
      for (const auto& row : rows_) {
        for (std::size_t c = 0; c < row.size(); ++c) {
          if (c != 0) out += ',';
          append_csv_field(out, row[c]);
        }
        out += "\r\n";
      }
      break;
    case Format::kJson:
      out += "{";
      append_json_string(out, name_);
      out += ":[";
      for (std::size_t r = 0; r < rows_.size(); ++r) {
        if (r != 0) out += ',';
        out += '{';
        for (std::size_t c = 0; c < columns_.size(); ++c) {
          if (c != 0) out += ',';
          append_json_string(out, columns_[c].name);
          out += ':';
          append_json_cell(out, rows_[r][c], columns_[c].numeric);
        }
        out += '}';
      }
      out += "]}\n";
      break;
  }
  return out;
}

}  // namespace tally::cli
