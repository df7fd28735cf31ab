// The SIGBUS guard (engine/sigbus_guard.hpp): a mapped input that shrinks under a run becomes
// an error status naming it, and a SIGBUS that is not tally's goes where it would have gone
// without the guard.
//
// Truncation is deterministic, without sleeps: the file is truncated through a descriptor
// either before the read that must fault, or from the map phase's start hook
// (RunOptions::on_phase), which runs after the split plan and before any map task.
//
// Death tests run "threadsafe": the child is a fresh exec of this binary, so what it sees of
// signal dispositions is what the test sets up, not a guard an earlier test installed in the
// parent. The child re-runs the test body, so it makes its own files; the statement removes
// its scratch directory itself once its descriptors and mappings are open (an unlinked file
// stays mapped and can still be truncated through its descriptor), so a child that dies
// leaves nothing behind.
#include "tally/engine/sigbus_guard.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/map_only.hpp"
#include "tests/support/scratch_dir.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Phase;
using tally::Record;
using tally::Status;
using tally::StatusCode;

constexpr std::size_t kPage = 4096;
// Large enough to be mapped (Inputs reads files under 1 MiB instead).
constexpr std::size_t kFilePages = 512;
constexpr std::size_t kFileBytes = kFilePages * kPage;

// kFileBytes of short lines: many records per page, so every split reads several pages.
std::string lines_of_words() {
  std::string text;
  while (text.size() + 8 <= kFileBytes) text += "abc def\n";
  text.resize(kFileBytes, 'z');
  return text;
}

std::string shrank_message(const std::string& path) {
  return "input '" + path + "' shrank while it was being read (truncated by another process?)";
}

void no_core_dumps() {
  const rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
}

char touch(const char* p) {
  const volatile char* v = p;
  return *v;
}

// Opens `path` for truncating it later; the descriptor closes with the object.
class Truncator {
 public:
  explicit Truncator(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {}
  Truncator(const Truncator&) = delete;
  Truncator& operator=(const Truncator&) = delete;
  ~Truncator() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool truncate(std::size_t bytes) const {
    return ::ftruncate(fd_, static_cast<off_t>(bytes)) == 0;
  }

 private:
  int fd_;
};

struct CountWords {
  using Key = std::string_view;
  using Value = std::uint64_t;
  void map(Record rec, tally::Emitter<Key, Value>& out) const {
    std::size_t i = 0;
    while (i < rec.bytes.size()) {
      const std::size_t end = std::min(rec.bytes.find(' ', i), rec.bytes.size());
      if (end > i) out.emit(rec.bytes.substr(i, end - i), 1);
      i = end + 1;
    }
  }
  static Value combine(Value a, Value b) { return a + b; }
};

struct CopyRecords {
  void map(Record rec, tally::RecordSink& out) const { out.emit(rec.bytes); }
};

class SigbusGuardTest : public tally::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    tally::install_sigbus_guard();
  }
};

// Oracle: a read of a page past the new end of a shrunken mapped input does not kill the
// process: it reads zeros. shrank() is then true for that input only, and check_intact()
// is kIoError with the documented message naming it. An intact input is never flagged.
TEST_F(SigbusGuardTest, ShrunkenPageReadsAsZerosAndIsReported) {
  const std::string shrinks = write("shrinks.txt", std::string(kFileBytes, 'x'));
  const std::string stays = write("stays.txt", std::string(kFileBytes, 'y'));
  Inputs inputs = Inputs::paths({shrinks, stays});
  ASSERT_TRUE(inputs.open().ok());
  EXPECT_FALSE(inputs.shrank(0));
  EXPECT_TRUE(inputs.check_intact().ok());

  const Truncator t(shrinks);
  ASSERT_TRUE(t.ok() && t.truncate(kPage));
  EXPECT_EQ(touch(inputs.data(0).data()), 'x');               // the page that is left
  EXPECT_EQ(touch(inputs.data(0).data() + 8 * kPage), '\0');  // faults, then reads zeros
  EXPECT_EQ(touch(inputs.data(1).data() + 8 * kPage), 'y');

  EXPECT_TRUE(inputs.shrank(0));
  EXPECT_FALSE(inputs.shrank(1));
  const Status s = inputs.check_intact();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(s.message(), shrank_message(shrinks));
}

// Oracle: Engine::run over an input truncated between the split plan and the map phase
// returns kIoError naming that input, for every strategy, and the process goes on.
class SigbusGuardRunTest : public SigbusGuardTest,
                           public ::testing::WithParamInterface<tally::Strategy> {};

