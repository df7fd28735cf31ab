// The output formats of `tally compare`. Each renders a whole Comparison to text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tools/tally/compare/comparison.hpp"

namespace tally::compare {

enum class OutputFormat { kTable, kMarkdown, kJson, kHtml };

// "table", "markdown", "json" or "html".
std::optional<OutputFormat> parse_output_format(std::string_view name);

// Aligned columns for a terminal; with `colour`, slower verdicts in red and faster in cyan
// (compare.py's colours) via ANSI escapes.
std::string render_table(const Comparison& c, bool colour);

// A GitHub-flavoured Markdown table and summary, for pull-request comments.
std::string render_markdown(const Comparison& c);

// For machines: {"benchmarks": [{"name", "base", "new", "time_change", "cpu_change",
// "pvalue", ...}], "only_in_base", "only_in_new", "summary"}. Changes are fractions computed
// as compare.py does (+0.10 = 10% slower); "measurements" mirrors compare.py's per-repetition
// list. Documented field by field in the README.
std::string render_json(const Comparison& c);

// A self-contained HTML page: an inline SVG bar chart of the metric's change, one
// <rect class="bar ..."> per judged benchmark, and the full table. No scripts, fonts or URLs.
std::string render_html(const Comparison& c);

std::string render(const Comparison& c, OutputFormat format, bool colour);

}  // namespace tally::compare
