// perf integration of the `tally` program with the real perf: `tally profile`, `tally profile
// --c2c` (tools/perf/) and the phase markers under `perf stat --control`. Built only without
// sanitizers (tests/tools/CMakeLists.txt says why); perf_cli_test.cpp has the rest.
//
// perf is a required test dependency (linux-perf, scripts/install-deps): every test first
// checks that perf runs here (`perf stat -e cpu-clock true`; `perf record -e cpu-clock` for
// the profile) and fails, saying why, where it does not. No test is skipped.
//
// Oracles:
//  - tally profile, on a generated 20 MiB corpus: exit 0; the summary names the event perf
//    sampled, `cpu-clock` exactly when it said it fell back; the command's 3 counts first; a
//    non-empty folded-stacks file of `frame;...;frame count` lines; a map-phase folded-stacks
//    file whose frames name the word count job with full template names
//    (`tally::jobs::WordCount`): its hot loop is inlined into the map task's lambda, so a
//    function name is the only place the job appears; and a printed map-phase table that
//    names WordCount too (tally-profile keeps the tally types of elided template arguments).
//  - tally profile passes the profiled command's failure through (exit 3 of a missing input).
//  - tally profile --c2c: where `perf mem` lists no usable memory-sampling event (virtual
//    machines, as this project's), exit 69 with one line saying why; elsewhere a report.
//  - Phase markers under `perf stat --delay=-1 --control fd:CTL,ACK`: tally's counts are
//    right, perf reports that it enabled the events once (`--perf-phase map`), and counted
//    cpu-clock time (> 0).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::run_process;

// Runs perf (found on PATH) with `args`.
tally::testing::ProcessResult run_perf(std::vector<std::string> args) {
  args.insert(args.begin(), {"/bin/sh", "-c", "exec perf \"$@\"", "sh"});
  return run_process(args);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PerfProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tally-perf-profile-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    corpus_ = (dir_ / "words.txt").string();
    std::ofstream(corpus_) << "b a b\nc b a\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Whether perf can count cpu-clock here (and, if `sampling`, record it): a failure says
  // why, so that a CI machine without a working perf fails loudly instead of skipping.
  ::testing::AssertionResult perf_works(bool sampling) const {
    auto r = run_process({"/bin/sh", "-c", "command -v perf"});
    if (r.exit_status != 0) {
      return ::testing::AssertionFailure()
             << "perf is not installed: it is required by this test; on Debian install "
                "linux-perf (scripts/install-deps does)";
    }
    r = run_perf({"stat", "-e", "cpu-clock", "true"});
    if (r.exit_status != 0) {
      return ::testing::AssertionFailure()
             << "`perf stat -e cpu-clock true` fails here (exit " << r.exit_status
             << "; kernel.perf_event_paranoid?), required by this test: " << r.err;
    }
    if (!sampling) return ::testing::AssertionSuccess();
    const std::string data = (dir_ / "probe.data").string();
    r = run_perf({"record", "-q", "-e", "cpu-clock", "-o", data, "--", "true"});
    if (r.exit_status != 0) {
      return ::testing::AssertionFailure()
             << "`perf record -e cpu-clock -o " << data << " -- true` fails here (exit "
             << r.exit_status << "), required by this test: " << r.err;
    }
    return ::testing::AssertionSuccess();
  }

  fs::path dir_;
  std::string corpus_;
};

