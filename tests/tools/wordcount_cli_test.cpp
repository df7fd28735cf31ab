// `tally wordcount` as a user runs it: the real binary, its output and exit statuses.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/sanitized.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using tally::testing::ProcessResult;
using tally::testing::run_process;

class WordcountCli : public tally::testing::ScratchDirTest {};

// The word rule, written independently of jobs/wordcount.hpp: split on the six ASCII
// whitespace bytes, lowercase A-Z, keep every other byte.
std::map<std::string, std::uint64_t> oracle(const std::string& text) {
  std::map<std::string, std::uint64_t> counts;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') {
      if (!word.empty()) ++counts[word];
      word.clear();
    } else {
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
  }
  if (!word.empty()) ++counts[word];
  return counts;
}

// The expected TSV: count descending, then word ascending (bytewise).
std::string expected_tsv(const std::map<std::string, std::uint64_t>& counts) {
  std::vector<std::pair<std::string, std::uint64_t>> rows(counts.begin(), counts.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [w, n] : rows) out += w + "\t" + std::to_string(n) + "\n";
  return out;
}

std::string random_text(std::uint64_t seed, std::size_t words) {
  std::mt19937_64 rng(seed);
  const char* const vocab[] = {"The",         "the",         "THE",      "and",  "of",
                               "to",          "a",           "in",       "x,y",  "\"quoted\"",
                               "caf\xc3\xa9", "Caf\xc3\xa9", "tab",      "it's", "end.",
                               "-",           "42",          "\xff\xfe", "mIxEd"};
  const char* const seps[] = {" ", " ", " ", "  ", "\t", "\n", "\r\n", "\v", "\f"};
  std::string text;
  for (std::size_t i = 0; i < words; ++i) {
    text += vocab[rng() % std::size(vocab)];
    text += seps[rng() % std::size(seps)];
  }
  return text;
}

// Oracle: on generated text with mixed case, CRLF, tabs, punctuation and non-ASCII bytes,
// the TSV output equals the independent count, in the documented order, at 1 and 3 threads
// and with both strategies.
TEST_F(WordcountCli, MatchesIndependentCount) {
  const std::string text = random_text(1, 200000);
  const std::string path = write("in.txt", text);
  const std::string want = expected_tsv(oracle(text));
  for (const char* threads : {"1", "3"}) {
    for (const char* strategy : {"local", "sharded"}) {
      const auto r = run_process(
          {TALLY_EXE, "wordcount", "-j", threads, "--strategy", strategy, "-f", "tsv", path});
      ASSERT_EQ(r.exit_status, 0) << r.err;
      EXPECT_EQ(r.out, want) << "threads " << threads << " strategy " << strategy;
    }
  }
}

// Oracle: a file of 3 MB (mapped, not read: over 1 MiB), with lines of every length up to
// 50 KB, prints the independent count byte for byte at 1, 2 and 4 threads: the output does
// not depend on how the input is cut into splits and blocks.
TEST_F(WordcountCli, MappedFileSameBytesAtEveryThreadCount) {
  std::string text = random_text(7, 600000);
  // Longer lines, so that some outgrow a block: a newline is kept only past a length that
  // varies from line to line.
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') continue;
    if (i - line_start < (line_start * 7919) % 50000) {
      text[i] = ' ';
    } else {
      line_start = i + 1;
    }
  }
  ASSERT_GT(text.size(), std::size_t{1} << 21);
  const std::string path = write("big.txt", text);
  const std::string want = expected_tsv(oracle(text));
  for (const char* threads : {"1", "2", "4"}) {
    const auto r = run_process({TALLY_EXE, "wordcount", "-j", threads, "-f", "tsv", path});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_TRUE(r.out == want) << "threads " << threads;
  }
}

// Oracle: stdin ("-") gives the same counts as the file; a file without a trailing newline
// and one with NUL bytes count their last and NUL-holding words too.
TEST_F(WordcountCli, StdinNoTrailingNewlineAndNulBytes) {
  const std::string text = std::string("a b\nc A\nno-newline-at-end");
  const auto r = run_process({TALLY_EXE, "wordcount", "-f", "tsv", "-"}, text);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, expected_tsv(oracle(text)));

  const std::string nul_text = std::string("x\0y x\0y z\n", 10);
  const auto n = run_process({TALLY_EXE, "wordcount", "-f", "tsv", write("nul.txt", nul_text)});
  ASSERT_EQ(n.exit_status, 0) << n.err;
  EXPECT_EQ(n.out, expected_tsv(oracle(nul_text)));
}

