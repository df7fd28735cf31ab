#include <algorithm>
#include <string>
#include <vector>

#include "tools/tally/compare/renderers.hpp"
#include "tools/tally/compare/text_format.hpp"

namespace tally::compare {
namespace {

// compare.py's escapes: red for worse, cyan for better.
constexpr const char* kRed = "\033[91m";
constexpr const char* kCyan = "\033[96m";
constexpr const char* kReset = "\033[0m";

const char* colour_of(Verdict v) {
  if (v == Verdict::kSlower) return kRed;
  if (v == Verdict::kFaster) return kCyan;
  return nullptr;
}

// Left-aligns the first column and right-aligns the others, two spaces apart. Widths come from
// the plain text, so colour escapes (added around whole rows) never shift a column.
void append_columns(std::string& out, const std::vector<std::string>& headers,
                    const std::vector<std::vector<std::string>>& rows,
                    const std::vector<const char*>& row_colours) {
  std::vector<std::size_t> width(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) width[i] = headers[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  const auto append_row = [&](const std::vector<std::string>& row, const char* colour) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string pad(width[i] - row[i].size(), ' ');
      if (i > 0) line += "  ";
      line += i == 0 ? row[i] + pad : pad + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += colour != nullptr ? colour + line + kReset : line;
    out += '\n';
  };
  append_row(headers, nullptr);
  std::size_t rule = 0;
  for (std::size_t w : width) rule += w + 2;
  out += std::string(rule - 2, '-') + '\n';
  for (std::size_t r = 0; r < rows.size(); ++r) append_row(rows[r], row_colours[r]);
}

void append_names(std::string& out, const char* title, const std::vector<std::string>& names) {
  if (names.empty()) return;
  out += title;
  for (const std::string& name : names) out += "\n  " + name;
  out += '\n';
}

}  // namespace

std::string render_table(const Comparison& c, bool colour) {
  std::string out;
  out += "Comparing " + c.base_path + " (base) to " + c.new_path + " (new)\n\n";
  std::vector<std::vector<std::string>> rows;
  std::vector<const char*> colours;
  for (const BenchmarkComparison& b : c.benchmarks) {
    rows.push_back(detail::benchmark_cells(b));
    colours.push_back(colour ? colour_of(b.verdict) : nullptr);
  }
  append_columns(out, detail::benchmark_headers(c), rows, colours);

  rows = detail::primary_counter_rows(c);
  if (!rows.empty()) {
    out += "\nCounters\n";
    append_columns(out, detail::counter_headers(), rows,
                   std::vector<const char*>(rows.size(), nullptr));
  }

  out += '\n';
  append_names(out, "Only in base:", c.only_in_base);
  append_names(out, "Only in new:", c.only_in_new);
  out += "Summary: " + detail::describe_summary(c) + "\n";
  return out;
}

}  // namespace tally::compare
