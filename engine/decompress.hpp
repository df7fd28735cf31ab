// Whole-buffer decompression of gzip (zlib) and zstd (libzstd) data, for inputs named *.gz and
// *.zst (see Inputs in input.hpp, which calls this when it opens such a file).
//
//   std::string text;
//   tally::Status s = tally::decompress(tally::Compression::kGzip, "x.gz", bytes, text);
//   // s: OK, or e.g. kIoError "'x.gz': corrupt gzip data: invalid block type"
//
// Formats:
//  - kGzip: one or more gzip members one after the other (as `cat a.gz b.gz` makes); the
//    output is their contents concatenated, as `gzip -d` gives.
//  - kZstd: one or more zstd frames (skippable frames are skipped), with or without a content
//    size in their headers; the output is their contents concatenated, as `zstd -d` gives.
// The data must be exactly that: a first byte that is not the format's magic number, bytes
// that do not decode, a member or frame cut short, an empty input and bytes after the last
// member that are not a member are all errors. Checksums (gzip CRC-32, zstd's optional XXH64)
// are verified.
//
// Memory: the whole output is held in `out`. It grows geometrically, starting from the size
// the data declares (gzip's ISIZE trailer, zstd's frame content size) when that is plausible.
// Thread safety: none needed; every call is independent.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tally/engine/status.hpp"

namespace tally {

enum class Compression {
  kNone,  // plain bytes
  kGzip,  // RFC 1952, decoded with zlib
  kZstd,  // RFC 8878, decoded with libzstd
};

// The format a file name announces by its suffix: ".gz" gives kGzip, ".zst" kZstd, anything
// else (including "-" for stdin, and ".GZ": the test is case-sensitive, as gzip's is) kNone.
Compression compression_for_name(std::string_view name) noexcept;

// Bounds on one decoding, for data that may be hostile (a gzip bomb expands about 1000-fold,
// zstd more) or endless.
struct DecodeLimits {
  // The most output bytes to hold; 0: no bound but memory.
  std::uint64_t max_output = 0;
  // Called before each step of a few MiB of output; a status other than OK ends the decoding
  // with that status (a stop request, a deadline).
  std::function<Status()> interrupted;
};

// Decodes `compressed` in `format` into `out` (replacing what it held). `name` only labels
// error messages. On failure `out` is empty and the status names `name` and the problem:
//  - kIoError "'<name>': not gzip data" / "not zstd data": wrong magic bytes or empty input;
//  - kIoError "'<name>': corrupt gzip data: <zlib's message>" / "corrupt zstd data: <...>";
//  - kIoError "'<name>': truncated gzip data" / "truncated zstd data";
//  - kResourceExhausted "'<name>': out of memory after decompressing N bytes", or
//    "'<name>': decompresses to more than N bytes (the limit for inputs held in memory)"
//    past limits.max_output;
//  - whatever limits.interrupted() returned, when it was not OK.
// REQUIRES: format != Compression::kNone (which gives kInvalidArgument).
Status decompress(Compression format, std::string_view name, std::string_view compressed,
                  std::string& out, const DecodeLimits& limits = {});

}  // namespace tally
