// Test BMP files: headers with every field the reader checks settable (to build each bad
// variant), pixels from a seed, and the plainest possible count of them (the oracle of the
// histogram tests). Row padding and bytes after the pixel array are filled with nonzero
// noise, unlike real files, so that a reader that counts them is caught.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace tally::testing {

struct BmpSpec {
  std::int32_t width = 3;
  std::int32_t height = 2;  // negative: top-down
  std::uint16_t planes = 1;
  std::uint16_t bits = 24;
  std::uint32_t compression = 0;
  std::uint32_t info_bytes = 40;  // biSize; the header written is this long (at least 40)
  std::uint32_t gap = 0;          // bytes between the headers and the pixel array
  std::uint64_t seed = 1;         // the pixels, padding and trailer bytes
  std::uint64_t trailer = 0;      // bytes after the pixel array
};

inline std::uint64_t stride_for(std::int32_t width) {
  return (static_cast<std::uint64_t>(width) * 3 + 3) / 4 * 4;
}

inline void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// The whole file. A width <= 0 or a height of 0 gets no pixel rows.
inline std::string bmp_file(const BmpSpec& spec) {
  const std::uint64_t offset = 14 + std::uint64_t{spec.info_bytes} + spec.gap;
  const std::uint64_t rows = spec.width <= 0 ? 0 : std::llabs(spec.height);
  const std::uint64_t stride = spec.width <= 0 ? 0 : stride_for(spec.width);
  std::string f = "BM";
  put_le(f, offset + stride * rows + spec.trailer, 4);
  put_le(f, 0, 4);
  put_le(f, offset, 4);
  put_le(f, spec.info_bytes, 4);
  put_le(f, static_cast<std::uint32_t>(spec.width), 4);
  put_le(f, static_cast<std::uint32_t>(spec.height), 4);
  put_le(f, spec.planes, 2);
  put_le(f, spec.bits, 2);
  put_le(f, spec.compression, 4);
  put_le(f, stride * rows, 4);
  put_le(f, 2835, 4);
  put_le(f, 2835, 4);
  put_le(f, 0, 4);
  put_le(f, 0, 4);
  f.resize(offset, '\x5a');  // the rest of a longer info header, and the gap
  std::mt19937_64 rng(spec.seed);
  for (std::uint64_t i = 0; i < stride * rows + spec.trailer; ++i) {
    f += static_cast<char>(rng() & 0xff);
  }
  // Padding bytes are kept nonzero: counting them would then change a count.
  for (std::uint64_t r = 0; r < rows; ++r) {
    for (std::uint64_t i = static_cast<std::uint64_t>(spec.width) * 3; i < stride; ++i) {
      char& c = f[offset + r * stride + i];
      if (c == 0) c = 1;
    }
  }
  return f;
}

// The oracle: every pixel byte of every row counted, by channel in file order (blue, green,
// red) and value, at index channel * 256 + value. `offset`, `width` and `rows` as the file
// says; padding and trailer skipped.
inline std::array<std::uint64_t, 768> count_pixels(const std::string& file, std::uint64_t offset,
                                                   std::uint64_t width, std::uint64_t rows) {
  std::array<std::uint64_t, 768> counts{};
  const std::uint64_t stride = (width * 3 + 3) / 4 * 4;
  for (std::uint64_t r = 0; r < rows; ++r) {
    for (std::uint64_t x = 0; x < width; ++x) {
      for (std::uint64_t c = 0; c < 3; ++c) {
        const auto byte = static_cast<unsigned char>(file[offset + r * stride + x * 3 + c]);
        ++counts[c * 256 + byte];
      }
    }
  }
  return counts;
}

inline std::array<std::uint64_t, 768> count_pixels(const std::string& file, const BmpSpec& spec) {
  return count_pixels(file, 14 + std::uint64_t{spec.info_bytes} + spec.gap,
                      static_cast<std::uint64_t>(spec.width), std::llabs(spec.height));
}

}  // namespace tally::testing
