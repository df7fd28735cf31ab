// `tally wordcount --memory` as a user runs it: a budget far below what the words need makes
// the run spill to --tmp-dir, and it still finishes with the same output.
//
// Oracle: the run without a budget. With a budget that forces spilling, every format, with
// and without --top, must print byte for byte what the unbudgeted run prints, and the report
// must show runs spilled; the spill directory is empty afterwards. A budget below the minimum
// is a usage error (exit 2) stating it; a spill that runs out of room (the file size limit,
// or a full file system) is exit 4 naming the directory, with nothing written to -o.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::run_process;

class SpillCli : public tally::testing::ScratchDirTest {
 protected:
  // About 200,000 distinct words, most seen once: their tables need tens of MiB.
  std::string corpus() {
    std::string text;
    std::uint64_t x = 99;
    for (int i = 0; i < 300000; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      text += "w" + std::to_string((x >> 35) % 400000) + ((i % 9 == 8) ? "\n" : " ");
    }
    return write("corpus.txt", text);
  }

  std::string spill_dir() {
    const fs::path d = dir_ / "spill";
    fs::create_directories(d);
    return d.string();
  }
};

TEST_F(SpillCli, SpillingRunPrintsWhatTheUnbudgetedRunPrints) {
  const std::string input = corpus();
  const std::string spill = spill_dir();
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"-f", "tsv"}, {"-f", "text"}, {"-f", "json"}, {"-n", "25"}}) {
    for (const char* strategy : {"local", "sharded", "partitioned"}) {
      std::vector<std::string> plain = {TALLY_EXE,    "wordcount", "-j", "2",
                                        "--strategy", strategy,    input};
      plain.insert(plain.end(), extra.begin(), extra.end());
      std::vector<std::string> budgeted = plain;
      const std::string report = (dir_ / "report.json").string();
      for (const char* arg : {"--memory", "1M", "--tmp-dir"}) budgeted.emplace_back(arg);
      budgeted.push_back(spill);
      budgeted.emplace_back("--report");
      budgeted.push_back(report);
      const auto want = run_process(plain);
      const auto got = run_process(budgeted);
      ASSERT_EQ(want.exit_status, 0) << want.err;
      ASSERT_EQ(got.exit_status, 0) << got.err;
      EXPECT_TRUE(got.out == want.out) << strategy << " " << extra[0] << ": outputs differ";
      const auto json = run_process({"/bin/cat", report}).out;
      EXPECT_EQ(json.find("\"spill\":{\"runs\":0,"), std::string::npos) << json;
      EXPECT_NE(json.find("\"result_spilled\":true"), std::string::npos) << json;
      EXPECT_TRUE(fs::is_empty(spill));
    }
  }
}

TEST_F(SpillCli, BudgetBelowTheMinimumIsAUsageError) {
  const auto r =
      run_process({TALLY_EXE, "wordcount", "-j", "2", "--memory", "300K", write("a.txt", "a b\n")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err,
            "tally: --memory 300K is below the minimum of 512 KiB for 2 threads (256 KiB "
            "each)\n");
}

TEST_F(SpillCli, MissingTmpDirIsAUsageError) {
  const auto r = run_process({TALLY_EXE, "wordcount", "--memory", "8M", "--tmp-dir",
                              (dir_ / "nowhere").string(), write("a.txt", "a b\n")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("--tmp-dir"), std::string::npos) << r.err;
}

// The file size limit (ulimit -f, in 512-byte blocks for /bin/sh): the spill file's write
// fails with EFBIG, which tally ignores SIGXFSZ to see.
TEST_F(SpillCli, FileSizeLimitIsExit4AndNoOutput) {
  const std::string input = corpus();
  const std::string spill = spill_dir();
  const std::string out = (dir_ / "out.tsv").string();
  const auto r =
      run_process({"/bin/sh", "-c", "ulimit -f 128 && exec \"$@\"", "sh", TALLY_EXE, "wordcount",
                   "-j", "2", "--memory", "1M", "--tmp-dir", spill, "-o", out, input});
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_NE(r.err.find("out of space for spill files in '" + spill + "'"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::is_empty(spill));
}

// A full file system, where a small tmpfs can be mounted (root, and a mount namespace that
// allows it); skipped elsewhere.
TEST_F(SpillCli, FullFileSystemIsExit4AndNoOutput) {
  const std::string input = corpus();
  const std::string spill = spill_dir();
  if (::mount("tally-test", spill.c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  const std::string out = (dir_ / "out.tsv").string();
  const auto r = run_process(
      {TALLY_EXE, "wordcount", "-j", "2", "--memory", "1M", "--tmp-dir", spill, "-o", out, input});
  const bool empty = fs::is_empty(spill);
  ::umount(spill.c_str());
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_NE(r.err.find("out of space for spill files in '" + spill + "'"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(empty);
}

}  // namespace
