// `tally compare` as a user runs it: the real binary on the committed fixtures
// (compare_fixtures/README.md), against the output of Google Benchmark's compare.py on the
// same files, and its exit statuses.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/sanitized.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using tally::testing::ProcessResult;
using tally::testing::run_process;

const fs::path kFixtures = TALLY_COMPARE_FIXTURES;

ProcessResult tally_compare(std::vector<std::string> args) {
  args.insert(args.begin(), {TALLY_EXE, "compare"});
  return run_process(args);
}

std::string fixture(const std::string& side, const std::string& name) {
  return (kFixtures / side / (name + ".json")).string();
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// A Google Benchmark report as the test's own oracle reads it: the bare NaN, Infinity and
// -Infinity the library writes for non-finite numbers become null (nlohmann refuses them).
json read_gbench_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  static const std::regex kNonFinite(R"((:\s*|\[\s*|,\s*)-?(NaN|Infinity))");
  return json::parse(std::regex_replace(text.str(), kNonFinite, "$1null"));
}

// The names of the benchmarks with a failed run (error_occurred) in `report`.
std::set<std::string> failed_benchmarks(const json& report) {
  std::set<std::string> names;
  for (const json& run : report["benchmarks"]) {
    if (run.value("error_occurred", false)) names.insert(run["name"].get<std::string>());
  }
  return names;
}

// Agreement within 0.1% of compare.py's value (the issue's tolerance); both compute the same
// double expression, so in practice they are identical.
void expect_change_agrees(const json& ours, const json& theirs, const std::string& what) {
  ASSERT_TRUE(ours.is_number()) << what;
  const double expected = theirs.get<double>();
  EXPECT_NEAR(ours.get<double>(), expected, 1e-3 * std::abs(expected) + 1e-12) << what;
}

// Oracle: compare.py's -d dump (expected/<name>.json, made by ./regenerate). For every
// benchmark it reports, except those with failed runs (compare.py compares their zero times,
// tally leaves failed runs out: CompareGbenchShapes checks them), tally compare reports the
// same name with
//  - the same per-repetition changes ("measurements": time, cpu), and, where compare.py has a
//    single measurement (aggregates, single runs), the same time_change and cpu_change;
//  - a U test exactly when compare.py has one, with the same p-values (to 1e-9), the same
//    significance at alpha 0.05, and the same have_optimal_repetitions warning;
// and no benchmark compare.py does not report. Like compare.py, tally leaves out what has no
// real_time, cpu_time and time_unit to compare: complexity fits (_BigO, _RMS).
class AgreesWithCompareDotPy : public ::testing::TestWithParam<std::string> {};

