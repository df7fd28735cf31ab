// perf integration of the `tally` program, the parts that need no perf: the phase markers of
// `tally wordcount` (--perf-ctl-fd, --perf-ack-fd, --perf-phase: perf's --control protocol)
// with the test playing perf over pipes, and `tally profile`'s usage. They run in every
// build, sanitizers included; the tests with the real perf are perf_profile_test.cpp.
//
// Oracles:
//  - Markers: the test plays perf. It reads tally's commands from the control pipe and
//    answers each with perf's "ack\n\0". The commands are exactly "enable", "disable" once
//    for one phase or `all`, four times for `each`; the counts are still right (exit 0).
//    While an "enable" waits for its ack, tally sends nothing more (it does not start the
//    phase before perf counts). Without an ack descriptor, the same commands arrive. A perf
//    that closes its ack end costs a warning, not the counts. Bad descriptors are usage
//    errors (exit 2).
//  - The markers are also a deterministic hook into a run: an input truncated while tally
//    waits for the map phase's ack (after the split plan, before any map task) makes the
//    run exit 3 with "tally: I/O error: input '<path>' shrank while it was being read
//    (truncated by another process?)", writing no counts: the SIGBUS guard's path.
//  - tally profile without a command is a usage error (exit 2); --help names the folded
//    stacks; tally --help lists profile.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/pipe.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using tally::testing::Pipe;
using tally::testing::run_process;

// The descriptor numbers tally is given: high enough never to be a pipe's own number here.
constexpr int kChildCtlFd = 50;
constexpr int kChildAckFd = 51;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PerfCli : public tally::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    corpus_ = write("words.txt", "b a b\nc b a\n");
  }

  std::string corpus_;
};

// How the fake perf answers.
enum class Acks { kAlways, kNone, kCloseAtOnce, kDelayFirst };

struct MarkerRun {
  int exit_status = -1;
  std::vector<std::string> commands;     // what tally wrote to the control pipe, one per line
  bool sent_more_while_waiting = false;  // kDelayFirst: bytes arrived before the first ack
  std::string out;
  std::string err;
};

// Runs `tally wordcount` with a control pipe on kChildCtlFd and, unless acks are kNone, an
// ack pipe on kChildAckFd, playing perf on the other ends.
// before_ack, if set, runs on each command (and tally's pid) before it is answered (tally is
// waiting then).
MarkerRun run_with_markers(const fs::path& dir, const std::vector<std::string>& args, Acks acks,
                           const std::function<void(const std::string&, pid_t)>& before_ack = {}) {
  Pipe ctl, ack;
  EXPECT_LT(std::max({ctl.read_end, ctl.write_end, ack.read_end, ack.write_end}), kChildCtlFd);
  const std::string out_path = (dir / "stdout").string();
  const std::string err_path = (dir / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, ctl.write_end, kChildCtlFd);
  std::vector<std::string> argv = {TALLY_EXE, "wordcount"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--perf-ctl-fd", std::to_string(kChildCtlFd)});
  if (acks != Acks::kNone) {
    posix_spawn_file_actions_adddup2(&actions, ack.read_end, kChildAckFd);
    argv.insert(argv.end(), {"--perf-ack-fd", std::to_string(kChildAckFd)});
  }
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  MarkerRun run;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << TALLY_EXE << " failed: " << rc;
    return run;
  }
  ctl.close_write();  // EOF on the control pipe once tally exits
  ack.close_read();
  if (acks == Acks::kNone || acks == Acks::kCloseAtOnce) ack.close_write();

  std::string buffered;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(ctl.read_end, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffered.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buffered.find('\n')) != std::string::npos) {
      run.commands.push_back(buffered.substr(0, nl));
      buffered.erase(0, nl + 1);
      if (before_ack) before_ack(run.commands.back(), pid);
      if (ack.write_end < 0) continue;
      if (acks == Acks::kDelayFirst && run.commands.size() == 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        pollfd p{ctl.read_end, POLLIN, 0};
        run.sent_more_while_waiting = !buffered.empty() || ::poll(&p, 1, 0) > 0;
      }
      static constexpr char kAck[] = "ack\n";  // with its NUL, as perf writes it
      EXPECT_EQ(::write(ack.write_end, kAck, sizeof kAck), static_cast<ssize_t>(sizeof kAck));
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read_file(out_path);
  run.err = read_file(err_path);
  return run;
}

const std::vector<std::string> kOnePair = {"enable", "disable"};
const char* const kCounts = "b\t3\na\t2\nc\t1\n";

class PerfPhaseMarkers : public PerfCli, public ::testing::WithParamInterface<const char*> {};

TEST_P(PerfPhaseMarkers, EnableAndDisableAroundThePhaseWithAcks) {
  const std::string phase = GetParam();
  const MarkerRun run =
      run_with_markers(dir_, {corpus_, "-f", "tsv", "--perf-phase", phase}, Acks::kAlways);
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, kCounts);
  EXPECT_EQ(run.err, "");
  std::vector<std::string> expected = kOnePair;
  if (phase == "each") {
    expected = {"enable", "disable", "enable", "disable", "enable", "disable", "enable", "disable"};
  }
  EXPECT_EQ(run.commands, expected);
}

INSTANTIATE_TEST_SUITE_P(Phases, PerfPhaseMarkers,
                         ::testing::Values("map", "merge", "finalize", "all", "each"),
                         [](const auto& param_info) { return std::string(param_info.param); });

TEST_F(PerfCli, MapIsTheDefaultPhase) {
  const MarkerRun run = run_with_markers(dir_, {corpus_, "-f", "tsv"}, Acks::kAlways);
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.commands, kOnePair);
}

