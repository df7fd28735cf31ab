// Reading reports, pairing them and judging the pairs: tally::compare's logic without the
// program around it. Reports are written inline so that each test shows its whole input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tools/tally/compare/comparison.hpp"
#include "tools/tally/compare/mann_whitney.hpp"
#include "tools/tally/compare/pairing.hpp"
#include "tools/tally/compare/report_parser.hpp"

namespace {

using namespace tally::compare;

// A Google Benchmark run entry, as the library writes it.
std::string run(const std::string& name, double real, double cpu, const std::string& unit = "ns",
                const std::string& extra = "") {
  return R"({"name":")" + name + R"(","run_name":")" + name +
         R"(","run_type":"iteration","real_time":)" + std::to_string(real) + R"(,"cpu_time":)" +
         std::to_string(cpu) + R"(,"time_unit":")" + unit + "\"" + extra + "}";
}

std::string report(const std::vector<std::string>& runs) {
  std::string list;
  for (const std::string& r : runs) list += (list.empty() ? "" : ",") + r;
  return R"({"context":{},"benchmarks":[)" + list + "]}";
}

BenchmarkReport parse_ok(const std::string& text, const std::string& path = "r.json") {
  auto r = parse_report(text, path);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : BenchmarkReport{};
}

Comparison compare_ok(const BenchmarkReport& base, const BenchmarkReport& contender,
                      const CompareOptions& options = {}) {
  auto c = compare_reports({{"", base, contender}}, options, base.path, contender.path);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : Comparison{};
}

// --- parsing: each bad input is refused with one line naming the file and the problem.

struct BadInput {
  const char* name;
  std::string text;
  std::string problem;  // must appear in the message
};

class CompareParseBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CompareParseBadInput, NamesTheFileAndTheProblem) {
  const auto r = parse_report(GetParam().text, "dir/bad.json");
  ASSERT_FALSE(r.ok());
  const std::string message = r.status().message();
  EXPECT_EQ(message.rfind("'dir/bad.json': ", 0), 0u) << message;
  EXPECT_NE(message.find(GetParam().problem), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CompareParseBadInput,
    ::testing::Values(
        BadInput{"Empty", "  \n", "empty file"},
        BadInput{"Malformed", R"({"benchmarks": [}, ])", "malformed JSON"},
        BadInput{"Truncated", report({run("BM_A", 1, 1)}).substr(0, 40), "truncated JSON"},
        BadInput{"NotAReport", R"({"hello": "world"})", "not a benchmark report"},
        BadInput{"TopLevelArray", "[1, 2]", "not a benchmark report"},
        BadInput{"EmptyList", R"({"benchmarks": []})", "empty benchmark list"},
        BadInput{"NoRealTime", R"({"benchmarks": [{"name": "BM_A", "cpu_time": 1}]})",
                 "no numeric 'real_time'"},
        BadInput{"UnknownUnit", report({run("BM_A", 1, 1, "min")}), "unknown time unit 'min'"},
        BadInput{"MismatchedUnits", report({run("BM_A", 1, 1, "ns"), run("BM_A", 1, 1, "us")}),
                 "mismatched time units for 'BM_A': ns and us"},
        BadInput{"TallyWithoutPhases", R"({"tally_run_report": 1})", "no 'phases'"},
        BadInput{"NonBooleanErrorOccurred",
                 report({run("BM_A", 1, 1, "ns", R"(,"error_occurred":"no")")}),
                 "benchmark 'BM_A' has a non-boolean 'error_occurred'"},
        BadInput{"NumberOverflow", report({run("BM_A", 1, 1, "ns", R"(,"big":1e999)")}),
                 "number out of range"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CompareParseReport, ReadsRunsCountersAndAggregates) {
  const BenchmarkReport r = parse_ok(report(
      {run("BM_A", 10, 9, "us", R"(,"items_per_second":5e6,"repetition_index":0,"my_counter":3)"),
       R"({"name":"BM_A_cv","run_name":"BM_A","run_type":"aggregate","aggregate_name":"cv",
           "aggregate_unit":"percentage","real_time":0.01,"cpu_time":0.02,"time_unit":"us"})"}));
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].time_unit, "us");
  EXPECT_DOUBLE_EQ(r.runs[0].real_time, 10);
  ASSERT_EQ(r.runs[0].counters.size(), 2u);
  EXPECT_EQ(r.runs[0].counters[0].first, "items_per_second");
  EXPECT_EQ(r.runs[0].counters[1].first, "my_counter");
  EXPECT_EQ(r.runs[0].repetition_index, 0);
  EXPECT_TRUE(r.runs[1].is_aggregate);
  EXPECT_TRUE(r.runs[1].is_percentage);
  EXPECT_EQ(r.runs[1].aggregate_name, "cv");
  EXPECT_EQ(r.runs[1].run_name, "BM_A");
}

TEST(CompareParseReport, SkipsRunsThatFailed) {
  const BenchmarkReport r = parse_ok(report(
      {run("BM_A", 1, 1), R"({"name":"BM_B","error_occurred":true,"error_message":"boom"})"}));
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].name, "BM_A");
}

