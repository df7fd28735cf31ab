#include "tools/tally/compare/benchmark_report.hpp"

namespace tally::compare {

std::optional<double> nanoseconds_per(std::string_view unit) {
  if (unit == "ns") return 1.0;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  return std::nullopt;
}

Status input_problem(const std::string& path, const std::string& what) {
  return Status::InvalidArgument("'" + path + "': " + what);
}

}  // namespace tally::compare
