// Facts about the machine the engine runs on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tally {

// The number of CPUs this process may run on: its affinity mask (taskset, cgroups cpusets,
// Slurm bindings), not the machine's total. At least 1.
std::size_t usable_cores() noexcept;

// The memory this process may use: the machine's physical memory, or less where a cgroup
// (memory.max, as containers and Slurm set) or RLIMIT_AS caps it. 0 when unknown.
std::uint64_t usable_memory_bytes() noexcept;

}  // namespace tally
