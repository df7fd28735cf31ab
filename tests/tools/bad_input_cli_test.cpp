// The bad-input matrix: every kind of bad input, option and output target the README names,
// run through the real `tally wordcount`.
//
// Oracle, for every case: the documented exit status (README "Exit status"); on failure one
// line on stderr that starts with "tally: " or names the option, and names the input or
// option at fault; no output file and no temporary file left behind (the scratch directory
// holds exactly what the case made). Cases that succeed say what they must print.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::run_process;

struct Case {
  const char* name;
  // Makes the case's files in `dir` and returns the command line after `tally wordcount`.
  // "OUT" in it stands for the output path the case must not leave behind.
  std::function<std::vector<std::string>(const fs::path& dir)> make;
  int exit_status;
  std::string err_has;  // a substring of stderr; "" for a success that prints nothing there
  std::string stdin_text = {};
  std::string out_has = {};  // for successes: a substring of stdout
};

std::string put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  const fs::path p = dir / name;
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return p.string();
  (void)!::write(fd, bytes.data(), bytes.size());
  ::close(fd);
  return p.string();
}

std::string gzip_of(const fs::path& dir, const std::string& name, const std::string& text) {
  const std::string plain = put(dir, name + ".plain", text);
  run_process(
      {"/bin/sh", "-c", "gzip -c \"$0\" > \"$1\" && rm \"$0\"", plain, (dir / name).string()});
  return (dir / name).string();
}

std::vector<std::string> with(std::vector<std::string> args) { return args; }

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // Inputs.
      {"MissingFile",
       [](const fs::path& d) {
         return with({(d / "nope.txt").string(), "-o", "OUT"});
       },
       3, "cannot open '"},
      {"Socket",
       [](const fs::path& d) {
         const std::string path = (d / "sock").string();
         const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
         sockaddr_un addr{};
         addr.sun_family = AF_UNIX;
         path.copy(addr.sun_path, sizeof addr.sun_path - 1);
         (void)!::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
         ::close(fd);
         return with({path, "-o", "OUT"});
       },
       3, "is not a regular file, directory or pipe"},
      {"DirectoryLoopIsNotFollowed",
       [](const fs::path& d) {
         put(d, "tree/a.txt", "");
         fs::create_directories(d / "tree");
         put(d / "tree", "a.txt", "loop loop\n");
         fs::create_directory_symlink("..", d / "tree" / "up");
         return with({(d / "tree").string(), "-f", "tsv"});
       },
       0, "", "", "loop\t2\n"},
      {"FifoWithNoWriterTimesOut",
       [](const fs::path& d) {
         ::mkfifo((d / "in.fifo").c_str(), 0600);
         return with({(d / "in.fifo").string(), "--timeout", "200ms", "-o", "OUT"});
       },
       124, "tally: timed out after 200ms"},
      {"EndlessDeviceTimesOut",
       [](const fs::path&) {
         return with({"/dev/zero", "--timeout", "300ms", "-o", "OUT"});
       },
       124, "tally: timed out after 300ms"},
      {"PlainTextNamedGz",
       [](const fs::path& d) {
         return with({put(d, "x.gz", "plain\n"), "-o", "OUT"});
       },
       3, "x.gz': not gzip data (wrong magic bytes)"},
      {"TruncatedGzip",
       [](const fs::path& d) {
         const std::string path = gzip_of(d, "t.gz", std::string(100000, 'a') + "\n");
         fs::resize_file(path, fs::file_size(path) / 2);
         return with({path, "-o", "OUT"});
       },
       3, "t.gz': truncated gzip data"},
      {"CorruptGzip",
       [](const fs::path& d) {
         return with(
             {put(d, "c.gz", std::string("\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\xFF\xFF\xFF", 12)),
              "-o", "OUT"});
       },
       3, "c.gz': corrupt gzip data"},
      {"ZstdWithWrongMagic",
       [](const fs::path& d) {
         return with({put(d, "z.zst", "not zstd at all"), "-o", "OUT"});
       },
       3, "z.zst': not zstd data"},
      {"NulBytesAreOneWord",
       [](const fs::path& d) {
         return with({put(d, "nul.txt", std::string(std::size_t{100} << 20, '\0')), "-f", "csv",
                      "-n", "1", "-o", (d / "counts.csv").string()});
       },
       0, ""},
      {"EmptyStdin",
       [](const fs::path&) {
         return with({"-", "-f", "json"});
       },
       0, "", "", "{\"words\":[]}\n"},
      {"InvalidUtf8IsReported",
       [](const fs::path& d) {
         return with({put(d, "bad.txt", "caf\xC3 ok\n"), "--unicode"});
       },
       0, "invalid UTF-8 sequence"},
      // Options.
      {"ZeroThreads",
       [](const fs::path&) {
         return with({"-", "-j", "0"});
       },
       2, "--threads"},
      {"UnknownFormat",
       [](const fs::path&) {
         return with({"-", "-f", "xml"});
       },
       2, "--format"},
      {"BadTimeout",
       [](const fs::path&) {
         return with({"-", "--timeout", "soon"});
       },
       2, "invalid --timeout 'soon'"},
      {"ZeroMemory",
       [](const fs::path&) {
         return with({"-", "--memory", "0"});
       },
       2, "invalid --memory '0'"},
      {"NegativeTop",
       [](const fs::path&) {
         return with({"-", "--top", "-1"});
       },
       2, "--top"},
      {"EmptyOutputPath",
       [](const fs::path&) {
         return with({"-", "-o", ""});
       },
       2, "--output"},
      {"UnknownStrategy",
       [](const fs::path&) {
         return with({"-", "--strategy", "magic"});
       },
       2, "--strategy"},
      // Output targets.
      {"OutputIsADirectory",
       [](const fs::path& d) {
         return with({"-", "-o", d.string()});
       },
       4, "Is a directory", "a\n"},
      {"OutputDirectoryMissing",
       [](const fs::path& d) {
         return with({"-", "-o", (d / "no" / "out.txt").string()});
       },
       4, "No such file or directory", "a\n"},
      {"OutputIsAFullDevice",
       [](const fs::path&) {
         return with({"-", "-o", "/dev/full"});
       },
       4, "cannot write '/dev/full': No space left on device", "a\n"},
      {"OutputIsNullDevice",
       [](const fs::path&) {
         return with({"-", "-o", "/dev/null"});
       },
       0, "", "a\n"},
      {"ReportIsADirectoryLeavesNoOutput",
       [](const fs::path& d) {
         return with({"-", "-o", "OUT", "--report", d.string()});
       },
       4, "Is a directory", "a\n"},
  };
  return all;
}