TEST_P(SigbusGuardRunTest, TruncatedDuringRunFailsTheRun) {
  const std::string path = write("words.txt", lines_of_words());
  const Truncator t(path);
  ASSERT_TRUE(t.ok());
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::paths({path});
  bool truncated = false;
  tally::RunOptions options;
  options.strategy = GetParam();
  options.split_bytes = 2 * kPage;
  options.on_phase = [&](Phase phase, bool starting) {
    if (phase == Phase::kMap && starting) truncated = t.truncate(kPage);
  };
  auto result = engine.run(CountWords{}, inputs, options);
  ASSERT_TRUE(truncated);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kIoError);
  EXPECT_EQ(result.status().message(), shrank_message(path)) << result.status().to_string();
}

INSTANTIATE_TEST_SUITE_P(Strategies, SigbusGuardRunTest,
                         ::testing::Values(tally::Strategy::kLocal, tally::Strategy::kSharded,
                                           tally::Strategy::kPartitioned),
                         [](const auto& p) { return std::string(tally::to_string(p.param)); });

// Oracle: run_map_only, ordered or not, over an input truncated after open() returns kIoError
// naming it (the split plan itself reads zeros there; the map tasks or the check after the
// map phase report it).
TEST_F(SigbusGuardTest, MapOnlyOverTruncatedInputFails) {
  for (const bool ordered : {true, false}) {
    const std::string path = write(ordered ? "ordered.txt" : "unordered.txt", lines_of_words());
    Engine engine({.threads = 2});
    Inputs inputs = Inputs::paths({path});
    ASSERT_TRUE(inputs.open().ok());
    const Truncator t(path);
    ASSERT_TRUE(t.ok() && t.truncate(kPage));
    auto result = tally::run_map_only(engine, CopyRecords{}, inputs,
                                      [](std::string_view) { return Status::Ok(); },
                                      {.ordered = ordered, .split_bytes = 2 * kPage});
    ASSERT_FALSE(result.ok()) << "ordered=" << ordered;
    EXPECT_EQ(result.status().code(), StatusCode::kIoError);
    EXPECT_EQ(result.status().message(), shrank_message(path));
  }
}

// Oracle: with the guard's table full (4200 mappings for 4096 slots), the mappings registered
// first are still covered: shrinking the first input is reported under its name.
TEST_F(SigbusGuardTest, FullTableStillCoversEarlierMappings) {
  const std::string path = write("many.txt", std::string(kFileBytes, 'm'));
  Inputs inputs = Inputs::paths(std::vector<std::string>(4200, path));
  ASSERT_TRUE(inputs.open().ok());
  const Truncator t(path);
  ASSERT_TRUE(t.ok() && t.truncate(kPage));
  EXPECT_EQ(touch(inputs.data(0).data() + 8 * kPage), '\0');
  EXPECT_TRUE(inputs.shrank(0));
  EXPECT_EQ(inputs.check_intact().message(), shrank_message(path));
}

// ---------------------------------------------------------------------------------------------
// Death tests: SIGBUS that is not tally's.
// ---------------------------------------------------------------------------------------------

class SigbusGuardDeathTest : public tally::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ScratchDirTest::SetUp();
  }
  void remove_dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
};

// Sets SIGBUS to its default action: what a process without sanitizer runtimes starts with
// (AddressSanitizer installs a SIGBUS handler of its own, which the guard would pass on to).
void default_sigbus() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);
}

// Maps the file open on `fd` (MAP_SHARED, not through Inputs: the guard does not know it),
// truncates it and reads past the new end.
// Where the mapping of fault_on_foreign_mapping lives, for a handler to compare si_addr.
std::atomic<std::uintptr_t> g_foreign_begin{0};

void fault_on_foreign_mapping(int fd) {
  void* p = ::mmap(nullptr, kFileBytes, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED || ::ftruncate(fd, 0) != 0) ::_exit(21);
  // Relaxed: read by this thread's signal handler only.
  g_foreign_begin.store(reinterpret_cast<std::uintptr_t>(p), std::memory_order_relaxed);
  touch(static_cast<const char*>(p) + 8 * kPage);
}

