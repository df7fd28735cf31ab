// Facts about the machine the engine runs on.
#pragma once

#include <cstddef>

namespace tally {

// The number of CPUs this process may run on: its affinity mask (taskset, cgroups cpusets,
// Slurm bindings), not the machine's total. At least 1.
std::size_t usable_cores() noexcept;

}  // namespace tally