class BadInputMatrix : public tally::testing::ScratchDirTest,
                       public ::testing::WithParamInterface<Case> {};

TEST_P(BadInputMatrix, DocumentedExitOneMessageNoPartialOutput) {
  const Case& c = GetParam();
  std::vector<std::string> args = c.make(dir_);
  const std::vector<std::string> made = files_in_dir();
  const std::string out = (dir_ / "out.txt").string();
  std::replace(args.begin(), args.end(), std::string("OUT"), out);
  std::vector<std::string> argv = {TALLY_EXE, "wordcount"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run_process(argv, c.stdin_text);
  EXPECT_EQ(r.exit_status, c.exit_status) << r.err;
  if (c.err_has.empty()) {
    EXPECT_EQ(r.err, "");
  } else {
    EXPECT_NE(r.err.find(c.err_has), std::string::npos) << r.err;
  }
  if (c.exit_status != 0) {
    // One line: the message (CLI11's usage errors add a pointer to --help).
    const auto lines = std::count(r.err.begin(), r.err.end(), '\n');
    EXPECT_LE(lines, c.exit_status == 2 ? 2 : 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(files_in_dir(), made) << "left something behind";
  }
  if (!c.out_has.empty()) {
    EXPECT_NE(r.out.find(c.out_has), std::string::npos) << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputMatrix, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// Stdout that cannot be written: closed, full, or a pipe whose reader left with SIGPIPE
// ignored (the shell's `trap '' PIPE`): exit 4 and a message, never 0.
TEST(BadOutputStream, ClosedFullOrBrokenStdoutIsExit4) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "w" + std::to_string(i) + "\n";
  const std::string tally = TALLY_EXE;
  for (const std::string& redirect :
       {std::string(">&-"), std::string("> /dev/full"), std::string("| head -c 1 >/dev/null")}) {
    const std::string script =
        "trap '' PIPE; { \"$0\" wordcount -; echo \"exit=$?\" >&2; } " + redirect;
    const auto r = run_process({"/bin/sh", "-c", script, tally}, text);
    EXPECT_NE(r.err.find("exit=4"), std::string::npos) << redirect << ": " << r.err;
    EXPECT_NE(r.err.find("tally: cannot write to stdout"), std::string::npos)
        << redirect << ": " << r.err;
  }
}

}  // namespace