TEST_P(AgreesWithCompareDotPy, ChangesPValuesAndVerdicts) {
  const std::string name = GetParam();
  const ProcessResult r =
      tally_compare({fixture("base", name), fixture("new", name), "--format", "json"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const json ours = json::parse(r.out);
  const json theirs = read_json(kFixtures / "expected" / (name + ".json"));
  std::set<std::string> failed = failed_benchmarks(read_gbench_json(fixture("base", name)));
  failed.merge(failed_benchmarks(read_gbench_json(fixture("new", name))));

  std::map<std::string, json> by_name;
  for (const json& b : ours["benchmarks"]) {
    if (failed.count(b["name"]) == 0) by_name[b["name"].get<std::string>()] = b;
  }
  std::size_t compared = 0;
  for (const json& expected : theirs) {
    const std::string bench = expected["name"];
    if (bench == "OVERALL_GEOMEAN") continue;  // see README: tally's summary differs
    if (failed.count(bench) != 0) continue;
    SCOPED_TRACE(bench);
    ASSERT_EQ(by_name.count(bench), 1u) << "missing from tally compare's output";
    const json& b = by_name[bench];
    ++compared;

    const json& measurements = expected["measurements"];
    ASSERT_EQ(b["measurements"].size(), measurements.size());
    for (std::size_t i = 0; i < measurements.size(); ++i) {
      expect_change_agrees(b["measurements"][i]["time"], measurements[i]["time"], "time");
      expect_change_agrees(b["measurements"][i]["cpu"], measurements[i]["cpu"], "cpu");
    }
    if (measurements.size() == 1) {
      expect_change_agrees(b["time_change"], measurements[0]["time"], "time_change");
      expect_change_agrees(b["cpu_change"], measurements[0]["cpu"], "cpu_change");
    }

    const json& utest = expected["utest"];
    ASSERT_EQ(b.contains("time_pvalue"), !utest.empty());
    if (utest.empty()) continue;
    EXPECT_NEAR(b["time_pvalue"].get<double>(), utest["time_pvalue"].get<double>(), 1e-9);
    EXPECT_NEAR(b["cpu_pvalue"].get<double>(), utest["cpu_pvalue"].get<double>(), 1e-9);
    EXPECT_EQ(b["pvalue"], b["time_pvalue"]) << "--metric real is the default";
    EXPECT_EQ(b["significant"].get<bool>(), utest["time_pvalue"].get<double>() < 0.05);
    EXPECT_EQ(b["have_optimal_repetitions"], utest["have_optimal_repetitions"]);
  }
  EXPECT_EQ(compared, by_name.size()) << "tally compare reports extra pairs";
  EXPECT_GT(compared, 0u);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AgreesWithCompareDotPy,
                         ::testing::Values("ws_deque_5reps", "ws_deque_9reps",
                                           "ws_deque_9reps_slower", "ws_deque_single",
                                           "gbench_complexity", "gbench_errors", "gbench_nonfinite",
                                           "gbench_units", "gbench_aggregates_only"));

// What compare.py's output cannot show about the gbench_* shapes (README.md), read from
// tally compare's JSON.
class CompareGbenchShapes : public ::testing::Test {
 protected:
  static json compare_json(const std::string& name) {
    const ProcessResult r =
        tally_compare({fixture("base", name), fixture("new", name), "--format", "json"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    return r.exit_status == 0 ? json::parse(r.out) : json();
  }

  static std::vector<std::string> names(const json& doc) {
    std::vector<std::string> out;
    for (const json& b : doc["benchmarks"]) out.push_back(b["name"]);
    return out;
  }
};

// Oracle: complexity fits (BM_x_BigO with coefficients, BM_x_RMS with rms; neither has a
// real_time) are left out, as compare.py leaves them out; the four sizes are compared and
// judged, and nothing is listed as present on one side only.
TEST_F(CompareGbenchShapes, ComplexityFitsAreLeftOut) {
  const json doc = compare_json("gbench_complexity");
  EXPECT_EQ(names(doc),
            (std::vector<std::string>{"BM_Complexity_Sort/64", "BM_Complexity_Sort/256",
                                      "BM_Complexity_Sort/1024", "BM_Complexity_Sort/4096"}));
  EXPECT_EQ(doc["summary"]["compared"], 4);
  EXPECT_TRUE(doc["only_in_base"].empty());
  EXPECT_TRUE(doc["only_in_new"].empty());
}

// Oracle: failed runs are left out. BM_Errors_Always failed every run on both sides: it is
// neither compared nor listed. BM_Errors_Sometimes failed its first and third of 4 runs: the
// 2 good ones a side are compared (2 vs 2: the threshold alone judges).
TEST_F(CompareGbenchShapes, FailedRunsAreLeftOut) {
  const json doc = compare_json("gbench_errors");
  const std::vector<std::string> got = names(doc);
  EXPECT_EQ(std::count(got.begin(), got.end(), "BM_Errors_Always"), 0);
  EXPECT_TRUE(doc["only_in_base"].empty());
  EXPECT_TRUE(doc["only_in_new"].empty());
  ASSERT_EQ(got.front(), "BM_Errors_Sometimes");
  const json& sometimes = doc["benchmarks"][0];
  EXPECT_EQ(sometimes["repetitions"], json({{"base", 2}, {"new", 2}}));
  EXPECT_EQ(sometimes["judged_by_threshold_only"], true);
  EXPECT_EQ(got[1], "BM_Errors_Never");
}

// Oracle: the counters Google Benchmark wrote as NaN, Infinity and -Infinity are read (the
// report is accepted) and left out, having no change to compute; the finite counters of the
// same runs are compared. The times are finite and compared as usual.
TEST_F(CompareGbenchShapes, NonFiniteCountersAreReadAndLeftOut) {
  const json doc = compare_json("gbench_nonfinite");
  ASSERT_EQ(names(doc).front(), "BM_NonFinite_Counters");
  const json& b = doc["benchmarks"][0];
  EXPECT_EQ(b["verdict"].is_string(), true);
  std::vector<std::string> counters;
  for (const json& c : b["counters"]) counters.push_back(c["name"]);
  EXPECT_EQ(counters, (std::vector<std::string>{"finite", "items_per_second"}));
  const ProcessResult by_nan_counter = tally_compare(
      {fixture("base", "gbench_nonfinite"), fixture("new", "gbench_nonfinite"), "--metric", "nan"});
  EXPECT_EQ(by_nan_counter.exit_status, 2);
  EXPECT_EQ(by_nan_counter.err,
            "tally compare: no benchmark has the counter 'nan' (with finite values) in both "
            "reports\n");
}

// Oracle: each benchmark keeps its report's time unit (ns, us, ms, s), threads are part of
// the name, and a user-defined statistic ("max") is an aggregate shown beside mean, median,
// stddev and cv, never judged.
TEST_F(CompareGbenchShapes, UnitsThreadsAndStatistics) {
  const json doc = compare_json("gbench_units");
  std::map<std::string, json> by_name;
  for (const json& b : doc["benchmarks"]) by_name[b["name"]] = b;
  EXPECT_EQ(by_name["BM_Units_Sum/1024"]["time_unit"], "ns");
  EXPECT_EQ(by_name["BM_Units_Sum/4096"]["time_unit"], "us");
  EXPECT_EQ(by_name["BM_Units_Sum/16384"]["time_unit"], "ms");
  EXPECT_EQ(by_name["BM_Units_Sum/65536"]["time_unit"], "s");
  EXPECT_EQ(by_name["BM_Units_Sum/1024_cv"]["time_unit"], "percentage");
  EXPECT_EQ(by_name.count("BM_Units_Sum/1024/threads:2"), 1u);
  EXPECT_EQ(by_name["BM_Units_Sum/1024_max"]["aggregate_name"], "max");
  EXPECT_EQ(by_name["BM_Units_Sum/1024_max"]["primary"], false);
  EXPECT_EQ(doc["summary"]["compared"], 6) << "4 sizes and 2 thread counts";
  // Aggregates only: the medians stand in, one per benchmark.
  const json aggregates = compare_json("gbench_aggregates_only");
  std::vector<std::string> primary;
  for (const json& b : aggregates["benchmarks"]) {
    if (b["primary"].get<bool>()) primary.push_back(b["name"]);
  }
  EXPECT_EQ(primary,
            (std::vector<std::string>{"BM_Units_Sum/1024_median", "BM_Units_Sum/4096_median",
                                      "BM_Units_Sum/16384_median", "BM_Units_Sum/65536_median",
                                      "BM_Units_Sum/1024/threads:1_median",
                                      "BM_Units_Sum/1024/threads:2_median"}));
}

// The regression fixture makes one benchmark 25% slower: the gate catches it above a 10%
// threshold and lets it pass at 30% or with no threshold; the unchanged pair passes.
TEST(CompareGate, ExitStatusGatesTheConstructedRegression) {
  const std::string base = fixture("base", "ws_deque_9reps_slower");
  const std::string slower = fixture("new", "ws_deque_9reps_slower");
  const ProcessResult gated = tally_compare({base, slower, "--threshold", "10"});
  EXPECT_EQ(gated.exit_status, 1) << gated.err;
  EXPECT_NE(gated.out.find("1 slower by more than 10%"), std::string::npos) << gated.out;
  EXPECT_EQ(tally_compare({base, slower, "--threshold", "30"}).exit_status, 0);
  EXPECT_EQ(tally_compare({base, slower}).exit_status, 0);
  EXPECT_EQ(tally_compare({fixture("base", "ws_deque_9reps"), fixture("new", "ws_deque_9reps"),
                           "--threshold", "10"})
                .exit_status,
            0);
  // The same regression seen through the items_per_second counter (higher is better).
  EXPECT_EQ(tally_compare({base, slower, "--threshold", "10", "--metric", "items_per_second"})
                .exit_status,
            1);
}

TEST(CompareGate, JsonNamesTheRegression) {
  const ProcessResult r =
      tally_compare({fixture("base", "ws_deque_9reps_slower"),
                     fixture("new", "ws_deque_9reps_slower"), "--threshold", "10", "-f", "json"});
  ASSERT_EQ(r.exit_status, 1) << r.err;
  std::vector<std::string> regressions;
  const json doc = json::parse(r.out);
  for (const json& b : doc["benchmarks"]) {
    if (b["regression"].get<bool>()) regressions.push_back(b["name"]);
  }
  EXPECT_EQ(regressions, std::vector<std::string>{"BM_WorkStealingDeque_PushPop/depth:64"});
}

class CompareCli : public tally::testing::ScratchDirTest {};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Each bad input: exit 2 and exactly one line, "tally compare: '<path>': <problem>".
TEST_F(CompareCli, BadInputIsOneLineNamingTheFileAndExitTwo) {
  const std::string good = fixture("base", "ws_deque_5reps");
  const std::string real = slurp(good);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {write("malformed.json", R"({"benchmarks": [{"name": "BM_A",, }]})"), "malformed JSON"},
      {write("truncated.json", real.substr(0, real.size() / 2)), "truncated JSON"},
      {write("not_a_report.json", R"({"words": [{"word": "a", "count": 1}]})"),
       "not a benchmark report"},
      {write("empty_list.json", R"({"context": {}, "benchmarks": []})"), "empty benchmark list"},
      {write("mismatched_units.json", R"({"benchmarks": [
          {"name": "BM_A", "run_name": "BM_A", "real_time": 1, "cpu_time": 1, "time_unit": "ns"},
          {"name": "BM_A", "run_name": "BM_A", "real_time": 1, "cpu_time": 1, "time_unit": "ms"}]})"),
       "mismatched time units for 'BM_A': ns and ms"},
      {write("error_occurred.json", R"({"benchmarks": [{"name": "BM_A", "error_occurred": 1,
          "real_time": 1, "cpu_time": 1, "time_unit": "ns"}]})"),
       "benchmark 'BM_A' has a non-boolean 'error_occurred'"},
      {(dir_ / "missing.json").string(), "No such file or directory"},
  };
  for (const auto& [path, problem] : cases) {
    for (const bool bad_is_new : {true, false}) {
      SCOPED_TRACE(path + (bad_is_new ? " as NEW" : " as BASE"));
      const ProcessResult r =
          bad_is_new ? tally_compare({good, path}) : tally_compare({path, good});
      EXPECT_EQ(r.exit_status, 2);
      EXPECT_EQ(r.err.rfind("tally compare: '" + path + "': " + problem, 0), 0u) << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
      EXPECT_TRUE(r.out.empty());
    }
  }
}