TEST_F(PerfCli, WaitsForTheAckBeforeThePhaseStarts) {
  const MarkerRun run =
      run_with_markers(dir_, {corpus_, "-f", "tsv", "--perf-phase", "each"}, Acks::kDelayFirst);
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_FALSE(run.sent_more_while_waiting);
  EXPECT_EQ(run.commands.size(), 8u);
}

TEST_F(PerfCli, WithoutAnAckDescriptorSendsWithoutWaiting) {
  const MarkerRun run = run_with_markers(dir_, {corpus_, "-f", "tsv"}, Acks::kNone);
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, kCounts);
  EXPECT_EQ(run.commands, kOnePair);
}

TEST_F(PerfCli, APerfThatStopsAnsweringCostsAWarningNotTheCounts) {
  const MarkerRun run = run_with_markers(dir_, {corpus_, "-f", "tsv"}, Acks::kCloseAtOnce);
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, kCounts);
  EXPECT_NE(run.err.find("warning: perf phase markers"), std::string::npos) << run.err;
  EXPECT_EQ(run.commands, std::vector<std::string>{"enable"});  // nothing after the failure
}

TEST_F(PerfCli, InputTruncatedDuringTheMapPhaseIsExit3) {
  constexpr std::size_t kPage = 4096;
  std::string text;
  while (text.size() < 512 * kPage) text += "abc def\n";  // mapped: 1 MiB or more
  const std::string path = write("shrinks.txt", text);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  bool truncated = false;
  const MarkerRun run = run_with_markers(dir_, {path, "-f", "tsv", "--perf-phase", "map"},
                                         Acks::kAlways, [&](const std::string& command, pid_t) {
                                           if (command == "enable")
                                             truncated = ::ftruncate(fd, kPage) == 0;
                                         });
  ::close(fd);
  ASSERT_TRUE(truncated);
  EXPECT_EQ(run.exit_status, 3) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "tally: I/O error: input '" + path +
                         "' shrank while it was being read (truncated by another process?)\n");
  EXPECT_EQ(run.commands, kOnePair);
}

// A signal in each phase: the markers with `each` stop tally at the start of every phase
// (split, map, merge, finalize) and, last, at the end of finalize, just before the output is
// written. The signal sent then ends the run with 130 (SIGINT) or 143 (SIGTERM), one line
// saying so, and neither the output nor the report nor a temporary file written.
struct SignalAt {
  std::size_t command;  // the signal is sent while tally waits for this command's ack
  int signal;
};

class SignalInPhase : public PerfCli, public ::testing::WithParamInterface<SignalAt> {};

TEST_P(SignalInPhase, EndsTheRunAndWritesNothing) {
  const SignalAt at = GetParam();
  const std::string out = (dir_ / "counts.txt").string();
  const std::string report = (dir_ / "report.json").string();
  bool sent = false;
  std::size_t seen = 0;
  const MarkerRun run =
      run_with_markers(dir_, {corpus_, "-o", out, "--report", report, "--perf-phase", "each"},
                       Acks::kAlways, [&](const std::string&, pid_t pid) {
                         if (!sent && ++seen == at.command + 1) sent = ::kill(pid, at.signal) == 0;
                       });
  ASSERT_TRUE(sent);
  EXPECT_EQ(run.exit_status, at.signal == SIGINT ? 130 : 143) << run.err;
  EXPECT_EQ(run.err, at.signal == SIGINT ? "tally: interrupted\n" : "tally: terminated\n");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(report));
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tally-"), std::string::npos) << entry.path();
  }
}

// Commands with `each`: enable/disable of split (0, 1), map (2, 3), merge (4, 5),
// finalize (6, 7).
INSTANTIATE_TEST_SUITE_P(Phases, SignalInPhase,
                         ::testing::Values(SignalAt{0, SIGINT}, SignalAt{2, SIGINT},
                                           SignalAt{4, SIGINT}, SignalAt{6, SIGINT},
                                           SignalAt{7, SIGINT}, SignalAt{2, SIGTERM},
                                           SignalAt{7, SIGTERM}),
                         [](const auto& param_info) {
                           return std::string(param_info.param.signal == SIGINT ? "int" : "term") +
                                  "_at_command_" + std::to_string(param_info.param.command);
                         });

TEST_F(PerfCli, BadDescriptorsAreUsageErrors) {
  auto r = run_process({TALLY_EXE, "wordcount", corpus_, "--perf-ctl-fd", "57"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("--perf-ctl-fd 57: not an open file descriptor"), std::string::npos)
      << r.err;
  // stdin is open for reading only.
  r = run_process({TALLY_EXE, "wordcount", corpus_, "--perf-ctl-fd", "0"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("not open for writing"), std::string::npos) << r.err;
  r = run_process({TALLY_EXE, "wordcount", corpus_, "--perf-phase", "map"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("--perf-ctl-fd"), std::string::npos) << r.err;
  r = run_process({TALLY_EXE, "wordcount", corpus_, "--perf-ctl-fd", "1", "--perf-phase", "x"});
  EXPECT_EQ(r.exit_status, 2);
}

TEST_F(PerfCli, ProfileUsage) {
  auto r = run_process({TALLY_EXE, "profile"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("no command to profile"), std::string::npos) << r.err;
  r = run_process({TALLY_EXE, "profile", "--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.out.find("folded"), std::string::npos) << r.out;
  r = run_process({TALLY_EXE, "--help"});
  EXPECT_NE(r.out.find("profile"), std::string::npos) << r.out;
}

}  // namespace
