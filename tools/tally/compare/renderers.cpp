#include "tools/tally/compare/renderers.hpp"

namespace tally::compare {

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "markdown") return OutputFormat::kMarkdown;
  if (name == "json") return OutputFormat::kJson;
  if (name == "html") return OutputFormat::kHtml;
  return std::nullopt;
}

std::string render(const Comparison& c, OutputFormat format, bool colour) {
  switch (format) {
    case OutputFormat::kTable:
      return render_table(c, colour);
    case OutputFormat::kMarkdown:
      return render_markdown(c);
    case OutputFormat::kJson:
      return render_json(c);
    case OutputFormat::kHtml:
      return render_html(c);
  }
  return render_table(c, colour);
}

}  // namespace tally::compare