TEST_F(CompareCli, UsageErrorsExitTwo) {
  const std::string base = fixture("base", "ws_deque_5reps");
  const std::string contender = fixture("new", "ws_deque_5reps");
  EXPECT_EQ(tally_compare({base}).exit_status, 2);
  EXPECT_EQ(tally_compare({base, contender, "--format", "csv"}).exit_status, 2);
  EXPECT_EQ(tally_compare({base, contender, "--threshold", "-1"}).exit_status, 2);
  const ProcessResult bad_regex = tally_compare({base, contender, "--filter", "("});
  EXPECT_EQ(bad_regex.exit_status, 2);
  EXPECT_EQ(bad_regex.err.rfind("tally compare: invalid --filter '('", 0), 0u) << bad_regex.err;
  // libstdc++ refuses a pattern too large for its automaton at construction: a usage error.
  const ProcessResult huge_regex = tally_compare({base, contender, "--filter", "a{1000000}"});
  EXPECT_EQ(huge_regex.exit_status, 2);
  EXPECT_EQ(huge_regex.err.rfind("tally compare: invalid --filter 'a{1000000}'", 0), 0u)
      << huge_regex.err;
  EXPECT_EQ(huge_regex.err.find('\n'), huge_regex.err.size() - 1) << huge_regex.err;
  const ProcessResult no_match = tally_compare({base, contender, "--filter", "^BM_Nothing"});
  EXPECT_EQ(no_match.exit_status, 2);
  const ProcessResult no_counter = tally_compare({base, contender, "--metric", "bogus"});
  EXPECT_EQ(no_counter.exit_status, 2);
  EXPECT_NE(no_counter.err.find("'bogus'"), std::string::npos);
  EXPECT_EQ(tally_compare({(kFixtures / "base").string(), contender}).exit_status, 2);
}