// Oracle: with the default action before it, a SIGBUS outside any registered mapping is not
// ours: the process dies of SIGBUS, as without the guard. Same for a raised SIGBUS (whose
// siginfo carries a sender, not a fault address).
TEST_F(SigbusGuardDeathTest, OtherSigbusStillKills) {
  const std::string path = write("foreign.txt", std::string(kFileBytes, 'y'));
  EXPECT_EXIT(
      {
        no_core_dumps();
        default_sigbus();
        tally::install_sigbus_guard();
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        remove_dir();
        if (fd < 0) ::_exit(10);
        fault_on_foreign_mapping(fd);
        ::_exit(12);
      },
      ::testing::KilledBySignal(SIGBUS), "");
  EXPECT_EXIT(
      {
        no_core_dumps();
        remove_dir();
        default_sigbus();
        tally::install_sigbus_guard();
        ::raise(SIGBUS);
        ::_exit(12);
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

// Oracle: once an Inputs is destroyed its range is unregistered: a foreign mapping placed at
// the very same address and then faulted is not taken for the old input, and kills.
TEST_F(SigbusGuardDeathTest, DestroyedInputIsNoLongerCovered) {
  const std::string old_path = write("old.txt", std::string(kFileBytes, 'o'));
  const std::string new_path = write("new.txt", std::string(kFileBytes, 'n'));
  EXPECT_EXIT(
      {
        no_core_dumps();
        default_sigbus();
        tally::install_sigbus_guard();
        const int fd = ::open(new_path.c_str(), O_RDWR | O_CLOEXEC);
        void* where = nullptr;
        {
          Inputs inputs = Inputs::paths({old_path});
          if (!inputs.open().ok()) ::_exit(10);
          where = const_cast<char*>(inputs.data(0).data());
        }
        remove_dir();
        if (fd < 0) ::_exit(11);
        // The same address, still free in this child; anywhere if something took it meanwhile.
        void* p = ::mmap(where, kFileBytes, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
        if (p == MAP_FAILED) p = ::mmap(nullptr, kFileBytes, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED || ::ftruncate(fd, 0) != 0) ::_exit(12);
        touch(static_cast<const char*>(p) + 8 * kPage);
        ::_exit(13);
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

// ---------------------------------------------------------------------------------------------
// Death tests: chaining to the handler installed before the guard.
// ---------------------------------------------------------------------------------------------

void write_stderr(const char* text) {
  std::size_t n = 0;
  while (text[n] != '\0') ++n;
  [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, text, n);
}

// A SA_SIGINFO handler, as a crash reporter would install one: says what it got, and exits.
void siginfo_handler(int sig, siginfo_t* info, void* /*ucontext*/) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  // Relaxed: written by the same thread before the fault.
  const std::uintptr_t begin = g_foreign_begin.load(std::memory_order_relaxed);
  const bool at_fault = info->si_code > 0 && addr >= begin + 8 * kPage && addr < begin + kFileBytes;
  write_stderr(sig == SIGBUS && at_fault ? "previous handler: the fault\n"
                                         : "previous handler: wrong siginfo\n");
  ::_exit(42);
}

// A plain handler that returns: the program must go on after the raise().
void plain_handler(int sig) {
  write_stderr(sig == SIGBUS ? "previous handler: SIGBUS\n" : "previous handler: other\n");
}

// Installs the SIGBUS handler that install_sigbus_guard() will find before it: `handler`
// (or SIG_IGN), or siginfo_handler with SA_SIGINFO.
void install_previous(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGBUS, &sa, nullptr) != 0) ::_exit(30);
}

void install_previous_siginfo_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = &siginfo_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGBUS, &sa, nullptr) != 0) ::_exit(30);
}

// Oracle: a SA_SIGINFO handler installed before the guard gets a fault outside tally's
// mappings with its siginfo (si_code > 0, si_addr in the faulting page).
TEST_F(SigbusGuardDeathTest, ChainsForeignFaultToPreviousSiginfoHandler) {
  const std::string path = write("foreign.txt", std::string(kFileBytes, 'f'));
  EXPECT_EXIT(
      {
        install_previous_siginfo_handler();
        tally::install_sigbus_guard();
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        remove_dir();
        if (fd < 0) ::_exit(10);
        fault_on_foreign_mapping(fd);
        ::_exit(12);
      },
      ::testing::ExitedWithCode(42), "^previous handler: the fault\n$");
}

// Oracle: a plain (not SA_SIGINFO) handler installed before the guard gets a raised SIGBUS,
// and when it returns, so does raise(): the program goes on.
TEST_F(SigbusGuardDeathTest, ChainsRaisedSigbusToPreviousPlainHandler) {
  EXPECT_EXIT(
      {
        remove_dir();
        install_previous(&plain_handler);
        tally::install_sigbus_guard();
        ::raise(SIGBUS);
        ::_exit(43);
      },
      ::testing::ExitedWithCode(43), "^previous handler: SIGBUS\n$");
}

// Oracle: SIGBUS ignored before the guard: a raised one is dropped (the program goes on), a
// fault still kills with SIGBUS (returning would only fault again), as without the guard.
TEST_F(SigbusGuardDeathTest, PreviousIgnoreDropsRaisedButNotFaults) {
  const std::string path = write("ignored.txt", std::string(kFileBytes, 'i'));
  EXPECT_EXIT(
      {
        remove_dir();
        install_previous(SIG_IGN);
        tally::install_sigbus_guard();
        ::raise(SIGBUS);
        ::_exit(44);
      },
      ::testing::ExitedWithCode(44), "");
  EXPECT_EXIT(
      {
        no_core_dumps();
        install_previous(SIG_IGN);
        tally::install_sigbus_guard();
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        remove_dir();
        if (fd < 0) ::_exit(10);
        fault_on_foreign_mapping(fd);
        ::_exit(12);
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

// Oracle: a fault on tally's own mapping is not passed on: the previous handler (which would
// exit 42) is not called, the program goes on and the input is reported as shrunk.
TEST_F(SigbusGuardDeathTest, OwnFaultIsNotPassedOn) {
  const std::string path = write("own.txt", std::string(kFileBytes, 'o'));
  EXPECT_EXIT(
      {
        install_previous_siginfo_handler();
        tally::install_sigbus_guard();
        Inputs inputs = Inputs::paths({path});
        if (!inputs.open().ok()) ::_exit(10);
        const Truncator t(path);
        remove_dir();
        if (!t.ok() || !t.truncate(kPage)) ::_exit(11);
        if (touch(inputs.data(0).data() + 8 * kPage) != '\0') ::_exit(12);
        ::_exit(inputs.check_intact().code() == StatusCode::kIoError ? 45 : 13);
      },
      ::testing::ExitedWithCode(45), "");
}

// ---------------------------------------------------------------------------------------------
// Death tests: a fault that cannot be patched over.
// ---------------------------------------------------------------------------------------------

long max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  long n = -1;
  in >> n;
  return n;
}

void ignore_signal(int /*sig*/) {}

// Uses up this process's memory mappings (vm.max_map_count), so that an mmap that needs one
// more fails with ENOMEM. One-page anonymous mappings, alternately readable and not, so that
// neighbours do not merge into one. Allocates nothing. First it takes one signal through a
// handler: a runtime that sets up its signal handling on the first signal (ThreadSanitizer
// maps its per-thread signal state then) must have done so while it still can.
bool exhaust_mappings() {
  struct sigaction sa {};
  sa.sa_handler = &ignore_signal;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGUSR1, &sa, nullptr) != 0 || ::raise(SIGUSR1) != 0) return false;
  for (long i = 0;; ++i) {
    void* p = ::mmap(nullptr, kPage, i % 2 == 0 ? PROT_NONE : PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno == ENOMEM;
  }
}

// Oracle: when no zero page can replace the faulting page of a shrunken input (here the process
// has used up its mappings, so the handler's mmap fails), the handler says so, naming the
// input, in a single write(2): with stderr a datagram socket, the whole message arrives as one
// datagram. (Two threads faulting at once thus never interleave their messages.) A name too
// long for the message keeps its end, after "...". Then the process dies of SIGBUS, as
// without the guard. The faulting process is a child of the death test's, which reads the
// datagrams once it has died and prints each after a marker.
TEST_F(SigbusGuardDeathTest, UnrecoverableFaultIsReportedInOneWrite) {
  if (max_map_count() > 1'000'000) GTEST_SKIP() << "vm.max_map_count too large to use up";
  const std::string long_dir = std::string(250, 'd') + "/" + std::string(250, 'e');
  // The scratch directory is named after the death test child's pid, not this process's, so
  // the expected names match any directory.
  const struct {
    std::string name;
    std::string name_regex;
  } cases[] = {{"lost.txt", "/[^']*/lost\\.txt"},
               {long_dir + "/lost.txt", "\\.\\.\\.d*/e{250}/lost\\.txt"}};
  for (const auto& c : cases) {
    const std::string path = write(c.name, std::string(kFileBytes, 'l'));
    EXPECT_EXIT(
        {
          int sv[2];
          if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) ::_exit(10);
          const pid_t pid = ::fork();
          if (pid < 0) ::_exit(11);
          if (pid == 0) {
            no_core_dumps();
            default_sigbus();
            tally::install_sigbus_guard();
            Inputs inputs = Inputs::paths({path});
            if (!inputs.open().ok()) ::_exit(12);
            const Truncator t(path);
            if (!t.ok() || !t.truncate(kPage)) ::_exit(13);
            if (::dup2(sv[1], STDERR_FILENO) < 0) ::_exit(14);
            if (!exhaust_mappings()) ::_exit(15);
            touch(inputs.data(0).data() + 8 * kPage);
            ::_exit(16);
          }
          ::close(sv[1]);
          int status = 0;
          if (::waitpid(pid, &status, 0) != pid) ::_exit(17);
          remove_dir();
          char datagram[8192];
          for (;;) {
            const ssize_t n = ::recv(sv[0], datagram, sizeof datagram, MSG_DONTWAIT);
            if (n < 0) break;
            write_stderr("[one write] ");
            [[maybe_unused]] const ssize_t w =
                ::write(STDERR_FILENO, datagram, static_cast<std::size_t>(n));
          }
          ::_exit(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS ? 0 : 18);
        },
        ::testing::ExitedWithCode(0),
        "^\\[one write\\] tally: input '" + c.name_regex +
            "' shrank while it was being read, and no zero page could replace it\n$");
  }
}

}  // namespace
