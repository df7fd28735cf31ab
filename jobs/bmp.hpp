// BmpImage: where the pixel rows of a 24-bit uncompressed BMP file are, read and checked from
// its headers, for jobs that map the rows as fixed-size records (histogram.hpp).
//
// A BMP file is a 14-byte file header ("BM", the file size, two reserved words, the offset of
// the pixel array), an info header (BITMAPINFOHEADER, 40 bytes, or a later version that
// extends it: width, height, planes, bits per pixel, compression, ...), perhaps a color table
// or masks, then the pixel array: |height| rows of width pixels, 3 bytes each in the order
// blue, green, red, each row padded with zeros to a multiple of 4 bytes. A positive height
// stores the rows bottom-up, a negative one top-down. Bytes after the pixel array (some
// writers leave a few) belong to no row. All fields are little-endian.
//
//   Result<BmpImage> image = read_bmp_header(inputs.data(0), inputs.name(0));
//   if (!image.ok()) ...  // kInvalidArgument: "'x.bmp' is a 32-bit BMP; only 24-bit ..."
//   options.records = image->rows();   // then Engine::run maps the pixel rows only
//
// Thread safety: plain functions and values.
#pragma once

#include <cstdint>
#include <string_view>

#include "tally/engine/record_layout.hpp"
#include "tally/engine/status.hpp"

namespace tally::jobs {

// The bytes of the headers this reader needs: the file header and a BITMAPINFOHEADER.
inline constexpr std::uint64_t kBmpHeaderBytes = 14 + 40;

// The bytes of one row of `width` 24-bit pixels with its padding (the row stride).
constexpr std::uint64_t bmp_row_stride(std::uint64_t width) { return (width * 3 + 3) / 4 * 4; }

struct BmpImage {
  std::uint64_t width = 0;         // pixels per row, > 0
  std::uint64_t height = 0;        // rows, > 0, whichever order they are stored in
  bool top_down = false;           // rows stored top row first (a negative height)
  std::uint64_t pixel_offset = 0;  // the byte of the file where the first row starts
  std::uint64_t row_stride = 0;    // bmp_row_stride(width)

  // The bytes of a row that hold pixels: the rest of row_stride is padding.
  std::uint64_t row_pixel_bytes() const noexcept { return width * 3; }
  // The end of the pixel array: the file's bytes from here on belong to no row.
  std::uint64_t pixel_end() const noexcept { return pixel_offset + row_stride * height; }
  // The rows as fixed-size records after the headers; bytes after the pixel array belong
  // to no row.
  RecordLayout rows() const noexcept {
    return RecordLayout{
        .fixed_bytes = row_stride, .header_bytes = pixel_offset, .record_count = height};
  }
};

// Reads and checks the headers at the start of `file` (the whole file's bytes; `name` is
// only for messages). Accepts an info header of 40 bytes or more, 1 plane, 24 bits per
// pixel, no compression (BI_RGB), width > 0, height != 0, the pixel array after the headers
// and wholly inside the file (bytes after it are allowed). Anything else is kInvalidArgument
// naming the file and what it is, e.g.
//   "'x.bmp' is not a BMP file (no BM signature)"
//   "'x.bmp' is a 32-bit BMP; only 24-bit BMPs are supported"
//   "'x.bmp' is compressed (RLE8); compressed BMPs (RLE, bitfields, JPEG, PNG) are not supported"
//   "'x.bmp' is truncated: 3000 pixel bytes expected after offset 54, 2000 found"
Result<BmpImage> read_bmp_header(std::string_view file, std::string_view name);

}  // namespace tally::jobs