// Oracle: a --threshold or --alpha that is not a finite number in its range would switch the
// gate off or bend it without a word (NaN compares false with everything: `--threshold nan`
// passed the 25% regression below). Each is a usage error: exit 2, nothing on stdout, and one
// line naming the option, the value and the problem.
TEST_F(CompareCli, NumericOptionsMustBeFiniteAndInRange) {
  const std::string base = fixture("base", "ws_deque_9reps_slower");
  const std::string slower = fixture("new", "ws_deque_9reps_slower");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--threshold", "nan"}, {"--threshold", "NaN"},   {"--threshold", "-nan"},
      {"--threshold", "inf"}, {"--threshold", "-inf"},  {"--threshold", "Infinity"},
      {"--threshold", "-1"},  {"--threshold", "1e999"}, {"--threshold", "ten"},
      {"--threshold", "10%"}, {"--threshold", "5 "},    {"--alpha", "nan"},
      {"--alpha", "inf"},     {"--alpha", "-0.01"},     {"--alpha", "1.5"},
      {"--alpha", "0.05x"}};
  for (const auto& [option, value] : cases) {
    SCOPED_TRACE(option + "=" + value);
    std::vector<std::string> args = {base, slower, option + "=" + value};
    if (option == "--alpha") args.push_back("--threshold=10");  // a gate for alpha to bend
    const ProcessResult r = tally_compare(args);
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(r.err.rfind("tally compare: " + option + " '" + value + "': ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
  // The boundaries are accepted: 0% and any finite threshold, alpha from 0 to 1.
  EXPECT_EQ(tally_compare({base, slower, "--threshold=0"}).exit_status, 1);
  EXPECT_EQ(tally_compare({base, slower, "--threshold=1e12"}).exit_status, 0);
  EXPECT_EQ(tally_compare({base, slower, "--threshold=10", "--alpha=1"}).exit_status, 1);
  EXPECT_EQ(tally_compare({base, slower, "--threshold", "10", "--alpha", "0.05"}).exit_status, 1);
}

TEST_F(CompareCli, HelpDocumentsTheExitStatuses) {
  const ProcessResult r = run_process({TALLY_EXE, "compare", "--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.out.find("Exit status: 0 no regression, 1 a benchmark is significantly slower"),
            std::string::npos)
      << r.out;
}

// Directories pair their reports by file name; names carry the file.
TEST_F(CompareCli, DirectoriesPairReportsByFileName) {
  fs::copy(kFixtures / "base", dir_ / "base");
  fs::copy(kFixtures / "new", dir_ / "new");
  fs::remove(dir_ / "new" / "ws_deque_single.json");
  fs::copy_file(kFixtures / "new" / "ws_deque_single.json", dir_ / "new" / "extra.json");
  const ProcessResult r = tally_compare(
      {(dir_ / "base").string(), (dir_ / "new").string(), "--threshold", "10", "--format", "json"});
  EXPECT_EQ(r.exit_status, 1) << "the slower fixture is among them: " << r.err;
  const json doc = json::parse(r.out);
  std::map<std::string, int> pairs_per_file;
  for (const json& b : doc["benchmarks"]) ++pairs_per_file[b["file"].get<std::string>()];
  EXPECT_EQ(pairs_per_file.size(), 8u) << "3 ws_deque and 5 gbench reports";
  EXPECT_EQ(pairs_per_file.count("ws_deque_5reps.json"), 1u);
  EXPECT_EQ(doc["only_in_base"], json::array({"ws_deque_single.json"}));
  EXPECT_EQ(doc["only_in_new"], json::array({"extra.json"}));
}

// tally's own run reports (`tally wordcount --report`): phases in seconds, no CPU time.
TEST_F(CompareCli, ComparesTallyRunReports) {
  const ProcessResult r =
      tally_compare({(kFixtures / "tally_run" / "base.json").string(),
                     (kFixtures / "tally_run" / "new.json").string(), "--format", "json"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const json doc = json::parse(r.out);
  std::vector<std::string> names;
  for (const json& b : doc["benchmarks"]) {
    names.push_back(b["name"]);
    EXPECT_TRUE(b["cpu_change"].is_null());
    EXPECT_EQ(b["time_unit"], "s");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"split", "map", "merge", "finalize", "total"}));
  EXPECT_EQ(doc["benchmarks"][4]["counters"][0]["name"], "bytes_per_second");
  EXPECT_EQ(tally_compare({(kFixtures / "tally_run" / "base.json").string(),
                           (kFixtures / "tally_run" / "new.json").string(), "--metric", "cpu"})
                .exit_status,
            2)
      << "a run report has no CPU time";
}

// Oracle: 3 vs 3 repetitions can never give p < 0.05 (the smallest is 2 / C(6, 3) = 0.10), so
// the threshold alone judges them: a 25% slowdown trips --threshold 10 and the output says why.
TEST_F(CompareCli, ThreeRepetitionsAreGatedByTheThreshold) {
  const auto reps = [](double t) {
    std::string list;
    for (int i = 0; i < 3; ++i) {
      const std::string v = std::to_string(t + i);
      list += std::string(i == 0 ? "" : ",") +
              R"({"name": "BM_A", "run_name": "BM_A", "real_time": )" + v + R"(, "cpu_time": )" +
              v + R"(, "time_unit": "ns", "repetition_index": )" + std::to_string(i) + "}";
    }
    return R"({"benchmarks": [)" + list + "]}";
  };
  const std::string base = write("base.json", reps(100));
  const std::string slower = write("new.json", reps(125));
  const ProcessResult r = tally_compare({base, slower, "--threshold", "10"});
  EXPECT_EQ(r.exit_status, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("3 vs 3 (too few repetitions for the U test; judged by threshold only)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 judged by threshold only"), std::string::npos) << r.out;
  EXPECT_EQ(tally_compare({base, slower, "--threshold", "30"}).exit_status, 0);
}

// Runs `tally compare ARGS` under timeout(1), and, outside the sanitizers (whose shadow
// memory needs a huge address space), in at most 4 GiB of address space: a hang becomes exit
// 124 and runaway memory a failed allocation, never a test that takes the machine down.
ProcessResult tally_compare_bounded(const std::vector<std::string>& args) {
  std::string command = std::string("exec /usr/bin/timeout 60 '") + TALLY_EXE + "' compare";
  for (const std::string& arg : args) command += " '" + arg + "'";
#ifndef TALLY_TEST_SANITIZED
  command = "ulimit -v 4194304 && " + command;
#endif
  return run_process({"/bin/sh", "-c", command});
}

// Oracle: inputs that are not regular files end promptly in exit 2 and one line naming them:
// /dev/zero, which never ends, is cut at the 256 MiB a report may hold instead of filling
// memory; a FIFO that nobody opens for writing has no data after a 2 s grace instead of
// blocking forever in open(2); /dev/null has no data.
TEST_F(CompareCli, EndlessOrEmptyNonRegularInputsAreOneLineErrors) {
  const std::string good = fixture("base", "ws_deque_5reps");
  const std::string fifo = (dir_ / "fifo.json").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/dev/zero", "larger than 256 MiB, the most a report may hold"},
      {fifo, "no data: nothing was written to it within 2 s"},
      {"/dev/null", "no data"},
  };
  for (const auto& [path, problem] : cases) {
    SCOPED_TRACE(path);
    const ProcessResult r = tally_compare_bounded({good, path});
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_EQ(r.err, "tally compare: '" + path + "': " + problem + "\n");
    EXPECT_TRUE(r.out.empty());
  }
}

// A report of one benchmark with a 50,000-character name (a benchmark over a long template
// type) and one with a short name, all their times `t`.
std::string long_name_report(const std::string& long_name, double t) {
  json doc;
  for (const std::string& name : {long_name, std::string("BM_Short")}) {
    doc["benchmarks"].push_back({{"name", name},
                                 {"run_name", name},
                                 {"run_type", "iteration"},
                                 {"real_time", t},
                                 {"cpu_time", t},
                                 {"time_unit", "ns"}});
  }
  return doc.dump();
}

// Oracle: --filter examines every name, however long, with a stack depth that does not grow
// with the name: patterns that walk all 50,000 characters ('.*', a repeated class or an
// alternation under a star, up to the end) select the long name, and the run ends within the
// timeout with exit 0 and the selected names in the output. (std::regex's default depth-first
// matcher recursed once per character and crashed on these.)
TEST_F(CompareCli, FilterMatchesAVeryLongNameWithoutCrashing) {
  const std::string long_name = "BM_Long<" + std::string(50000, 'x') + ">";
  const std::string base = write("base.json", long_name_report(long_name, 100));
  const std::string contender = write("new.json", long_name_report(long_name, 101));
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {".*", {long_name, "BM_Short"}}, {"^BM_Long<x+>$", {long_name}},
      {"(x|y)*>$", {long_name}},       {"BM_.*x>|Short$", {long_name, "BM_Short"}},
      {"<\\bx+\\b>", {long_name}},
  };
  for (const auto& [pattern, expected] : cases) {
    SCOPED_TRACE(pattern);
    const ProcessResult r =
        tally_compare_bounded({base, contender, "--filter", pattern, "--format", "json"});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    const json doc = json::parse(r.out);
    std::vector<std::string> names;
    for (const json& b : doc["benchmarks"]) names.push_back(b["name"]);
    EXPECT_EQ(names, expected);
  }
  const ProcessResult none = tally_compare_bounded({base, contender, "--filter", "x>x|^x"});
  EXPECT_EQ(none.exit_status, 2);
  EXPECT_EQ(none.err, "tally compare: --filter 'x>x|^x' matches no benchmark in both reports\n");
}

// Oracle: the patterns --filter refuses are usage errors, exit 2 and one line saying why:
// back-references (only a matcher that recurses per character supports them) and patterns
// longer than 4096 characters (compiling one recurses per character of the pattern).
TEST_F(CompareCli, FilterRefusesBackReferencesAndOverlongPatterns) {
  const std::string base = fixture("base", "ws_deque_5reps");
  const std::string contender = fixture("new", "ws_deque_5reps");
  const ProcessResult backref = tally_compare({base, contender, "--filter", "(Push)\\1|Pop"});
  EXPECT_EQ(backref.exit_status, 2);
  EXPECT_EQ(backref.err,
            "tally compare: invalid --filter '(Push)\\1|Pop': back-references are not "
            "supported\n");
  const std::string overlong = std::string(2049, '(') + std::string(2049, ')');
  const ProcessResult too_long = tally_compare({base, contender, "--filter", overlong});
  EXPECT_EQ(too_long.exit_status, 2);
  EXPECT_EQ(too_long.err,
            "tally compare: invalid --filter (4098 characters): longer than the 4096 a "
            "pattern may have\n");
  // At the limit, deeply nested groups compile and match without exhausting the stack.
  const std::string nested = std::string(2047, '(') + "BM" + std::string(2047, ')');
  EXPECT_EQ(tally_compare({base, contender, "--filter", nested}).exit_status, 0);
}

// A stdout that cannot take the report (a full disk: /dev/full) is an error, not exit 0.
TEST_F(CompareCli, FailedWriteToStdoutExitsTwo) {
  const std::string command = std::string(TALLY_EXE) + " compare '" +
                              fixture("base", "ws_deque_5reps") + "' '" +
                              fixture("new", "ws_deque_5reps") + "' > /dev/full";
  const ProcessResult r = run_process({"/bin/sh", "-c", command});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err, "tally compare: cannot write to stdout\n");
}

