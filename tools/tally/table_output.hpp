// TableOutput: rows of named columns, rendered in the output formats of the job commands
// (histogram, linreg, kmeans, index):
//  text: a header line, then the rows, columns aligned (numbers right, text left);
//  tsv:  tab-separated rows, no header (as `tally wordcount -f tsv`);
//  csv:  a header line, then RFC 4180 rows (CRLF);
//  json: {"<name>":[{"<column>":<value>,...},...]}: numeric cells as JSON numbers ("nan" and
//        "inf" as null), text cells as strings.
//
//   TableOutput table("centroids", {{"cluster", true}, {"size", true}, {"x0", true}});
//   table.add_row({"0", "120", format_double(1.5)});
//   std::string out = table.render(Format::kCsv);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tools/tally/output.hpp"

namespace tally::cli {

// A double in the shortest form that reads back as the same double ("0.1", "1e+300").
std::string format_double(double v);

class TableOutput {
 public:
  struct Column {
    std::string name;
    bool numeric = false;
  };

  TableOutput(std::string name, std::vector<Column> columns)
      : name_(std::move(name)), columns_(std::move(columns)) {}

  // REQUIRES: one cell per column.
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

  std::string render(Format format) const;

 private:
  std::string name_;
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace tally::cli
