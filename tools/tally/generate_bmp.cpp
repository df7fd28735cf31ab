#include "tools/tally/generate_bmp.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace tally::cli {
namespace {

constexpr std::uint64_t kHeaderBytes = 14 + 40;  // file header + BITMAPINFOHEADER
constexpr std::uint64_t kMaxWidth = 4095;        // 3 x 4095 = 12285: 3 bytes of padding

std::uint64_t stride_of(std::uint64_t width) { return (width * 3 + 3) / 4 * 4; }

void put_u16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}
void put_u32(std::string& out, std::uint32_t v) {
  put_u16(out, v & 0xffff);
  put_u16(out, v >> 16);
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint8_t clamp_byte(int v) { return static_cast<std::uint8_t>(std::clamp(v, 0, 255)); }

}  // namespace

void generate_bmp(const GeneratorArgs& args, OutputFile& out) {
  const std::uint64_t room = args.bytes > kHeaderBytes ? args.bytes - kHeaderBytes : 0;
  // About square while that is narrower than kMaxWidth: sqrt(room / 3) pixels a side.
  const auto side = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(room / 3)));
  const std::uint64_t width = std::clamp<std::uint64_t>(side, 1, kMaxWidth);
  const std::uint64_t stride = stride_of(width);
  const std::uint64_t height =
      std::clamp<std::uint64_t>(room / stride, 1, std::numeric_limits<std::int32_t>::max());
  const std::uint64_t pixel_bytes = stride * height;
  const std::uint64_t file_bytes = kHeaderBytes + pixel_bytes;
  // Sizes that do not fit the 32-bit fields are written as 0, which readers accept (biSizeImage
  // may be 0 for BI_RGB; bfSize is informative).
  const auto u32_or_0 = [](std::uint64_t v) {
    return v <= std::numeric_limits<std::uint32_t>::max() ? static_cast<std::uint32_t>(v) : 0u;
  };

  std::string header = "BM";
  put_u32(header, u32_or_0(file_bytes));
  put_u32(header, 0);                                         // reserved
  put_u32(header, static_cast<std::uint32_t>(kHeaderBytes));  // pixel array offset
  put_u32(header, 40);                                        // biSize
  put_u32(header, static_cast<std::uint32_t>(width));
  put_u32(header, static_cast<std::uint32_t>(height));  // positive: bottom-up
  put_u16(header, 1);                                   // planes
  put_u16(header, 24);                                  // bits per pixel
  put_u32(header, 0);                                   // BI_RGB
  put_u32(header, u32_or_0(pixel_bytes));
  put_u32(header, 2835);  // 72 dpi, horizontally
  put_u32(header, 2835);  // and vertically
  put_u32(header, 0);     // colors used
  put_u32(header, 0);     // important colors
  out.append(header);

  std::string row(stride, '\0');  // the padding stays zero
  for (std::uint64_t y = 0; y < height && out.status().ok(); ++y) {
    std::uint64_t state = args.seed * 0x2545f4914f6cdd1dULL + y;
    const std::uint64_t t = height > 1 ? y * 255 / (height - 1) : 0;
    const int green_base = static_cast<int>(t * t / 255);
    for (std::uint64_t x = 0; x < width; ++x) {
      const std::uint64_t r = splitmix64(state);
      const int red_base = static_cast<int>(width > 1 ? x * 255 / (width - 1) : 0);
      const int blue = static_cast<int>(((r >> 16) & 0xff) + ((r >> 24) & 0xff) +
                                        ((r >> 32) & 0xff) + ((r >> 40) & 0xff)) /
                       4;
      char* pixel = row.data() + x * 3;
      pixel[0] = static_cast<char>(static_cast<std::uint8_t>(blue));
      pixel[1] = static_cast<char>(clamp_byte(green_base + static_cast<int>((r >> 8) & 0xf) - 8));
      pixel[2] = static_cast<char>(clamp_byte(red_base + static_cast<int>(r & 0xf) - 8));
    }
    out.append(row);
  }
}

}  // namespace tally::cli