TEST_F(CompareCli, OutputFileReplacesStdoutAndTableHasNoColourWhenPiped) {
  const std::string out = (dir_ / "report.md").string();
  const ProcessResult to_file =
      tally_compare({fixture("base", "ws_deque_5reps"), fixture("new", "ws_deque_5reps"),
                     "--format", "markdown", "-o", out});
  ASSERT_EQ(to_file.exit_status, 0) << to_file.err;
  EXPECT_TRUE(to_file.out.empty());
  EXPECT_EQ(slurp(out).rfind("### Benchmark comparison", 0), 0u);
  const ProcessResult piped =
      tally_compare({fixture("base", "ws_deque_5reps"), fixture("new", "ws_deque_5reps")});
  EXPECT_EQ(piped.exit_status, 0);
  EXPECT_EQ(piped.out.find('\033'), std::string::npos);
  EXPECT_NE(piped.out.find("5 vs 5 (unreliable: 9+ recommended)"), std::string::npos);
}

// Colour needs a terminal: script(1) (util-linux, in every Debian) runs tally on a
// pseudo-terminal. The slower row is red there, and plain again once NO_COLOR is set.
TEST(CompareColour, OnlyOnATerminalAndNeverWithNoColor) {
  const std::string command = std::string(TALLY_EXE) + " compare '" +
                              fixture("base", "ws_deque_9reps_slower") + "' '" +
                              fixture("new", "ws_deque_9reps_slower") + "'";
  // NO_COLOR is removed, not inherited: set in the developer's or CI's environment it would
  // turn colour off.
  const ProcessResult tty = run_process(
      {"/usr/bin/env", "-u", "NO_COLOR", "/usr/bin/script", "-qec", command, "/dev/null"});
  ASSERT_EQ(tty.exit_status, 0) << tty.err;
  EXPECT_NE(tty.out.find("\033[91mBM_WorkStealingDeque_PushPop/depth:64 "), std::string::npos)
      << tty.out;
  const ProcessResult no_color =
      run_process({"/usr/bin/env", "NO_COLOR=1", "/usr/bin/script", "-qec", command, "/dev/null"});
  ASSERT_EQ(no_color.exit_status, 0) << no_color.err;
  EXPECT_NE(no_color.out.find("BM_WorkStealingDeque_PushPop/depth:64"), std::string::npos);
  EXPECT_EQ(no_color.out.find('\033'), std::string::npos);
}

}  // namespace