TEST_F(PerfProfile, NamesTheMapPhaseFunctionsAndWritesFoldedStacks) {
  ASSERT_TRUE(perf_works(/*sampling=*/true));
  const std::string corpus = (dir_ / "corpus.txt").string();
  auto r = run_process({TALLY_EXE, "generate-corpus", "--size", "20M", "-o", corpus});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const fs::path out = dir_ / "profile";
  r = run_process({TALLY_EXE, "profile", "-o", out.string(), "--", "wordcount", corpus, "-n", "3"});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;

  // The event is the one perf sampled: cycles, or cpu-clock after the one-line notice.
  const bool fell_back =
      r.err.find("no hardware cycle sampling on this machine; sampling cpu-clock instead") !=
      std::string::npos;
  EXPECT_NE(r.out.find(fell_back ? " samples of cpu-clock " : " samples of cycles "),
            std::string::npos)
      << r.out << r.err;
  // The counts of the profiled command come first, then the profile.
  const std::string counts = r.out.substr(0, r.out.find("tally-profile:"));
  EXPECT_EQ(std::count(counts.begin(), counts.end(), '\n'), 3) << r.out;
  ASSERT_NE(r.out.find("By phase"), std::string::npos) << r.out << r.err;
  const std::size_t map_at = r.out.find("  map phase, ");
  ASSERT_NE(map_at, std::string::npos) << r.out;
  const std::size_t map_end = r.out.find("\n  merge phase", map_at);
  const std::string map_table = r.out.substr(map_at, map_end - map_at);
  EXPECT_NE(map_table.find("WordCount"), std::string::npos) << map_table;

  const std::string folded = read_file(out / "stacks.folded");
  ASSERT_FALSE(folded.empty());
  const std::regex line("[^\n]+;[^\n]+ [0-9]+");
  std::istringstream lines(folded);
  std::string l;
  while (std::getline(lines, l)) ASSERT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_TRUE(fs::file_size(out / "perf.data") > 0);
  const std::string map_folded = read_file(out / "stacks-map.folded");
  EXPECT_NE(map_folded.find("tally::jobs::WordCount"), std::string::npos)
      << map_folded.substr(0, 4000);
  EXPECT_NE(r.out.find((out / "stacks.folded").string()), std::string::npos);
}

TEST_F(PerfProfile, PassesTheCommandsExitStatusThrough) {
  ASSERT_TRUE(perf_works(/*sampling=*/true));
  const auto r = run_process({TALLY_EXE, "profile", "-o", (dir_ / "p").string(), "--", "wordcount",
                              (dir_ / "missing.txt").string()});
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;  // tally wordcount's input error
  EXPECT_NE(r.err.find("missing.txt"), std::string::npos) << r.err;
}

TEST_F(PerfProfile, C2cSaysWhyWhereTheMachineCannotSampleMemory) {
  ASSERT_TRUE(perf_works(/*sampling=*/false));
  const auto mem = run_process({"/bin/sh", "-c", "perf mem record -e list 2>&1"});
  const bool can_sample = mem.out.find(": available") != std::string::npos;
  const auto r = run_process(
      {TALLY_EXE, "profile", "--c2c", "-o", (dir_ / "c2c").string(), "--", "wordcount", corpus_});
  if (can_sample) {
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir_ / "c2c" / "c2c-report.txt"));
    return;
  }
  EXPECT_EQ(r.exit_status, 69) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("perf c2c needs hardware memory sampling"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bench/"), std::string::npos) << r.err;
}

TEST_F(PerfProfile, PhaseMarkersDrivePerfStat) {
  ASSERT_TRUE(perf_works(/*sampling=*/false));
  // docs/profiling.md's recipe: two fifos opened read-write, shared by perf and tally.
  const std::string script =
      "cd \"$1\" && mkfifo ctl.fifo ack.fifo && exec 8<>ctl.fifo 9<>ack.fifo && "
      "exec perf stat -x, -o perf-stat.txt --delay=-1 --control fd:8,9 -e cpu-clock -- "
      "\"$2\" wordcount -f tsv --perf-ctl-fd 8 --perf-ack-fd 9 --perf-phase map \"$3\"";
  const auto r = run_process({"/bin/sh", "-c", script, "sh", dir_.string(), TALLY_EXE, corpus_});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "b\t3\na\t2\nc\t1\n");
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // perf says on stderr when it obeys a command: enabled once, for the map phase.
  std::size_t enabled = 0;
  for (auto at = r.err.find("Events enabled"); at != std::string::npos;
       at = r.err.find("Events enabled", at + 1)) {
    ++enabled;
  }
  EXPECT_EQ(enabled, 1u) << r.err;
  const std::string stat = read_file(dir_ / "perf-stat.txt");
  const std::regex counted(R"((^|\n)([0-9.]+),[^,\n]*,cpu-clock)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(stat, m, counted)) << stat;
  EXPECT_GT(std::stod(m[2].str()), 0.0) << stat;
}

}  // namespace
