#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/tally/compare/renderers.hpp"
#include "tools/tally/compare/text_format.hpp"

namespace tally::compare {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

// Chart geometry, in SVG user units (the page scales it to its width).
constexpr double kWidth = 960;
constexpr double kLabelWidth = 420;  // benchmark names, right-aligned against the axis area
constexpr double kBarArea = kWidth - kLabelWidth - 20;
constexpr double kRowHeight = 22;
constexpr double kBarHeight = 14;
constexpr double kTop = 30;

// One horizontal bar per judged benchmark, from a zero axis in the middle of the bar area:
// right is an increase of the metric, left a decrease; colour is the verdict.
std::string chart(const Comparison& c) {
  std::vector<const BenchmarkComparison*> judged;
  for (const BenchmarkComparison& b : c.benchmarks) {
    if (b.primary && b.metric_change) judged.push_back(&b);
  }
  double largest = 0.01;  // at least +-1% across the area, so noise does not fill it
  for (const BenchmarkComparison* b : judged)
    largest = std::max(largest, std::abs(*b->metric_change));
  const double zero_x = kLabelWidth + kBarArea / 2;
  const double scale = (kBarArea / 2 - 60) / largest;  // room for the value label
  const double height = kTop + kRowHeight * static_cast<double>(judged.size()) + 10;

  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + number(kWidth) + " " + number(height) +
                    "\" role=\"img\" aria-label=\"" +
                    escape("Change in " + c.metric.label() + " per benchmark") + "\">\n";
  svg += "<text x=\"" + number(zero_x) + "\" y=\"16\" text-anchor=\"middle\" class=\"axis\">" +
         escape("change in " + c.metric.label() + " (new vs base)") + "</text>\n";
  svg += "<line x1=\"" + number(zero_x) + "\" y1=\"" + number(kTop - 6) + "\" x2=\"" +
         number(zero_x) + "\" y2=\"" + number(height - 4) + "\" class=\"zero\"/>\n";
  for (std::size_t i = 0; i < judged.size(); ++i) {
    const BenchmarkComparison& b = *judged[i];
    const double change = *b.metric_change;
    const double y = kTop + kRowHeight * static_cast<double>(i);
    const double w = std::max(1.0, std::abs(change) * scale);
    const double x = change >= 0 ? zero_x : zero_x - w;
    const std::string label = detail::format_change(change);
    svg += "<text x=\"" + number(kLabelWidth - 8) + "\" y=\"" + number(y + kBarHeight - 3) +
           "\" text-anchor=\"end\" class=\"name\">" + escape(b.display_name) + "</text>\n";
    svg += "<rect class=\"bar " + std::string(to_string(b.verdict)) + "\" x=\"" + number(x) +
           "\" y=\"" + number(y) + "\" width=\"" + number(w) + "\" height=\"" + number(kBarHeight) +
           "\"><title>" + escape(b.display_name + ": " + label) + "</title></rect>\n";
    const double text_x = change >= 0 ? x + w + 4 : x - 4;
    svg += "<text x=\"" + number(text_x) + "\" y=\"" + number(y + kBarHeight - 3) +
           "\" text-anchor=\"" + (change >= 0 ? "start" : "end") + "\" class=\"value\">" +
           escape(label) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

std::string table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::vector<std::string>& row_classes) {
  std::string out = "<table>\n<thead><tr>";
  for (const std::string& h : headers) out += "<th>" + escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += row_classes[r].empty() ? "<tr>" : "<tr class=\"" + row_classes[r] + "\">";
    for (const std::string& cell : rows[r]) out += "<td>" + escape(cell) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

std::string name_list(const char* title, const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out = std::string("<h2>") + title + "</h2>\n<ul>\n";
  for (const std::string& name : names) out += "<li><code>" + escape(name) + "</code></li>\n";
  return out + "</ul>\n";
}

// Inline, so that the page needs nothing but itself; system fonts only.
constexpr const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
tr.slower td{color:#b00020}tr.faster td{color:#00796b}
.chart{width:100%;max-width:960px;font-size:12px}
.bar.slower{fill:#d9534f}.bar.faster{fill:#2e9d8f}.bar.unchanged{fill:#9e9e9e}
.zero{stroke:#444;stroke-width:1}.axis{fill:#555}.name,.value{fill:#222}
)";

}  // namespace

std::string render_html(const Comparison& c) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>Benchmark comparison</title>\n<style>\n";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<h1>Benchmark comparison</h1>\n";
  out += "<p>Base <code>" + escape(c.base_path) + "</code>, new <code>" + escape(c.new_path) +
         "</code>.</p>\n";
  out += "<p class=\"summary\">" + escape(detail::describe_summary(c)) + "</p>\n";
  out += chart(c);

  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  for (const BenchmarkComparison& b : c.benchmarks) {
    rows.push_back(detail::benchmark_cells(b));
    classes.emplace_back(to_string(b.verdict));
  }
  out += "<h2>Benchmarks</h2>\n" + table(detail::benchmark_headers(c), rows, classes);
  rows = detail::primary_counter_rows(c);
  classes.assign(rows.size(), std::string());
  if (!rows.empty()) out += "<h2>Counters</h2>\n" + table(detail::counter_headers(), rows, classes);
  out += name_list("Only in base", c.only_in_base);
  out += name_list("Only in new", c.only_in_new);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace tally::compare
