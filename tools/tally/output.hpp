// Writing results: the output formats of `tally wordcount`, and a file that appears
// atomically (complete or not at all).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.hpp"

namespace tally::cli {

enum class Format { kText, kTsv, kCsv, kJson };

std::optional<Format> parse_format(std::string_view name);

using WordCounts = std::vector<std::pair<std::string_view, std::uint64_t>>;

// Renders rows in `format`:
//  text: words left-aligned in a column as wide as the longest, counts right-aligned;
//  tsv:  "word<TAB>count" lines, no header;
//  csv:  a "word,count" header, then RFC 4180 rows (quoted when a word holds , " CR or LF);
//  json: {"words":[{"word":...,"count":...},...]}; bytes that are not valid UTF-8 become
//        U+FFFD, since JSON text must be UTF-8.
std::string render(const WordCounts& rows, Format format);

// Writes `contents` to `path` atomically: into a temporary file in the same directory, then
// fsync and rename over `path`. On any failure the temporary file is removed, `path` is left
// as it was, and the status names the path and the reason.
Status write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace tally::cli