// Oracle: a directory is read recursively; its files count as one input.
TEST_F(WordcountCli, DirectoryRecursive) {
  write("d/one.txt", "apple banana\n");
  write("d/sub/two.txt", "banana cherry banana\n");
  const auto r = run_process({TALLY_EXE, "wordcount", "-f", "tsv", (dir_ / "d").string()});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "banana\t3\napple\t1\ncherry\t1\n");
}

// Oracle: an empty file gives empty output (every format's empty form) and exit 0.
TEST_F(WordcountCli, EmptyInput) {
  const std::string path = write("empty.txt", "");
  auto r = run_process({TALLY_EXE, "wordcount", "-f", "tsv", path});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.out, "");
  r = run_process({TALLY_EXE, "wordcount", "-f", "json", path});
  EXPECT_EQ(r.out, "{\"words\":[]}\n");
  r = run_process({TALLY_EXE, "wordcount", "-f", "csv", path});
  EXPECT_EQ(r.out, "word,count\r\n");
}

// Oracle: each format renders the same rows: text aligned, csv quoted per RFC 4180, json
// escaped; --top keeps the K most frequent.
TEST_F(WordcountCli, Formats) {
  const std::string path = write("f.txt", "b b b x,y x,y \"q\" tab\ttab\n");
  auto r = run_process({TALLY_EXE, "wordcount", "-f", "text", "-n", "3", path});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "b    3\ntab  2\nx,y  2\n");
  r = run_process({TALLY_EXE, "wordcount", "-f", "csv", path});
  EXPECT_EQ(r.out, "word,count\r\nb,3\r\ntab,2\r\n\"x,y\",2\r\n\"\"\"q\"\"\",1\r\n");
  r = run_process({TALLY_EXE, "wordcount", "-f", "json", "-n", "1", path});
  EXPECT_EQ(r.out, "{\"words\":[\n{\"word\":\"b\",\"count\":3}\n]}\n");
  r = run_process({TALLY_EXE, "wordcount", "-f", "json", write("q.txt", "\"q\\\" \xff\n")});
  EXPECT_EQ(r.out,
            "{\"words\":[\n{\"word\":\"\\\"q\\\\\\\"\",\"count\":1},\n"
            "{\"word\":\"\xef\xbf\xbd\",\"count\":1}\n]}\n");
}

// Oracle: -o writes the file with exactly what stdout would have had, and leaves no
// temporary file beside it.
TEST_F(WordcountCli, OutputFileIsComplete) {
  const std::string in = write("in.txt", "one two two\n");
  const std::string out = (dir_ / "out.tsv").string();
  const auto r = run_process({TALLY_EXE, "wordcount", "-f", "tsv", "-o", out, in});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::ifstream f(out);
  std::stringstream got;
  got << f.rdbuf();
  EXPECT_EQ(got.str(), "two\t2\none\t1\n");
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"in.txt", "out.tsv"}));
}

// Oracle: a missing file among good ones is an input error: exit 3, a message naming the
// path and the reason, nothing on stdout, and no output file created.
TEST_F(WordcountCli, MissingInputIsExit3AndWritesNothing) {
  const std::string good = write("good.txt", "a\n");
  const std::string missing = (dir_ / "missing.txt").string();
  const std::string out = (dir_ / "out.txt").string();
  const auto r = run_process({TALLY_EXE, "wordcount", "-o", out, good, missing});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.err, "tally: cannot open '" + missing + "': No such file or directory\n");
  EXPECT_TRUE(r.out.empty());
  EXPECT_FALSE(fs::exists(out));
}

