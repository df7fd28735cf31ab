// Parsing of command-line durations and sizes: "30s", "500ms", "2m", "1h", "1.5s"; a bare
// number means seconds.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace tally::cli {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace tally::cli
