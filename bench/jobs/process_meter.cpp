// Runs a program and reports how long it ran and its peak resident memory: the meter under
// BM_Process_* benchmarks (bench/jobs/process_bench.hpp). Not part of tally.
//
//   process_meter REPORT PROGRAM [ARG...]
//
// Starts PROGRAM (an absolute path) with this process's stdin, stdout, stderr and environment,
// waits for it, then writes one line to the file REPORT:
//   <wall nanoseconds> <peak RSS bytes> <wait status>
// wall: steady clock from just before posix_spawn to wait4's return. Peak RSS: wait4's
// ru_maxrss, the largest of PROGRAM and of every descendant it waited for (for `sh -c 'a | b'`,
// the largest stage, not their sum).
//
// Why a process of its own: Linux starts a process's ru_maxrss at the resident size of the
// address space it replaced at exec, that is, a copy of (fork) or the very (vfork,
// posix_spawn) address space of its parent. Started straight from the benchmark, which holds
// tens of MB after building its corpora, every program would report at least the benchmark's
// size. Started from this small program, the floor is about 1 MB (what /bin/true reports).
//
// Exit status: 0 once REPORT is written, whatever PROGRAM's outcome (REPORT has its wait
// status); 125 if PROGRAM cannot be started or REPORT cannot be written (the reason on stderr).
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace {

constexpr int kExitMeterFailed = 125;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: process_meter REPORT PROGRAM [ARG...]\n");
    return kExitMeterFailed;
  }
  const char* report = argv[1];
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, argv[2], nullptr, nullptr, argv + 2, environ); rc != 0) {
    std::fprintf(stderr, "process_meter: cannot start %s: %s\n", argv[2], std::strerror(rc));
    return kExitMeterFailed;
  }
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "process_meter: wait4: %s\n", std::strerror(errno));
      return kExitMeterFailed;
    }
  }
  const auto wall = std::chrono::steady_clock::now() - start;

  std::FILE* out = std::fopen(report, "w");
  if (out == nullptr) {
    std::fprintf(stderr, "process_meter: cannot write %s: %s\n", report, std::strerror(errno));
    return kExitMeterFailed;
  }
  const long long ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count();
  const long long rss = static_cast<long long>(usage.ru_maxrss) * 1024;  // KiB on Linux
  const bool written = std::fprintf(out, "%lld %lld %d\n", ns, rss, status) > 0;
  if (std::fclose(out) != 0 || !written) {
    std::fprintf(stderr, "process_meter: cannot write %s\n", report);
    return kExitMeterFailed;
  }
  return 0;
}