// Oracle: usage errors are exit 2 with a message naming the problem.
TEST_F(WordcountCli, UsageErrorsAreExit2) {
  auto r = run_process({TALLY_EXE, "wordcount", "-f", "xml", write("a.txt", "a\n")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("xml"), std::string::npos) << r.err;
  r = run_process({TALLY_EXE, "wordcount"});
  EXPECT_EQ(r.exit_status, 2);
  r = run_process({TALLY_EXE, "wordcount", "--timeout", "soon", write("b.txt", "b\n")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("soon"), std::string::npos) << r.err;
}

std::string big_corpus(const fs::path& dir) {
  const std::string path = (dir / "big.txt").string();
  const auto r = run_process({TALLY_EXE, "generate-corpus", "--size", "64M", "-o", path});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  return path;
}

// Oracle: a timeout far shorter than the run gives exit 124 and no output file.
TEST_F(WordcountCli, TimeoutIsExit124) {
  const std::string in = big_corpus(dir_);
  const std::string out = (dir_ / "out.txt").string();
  const auto r =
      run_process({TALLY_EXE, "wordcount", "-j", "1", "--timeout", "1ms", "-o", out, in});
  EXPECT_EQ(r.exit_status, 124) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

// Oracle: SIGINT while tally reads its input stops it: exit 130, no output file, no stray
// temporary file. The input is a FIFO the test writes: its open() for writing returns once
// tally has opened the FIFO to read it, so the signal lands mid-read, whatever the timing.
TEST_F(WordcountCli, SigintWhileReadingIsExit130AndLeavesNothing) {
  const std::string fifo = (dir_ / "in.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string out = (dir_ / "out.txt").string();
  std::vector<std::string> args = {TALLY_EXE, "wordcount", "-o", out, fifo};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // waits for tally
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, "a b c\n", 6), 6);
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(writer);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"in.fifo"}));
}

// Oracle: --timeout counts from the start, and reaches an open() that would wait forever
// (a FIFO nobody writes) and a read that would never end (/dev/zero): exit 124, one line.
TEST_F(WordcountCli, TimeoutReachesOpenAndEndlessReads) {
  const std::string fifo = (dir_ / "nobody.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& input : {fifo, std::string("/dev/zero")}) {
    const std::string out = (dir_ / "out.txt").string();
    const auto r = run_process({TALLY_EXE, "wordcount", "--timeout", "300ms", "-o", out, input});
    EXPECT_EQ(r.exit_status, 124) << input << ": " << r.err;
    EXPECT_EQ(r.err, "tally: timed out after 300ms\n") << input;
    EXPECT_FALSE(fs::exists(out)) << input;
  }
}

