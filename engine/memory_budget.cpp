#include "tally/engine/memory_budget.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <string>

namespace tally {

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    // Whole numbers print without decimals: "256 MiB", not "256.0 MiB".
    const bool whole = value == static_cast<double>(static_cast<std::uint64_t>(value));
    std::snprintf(text, sizeof text, whole ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

namespace {
// What one worker needs at least: a block being written, `kMinFanIn` blocks being merged, a
// small combiner table and the blocks of the runs it is filling, with room to spare.
constexpr std::uint64_t kMinPerWorker = std::uint64_t{256} << 10;
constexpr std::size_t kMinBlock = std::size_t{4} << 10;
constexpr std::size_t kMaxBlock = std::size_t{64} << 10;
constexpr std::size_t kMinFanIn = 2;
// Merging more runs at once saves passes over the data, but each run merged costs a block
// of memory, a seek per block read where the file is not in the page cache, and a level of
// the loser tree per doubling; past this, another pass costs less.
constexpr std::size_t kMaxFanIn = 256;
}  // namespace

SpillPlan plan_spilling(std::uint64_t limit_bytes, std::size_t workers) noexcept {
  const std::uint64_t per_worker = limit_bytes / std::max<std::size_t>(workers, 1);
  SpillPlan plan;
  // Half the budget for the tables: the other half holds, while they are written out or
  // merged, the blocks in flight and the combiner tables that keep filling meanwhile.
  plan.mark = limit_bytes / 2;
  plan.block_bytes = static_cast<std::size_t>(std::clamp<std::uint64_t>(
      std::bit_floor(std::max<std::uint64_t>(per_worker / 64, 1)), kMinBlock, kMaxBlock));
  // A quarter of a worker's share for the blocks of the runs it merges, a quarter for the
  // entries it sorts by value.
  plan.fan_in = static_cast<std::size_t>(
      std::clamp<std::uint64_t>(per_worker / 4 / plan.block_bytes, kMinFanIn, kMaxFanIn));
  plan.sort_chunk_bytes = per_worker / 4;
  // An eighth of a worker's share for its combiner table, at about 64 bytes a key (slots at
  // three-quarters load, and the key).
  plan.combiner_keys = static_cast<std::size_t>(std::max<std::uint64_t>(256, per_worker / 8 / 64));
  return plan;
}

std::uint64_t minimum_memory_budget(std::size_t workers) noexcept {
  return kMinPerWorker * std::max<std::size_t>(workers, 1);
}

std::string MemoryBudget::exceeded_message(std::uint64_t bytes, const char* what) const {
  return "memory budget of " + format_bytes(limit_) + " exceeded: " + what + " needs " +
         format_bytes(bytes) + " more with " + format_bytes(used()) +
         " in use (the keys do not fit; raise the budget)";
}

}  // namespace tally
