// Parsing of command-line quantities.
//  durations: "30s", "500ms", "2m", "1h", "1.5s"; a bare number means seconds.
//  sizes:     "512M", "1.5G", "64KiB", "100MB"; K/M/G/T are binary (1024-based) whether or not
//             "iB" or "B" follows, as in GNU sort -S; a bare number means bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tally::cli {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace tally::cli