// Oracle: exhausted resources are one message and exit 4, leaving no output: memory
// running out (address space capped), and worker threads the system refuses. The last two cap the
// address space, which a sanitizer's runtime cannot start under: release builds only.
TEST_F(WordcountCli, ExhaustedResourcesAreExit4WithAMessage) {
  const std::string in = write("words.txt", random_text(3, 200000));
  const std::string out = (dir_ / "out.txt").string();
#ifdef TALLY_TEST_SANITIZED
  GTEST_SKIP() << "address-space limits: release builds only";
#else
  std::string many;
  for (int i = 0; i < 3000000; ++i) many += "w" + std::to_string(i) + "\n";
  const std::string distinct = write("distinct.txt", many);
  const std::string capped = "ulimit -v 200000; exec \"$0\" \"$@\"";
  ProcessResult r = run_process(
      {"/bin/sh", "-c", capped, TALLY_EXE, "wordcount", "-j", "1", "-o", out, distinct});
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_NE(r.err.find("out of memory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"distinct.txt", "words.txt"}));

  r = run_process({"/bin/sh", "-c", capped, TALLY_EXE, "wordcount", "-j", "400", in});
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_EQ(r.err, "tally: cannot start the worker threads: Resource temporarily unavailable\n");
#endif
}

// Oracle: stdin in non-blocking mode (a parent's pipe with O_NONBLOCK, which the child
// shares) that runs dry while its writer is still there is waited for, not an error: the
// test drains the pipe's first bytes, waits until tally has read them all (the pipe is
// empty), then writes the rest.
TEST_F(WordcountCli, NonBlockingStdinThatRunsDryIsWaitedFor) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  const std::string out = (dir_ / "out.tsv").string();
  std::vector<std::string> args = {TALLY_EXE, "wordcount", "-f", "tsv", "-o", out, "-"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  ASSERT_EQ(::write(fds[1], "a b a\n", 6), 6);
  int queued = 1;
  while (queued > 0) {  // until tally has read everything written so far
    ASSERT_EQ(::ioctl(fds[1], FIONREAD, &queued), 0);
    std::this_thread::yield();
  }
  ASSERT_EQ(::write(fds[1], "b a\n", 4), 4);
  ::close(fds[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream in(out);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "a\t3\nb\t2\n");
}

// Oracle: one word of 100 MB (no whitespace at all) is counted whole and lowercased, at 1
// and 2 threads.
TEST_F(WordcountCli, SingleHundredMegabyteWord) {
  constexpr std::size_t kWordBytes = 100u << 20;
  const std::string path = write("one-word.txt", std::string(kWordBytes, 'W') + "\nb");
  for (const char* threads : {"1", "2"}) {
    const auto r = run_process({TALLY_EXE, "wordcount", "-j", threads, "-f", "tsv", path});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    const std::string want = "b\t1\n" + std::string(kWordBytes, 'w') + "\t1\n";
    EXPECT_EQ(r.out.size(), want.size());
    EXPECT_TRUE(r.out == want) << "threads " << threads;  // not EXPECT_EQ: 100 MB diffs
  }
}

// --unicode: letters, marks and digits with case folding; ' and - inside words; invalid
// UTF-8 becomes U+FFFD inside the word, is reported on stderr, and the run still succeeds.
TEST_F(WordcountCli, UnicodeRuleAndInvalidUtf8) {
  const std::string text =
      "Stra\xc3\x9f"
      "e STRASSE strasse, don't -dash- \xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91 "
      "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1\r\ncaf\xe9 caf\xe9\n";
  const auto r = run_process({TALLY_EXE, "wordcount", "--unicode", "-f", "tsv", "-"}, text);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out,
            "strasse\t3\n"
            "caf\xef\xbf\xbd\t2\n"                           // caf + U+FFFD
            "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1\t2\n"  // sofia, folded
            "dash\t1\n"
            "don't\t1\n");
  EXPECT_NE(r.err.find("2 invalid UTF-8 sequence(s)"), std::string::npos) << r.err;

  const auto sensitive =
      run_process({TALLY_EXE, "wordcount", "--unicode", "--case-sensitive", "-f", "tsv", "-"},
                  "A a \xc3\x89 \xc3\xa9\n");
  ASSERT_EQ(sensitive.exit_status, 0) << sensitive.err;
  EXPECT_EQ(sensitive.out, "A\t1\na\t1\n\xc3\x89\t1\n\xc3\xa9\t1\n");
  EXPECT_EQ(sensitive.err, "");  // valid input: no warning
}

// --memory: a budget the word tables fit in changes nothing; one they do not fit in fails
// the run (exit 4, a message that names the budget) and writes nothing; a malformed size is
// a usage error.
TEST_F(WordcountCli, MemoryBudget) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "w" + std::to_string(i) + (i % 8 ? " " : "\n");
  const std::string in = write("distinct.txt", text);
  const std::string out = (dir_ / "out.tsv").string();
  const auto plain = run_process({TALLY_EXE, "wordcount", "-f", "tsv", in});
  ASSERT_EQ(plain.exit_status, 0) << plain.err;

  const auto fits = run_process({TALLY_EXE, "wordcount", "-f", "tsv", "--memory", "256M", in});
  ASSERT_EQ(fits.exit_status, 0) << fits.err;
  EXPECT_EQ(fits.out, plain.out);

  // Far too small for the words: the run spills to --tmp-dir and prints the same.
  const auto over = run_process({TALLY_EXE, "wordcount", "-j", "2", "-f", "tsv", "--memory", "1M",
                                 "--tmp-dir", dir_.string(), "-o", out, in});
  EXPECT_EQ(over.exit_status, 0) << over.err;
  EXPECT_EQ(run_process({"/bin/cat", out}).out, plain.out);
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"distinct.txt", "out.tsv"}));

  for (const char* bad : {"lots", "12X", "0"}) {
    const auto r = run_process({TALLY_EXE, "wordcount", "--memory", bad, in});
    EXPECT_EQ(r.exit_status, 2) << bad;
    EXPECT_NE(r.err.find("--memory"), std::string::npos) << r.err;
  }
}

