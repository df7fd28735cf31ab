// `mpirun tally wordcount` as a user runs it: one job across N ranks (processes).
//
// Oracle: the same command in one process. For N = 1..6 ranks, every format, every strategy,
// --top, --unicode and a budget that forces spills, the output must be byte for byte the
// single process's, on inputs of uneven files (one large, many tiny, empty ones). -o,
// --report and --stats are written once, by rank 0. Failures: an input missing on one rank
// fails the job with exit 3 and one message naming it; a rank killed mid-run ends the job
// within seconds; --timeout ends it with 124; nothing is written to -o in any of them.
//
// Needs mpirun (MPIEXEC, from CMake's FindMPI). Running as root, mpirun also needs
// OMPI_ALLOW_RUN_AS_ROOT{,_CONFIRM}=1: this test sets them for the mpirun it starts; tally
// itself never does.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::ProcessResult;
using tally::testing::run_process;

// Lets mpirun run as root (the test machine's user) in this process's children.
class AllowRoot : public ::testing::Environment {
 public:
  void SetUp() override {
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
};
const auto* const allow_root = ::testing::AddGlobalTestEnvironment(new AllowRoot);

// mpirun for `ranks` ranks of `command`: unbound (each rank may use every core, as its
// threads need) and oversubscribed (more ranks than this machine has cores).
std::vector<std::string> mpirun(int ranks, const std::vector<std::string>& command) {
  std::vector<std::string> argv = {MPIEXEC, "--oversubscribe",    "--bind-to", "none",
                                   "-np",   std::to_string(ranks)};
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class MpiCli : public tally::testing::ScratchDirTest {
 protected:
  // One large file, many tiny ones, empty ones, mixed case and UTF-8 for --unicode.
  std::string inputs() {
    std::string big;
    std::uint64_t x = 7;
    for (int i = 0; i < 150000; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      big += "w" + std::to_string((x >> 35) % 30000) + ((i % 11 == 10) ? "\n" : " ");
      if (i % 1000 == 0) big += "The Über straße ÜBER\n";
    }
    write("in/big.txt", big);
    for (int i = 0; i < 30; ++i) {
      write("in/tiny/" + std::to_string(i) + ".txt", "w" + std::to_string(i) + " tiny The\n");
    }
    for (int i = 0; i < 3; ++i) write("in/empty/" + std::to_string(i) + ".txt", "");
    return (dir_ / "in").string();
  }

  // `tally wordcount ARGS` alone, then under mpirun with each rank count: the same bytes.
  void expect_same_output(const std::vector<int>& rank_counts, std::vector<std::string> args) {
    std::vector<std::string> command = {TALLY_EXE, "wordcount", "-j", "2"};
    command.insert(command.end(), args.begin(), args.end());
    const ProcessResult alone = run_process(command);
    ASSERT_EQ(alone.exit_status, 0) << alone.err;
    for (const int ranks : rank_counts) {
      const ProcessResult together = run_process(mpirun(ranks, command));
      ASSERT_EQ(together.exit_status, 0) << ranks << " ranks: " << together.err;
      EXPECT_TRUE(together.out == alone.out)
          << ranks << " ranks, " << testing::PrintToString(args) << ": outputs differ ("
          << together.out.size() << " bytes, alone " << alone.out.size() << ")";
    }
  }
};

TEST_F(MpiCli, EveryRankCountGivesTheSingleProcessOutput) {
  expect_same_output({1, 2, 3, 4, 5, 6}, {"-f", "tsv", inputs()});
}

TEST_F(MpiCli, EveryFormatGivesTheSingleProcessOutput) {
  const std::string in = inputs();
  for (const char* format : {"text", "csv", "json"}) {
    expect_same_output({3}, {"-f", format, in});
  }
}

TEST_F(MpiCli, EveryStrategyGivesTheSingleProcessOutput) {
  const std::string in = inputs();
  for (const char* strategy : {"local", "sharded", "partitioned"}) {
    expect_same_output({2, 4}, {"--strategy", strategy, "-f", "tsv", in});
  }
}

TEST_F(MpiCli, TopAndUnicodeGiveTheSingleProcessOutput) {
  const std::string in = inputs();
  expect_same_output({2, 5}, {"-n", "17", in});
  expect_same_output({3}, {"--unicode", "-f", "tsv", in});
}

TEST_F(MpiCli, ABudgetThatSpillsGivesTheSingleProcessOutput) {
  const std::string in = inputs();
  const std::string spill = (dir_ / "spill").string();
  fs::create_directories(spill);
  expect_same_output({3}, {"--memory", "1M", "--tmp-dir", spill, "-f", "tsv", in});
  EXPECT_TRUE(fs::is_empty(spill));
  const std::string report = (dir_ / "report.json").string();
  const ProcessResult r =
      run_process(mpirun(3, {TALLY_EXE, "wordcount", "-j", "2", "--memory", "1M", "--tmp-dir",
                             spill, "--report", report, "-o", (dir_ / "out.tsv").string(), in}));
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const std::string json = read_file(report);
  EXPECT_EQ(json.find("\"spill\":{\"runs\":0,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"mpi\":{\"ranks\":3,"), std::string::npos) << json;
}

TEST_F(MpiCli, RankZeroAloneWritesTheOutputReportAndStats) {
  const std::string in = inputs();
  const std::string out = (dir_ / "out.tsv").string();
  const std::string report = (dir_ / "report.json").string();
  const ProcessResult alone =
      run_process({TALLY_EXE, "wordcount", "-f", "tsv", "--stats", "--report", report, in});
  ASSERT_EQ(alone.exit_status, 0) << alone.err;
  const std::string alone_report = read_file(report);
  const ProcessResult r = run_process(mpirun(
      4, {TALLY_EXE, "wordcount", "-f", "tsv", "--stats", "--report", report, "-o", out, in}));
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(read_file(out) == alone.out);
  EXPECT_EQ(count_of(r.err, "distinct keys"), 1u) << r.err;  // one --stats block
  EXPECT_NE(r.err.find("4 ranks: exchange"), std::string::npos) << r.err;
  const std::string json = read_file(report);
  EXPECT_EQ(count_of(json, "tally_run_report"), 1u) << json;
  // The whole job's counts, not rank 0's share.
  for (const char* field : {"\"bytes_in\":", "\"records_in\":", "\"distinct_keys\":"}) {
    const auto value = [&](const std::string& j) {
      const auto at = j.find(field);
      return at == std::string::npos ? std::string() : j.substr(at, j.find(',', at) - at);
    };
    EXPECT_EQ(value(json), value(alone_report));
  }
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"in", "out.tsv", "report.json"}));
}

