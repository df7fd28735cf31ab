// `tally generate-corpus --kind bmp`: a deterministic 24-bit BMP image for `tally histogram`.
//
// The image is 4095 pixels wide (rows of 12285 pixel bytes padded to 12288, so that the
// padding path is always exercised), or narrower for sizes below about 50 MB (about square,
// at least 1 pixel), with as many rows as fit in args.bytes (at least one): the file is
// 54 + stride x rows bytes, at most args.bytes unless that is smaller than one row. Rows are
// stored bottom-up (a positive height), with a 40-byte BITMAPINFOHEADER and no color table.
// Each channel has a histogram of its own shape, so that a result that swaps channels or
// values is wrong, not merely permuted:
//  - red: a horizontal gradient 0-255 plus noise of -8 to +7: nearly flat;
//  - green: a vertical gradient, squared (t^2 / 255 for t = 0-255 over the rows) plus
//    noise: crowded towards 0;
//  - blue: the mean of four random bytes: bell-shaped around 127.5.
// Values past 0 or 255 are clamped, so both ends hold a spike. The noise comes from
// splitmix64 seeded by (seed, row): the same bytes on every machine and standard library.
#pragma once

#include "tools/tally/generators.hpp"
#include "tools/tally/output.hpp"

namespace tally::cli {

void generate_bmp(const GeneratorArgs& args, OutputFile& out);

}  // namespace tally::cli