// Google Benchmark 1.8's SkipWithMessage: "skipped" and "skip_message", times of nothing.
TEST(CompareParseReport, SkipsRunsThatWereSkipped) {
  const BenchmarkReport r = parse_ok(report(
      {run("BM_A", 1, 1), run("BM_B", 0, 0, "ns", R"(,"skipped":true,"skip_message":"no GPU")")}));
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].name, "BM_A");
}

// Oracle: Google Benchmark's JSON reporter writes a non-finite number as the bare token NaN,
// Infinity or -Infinity (not JSON: nlohmann refuses them). They are read wherever a number may
// stand, and left out of the comparison since they have no change to compute:
//  - a counter that is not finite is dropped from its run;
//  - a CPU time that is not finite leaves the run without one;
//  - a real time that is not finite leaves the run out, as a failed run is left out.
// The same words inside strings are text, untouched.
TEST(CompareParseReport, ReadsNonFiniteNumbers) {
  const BenchmarkReport r = parse_ok(
      R"({"context":{"load_avg":[NaN,Infinity,-Infinity]},"benchmarks":[)" +
      run("BM_A", 1, 2, "ns",
          R"(,"nan":NaN,"inf":Infinity,"minus_inf":-Infinity,"ok":1,"label":"NaN: Infinity")") +
      "," +
      R"({"name":"BM_NaN","run_name":"BM_NaN","real_time":2,"cpu_time":Infinity,"time_unit":"ns"},
         {"name":"BM_Inf","run_name":"BM_Inf","real_time":-Infinity,"cpu_time":1,"time_unit":"ns"},
         {"name":"BM_C_cv","run_name":"BM_C","run_type":"aggregate","aggregate_name":"cv",
          "aggregate_unit":"percentage","real_time":NaN,"cpu_time":0.1,"time_unit":"ns"}]})");
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].name, "BM_A");
  ASSERT_EQ(r.runs[0].counters.size(), 1u);
  EXPECT_EQ(r.runs[0].counters[0].first, "ok");
  EXPECT_DOUBLE_EQ(*r.runs[0].cpu_time, 2);
  EXPECT_EQ(r.runs[1].name, "BM_NaN");
  EXPECT_FALSE(r.runs[1].cpu_time.has_value());
  EXPECT_DOUBLE_EQ(r.runs[1].real_time, 2);
}

// Oracle: replacing the non-finite tokens does not move the byte offsets of errors, and a
// token that only looks like one (NaNa, Infinit, a lone -) is malformed JSON where it stands.
TEST(CompareParseReport, NonFiniteTokensKeepErrorOffsets) {
  const std::string prefix = R"({"benchmarks":[{"name":"BM_A","x":NaN,"y":-Infinity,)";
  const auto r = parse_report(prefix + "}]}", "r.json");
  ASSERT_FALSE(r.ok());
  // nlohmann counts bytes from 1: the '}' after the trailing comma is byte prefix.size() + 1.
  EXPECT_EQ(r.status().message(),
            "'r.json': malformed JSON at byte " + std::to_string(prefix.size() + 1));
  for (const char* bad : {"NaNa", "Infinit", "-", "nan", "+Infinity", "- Infinity"}) {
    SCOPED_TRACE(bad);
    const auto b =
        parse_report(report({run("BM_A", 1, 1, "ns", std::string(",\"x\":") + bad)}), "r.json");
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.status().message().find("malformed JSON"), std::string::npos)
        << b.status().message();
  }
}

