// `tally grep` as a user runs it: the real binary against GNU grep itself (when the machine
// has /usr/bin/grep), its exit statuses and its failures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::ProcessResult;
using tally::testing::run_process;

constexpr char kGnuGrep[] = "/usr/bin/grep";

// Text over a small alphabet, so that short patterns match some lines and not others: words
// of 1-6 letters, lines of 0-15 words (some empty), `lines` of them.
std::string make_text(std::uint64_t seed, int lines) {
  std::mt19937_64 rng(seed);
  std::string text;
  for (int l = 0; l < lines; ++l) {
    const int words = static_cast<int>(rng() % 16);
    for (int w = 0; w < words; ++w) {
      if (w > 0) text += ' ';
      for (std::size_t n = 1 + rng() % 6; n > 0; --n) text += "abcdeo"[rng() % 6];
    }
    text += '\n';
  }
  return text;
}

ProcessResult tally_grep(std::vector<std::string> args, const std::string& input = {}) {
  args.insert(args.begin(), {TALLY_EXE, "grep"});
  return run_process(args, input);
}

// GNU grep in the C locale, fixed strings, with every other argument as given.
ProcessResult gnu_grep(std::vector<std::string> args, const std::string& input = {}) {
  args.insert(args.begin(), {"/usr/bin/env", "LC_ALL=C", kGnuGrep, "-F"});
  return run_process(args, input);
}

class GrepCli : public tally::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    a_ = write("a.txt", make_text(1, 3000));
    b_ = write("b.txt", make_text(2, 500) + "last line without a newline, deed");
    empty_ = write("empty.txt", "");
  }
  std::string a_, b_, empty_;
};

using Param = std::tuple<int, std::vector<std::string>>;  // threads, pattern arguments

class GrepCliVsGnuGrep : public GrepCli, public ::testing::WithParamInterface<Param> {};

// Oracle: GNU grep itself. For each set of pattern arguments, `tally grep -jT ARGS FILES` and
// `LC_ALL=C grep -F -n -H ARGS FILES` print the same bytes and exit with the same status (0 or
// 1); so do -c (against grep -c -H) and -h (against grep -n -h).
TEST_P(GrepCliVsGnuGrep, SameBytesAsGnuGrep) {
  if (!fs::exists(kGnuGrep)) GTEST_SKIP() << "no " << kGnuGrep << " to compare with";
  const auto& [threads, patterns] = GetParam();
  std::vector<std::string> args = patterns;
  for (std::string& arg : args) {
    if (arg == "@patterns") arg = write("patterns.txt", "dead\nbe\nc\n\x01\n");  // a -f file
  }
  const std::vector<std::string> files = {a_, empty_, b_};
  const auto with = [&](std::vector<std::string> front) {
    front.insert(front.end(), args.begin(), args.end());
    front.insert(front.end(), files.begin(), files.end());
    return front;
  };
  const std::string j = "-j" + std::to_string(threads);
  for (const auto& [tally_flags, grep_flags] :
       std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {{j}, {"-n", "-H"}}, {{j, "-c"}, {"-c", "-H"}}, {{j, "-h"}, {"-n", "-h"}}}) {
    const ProcessResult ours = tally_grep(with(tally_flags));
    const ProcessResult theirs = gnu_grep(with(grep_flags));
    ASSERT_EQ(theirs.err, "");
    EXPECT_EQ(ours.out, theirs.out) << tally_flags.back();
    EXPECT_EQ(ours.exit_status, theirs.exit_status) << ours.err;
    EXPECT_EQ(ours.err, "");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Patterns, GrepCliVsGnuGrep,
    ::testing::Combine(
        ::testing::Values(1, 2, 4),
        ::testing::Values(std::vector<std::string>{"deed"},     // PATTERN
                          std::vector<std::string>{"-e", "a"},  // one byte
                          std::vector<std::string>{"-e", "ab", "-e", "ba", "-e", "cab"},
                          std::vector<std::string>{"-e", "zzz"},           // no match
                          std::vector<std::string>{"-e", ""},              // every line
                          std::vector<std::string>{"-e", "oo\nbad\nace"},  // newlines
                          std::vector<std::string>{"-f", "@patterns", "-e", "eo"})));

