#include "tally/engine/memory_budget.hpp"

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

std::string MemoryBudget::exceeded_message(std::uint64_t bytes, const char* what) const {
  return "memory budget of " + format_bytes(limit_) + " exceeded: " + what + " needs " +
         format_bytes(bytes) + " more with " + format_bytes(used()) +
         " in use (the keys do not fit; raise the budget)";
}

}  // namespace tally