// Oracle: complexity fits, as Google Benchmark writes them after a ->Complexity() family
// (aggregate "BigO" with cpu_coefficient, real_coefficient and big_o; aggregate "RMS" with rms;
// neither with a real_time), are left out as compare.py leaves them out. A report with nothing
// else has nothing to compare.
TEST(CompareParseReport, SkipsComplexityFits) {
  const std::string big_o =
      R"({"name":"BM_S_BigO","family_index":0,"per_family_instance_index":0,"run_name":"BM_S",
          "run_type":"aggregate","repetitions":1,"threads":1,"aggregate_name":"BigO",
          "aggregate_unit":"time","cpu_coefficient":6.6e-01,"real_coefficient":1.6e+00,
          "big_o":"NlgN","time_unit":"ns"})";
  const std::string rms =
      R"({"name":"BM_S_RMS","family_index":0,"per_family_instance_index":0,"run_name":"BM_S",
          "run_type":"aggregate","repetitions":1,"threads":1,"aggregate_name":"RMS",
          "aggregate_unit":"percentage","rms":NaN})";
  const BenchmarkReport r = parse_ok(report({run("BM_S/64", 1, 1), big_o, rms}));
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].name, "BM_S/64");
  const auto only_fits = parse_report(report({big_o, rms}), "fits.json");
  ASSERT_FALSE(only_fits.ok());
  EXPECT_EQ(only_fits.status().message(),
            "'fits.json': no benchmark to compare (failed and skipped runs and complexity fits "
            "are left out)");
}

TEST(CompareParseReport, TallyRunReportBecomesPhases) {
  const BenchmarkReport r = parse_ok(
      R"({"tally_run_report":1,"phases":{"split_seconds":0.5,"map_seconds":2,"merge_seconds":0.25,
          "finalize_seconds":0.25,"total_seconds":3},"bytes_in":3000,"records_in":30,
          "peak_rss_bytes":1024})");
  ASSERT_EQ(r.runs.size(), 5u);
  EXPECT_EQ(r.runs[1].name, "map");
  EXPECT_DOUBLE_EQ(r.runs[1].real_time, 2);
  EXPECT_EQ(r.runs[1].time_unit, "s");
  EXPECT_FALSE(r.runs[1].cpu_time.has_value());
  const BenchmarkRun& total = r.runs[4];
  ASSERT_EQ(total.counters.size(), 3u);
  EXPECT_EQ(total.counters[0].first, "bytes_per_second");
  EXPECT_DOUBLE_EQ(total.counters[0].second, 1000);
  EXPECT_DOUBLE_EQ(total.counters[1].second, 10);  // records per second
  EXPECT_DOUBLE_EQ(total.counters[2].second, 1024);
}

TEST(CompareLoadReport, MissingFileNamesIt) {
  const auto r = load_report("/nonexistent/tally/base.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "'/nonexistent/tally/base.json': No such file or directory");
}

class CompareLoadReportFile : public tally::testing::ScratchDirTest {};

// Oracle: a directory is refused by name ("is a directory"), not read as an empty file.
TEST_F(CompareLoadReportFile, DirectoryIsRefusedByName) {
  const auto r = load_report(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "'" + dir_.string() + "': is a directory");
}

// Oracle: a report may hold at most 256 MiB. A regular file one byte larger is refused from
// its size with a message naming it; one of exactly 256 MiB is read (and, being zeros, is
// malformed JSON: nlohmann counts bytes from 1). The files are sparse: they cost no disk.
TEST_F(CompareLoadReportFile, FileAboveTheSizeLimitIsRefused) {
  const std::uintmax_t limit = std::uintmax_t{256} << 20;
  const std::string path = write("huge.json", "");
  std::filesystem::resize_file(path, limit + 1);
  const auto too_big = load_report(path);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().message(),
            "'" + path + "': larger than 256 MiB, the most a report may hold");
  std::filesystem::resize_file(path, limit);
  const auto at_limit = load_report(path);
  ASSERT_FALSE(at_limit.ok());
  EXPECT_EQ(at_limit.status().message(), "'" + path + "': malformed JSON at byte 1");
}

// --- pairing

