#include <algorithm>
#include <string>
#include <vector>

#include "tools/tally/compare/renderers.hpp"
#include "tools/tally/compare/text_format.hpp"

namespace tally::compare {
namespace {

// A cell of a GitHub table: a pipe would end the cell, a newline the row.
std::string escape_cell(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') {
      out += "\\|";
    } else if (ch == '\n' || ch == '\r') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

void append_table(std::string& out, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  const auto append_row = [&out](const std::vector<std::string>& cells) {
    out += '|';
    for (const std::string& cell : cells) out += " " + escape_cell(cell) + " |";
    out += '\n';
  };
  append_row(headers);
  out += "|---|";
  for (std::size_t i = 1; i < headers.size(); ++i) out += "--:|";
  out += '\n';
  for (const auto& row : rows) append_row(row);
}

// Inline code, with a fence longer than any backtick run inside (CommonMark).
std::string code(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (char ch : text) {
    run = ch == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  return fence + " " + text + " " + fence;
}

}  // namespace

std::string render_markdown(const Comparison& c) {
  std::string out = "### Benchmark comparison\n\n";
  out += "Base " + code(c.base_path) + ", new " + code(c.new_path) + ".\n\n";
  out += "**Summary:** " + escape_cell(detail::describe_summary(c)) + "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const BenchmarkComparison& b : c.benchmarks) {
    std::vector<std::string> cells = detail::benchmark_cells(b);
    cells.front() = code(cells.front());
    if (b.verdict == Verdict::kSlower) cells.back() = "**slower**";
    rows.push_back(std::move(cells));
  }
  append_table(out, detail::benchmark_headers(c), rows);

  rows = detail::primary_counter_rows(c);
  for (std::vector<std::string>& cells : rows) cells.front() = code(cells.front());
  if (!rows.empty()) {
    out += "\n<details><summary>Counters</summary>\n\n";
    append_table(out, detail::counter_headers(), rows);
    out += "\n</details>\n";
  }
  const auto append_names = [&out](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += std::string("\n") + title + "\n\n";
    for (const std::string& name : names) out += "- " + code(name) + "\n";
  };
  append_names("Only in base:", c.only_in_base);
  append_names("Only in new:", c.only_in_new);
  return out;
}

}  // namespace tally::compare
