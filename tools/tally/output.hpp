// Writing results: the output formats of `tally wordcount`, written as a stream through a
// bounded buffer, to stdout or to a file that appears atomically (complete or not at all).
//
//   OutputFile out;
//   if (Status s = out.open(path); !s.ok()) ...          // "" is stdout
//   const CountsFormat format(Format::kTsv, widths);     // widths: text format only
//   std::string piece;
//   format.begin(piece);
//   for (auto& [word, count] : rows) format.row(piece, word, count, &word == first);
//   format.end(piece, !rows.empty());
//   out.append(piece);
//   if (Status s = out.commit(); !s.ok()) ...            // the first write error, if any
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tally/engine/status.hpp"

namespace tally::cli {

class Supervisor;

enum class Format { kText, kTsv, kCsv, kJson };

std::optional<Format> parse_format(std::string_view name);

// Where output bytes go: stdout, or a file.
//  - A new path or a regular file is written atomically: into a temporary file in the same
//    directory, which publish() renames over the target (an existing file's permission bits
//    are kept). The target is complete or untouched.
//  - A symlink is followed: the file it points to is replaced atomically, the link kept.
//  - Anything else that can be written (a character device such as /dev/null, a FIFO) is
//    written in place, as coreutils do: renaming over it would replace the device itself.
//  - A directory is an error.
// Bytes are buffered (kBufferBytes) and every write(2) is checked; the first failure is kept,
// nothing is written after it, and finish() returns it. With a Supervisor, writing stops once
// the run is stopped (kCancelled), the temporary file is tracked so that a forced exit removes
// it, and publish() happens only if the run was not stopped. A temporary file that is not
// published is removed when the OutputFile is destroyed.
class OutputFile {
 public:
  static constexpr std::size_t kBufferBytes = 1 << 16;

  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  // path "" or "-" is stdout. The status names the path and the reason.
  Status open(const std::string& path, Supervisor* supervisor = nullptr);
  void append(std::string_view bytes);
  void append(char c) {
    if (buffer_.size() == kBufferBytes) flush_buffer();
    buffer_.push_back(c);
  }
  // The first failure so far (writing stops at it), or OK.
  const Status& status() const noexcept { return status_; }
  // Writes what is buffered; a temporary file is synced to disk and closed. The first error.
  Status finish();
  // Renames the finished temporary file over the target (nothing to do for stdout and files
  // written in place). REQUIRES: finish() returned OK.
  Status publish();
  // finish(), then, unless the supervisor's run was stopped, publish().
  Status commit();

 private:
  void flush_buffer();

  std::string path_;    // "" for stdout
  std::string tmp_;     // the temporary file, until published
  std::string target_;  // what publish() renames over: path_, or where its symlink points
  int fd_ = -1;
  Supervisor* supervisor_ = nullptr;
  std::string buffer_;
  Status status_;
};

// The width of the text format's columns: the longest word (up to kMaxWordColumn) and the
// longest count. A longer word is written whole, its row unaligned: one huge word must not
// pad every other row to its length.
struct ColumnWidths {
  static constexpr std::size_t kMaxWordColumn = 48;
  std::size_t word = 0;
  std::size_t count = 0;
  void widen(std::string_view w, std::uint64_t n);
};

// Formats rows of (word, count) in `format`, into as many pieces of the output as the caller
// likes (pieces formatted on different threads, joined in order):
//  text: words left-aligned in a column `widths.word` wide, counts right-aligned;
//  tsv:  "word<TAB>count" lines, no header;
//  csv:  a "word,count" header, then RFC 4180 rows (quoted when a word holds , " CR or LF);
//  json: {"words":[{"word":...,"count":...},...]}; bytes that are not valid UTF-8 become
//        U+FFFD, since JSON text must be UTF-8.
// The output is begin(), then the rows, with separator() between two pieces that both hold
// rows, then end(). Thread safety: const; any number of threads may format at once.
class CountsFormat {
 public:
  explicit CountsFormat(Format format, ColumnWidths widths = {})
      : format_(format), widths_(widths) {}
  void begin(std::string& out) const;
  // `first_in_piece`: the first row appended to this piece.
  void row(std::string& out, std::string_view word, std::uint64_t count, bool first_in_piece) const;
  // Goes between a piece that holds rows and the next piece that holds rows.
  std::string_view separator() const { return format_ == Format::kJson ? "," : ""; }
  void end(std::string& out, bool any_rows) const;

 private:
  const Format format_;
  const ColumnWidths widths_;
};

// Appends `s` as one CSV field (RFC 4180: quoted when it holds , " CR or LF).
void append_csv_field(std::string& out, std::string_view s);
// Appends `s` as a JSON string; bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// Writes `contents` to `path` as OutputFile does (atomically for regular files).
Status write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace tally::cli