TEST(ComparePairing, PairsByNameAndListsTheRest) {
  const BenchmarkReport base = parse_ok(report({run("BM_A", 1, 1), run("BM_B", 1, 1)}), "b");
  const BenchmarkReport contender = parse_ok(report({run("BM_C", 1, 1), run("BM_A", 2, 2)}), "n");
  const auto p = pair_benchmarks(base, contender);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->pairs.size(), 1u);
  EXPECT_EQ(p->pairs[0].base.name, "BM_A");
  EXPECT_DOUBLE_EQ(p->pairs[0].contender.first().real_time, 2);
  EXPECT_EQ(p->only_in_base, std::vector<std::string>{"BM_B"});
  EXPECT_EQ(p->only_in_new, std::vector<std::string>{"BM_C"});
}

// compare.py sorts by repetition_index before pairing the i-th repetition with the i-th.
TEST(ComparePairing, OrdersRepetitionsLikeCompareDotPy) {
  const BenchmarkReport r = parse_ok(report({run("BM_A", 3, 3, "ns", R"(,"repetition_index":2)"),
                                             run("BM_A", 1, 1, "ns", R"(,"repetition_index":0)"),
                                             run("BM_A", 2, 2, "ns", R"(,"repetition_index":1)")}));
  const std::vector<BenchmarkSeries> series = group_into_series(r);
  ASSERT_EQ(series.size(), 1u);
  ASSERT_EQ(series[0].runs.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(series[0].runs[i]->real_time, i + 1);
}

TEST(ComparePairing, PercentageAgainstTimeCannotBeCompared) {
  const std::string cv_percent =
      R"({"name":"BM_A_cv","run_type":"aggregate","aggregate_name":"cv","aggregate_unit":"percentage","real_time":0.1,"cpu_time":0.1,"time_unit":"ns"})";
  const std::string cv_time =
      R"({"name":"BM_A_cv","run_type":"aggregate","aggregate_name":"cv","real_time":0.1,"cpu_time":0.1,"time_unit":"ns"})";
  const auto p = pair_benchmarks(parse_ok(report({cv_percent}), "base.json"),
                                 parse_ok(report({cv_time}), "new.json"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("'new.json': mismatched units for 'BM_A_cv'", 0), 0u)
      << p.status().message();
}

// --- comparing and judging

// Different time units are converted (compare.py would silently drop such a pair).
TEST(Compare, ConvertsTimeUnitsToTheBases) {
  const Comparison c = compare_ok(parse_ok(report({run("BM_A", 2000, 1000, "ns")})),
                                  parse_ok(report({run("BM_A", 3, 1, "us")})));
  ASSERT_EQ(c.benchmarks.size(), 1u);
  const BenchmarkComparison& b = c.benchmarks[0];
  EXPECT_EQ(b.time_unit, "ns");
  EXPECT_DOUBLE_EQ(b.new_real, 3000);
  EXPECT_DOUBLE_EQ(b.time_change, 0.5);
  EXPECT_DOUBLE_EQ(*b.cpu_change, 0.0);
}

// Repetitions: medians, per-repetition measurements, and a U test; the aggregates are shown
// but only the repetitions are judged.
TEST(Compare, RepetitionsAreJudgedByTheUTest) {
  std::vector<std::string> base_runs, new_runs;
  for (int i = 0; i < 5; ++i) {
    const std::string index = R"(,"repetition_index":)" + std::to_string(i);
    base_runs.push_back(run("BM_A", 100 + i, 100 + i, "ns", index));
    new_runs.push_back(run("BM_A", 150 + i, 150 + i, "ns", index));
  }
  base_runs.push_back(
      R"({"name":"BM_A_mean","run_name":"BM_A","run_type":"aggregate","aggregate_name":"mean","real_time":102,"cpu_time":102,"time_unit":"ns"})");
  new_runs.push_back(
      R"({"name":"BM_A_mean","run_name":"BM_A","run_type":"aggregate","aggregate_name":"mean","real_time":152,"cpu_time":152,"time_unit":"ns"})");
  CompareOptions options;
  options.threshold_pct = 10;
  const Comparison c = compare_ok(parse_ok(report(base_runs)), parse_ok(report(new_runs)), options);
  ASSERT_EQ(c.benchmarks.size(), 2u);
  const BenchmarkComparison& reps = c.benchmarks[0];
  EXPECT_TRUE(reps.primary);
  EXPECT_DOUBLE_EQ(reps.base_real, 102);  // median of 100..104
  EXPECT_DOUBLE_EQ(reps.new_real, 152);
  ASSERT_EQ(reps.measurements.size(), 5u);
  EXPECT_DOUBLE_EQ(reps.measurements[4].time, relative_change(104, 154));
  ASSERT_TRUE(reps.utest.has_value());
  // Completely separated 5 vs 5, no ties: exact p = 2 / C(10, 5) = 2 / 252.
  EXPECT_NEAR(reps.utest->time_pvalue, 2.0 / 252.0, 1e-15);
  EXPECT_FALSE(reps.utest->have_optimal_repetitions);
  EXPECT_EQ(reps.verdict, Verdict::kSlower);
  EXPECT_TRUE(reps.regression);
  const BenchmarkComparison& mean = c.benchmarks[1];
  EXPECT_FALSE(mean.primary);
  EXPECT_FALSE(mean.utest.has_value());
  EXPECT_EQ(mean.verdict, Verdict::kNone);
  EXPECT_EQ(c.summary.compared, 1u);
  EXPECT_EQ(c.summary.slower, 1u);
  EXPECT_EQ(c.summary.regressions, 1u);
}

// Without a significant U test a change is "unchanged", however large: 5 vs 5 overlapping
// samples can reach p < 0.05, but these do not.
TEST(Compare, InsignificantChangeIsUnchanged) {
  std::vector<std::string> base_runs, new_runs;
  for (int i = 0; i < 5; ++i) {
    base_runs.push_back(run("BM_A", 100 + 40 * i, 100 + 40 * i));
    new_runs.push_back(run("BM_A", 120 + 40 * i, 120 + 40 * i));
  }
  CompareOptions options;
  options.threshold_pct = 5;
  const Comparison c = compare_ok(parse_ok(report(base_runs)), parse_ok(report(new_runs)), options);
  ASSERT_EQ(c.benchmarks.size(), 1u);
  EXPECT_GT(c.benchmarks[0].time_change, 0.05);
  ASSERT_TRUE(c.benchmarks[0].utest.has_value());
  EXPECT_TRUE(c.benchmarks[0].utest->decides);
  EXPECT_GE(*c.benchmarks[0].utest->metric_pvalue, 0.05);
  EXPECT_EQ(c.benchmarks[0].verdict, Verdict::kUnchanged);
  EXPECT_EQ(c.summary.regressions, 0u);
  EXPECT_EQ(c.summary.threshold_only, 0u);
}

// Oracle: with 2 vs 2 or 3 vs 3 repetitions the smallest attainable p-value, 2 / C(m + n, m),
// is 1/3 or 1/10, never below alpha 0.05: the U test cannot decide, so the threshold alone
// judges the pair (as for single runs) and the summary counts it. 5 vs 5 can decide.
TEST(Compare, TooFewRepetitionsAreJudgedByTheThreshold) {
  for (const int reps : {2, 3}) {
    SCOPED_TRACE(reps);
    std::vector<std::string> base_runs, new_runs;
    for (int i = 0; i < reps; ++i) {
      base_runs.push_back(run("BM_A", 100 + i, 100 + i));
      new_runs.push_back(run("BM_A", 125 + i, 125 + i));
    }
    CompareOptions options;
    options.threshold_pct = 10;
    const Comparison c =
        compare_ok(parse_ok(report(base_runs)), parse_ok(report(new_runs)), options);
    ASSERT_EQ(c.benchmarks.size(), 1u);
    const BenchmarkComparison& b = c.benchmarks[0];
    ASSERT_TRUE(b.utest.has_value());
    EXPECT_FALSE(b.utest->decides);
    EXPECT_GE(*b.utest->metric_pvalue, 0.05);
    EXPECT_EQ(b.verdict, Verdict::kSlower);
    EXPECT_TRUE(b.regression);
    EXPECT_EQ(c.summary.threshold_only, 1u);
  }
  EXPECT_NEAR(mann_whitney_smallest_p(3, 3), 0.1, 1e-15);
  EXPECT_LT(mann_whitney_smallest_p(5, 5), 0.05);
}

// Single runs cannot be tested: the threshold alone decides.
TEST(Compare, SingleRunsAreJudgedByTheThreshold) {
  const BenchmarkReport base =
      parse_ok(report({run("BM_A", 100, 100), run("BM_B", 100, 100), run("BM_C", 100, 100)}));
  const BenchmarkReport contender =
      parse_ok(report({run("BM_A", 104, 104), run("BM_B", 120, 120), run("BM_C", 50, 50)}));
  CompareOptions options;
  options.threshold_pct = 5;
  const Comparison c = compare_ok(base, contender, options);
  ASSERT_EQ(c.benchmarks.size(), 3u);
  EXPECT_EQ(c.benchmarks[0].verdict, Verdict::kUnchanged);
  EXPECT_EQ(c.benchmarks[1].verdict, Verdict::kSlower);
  EXPECT_EQ(c.benchmarks[2].verdict, Verdict::kFaster);
  EXPECT_EQ(c.summary.regressions, 1u);
  // Geometric mean of 1.04, 1.2 and 0.5.
  EXPECT_NEAR(*c.summary.geomean_ratio, std::cbrt(1.04 * 1.2 * 0.5), 1e-12);
}

// A throughput counter as the metric: a drop is the regression.
TEST(Compare, ThroughputCounterDropIsSlower) {
  const BenchmarkReport base =
      parse_ok(report({run("BM_A", 100, 100, "ns", R"(,"bytes_per_second":1000)")}));
  const BenchmarkReport contender =
      parse_ok(report({run("BM_A", 100, 100, "ns", R"(,"bytes_per_second":800)")}));
  CompareOptions options;
  options.metric = Metric::parse("bytes_per_second");
  options.threshold_pct = 10;
  const Comparison c = compare_ok(base, contender, options);
  ASSERT_EQ(c.benchmarks.size(), 1u);
  EXPECT_DOUBLE_EQ(*c.benchmarks[0].metric_change, -0.2);
  EXPECT_EQ(c.benchmarks[0].verdict, Verdict::kSlower);
  EXPECT_TRUE(c.benchmarks[0].regression);
}

// Oracle: compare_reports refuses options that would silently disable or bend the gate, for
// callers other than the command line too: a threshold that is NaN, infinite or negative, an
// alpha that is NaN or outside [0, 1]. Each failure names the option and its value.
TEST(Compare, RefusesNonFiniteOrOutOfRangeOptions) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const BenchmarkReport base = parse_ok(report({run("BM_A", 100, 100)}));
  const BenchmarkReport slower = parse_ok(report({run("BM_A", 200, 200)}));
  for (const double threshold : {nan, inf, -inf, -1.0}) {
    SCOPED_TRACE(threshold);
    CompareOptions options;
    options.threshold_pct = threshold;
    const auto c = compare_reports({{"", base, slower}}, options, "b", "n");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().message().rfind("--threshold ", 0), 0u) << c.status().message();
  }
  for (const double alpha : {nan, inf, -0.5, 1.5}) {
    SCOPED_TRACE(alpha);
    CompareOptions options;
    options.threshold_pct = 10;
    options.alpha = alpha;
    const auto c = compare_reports({{"", base, slower}}, options, "b", "n");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().message().rfind("--alpha ", 0), 0u) << c.status().message();
  }
}

