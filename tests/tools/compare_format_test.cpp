// The output formats of `tally compare` on one small, fully known comparison.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "tools/tally/compare/comparison.hpp"
#include "tools/tally/compare/renderers.hpp"
#include "tools/tally/compare/report_parser.hpp"

namespace {

using namespace tally::compare;

// Two single-run benchmarks: BM_Slow 100 -> 150 ns (+50%), BM_Fast|x<y> 200 -> 100 ns
// (-50%, a name with characters every format must escape), and one only in each report.
Comparison sample(bool with_threshold = true) {
  const auto base = parse_report(R"({"benchmarks":[
      {"name":"BM_Slow","real_time":100,"cpu_time":90,"time_unit":"ns","items_per_second":10},
      {"name":"BM_Fast|x<y>","real_time":200,"cpu_time":200,"time_unit":"ns"},
      {"name":"BM_Gone","real_time":1,"cpu_time":1,"time_unit":"ns"}]})",
                                 "base.json");
  const auto contender = parse_report(R"({"benchmarks":[
      {"name":"BM_Slow","real_time":150,"cpu_time":90,"time_unit":"ns","items_per_second":5},
      {"name":"BM_Fast|x<y>","real_time":100,"cpu_time":100,"time_unit":"ns"},
      {"name":"BM_Added","real_time":1,"cpu_time":1,"time_unit":"ns"}]})",
                                      "new.json");
  CompareOptions options;
  if (with_threshold) options.threshold_pct = 10;
  auto c = compare_reports({{"", *base, *contender}}, options, "base.json", "new.json");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c;
}

TEST(CompareFormat, ParsesFormatNames) {
  EXPECT_EQ(parse_output_format("table"), OutputFormat::kTable);
  EXPECT_EQ(parse_output_format("markdown"), OutputFormat::kMarkdown);
  EXPECT_EQ(parse_output_format("json"), OutputFormat::kJson);
  EXPECT_EQ(parse_output_format("html"), OutputFormat::kHtml);
  EXPECT_FALSE(parse_output_format("csv").has_value());
}

TEST(CompareFormat, JsonHoldsOneEntryPerPairWithChangesAsFractions) {
  const auto doc = nlohmann::json::parse(render_json(sample()));
  ASSERT_EQ(doc["benchmarks"].size(), 2u);
  const auto& slow = doc["benchmarks"][0];
  EXPECT_EQ(slow["name"], "BM_Slow");
  EXPECT_DOUBLE_EQ(slow["base"]["real_time"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(slow["new"]["real_time"].get<double>(), 150);
  EXPECT_DOUBLE_EQ(slow["time_change"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(slow["cpu_change"].get<double>(), 0.0);
  EXPECT_FALSE(slow.contains("pvalue")) << "no repetitions, no U test";
  EXPECT_EQ(slow["verdict"], "slower");
  EXPECT_EQ(slow["regression"], true);
  EXPECT_EQ(slow["counters"][0]["name"], "items_per_second");
  EXPECT_DOUBLE_EQ(slow["counters"][0]["change"].get<double>(), -0.5);
  EXPECT_EQ(doc["benchmarks"][1]["name"], "BM_Fast|x<y>");
  EXPECT_EQ(doc["benchmarks"][1]["verdict"], "faster");
  EXPECT_EQ(doc["only_in_base"], nlohmann::json::array({"BM_Gone"}));
  EXPECT_EQ(doc["only_in_new"], nlohmann::json::array({"BM_Added"}));
  EXPECT_EQ(doc["summary"]["slower"], 1);
  EXPECT_EQ(doc["summary"]["faster"], 1);
  EXPECT_EQ(doc["summary"]["regressions"], 1);
  EXPECT_NEAR(doc["summary"]["geomean_ratio"].get<double>(), std::sqrt(1.5 * 0.5), 1e-12);
  EXPECT_DOUBLE_EQ(doc["threshold_pct"].get<double>(), 10);
}

TEST(CompareFormat, TableIsPlainWithoutColourAndColouredWithIt) {
  const Comparison c = sample();
  const std::string plain = render_table(c, false);
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  EXPECT_NE(plain.find("BM_Slow"), std::string::npos);
  EXPECT_NE(plain.find("+50.00%"), std::string::npos);
  EXPECT_NE(plain.find("-50.00%"), std::string::npos);
  EXPECT_NE(plain.find("Only in base:\n  BM_Gone"), std::string::npos);
  EXPECT_NE(plain.find("1 slower by more than 10%"), std::string::npos);
  const std::string coloured = render_table(c, true);
  EXPECT_NE(coloured.find("\033[91mBM_Slow"), std::string::npos) << "slower rows in red";
  EXPECT_NE(coloured.find("\033[96mBM_Fast"), std::string::npos) << "faster rows in cyan";
}

// Columns line up: every row of the benchmark table puts its verdict at the same column.
TEST(CompareFormat, TableColumnsAlign) {
  const std::string table = render_table(sample(), false);
  const std::size_t slow = table.find("BM_Slow");
  const std::size_t fast = table.find("BM_Fast");
  const std::size_t slow_line_end = table.find('\n', slow);
  const std::size_t fast_line_end = table.find('\n', fast);
  EXPECT_EQ(slow_line_end - slow, fast_line_end - fast);
}

TEST(CompareFormat, MarkdownEscapesPipesAndMarksSlower) {
  const std::string md = render_markdown(sample());
  EXPECT_NE(md.find("| Benchmark |"), std::string::npos);
  EXPECT_NE(md.find("BM_Fast\\|x<y>"), std::string::npos);
  EXPECT_NE(md.find("**slower**"), std::string::npos);
  EXPECT_NE(md.find("- ` BM_Added `"), std::string::npos);
}

TEST(CompareFormat, HtmlIsSelfContainedWithOneBarPerBenchmark) {
  const std::string html = render_html(sample());
  std::size_t bars = 0;
  for (std::size_t at = html.find("<rect class=\"bar"); at != std::string::npos;
       at = html.find("<rect class=\"bar", at + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 2u);
  EXPECT_NE(html.find("<rect class=\"bar slower\""), std::string::npos);
  EXPECT_NE(html.find("<rect class=\"bar faster\""), std::string::npos);
  EXPECT_NE(html.find("BM_Fast|x&lt;y&gt;"), std::string::npos) << "names are escaped";
  EXPECT_EQ(html.find("BM_Fast|x<y>"), std::string::npos);
  for (const char* external : {"<script", "http:", "https:", "src=", "@import", "url("}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
}

}  // namespace