// --progress draws on stderr (plain lines when stderr is not a terminal) and ends at 100%;
// --no-progress, and the default when stderr is not a terminal, draw nothing. The counts on
// stdout are the same either way.
TEST_F(WordcountCli, ProgressOnStderrOnly) {
  const std::string in = write("p.txt", random_text(7, 50000));
  const auto with = run_process({TALLY_EXE, "wordcount", "--progress", "-f", "tsv", in});
  ASSERT_EQ(with.exit_status, 0) << with.err;
  EXPECT_NE(with.err.find("100%"), std::string::npos) << with.err;
  EXPECT_NE(with.err.find("MB/s"), std::string::npos) << with.err;
  EXPECT_EQ(with.err.find('\033'), std::string::npos) << "escape codes in a non-terminal";

  const auto without = run_process({TALLY_EXE, "wordcount", "--no-progress", "-f", "tsv", in});
  ASSERT_EQ(without.exit_status, 0) << without.err;
  EXPECT_EQ(without.err, "");
  EXPECT_EQ(without.out, with.out);

  const auto by_default = run_process({TALLY_EXE, "wordcount", "-f", "tsv", in});
  EXPECT_EQ(by_default.err, "");
}

// A stdout that cannot take the counts (a full disk: /dev/full) fails the run: exit 4 and a
// message naming stdout, not exit 0. Small outputs fail when the buffer is written at the
// end, large ones (megabytes, past the 64 KiB buffer) while the rows stream; -n too.
TEST_F(WordcountCli, FullStdoutIsExit4NamingStdout) {
  std::string large;
  for (int i = 0; i < 200000; ++i) large += "w" + std::to_string(i) + "\n";
  for (const std::string& in : {write("small.txt", "a b b\n"), write("large.txt", large)}) {
    for (const char* extra : {"", " -n 3"}) {
      for (const char* format : {"text", "tsv", "csv", "json"}) {
        const std::string command = std::string("exec ") + TALLY_EXE + " wordcount -f " + format +
                                    extra + " '" + in + "' > /dev/full";
        const auto r = run_process({"/bin/sh", "-c", command});
        EXPECT_EQ(r.exit_status, 4) << command << "\n" << r.err;
        EXPECT_NE(r.err.find("stdout"), std::string::npos) << command << "\n" << r.err;
        EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
      }
    }
  }
}

// Oracle: -o into a directory that does not exist: exit 4, a message naming the path, nothing
// on stdout, and nothing created (neither the directory nor a file or temporary file).
TEST_F(WordcountCli, OutputIntoMissingDirectoryIsExit4AndCreatesNothing) {
  const std::string in = write("in.txt", "a b b\n");
  const std::string out = (dir_ / "missing" / "out.tsv").string();
  const auto r = run_process({TALLY_EXE, "wordcount", "-f", "tsv", "-o", out, in});
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"in.txt"}));
}

// 200000 distinct words (the output is megabytes, many times the 64 KiB buffer), each
// 1 to 13 times, shuffled: counts tie within every count, so the order of ties matters.
std::string many_words_text() {
  std::mt19937_64 rng(12);
  std::vector<std::string> words;
  for (int i = 0; i < 200000; ++i) {
    const int times = i % 7 == 0 ? 1 + i % 13 : 1;
    for (int t = 0; t < times; ++t) words.push_back("w" + std::to_string(i));
  }
  std::shuffle(words.begin(), words.end(), rng);
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i) text += words[i] + (i % 10 == 9 ? "\n" : " ");
  return text;
}

std::vector<std::string> lines_of(const std::string& s, const std::string& eol) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find(eol, pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "the output does not end with a line end";
      end = s.size();
    }
    out.push_back(s.substr(pos, end - pos));
    pos = end + eol.size();
  }
  return out;
}