TEST(Compare, UnknownCounterMetricIsAnError) {
  CompareOptions options;
  options.metric = Metric::parse("no_such_counter");
  const BenchmarkReport r = parse_ok(report({run("BM_A", 1, 1)}));
  const auto c = compare_reports({{"", r, r}}, options, "b", "n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no_such_counter"), std::string::npos);
}

TEST(Compare, FilterKeepsMatchingNamesOnly) {
  CompareOptions options;
  options.filter = NameFilter::compile("B$").value();
  const BenchmarkReport r = parse_ok(report({run("BM_A", 1, 1), run("BM_B", 1, 1)}));
  const Comparison c = compare_ok(r, r, options);
  ASSERT_EQ(c.benchmarks.size(), 1u);
  EXPECT_EQ(c.benchmarks[0].name, "BM_B");
}

// Oracle: std::regex_search with the default (depth-first) executor, safe on short names:
// NameFilter finds exactly what it finds, anchors, alternations, word boundaries and
// lookaheads included, and refuses what it refuses.
TEST(CompareNameFilter, FindsWhatRegexSearchFinds) {
  const std::vector<std::string> patterns = {"B$",
                                             "^BM_A",
                                             "A|Slow",
                                             "depth:(0|64)$",
                                             "[/:]64",
                                             "\\bPush",
                                             "x*",
                                             "^(?!BM_Slow)",
                                             "(?=Push)P.sh",
                                             "^$",
                                             ".",
                                             "Pop/d(?!epth)",
                                             "a)(b",
                                             "BM_\\w+/\\d+$",
                                             "(",
                                             "[z-a]"};
  const std::vector<std::string> names = {"BM_A",  "BM_Slow/1", "BM_PushPop/depth:64",
                                          "",      "a)(b",      "BM_PushPop/depth:0",
                                          "xBM_A", "BM_Pop/d1"};
  for (const std::string& pattern : patterns) {
    SCOPED_TRACE(pattern);
    std::optional<std::regex> oracle;
    try {
      oracle.emplace(pattern);
    } catch (const std::regex_error&) {
    }
    const tally::Result<NameFilter> filter = NameFilter::compile(pattern);
    ASSERT_EQ(filter.ok(), oracle.has_value()) << filter.status().message();
    if (!oracle) continue;
    for (const std::string& name : names) {
      EXPECT_EQ(filter->matches(name), std::regex_search(name, *oracle)) << name;
    }
  }
}

