// Histogram: how many pixels of a 24-bit BMP have each value, 0-255, in each color channel
// (Phoenix++'s histogram): 3 x 256 = 768 counters, a DenseJob (job.hpp) over the image's
// pixel rows as fixed-size records (bmp.hpp).
//
//   Result<BmpImage> image = read_bmp_header(inputs.data(0), inputs.name(0));
//   auto result = run_histogram(engine, inputs, *image);
//   for (auto [key, count] : result->table) ...  // key = channel * 256 + value
//
// Keys follow the file's byte order: channel 0 is blue, 1 green, 2 red (kBlue, kGreen, kRed).
//
// Thread safety: map() is const and touches nothing but its row and its output, so any
// number of threads may run it at once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/engine/job.hpp"
#include "tally/engine/run_options.hpp"
#include "tally/engine/status.hpp"
#include "tally/jobs/bmp.hpp"

namespace tally::jobs {

struct Histogram {
  using Key = std::uint32_t;
  using Value = std::uint64_t;

  // The channels in the order a BMP stores a pixel's bytes.
  enum Channel : Key { kBlue = 0, kGreen = 1, kRed = 2 };
  static constexpr Key kChannels = 3;
  static constexpr Key kLevels = 256;

  static constexpr Key key(Channel channel, std::uint8_t value) {
    return channel * kLevels + value;
  }

  // The bytes of a row that hold pixels (BmpImage::row_pixel_bytes): the row's padding,
  // after them, is not counted. REQUIRES: a multiple of 3, at most the record size.
  std::uint64_t row_pixel_bytes = 0;

  std::size_t key_count() const { return kChannels * kLevels; }

  // One pixel row. A template on the output and forced inline, so that the engine's dense
  // sink's emit() is inlined into this loop: no call per pixel byte.
  template <typename Out>
  [[gnu::always_inline]] void map(Record row, Out& out) const {
    const auto* p = reinterpret_cast<const unsigned char*>(row.bytes.data());
    const auto* const end = p + row_pixel_bytes;
    for (; p != end; p += 3) {
      out.emit(key(kBlue, p[0]), 1);
      out.emit(key(kGreen, p[1]), 1);
      out.emit(key(kRed, p[2]), 1);
    }
  }

  static Value combine(Value a, Value b) { return a + b; }
};

// Runs Histogram over the image in `inputs`: over its pixel rows only (image.rows()), so
// bytes after the pixel array are ignored. options.records is set here. The result holds all
// 768 keys. REQUIRES: `inputs` holds one input, whose header read_bmp_header read as `image`.
inline Result<RunOutput<Histogram>> run_histogram(Engine& engine, Inputs& inputs,
                                                  const BmpImage& image, RunOptions options) {
  options.records = image.rows();
  return engine.run(Histogram{.row_pixel_bytes = image.row_pixel_bytes()}, inputs, options);
}

}  // namespace tally::jobs