TEST_F(MpiCli, AnInputMissingOnOneRankFailsTheJobWithOneMessage) {
  const std::string in = inputs();
  const std::string missing = (dir_ / "missing.txt").string();
  const std::string out = (dir_ / "out.tsv").string();
  // Open MPI's colon syntax starts ranks 0-1 with one command line and rank 2 with another.
  std::vector<std::string> argv = mpirun(2, {TALLY_EXE, "wordcount", "-o", out, in});
  for (const std::string& a :
       {std::string(":"), std::string("-np"), std::string("1"), std::string(TALLY_EXE),
        std::string("wordcount"), std::string("-o"), out, in, missing}) {
    argv.push_back(a);
  }
  const ProcessResult r = run_process(argv);
  EXPECT_EQ(r.exit_status, 3) << r.err;
  EXPECT_EQ(count_of(r.err, "tally: "), 1u) << r.err;
  EXPECT_NE(r.err.find("tally: cannot open '" + missing + "': No such file or directory (rank 2)"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// Rank 1 has more threads than rank 0, so the same --memory is below its minimum only: it
// must not leave the job waiting for it.
TEST_F(MpiCli, AUsageErrorOnOneRankEndsTheJob) {
  const std::string in = inputs();
  std::vector<std::string> argv =
      mpirun(1, {TALLY_EXE, "wordcount", "-j", "1", "--memory", "300K", in});
  for (const char* a : {":", "-np", "1", TALLY_EXE, "wordcount", "-j", "2", "--memory", "300K"}) {
    argv.emplace_back(a);
  }
  argv.push_back(in);
  const ProcessResult r = run_process(argv);
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_EQ(count_of(r.err, "tally: "), 1u) << r.err;
  EXPECT_NE(r.err.find("below the minimum of 512 KiB for 2 threads (256 KiB each) (rank 1)"),
            std::string::npos)
      << r.err;
}

TEST_F(MpiCli, StdinCannotBeSharedBetweenRanks) {
  const ProcessResult r = run_process(mpirun(2, {TALLY_EXE, "wordcount", "-"}));
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("stdin (-) cannot be shared"), std::string::npos) << r.err;
}

// The installed layout: the program in <prefix>/bin, its module where the install puts it
// (TALLY_MPI_MODULE_DIR from the program's directory), nothing beside the program. Two ranks
// then count as one process does.
TEST_F(MpiCli, TheInstalledLayoutFindsTheModule) {
  const fs::path bin = dir_ / "prefix" / "bin";
  const fs::path module_dir = (bin / TALLY_MPI_MODULE_DIR).lexically_normal();
  fs::create_directories(bin);
  fs::create_directories(module_dir);
  fs::copy_file(TALLY_EXE, bin / "tally");
  fs::copy_file(TALLY_MPI_MODULE, module_dir / "tally-mpi.so");
  ASSERT_NE(module_dir, bin);
  const std::string in = write("in.txt", "b a b\nc b a\n");
  const ProcessResult together =
      run_process(mpirun(2, {(bin / "tally").string(), "wordcount", "-j", "1", "-f", "tsv", in}));
  EXPECT_EQ(together.exit_status, 0) << together.err;
  EXPECT_EQ(together.out, "b\t3\na\t2\nc\t1\n") << together.err;
}

// A tally copied without its MPI module, started as a rank (mpirun's variables, without
// mpirun: MPI is never reached): one message naming the module and where it was looked for,
// exit 4, no output.
TEST_F(MpiCli, AMissingMpiModuleIsOneClearFailure) {
  const fs::path copy = dir_ / "bin" / "tally";
  fs::create_directories(copy.parent_path());
  fs::copy_file(TALLY_EXE, copy);
  const std::string in = write("in.txt", "a b a\n");
  const std::string out = (dir_ / "out.tsv").string();
  const ProcessResult r =
      run_process({"/usr/bin/env", "OMPI_COMM_WORLD_SIZE=1", "OMPI_COMM_WORLD_RANK=0",
                   copy.string(), "wordcount", "-o", out, in});
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_NE(r.err.find("the MPI module tally-mpi.so is not installed (looked at " +
                       (dir_ / "bin" / "tally-mpi.so").string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(count_of(r.err, "tally:"), 1U) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(MpiCli, TimeoutEndsTheJob) {
  // Enough words that counting them takes far longer than the timeout.
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "w" + std::to_string(i % 7919) + " the and of\n";
  std::string paths;
  const std::string file = write("slow.txt", text);
  const std::string out = (dir_ / "out.tsv").string();
  std::vector<std::string> command = {TALLY_EXE,   "wordcount", "-j", "1",
                                      "--timeout", "1ms",       "-o", out};
  for (int i = 0; i < 40; ++i) command.push_back(file);  // every path once per rank's share
  const ProcessResult r = run_process(mpirun(2, command));
  EXPECT_EQ(r.exit_status, 124) << r.err;
  EXPECT_NE(r.err.find("tally: timed out after 1ms"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// Rank 1 runs with perf's phase markers on FIFOs (--perf-ctl-fd, --perf-ack-fd): it says
// "enable" when its map phase starts and then waits for an ack that never comes, so the test
// knows it is mid-run, and kills it there. The test holds both FIFOs open for reading and
// writing, so that neither side's open waits for the other, and a job that never starts
// fails the poll's bound instead of hanging the test.
TEST_F(MpiCli, AKilledRankEndsTheJobWithinSeconds) {
  const std::string in = inputs();
  const std::string ctl = (dir_ / "ctl").string();
  const std::string ack = (dir_ / "ack").string();
  const std::string pid_file = (dir_ / "rank1.pid").string();
  const std::string out = (dir_ / "out.tsv").string();
  ASSERT_EQ(::mkfifo(ctl.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(ack.c_str(), 0600), 0);
  const std::string tally = std::string(TALLY_EXE) + " wordcount -o " + out + " " + in;
  const std::string script = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then echo $$ > " + pid_file +
                             "; exec " + tally + " --perf-ctl-fd 9 --perf-ack-fd 8 9>" + ctl +
                             " 8<" + ack + "; else exec " + tally + "; fi";
  ProcessResult r;
  std::chrono::steady_clock::time_point ended;
  std::thread job([&] {
    r = run_process(mpirun(3, {"/bin/sh", "-c", script}));
    ended = std::chrono::steady_clock::now();
  });
  const int ctl_fd = ::open(ctl.c_str(), O_RDWR);
  const int ack_fd = ::open(ack.c_str(), O_RDWR);
  pollfd ready{ctl_fd, POLLIN, 0};
  ASSERT_EQ(::poll(&ready, 1, 60'000), 1) << "rank 1 never started mapping";
  char command[16] = {};
  const ssize_t n = ::read(ctl_fd, command, sizeof command - 1);
  EXPECT_EQ(std::string(command, n > 0 ? static_cast<std::size_t>(n) : 0), "enable\n");
  const pid_t rank1 = std::stoi(read_file(pid_file));
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  job.join();
  ::close(ctl_fd);
  ::close(ack_fd);
  EXPECT_NE(r.exit_status, 0) << r.err;
  EXPECT_LT(ended - killed, std::chrono::seconds(10));
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