TEST(Compare, NothingInCommonIsAnError) {
  const auto c = compare_reports(
      {{"", parse_ok(report({run("BM_A", 1, 1)})), parse_ok(report({run("BM_B", 1, 1)}))}}, {},
      "b.json", "n.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "no benchmark is in both 'b.json' and 'n.json'");
}

// A report written with --benchmark_report_aggregates_only has no repetitions: its median
// aggregate speaks for the benchmark.
TEST(Compare, MedianAggregateIsPrimaryWithoutRepetitions) {
  const auto aggregate = [](const char* which, double t) {
    return std::string(R"({"name":"BM_A_)") + which +
           R"(","run_name":"BM_A","run_type":"aggregate","aggregate_name":")" + which +
           R"(","real_time":)" + std::to_string(t) + R"(,"cpu_time":1,"time_unit":"ns"})";
  };
  const Comparison c =
      compare_ok(parse_ok(report({aggregate("mean", 10), aggregate("median", 10)})),
                 parse_ok(report({aggregate("mean", 12), aggregate("median", 11)})));
  ASSERT_EQ(c.benchmarks.size(), 2u);
  EXPECT_FALSE(c.benchmarks[0].primary);
  EXPECT_TRUE(c.benchmarks[1].primary);
  EXPECT_EQ(c.summary.compared, 1u);
}

