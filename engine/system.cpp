#include "tally/engine/system.hpp"

#include <sched.h>

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

}  // namespace tally
