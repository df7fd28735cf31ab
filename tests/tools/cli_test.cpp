// Tests of the `tally` program as a user runs it: a child process, its output and exit status.
#include <gtest/gtest.h>

#include <string>

#include "tally/engine/version.hpp"
#include "tests/support/subprocess.hpp"

namespace {

using tally::testing::run_process;

// Oracle: --version prints "tally <library version>" on stdout and exits 0.
TEST(Cli, VersionNamesTheLibraryVersion) {
  const auto r = run_process({TALLY_EXE, "--version"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("tally " + std::string(tally::version())), std::string::npos) << r.out;
}

// Oracle: when built with mimalloc, plain malloc in the tally process is served by mimalloc;
// otherwise the system allocator is reported.
TEST(Cli, AllocatorOverrideIsActive) {
  const auto r = run_process({TALLY_EXE, "--version"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  if (TALLY_EXPECT_MIMALLOC) {
    EXPECT_NE(r.out.find("(malloc override active)"), std::string::npos) << r.out;
  } else {
    EXPECT_NE(r.out.find("system malloc"), std::string::npos) << r.out;
  }
}

// Oracle: the dynamic loader's own account of the files it loads (LD_DEBUG=files). A run
// that no MPI launcher started loads no MPI library, not even in a build with MPI (the
// program loads its MPI module only under a launcher, mpi_launch.cpp); the account names
// the C library, so it was written.
TEST(Cli, ARunAloneLoadsNoMpiLibrary) {
  const auto r = run_process(
      {"/usr/bin/env", "LD_DEBUG=files", TALLY_EXE, "wordcount", "-f", "tsv", "-"}, "b a b\n");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "b\t2\na\t1\n");
  EXPECT_NE(r.err.find("libc.so"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("file=libmpi"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("tally-mpi.so ["), std::string::npos) << r.err;
}

// Oracle: --help exits 0 and documents the exit statuses.
TEST(Cli, HelpDocumentsExitStatuses) {
  const auto r = run_process({TALLY_EXE, "--help"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("Exit status"), std::string::npos) << r.out;
}

// Oracle: an unknown option is a usage error: exit 2, a message on stderr naming the option,
// nothing on stdout.
TEST(Cli, UnknownOptionIsUsageError) {
  const auto r = run_process({TALLY_EXE, "--no-such-option"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// Oracle: no command, or an unknown one (even with --help after it), is a usage error:
// exit 2, the help or the name on stderr, nothing on stdout. A known command's --help is 0.
TEST(Cli, MissingOrUnknownCommandIsUsageError) {
  auto r = run_process({TALLY_EXE});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("a command is required"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = run_process({TALLY_EXE, "wordcunt", "--help"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err, "tally: unknown command 'wordcunt' (see tally --help)\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = run_process({TALLY_EXE, "wordcount", "--help"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
}

// Oracle: generate-corpus -o - writes the text to stdout (no file named "-"), the same bytes
// as -o FILE, and exactly --size of them, ending in a newline.
TEST(Cli, GenerateCorpusToStdoutEqualsToFile) {
  const auto to_stdout =
      run_process({TALLY_EXE, "generate-corpus", "-o", "-", "--size", "300K", "--seed", "7"});
  ASSERT_EQ(to_stdout.exit_status, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out.size(), std::size_t{300} << 10);
  EXPECT_EQ(to_stdout.out.back(), '\n');
  const auto via_file = run_process(
      {"/bin/sh", "-c", "\"$0\" generate-corpus -o \"$1\" --size 300K --seed 7 && cat \"$1\"",
       TALLY_EXE, ::testing::TempDir() + "/corpus-from-file.txt"});
  ASSERT_EQ(via_file.exit_status, 0) << via_file.err;
  EXPECT_TRUE(via_file.out == to_stdout.out);
}

}  // namespace