// The rows of an output in `format` as "word<TAB>count" lines (words here are plain ASCII
// letters and digits, so no format quotes or escapes them), checking the format's frame:
// the csv header, the json envelope and commas, the text columns' alignment.
std::vector<std::string> rows_of(const std::string& format, const std::string& out) {
  std::vector<std::string> rows;
  if (format == "tsv") return lines_of(out, "\n");
  if (format == "text") {
    std::size_t width = std::string::npos;
    for (const std::string& line : lines_of(out, "\n")) {
      if (width == std::string::npos) width = line.size();
      EXPECT_EQ(line.size(), width) << "text columns not aligned: '" << line << "'";
      const std::size_t word_end = line.find(' ');
      const std::size_t count_begin = line.find_last_of(' ');
      if (word_end == std::string::npos || line.find_first_not_of(' ', word_end) <= count_begin) {
        ADD_FAILURE() << "not a text row: '" << line << "'";
        continue;
      }
      rows.push_back(line.substr(0, word_end) + "\t" + line.substr(count_begin + 1));
    }
    return rows;
  }
  if (format == "csv") {
    auto lines = lines_of(out, "\r\n");
    if (lines.empty() || lines[0] != "word,count") {
      ADD_FAILURE() << "no csv header";
      return rows;
    }
    for (std::size_t i = 1; i < lines.size(); ++i) {
      std::string row = lines[i];
      const std::size_t comma = row.rfind(',');
      if (comma == std::string::npos) {
        ADD_FAILURE() << "not a csv row: '" << row << "'";
        continue;
      }
      row[comma] = '\t';
      rows.push_back(row);
    }
    return rows;
  }
  // json: {"words":[ then one {"word":"w","count":n} per line, commas between, then ]}.
  auto lines = lines_of(out, "\n");
  if (lines.size() < 2 || lines.front() != "{\"words\":[" || lines.back() != "]}") {
    ADD_FAILURE() << "no json envelope";
    return rows;
  }
  const std::string head = "{\"word\":\"";
  const std::string middle = "\",\"count\":";
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    std::string line = lines[i];
    const bool last = i + 2 == lines.size();
    if (!last) {
      if (line.empty() || line.back() != ',') {
        ADD_FAILURE() << "no comma after '" << line << "'";
      }
      line.pop_back();
    }
    const std::size_t m = line.find(middle);
    if (line.rfind(head, 0) != 0 || m == std::string::npos || line.back() != '}') {
      ADD_FAILURE() << "not a json row: '" << line << "'";
      continue;
    }
    rows.push_back(line.substr(head.size(), m - head.size()) + "\t" +
                   line.substr(m + middle.size(), line.size() - 1 - m - middle.size()));
  }
  return rows;
}

class WordcountFormats : public tally::testing::ScratchDirTest,
                         public ::testing::WithParamInterface<const char*> {};

// Oracle: with 200000 distinct words, every format's rows (read back to word and count)
// equal the independent count in the documented order (count descending, then word); tsv
// byte for byte. The output streams through the 64 KiB buffer dozens of times, so a row
// split across two writes, lost or written twice shows.
TEST_P(WordcountFormats, LargeOutputEqualsIndependentCount) {
  const std::string format = GetParam();
  const std::string text = many_words_text();
  const std::string in = write("in.txt", text);
  const std::string want_tsv = expected_tsv(oracle(text));
  const std::vector<std::string> want = lines_of(want_tsv, "\n");
  ASSERT_EQ(want.size(), 200000u);
  for (const char* threads : {"1", "3"}) {
    const auto r = run_process({TALLY_EXE, "wordcount", "-j", threads, "-f", format, in});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_GT(r.out.size(), std::size_t{1} << 20);
    if (format == "tsv") {
      EXPECT_TRUE(r.out == want_tsv) << "tsv differs from the oracle";
    }
    const std::vector<std::string> rows = rows_of(format, r.out);
    ASSERT_EQ(rows.size(), want.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i], want[i]) << "row " << i << ", threads " << threads;
    }
  }
}

// Oracle: -n K gives exactly the first K rows of the full output (all of them when K is at
// least their number), in every format, including where K cuts through a run of equal
// counts; the frame (header, envelope) is that of a full output.
TEST_P(WordcountFormats, TopKIsPrefixOfFullOutput) {
  const std::string format = GetParam();
  const std::string in = write("in.txt", many_words_text());
  const auto full = run_process({TALLY_EXE, "wordcount", "-f", format, in});
  ASSERT_EQ(full.exit_status, 0) << full.err;
  const std::vector<std::string> all = rows_of(format, full.out);
  ASSERT_EQ(all.size(), 200000u);
  for (std::size_t k : {1u, 7u, 1000u, 25000u, 199999u, 200000u, 300000u}) {
    const auto top =
        run_process({TALLY_EXE, "wordcount", "-f", format, "-n", std::to_string(k), in});
    ASSERT_EQ(top.exit_status, 0) << top.err;
    const std::vector<std::string> rows = rows_of(format, top.out);
    const std::vector<std::string> want(
        all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(k, all.size())));
    EXPECT_TRUE(rows == want) << "-n " << k << ": " << rows.size() << " rows, first "
                              << (rows.empty() ? "" : rows[0]);
  }
}

std::string format_name(const ::testing::TestParamInfo<const char*>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(AllFormats, WordcountFormats,
                         ::testing::Values("text", "tsv", "csv", "json"), format_name);

}  // namespace
