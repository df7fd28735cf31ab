#include "tally/jobs/bmp.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace tally::jobs {
namespace {

// Offsets of the fields read, from the start of the file (BITMAPFILEHEADER, then
// BITMAPINFOHEADER, which every later info header begins with).
constexpr std::size_t kPixelOffsetField = 10;  // bfOffBits, uint32
constexpr std::size_t kInfoSizeField = 14;     // biSize, uint32
constexpr std::size_t kWidthField = 18;        // biWidth, int32
constexpr std::size_t kHeightField = 22;       // biHeight, int32
constexpr std::size_t kPlanesField = 26;       // biPlanes, uint16
constexpr std::size_t kBitsField = 28;         // biBitCount, uint16
constexpr std::size_t kCompressionField = 30;  // biCompression, uint32

constexpr std::uint32_t kInfoHeaderBytes = 40;  // BITMAPINFOHEADER
constexpr std::uint32_t kBiRgb = 0;
constexpr std::uint32_t kBiJpeg = 4;  // with 0 bits per pixel: the pixels are a JPEG stream
constexpr std::uint32_t kBiPng = 5;   // or a PNG one

std::uint32_t read_u32(std::string_view b, std::size_t at) {
  const auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i]));
  };
  return byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
}

std::uint16_t read_u16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) |
                                    static_cast<unsigned char>(b[at + 1]) << 8);
}

std::int32_t read_i32(std::string_view b, std::size_t at) {
  return static_cast<std::int32_t>(read_u32(b, at));  // two's complement, as C++20 defines
}

// biCompression's name, for the message that rejects it.
std::string compression_name(std::uint32_t c) {
  switch (c) {
    case 1:
      return "RLE8";
    case 2:
      return "RLE4";
    case 3:
      return "bitfields";
    case kBiJpeg:
      return "JPEG";
    case kBiPng:
      return "PNG";
    case 6:
      return "alpha bitfields";
    case 11:
    case 12:
    case 13:
      return "CMYK";
    default:
      return "compression type " + std::to_string(c);
  }
}

Status invalid(std::string_view name, const std::string& what) {
  return Status::InvalidArgument("'" + std::string(name) + "' " + what);
}

}  // namespace

Result<BmpImage> read_bmp_header(std::string_view file, std::string_view name) {
  if (file.empty()) return invalid(name, "is empty, not a BMP file");
  if (!file.starts_with("BM")) return invalid(name, "is not a BMP file (no BM signature)");
  const auto truncated_headers = [&](std::uint64_t needed) {
    return invalid(name, "is truncated: its headers need " + std::to_string(needed) + " bytes, " +
                             std::to_string(file.size()) + " found");
  };
  if (file.size() < kInfoSizeField + 4) return truncated_headers(kBmpHeaderBytes);
  // The oldest info header (OS/2's BITMAPCOREHEADER, 12 bytes) has 16-bit sizes at other
  // offsets: reading it as a BITMAPINFOHEADER would misread every field after it.
  const std::uint32_t info_bytes = read_u32(file, kInfoSizeField);
  if (info_bytes < kInfoHeaderBytes) {
    return invalid(name, "has a " + std::to_string(info_bytes) +
                             "-byte info header (OS/2 BITMAPCOREHEADER or unknown); only BMPs "
                             "with a BITMAPINFOHEADER (40 bytes) or later are supported");
  }
  const std::uint64_t headers_end = kInfoSizeField + std::uint64_t{info_bytes};
  if (file.size() < headers_end) return truncated_headers(headers_end);

  if (const std::uint16_t planes = read_u16(file, kPlanesField); planes != 1) {
    return invalid(name,
                   "has " + std::to_string(planes) + " color planes; a valid BMP has exactly 1");
  }
  const std::uint16_t bits = read_u16(file, kBitsField);
  const std::uint32_t compression = read_u32(file, kCompressionField);
  if (bits != 24) {
    if (bits == 0 && (compression == kBiJpeg || compression == kBiPng)) {
      return invalid(name, "holds a " + compression_name(compression) +
                               " image, not BMP pixels; only 24-bit uncompressed BMPs are "
                               "supported");
    }
    const std::string number = std::to_string(bits);
    const bool an = number.starts_with('8') || number == "11" || number == "18";
    return invalid(name,
                   (an ? "is an " : "is a ") + number + "-bit BMP; only 24-bit BMPs are supported");
  }
  if (compression != kBiRgb) {
    return invalid(name, "is compressed (" + compression_name(compression) +
                             "); compressed BMPs (RLE, bitfields, JPEG, PNG) are not supported");
  }
  const std::int32_t width = read_i32(file, kWidthField);
  if (width <= 0) {
    return invalid(name, "has width " + std::to_string(width) + "; a BMP's width must be positive");
  }
  const std::int32_t height = read_i32(file, kHeightField);
  if (height == 0) return invalid(name, "has height 0: no pixel rows");

  BmpImage image;
  image.width = static_cast<std::uint64_t>(width);
  // In 64 bits, so that -2^31 has a magnitude; the pixel array's size then stays below 2^64
  // (a stride below 2^33 times fewer than 2^32 rows).
  image.height = static_cast<std::uint64_t>(height < 0 ? -std::int64_t{height} : height);
  image.top_down = height < 0;
  image.pixel_offset = read_u32(file, kPixelOffsetField);
  image.row_stride = bmp_row_stride(image.width);
  if (image.pixel_offset < headers_end) {
    return invalid(name, "puts its pixel array at byte " + std::to_string(image.pixel_offset) +
                             ", inside its " + std::to_string(headers_end) + " bytes of headers");
  }
  const std::uint64_t expected = image.row_stride * image.height;
  const std::uint64_t found =
      file.size() > image.pixel_offset ? file.size() - image.pixel_offset : 0;
  if (found < expected) {
    return invalid(
        name, "is truncated: " + std::to_string(expected) + " pixel bytes expected after offset " +
                  std::to_string(image.pixel_offset) + ", " + std::to_string(found) + " found");
  }
  return image;
}

}  // namespace tally::jobs
