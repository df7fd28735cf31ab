#include "tools/tally/units.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

namespace tally::cli {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string_view unit(end);
  double seconds_per_unit = 0;
  if (unit.empty() || unit == "s") {
    seconds_per_unit = 1;
  } else if (unit == "ms") {
    seconds_per_unit = 1e-3;
  } else if (unit == "us") {
    seconds_per_unit = 1e-6;
  } else if (unit == "m") {
    seconds_per_unit = 60;
  } else if (unit == "h") {
    seconds_per_unit = 3600;
  } else {
    return std::nullopt;
  }
  const double ns = value * seconds_per_unit * 1e9;
  if (ns > 9e18) return std::nullopt;  // beyond what nanoseconds in 64 bits can hold
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string_view unit(end);
  if (unit.ends_with("iB")) {
    unit.remove_suffix(2);
  } else if (unit.size() == 2 && unit.back() == 'B') {
    unit.remove_suffix(1);
  }
  double multiplier = 0;
  if (unit.empty() || unit == "B") {
    multiplier = 1;
  } else if (unit == "K" || unit == "k") {
    multiplier = 1024.0;
  } else if (unit == "M") {
    multiplier = 1024.0 * 1024;
  } else if (unit == "G") {
    multiplier = 1024.0 * 1024 * 1024;
  } else if (unit == "T") {
    multiplier = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  const double bytes = value * multiplier;
  if (bytes > 1.8e19) return std::nullopt;  // beyond 64 bits
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace tally::cli
