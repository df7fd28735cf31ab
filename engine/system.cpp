#include "tally/engine/system.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

namespace tally {

std::size_t usable_cores() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  // No affinity information (or more CPUs than cpu_set_t holds): fall back to the total.
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

std::uint64_t usable_memory_bytes() noexcept {
  std::uint64_t limit = 0;
  const auto cap = [&limit](std::uint64_t n) {
    if (n != 0) limit = limit == 0 ? n : std::min(limit, n);
  };
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0)
    cap(static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page));
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) cap(as.rlim_cur);
  // cgroup v2 of this process (a single "0::/path" line); "max" means no limit.
  try {
    std::ifstream cgroup("/proc/self/cgroup");
    std::string line;
    if (std::getline(cgroup, line) && line.rfind("0::", 0) == 0) {
      std::ifstream max("/sys/fs/cgroup" + line.substr(3) + "/memory.max");
      std::string value;
      if (max >> value && value != "max") cap(std::stoull(value));
    }
  } catch (...) {
    // An unreadable or odd cgroup file leaves the machine's own size.
  }
  return limit;
}

}  // namespace tally