// Oracle: a benchmark present on both sides is judged once, whatever shape each report has.
// Base has repetitions and aggregates, new aggregates only (--benchmark_report_aggregates_only):
// the repetitions pair with nothing, so the paired median aggregate stands in and its 30%
// slowdown is a regression.
TEST(Compare, MedianStandsInWhenOnlyOneSideHasRepetitions) {
  const auto aggregate = [](const char* which, double t) {
    return std::string(R"({"name":"BM_A_)") + which +
           R"(","run_name":"BM_A","run_type":"aggregate","aggregate_name":")" + which +
           R"(","real_time":)" + std::to_string(t) + R"(,"cpu_time":)" + std::to_string(t) +
           R"(,"time_unit":"ns"})";
  };
  std::vector<std::string> base_runs;
  for (int i = 0; i < 3; ++i) base_runs.push_back(run("BM_A", 100, 100));
  base_runs.push_back(aggregate("mean", 100));
  base_runs.push_back(aggregate("median", 100));
  const BenchmarkReport contender =
      parse_ok(report({aggregate("mean", 130), aggregate("median", 130)}));
  CompareOptions options;
  options.threshold_pct = 10;
  const Comparison c = compare_ok(parse_ok(report(base_runs)), contender, options);
  ASSERT_EQ(c.benchmarks.size(), 2u);
  EXPECT_EQ(c.only_in_base, std::vector<std::string>{"BM_A"});
  EXPECT_EQ(c.benchmarks[0].name, "BM_A_mean");
  EXPECT_FALSE(c.benchmarks[0].primary);
  EXPECT_EQ(c.benchmarks[1].name, "BM_A_median");
  EXPECT_TRUE(c.benchmarks[1].primary);
  EXPECT_EQ(c.benchmarks[1].verdict, Verdict::kSlower);
  EXPECT_EQ(c.summary.compared, 1u);
  EXPECT_EQ(c.summary.regressions, 1u);
}

}  // namespace