// Oracle: a pattern file of many patterns (past the vector algorithm's limit), and a line
// read from stdin, as GNU grep prints them ("(standard input)" names stdin).
TEST_F(GrepCli, ManyPatternsAndStdinAsGnuGrep) {
  if (!fs::exists(kGnuGrep)) GTEST_SKIP() << "no " << kGnuGrep << " to compare with";
  std::mt19937_64 rng(3);
  std::string patterns;
  for (int i = 0; i < 200; ++i) {
    for (std::size_t n = 3 + rng() % 3; n > 0; --n) patterns += "abcdeo"[rng() % 6];
    patterns += '\n';
  }
  const std::string file = write("many.txt", patterns);
  const ProcessResult ours = tally_grep({"-f", file, a_, b_});
  const ProcessResult theirs = gnu_grep({"-n", "-H", "-f", file, a_, b_});
  EXPECT_EQ(ours.exit_status, 0) << ours.err;
  EXPECT_EQ(ours.out, theirs.out);

  const std::string input = make_text(4, 200);
  const ProcessResult from_stdin = tally_grep({"-e", "cab", "-"}, input);
  EXPECT_EQ(from_stdin.out, gnu_grep({"-n", "-H", "-e", "cab"}, input).out);
  EXPECT_NE(from_stdin.out, "");
}

// Oracle (grep's own rules, written out): -f with an empty file has no patterns, so nothing
// matches (exit 1); "\n" is one empty pattern (every line); a trailing newline adds none.
TEST_F(GrepCli, PatternFiles) {
  const std::string text = write("t.txt", "abc\nxyz\n\nfoo\n");
  const ProcessResult none = tally_grep({"-f", write("none", ""), text});
  EXPECT_EQ(none.exit_status, 1);
  EXPECT_EQ(none.out, "");
  const ProcessResult all = tally_grep({"-f", write("nl", "\n"), text});
  EXPECT_EQ(all.exit_status, 0);
  EXPECT_EQ(all.out, text + ":1:abc\n" + text + ":2:xyz\n" + text + ":3:\n" + text + ":4:foo\n");
  const ProcessResult some = tally_grep({"-f", write("two", "zz\nfo\n"), text});
  EXPECT_EQ(some.out, text + ":4:foo\n");
  const ProcessResult also_e = tally_grep({"-f", write("none2", ""), "-e", "xy", text});
  EXPECT_EQ(also_e.out, text + ":2:xyz\n");
}

// Oracle: nothing matched is exit 1 with no output; with -c, exit 1 and a zero per input.
TEST_F(GrepCli, NothingMatchedExitsOne) {
  const ProcessResult lines = tally_grep({"-e", "zzz", a_, empty_});
  EXPECT_EQ(lines.exit_status, 1);
  EXPECT_EQ(lines.out, "");
  EXPECT_EQ(lines.err, "");
  const ProcessResult counts = tally_grep({"-c", "-e", "zzz", a_, empty_});
  EXPECT_EQ(counts.exit_status, 1);
  EXPECT_EQ(counts.out, a_ + ":0\n" + empty_ + ":0\n");
}

// Oracle: a missing input is exit 3 with one message naming it and nothing on stdout, and
// -o's file is not created.
TEST_F(GrepCli, MissingInputIsExitThree) {
  const std::string missing = (dir_ / "missing.txt").string();
  const std::string out = (dir_ / "out.txt").string();
  const ProcessResult r = tally_grep({"-o", out, "-e", "a", a_, missing});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tally: cannot open '" + missing + "': No such file or directory\n");
  EXPECT_FALSE(fs::exists(out));
}

// Oracle: a missing pattern file is exit 3 with one message naming it, nothing on stdout.
TEST_F(GrepCli, MissingPatternFileIsExitThree) {
  const std::string missing = (dir_ / "patterns.txt").string();
  const ProcessResult r = tally_grep({"-f", missing, a_});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "tally: cannot read the pattern file '" + missing + "': No such file or directory\n");
}

// Oracle: no pattern at all is a usage error (exit 2) that says what is missing.
TEST_F(GrepCli, NoPatternIsAUsageError) {
  const ProcessResult r = tally_grep({});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tally: grep needs a pattern: PATTERN, -e PATTERN or -f FILE\n");
  const ProcessResult unknown = tally_grep({"-x", "a", a_});
  EXPECT_EQ(unknown.exit_status, 2);
  EXPECT_EQ(unknown.out, "");
}

// Oracle: -o writes exactly what stdout would get, into the file, and nothing to stdout.
TEST_F(GrepCli, OutputFileHoldsTheLines) {
  const std::string out = (dir_ / "out.txt").string();
  const ProcessResult to_stdout = tally_grep({"-e", "cab", a_});
  const ProcessResult to_file = tally_grep({"-o", out, "-e", "cab", a_});
  EXPECT_EQ(to_file.exit_status, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  std::ifstream in(out, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), to_stdout.out);
  EXPECT_NE(to_stdout.out, "");
}

// Oracle: NUL and other binary bytes are text (grep -a): a line holding them is printed as
// it is.
TEST_F(GrepCli, BinaryBytesAreText) {
  const std::string file = write("bin", std::string("a\0b\xff\n", 5) + "cd\n");
  const ProcessResult r = tally_grep({"-e", std::string("\xff"), file});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, file + ":1:" + std::string("a\0b\xff\n", 5));
}

}  // namespace
