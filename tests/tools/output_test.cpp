// OutputFile and Supervisor, the CLI's output path, in process.
//
// Oracles:
//  - Every kind of -o target: a new path and a regular file are replaced whole (the old file's
//    mode kept); a symlink's target is replaced and the link kept; a character device and a
//    FIFO are written in place (the device stays a device); a directory is an error naming
//    the path. No temporary file is left in any case.
//  - A stop (SIGINT raised in the test) before or during writing: the write fails with
//    kCancelled, begin_publishing() is refused, the target is untouched and the temporary
//    file removed.
//  - The deadline stops the run with 124 and "timed out after <text>"; a second signal and
//    the backstop end the process (death tests) and remove the registered temporary files.
//  - The text format's word column is at most kMaxWordColumn wide: one huge word does not
//    pad the other rows.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/scratch_dir.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/output.hpp"
#include "tools/tally/supervisor.hpp"

namespace {

namespace fs = std::filesystem;
using tally::Status;
using tally::StatusCode;
using tally::cli::ColumnWidths;
using tally::cli::CountsFormat;
using tally::cli::Format;
using tally::cli::OutputFile;
using tally::cli::Supervisor;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class OutputFileTest : public tally::testing::ScratchDirTest {
 protected:
  Status write_all(const std::string& path, const std::string& text,
                   Supervisor* supervisor = nullptr) {
    OutputFile out;
    if (Status s = out.open(path, supervisor); !s.ok()) return s;
    out.append(text);
    return out.commit();
  }
  bool no_temporaries() const {
    for (const auto& name : files_in_dir()) {
      if (name.find(".tally-") != std::string::npos) return false;
    }
    return true;
  }
};

TEST_F(OutputFileTest, NewAndRegularFilesAreReplacedWholeKeepingTheMode) {
  const std::string path = (dir_ / "out.txt").string();
  ASSERT_TRUE(write_all(path, "first\n").ok());
  EXPECT_EQ(read_file(path), "first\n");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(write_all(path, "second\n").ok());
  EXPECT_EQ(read_file(path), "second\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(no_temporaries());
}

TEST_F(OutputFileTest, SymlinkTargetIsReplacedAndTheLinkKept) {
  const std::string target = write("target.txt", "old\n");
  const fs::path link = dir_ / "link.txt";
  fs::create_symlink("target.txt", link);
  ASSERT_TRUE(write_all(link.string(), "new\n").ok());
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file(target), "new\n");
  EXPECT_TRUE(no_temporaries());
}

TEST_F(OutputFileTest, CharacterDeviceIsWrittenInPlace) {
  ASSERT_TRUE(write_all("/dev/null", "discarded\n").ok());
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_TRUE(no_temporaries());
}

TEST_F(OutputFileTest, FifoIsWrittenInPlace) {
  const std::string fifo = (dir_ / "out.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read_file(fifo); });
  const Status s = write_all(fifo, "through the fifo\n");
  reader.join();
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(got, "through the fifo\n");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(OutputFileTest, DirectoryIsAnErrorNamingIt) {
  const Status s = write_all(dir_.string(), "x");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(dir_.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Is a directory"), std::string::npos) << s.message();
}

TEST_F(OutputFileTest, StopDuringWritingPublishesNothingAndRemovesTheTemporary) {
  const std::string path = write("out.txt", "previous\n");
  Supervisor supervisor;
  OutputFile out;
  ASSERT_TRUE(out.open(path, &supervisor).ok());
  out.append(std::string(OutputFile::kBufferBytes * 2, 'a'));  // written through
  EXPECT_TRUE(out.status().ok());
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);  // the supervisor thread takes it
  while (!supervisor.stopped()) std::this_thread::yield();
  out.append(std::string(OutputFile::kBufferBytes * 2, 'b'));
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled);
  EXPECT_FALSE(out.commit().ok());
  EXPECT_FALSE(supervisor.begin_publishing());
  EXPECT_EQ(supervisor.exit_status(), tally::cli::kExitInterrupted);
  EXPECT_EQ(supervisor.reason(), "interrupted");
  EXPECT_EQ(read_file(path), "previous\n");
  EXPECT_FALSE(no_temporaries());  // until the OutputFile is destroyed
}

TEST_F(OutputFileTest, TemporaryIsRemovedWhenNotPublished) {
  {
    OutputFile out;
    ASSERT_TRUE(out.open((dir_ / "never.txt").string()).ok());
    out.append("x");
    EXPECT_FALSE(no_temporaries());
  }
  EXPECT_TRUE(files_in_dir().empty());
}

TEST(SupervisorTest, DeadlineStopsWith124) {
  const Supervisor supervisor(Supervisor::Clock::now() + std::chrono::milliseconds(1), "1ms");
  while (!supervisor.stopped()) std::this_thread::yield();
  EXPECT_EQ(supervisor.exit_status(), tally::cli::kExitTimeout);
  EXPECT_EQ(supervisor.reason(), "timed out after 1ms");
}

TEST(SupervisorTest, PublishingFirstMeansTheDeadlineNoLongerStops) {
  Supervisor supervisor(Supervisor::Clock::now() + std::chrono::milliseconds(20), "20ms");
  ASSERT_TRUE(supervisor.begin_publishing());
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);  // ignored too: the output is whole
  // The deadline passes while publishing; nothing may stop the run now. Wait for it through
  // the clock the supervisor uses, then well past its backstop would have been.
  const auto past =
      Supervisor::Clock::now() + std::chrono::milliseconds(20) + 2 * Supervisor::kBackstopAfter;
  std::this_thread::sleep_until(past);  // an absence to check: only time can show it
  EXPECT_FALSE(supervisor.stopped());
  EXPECT_EQ(supervisor.exit_status(), 0);
}

// A signal that has arrived but that the supervisor thread has not taken yet still stops
// the run. Sent to this thread alone, it stays pending here, where the supervisor thread's
// wait cannot take it: begin_publishing must.
TEST(SupervisorTest, APendingSignalStopsPublishing) {
  Supervisor supervisor;
  ASSERT_EQ(::pthread_kill(::pthread_self(), SIGINT), 0);
  EXPECT_FALSE(supervisor.begin_publishing());
  EXPECT_TRUE(supervisor.stopped());
  EXPECT_EQ(supervisor.exit_status(), tally::cli::kExitInterrupted);
  EXPECT_EQ(supervisor.reason(), "interrupted");
}

// Death tests run "threadsafe" (the child re-executes this binary up to the test), as a
// sanitizer's runtime needs; so the temporary file's path must not depend on the process.
TEST(SupervisorDeathTest, BackstopEndsAStuckProcessAndRemovesTemporaries) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string tmp =
      ::testing::TempDir() + "/.out.tally-backstop-" + std::to_string(::getuid());
  std::ofstream(tmp) << "partial";
  ASSERT_TRUE(fs::exists(tmp));
  EXPECT_EXIT(
      {
        Supervisor supervisor(Supervisor::Clock::now(), "0s");
        supervisor.track_temporary(tmp);
        // Stuck in a way no stop reaches: a read nothing will ever answer.
        int fds[2];
        if (::pipe(fds) != 0) ::_exit(99);
        char c;
        (void)!::read(fds[0], &c, 1);
        ::_exit(98);
      },
      ::testing::ExitedWithCode(tally::cli::kExitTimeout), "tally: timed out after 0s");
  EXPECT_FALSE(fs::exists(tmp));
}

TEST(SupervisorDeathTest, SecondSignalEndsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Supervisor supervisor;
        ::kill(::getpid(), SIGINT);
        while (!supervisor.stopped()) std::this_thread::yield();
        ::kill(::getpid(), SIGINT);
        int fds[2];
        if (::pipe(fds) != 0) ::_exit(99);
        char c;
        (void)!::read(fds[0], &c, 1);
        ::_exit(98);
      },
      ::testing::ExitedWithCode(tally::cli::kExitInterrupted), "tally: interrupted");
}

TEST(ColumnWidthsTest, OneHugeWordDoesNotPadTheOthers) {
  ColumnWidths widths;
  widths.widen(std::string(300000, 'w'), 1);
  widths.widen("a", 12);
  EXPECT_EQ(widths.word, ColumnWidths::kMaxWordColumn);
  const CountsFormat text(Format::kText, widths);
  std::string row;
  text.row(row, "a", 12, true);
  EXPECT_EQ(row.size(), ColumnWidths::kMaxWordColumn + 2 + 2 + 1);
  row.clear();
  text.row(row, std::string(300000, 'w'), 1, true);
  EXPECT_EQ(row.size(), 300000 + 2 + 2 + 1);
}

}  // namespace
