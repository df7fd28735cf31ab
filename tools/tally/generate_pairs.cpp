#include "tools/tally/generate_pairs.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

namespace tally::cli {
namespace {

// A uniform integer in [0, span) from the top bits of `bits` (span < 2^32): a multiply and
// a shift, the same on every machine.
std::int64_t uniform_below(std::uint64_t bits, std::uint64_t span) {
  return static_cast<std::int64_t>(((bits >> 32) * span) >> 32);
}

// `milli` thousandths as a decimal: "-12.345", "0.500".
void append_milli(std::string& out, std::int64_t milli) {
  if (milli < 0) out += '-';
  const std::uint64_t m = milli < 0 ? static_cast<std::uint64_t>(-milli) : milli;
  out += std::to_string(m / 1000);
  const auto frac = static_cast<unsigned>(m % 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

}  // namespace

void generate_pairs(const GeneratorArgs& args, OutputFile& out) {
  std::mt19937_64 rng(args.seed);
  const std::uint64_t pairs = args.bytes / 2;
  std::string piece;
  piece.reserve(OutputFile::kBufferBytes);
  for (std::uint64_t i = 0; i < pairs && out.status().ok(); ++i) {
    // One draw a pair: x from its top half, each noise term from one byte of the bottom.
    const std::uint64_t bits = rng();
    const std::int64_t x = uniform_below(bits, 201) - 100;
    std::int64_t noise = 0;
    for (int k = 0; k < 4; ++k) {
      noise += static_cast<std::int64_t>((((bits >> (8 * k)) & 0xff) * 9) >> 8) - 4;
    }
    const std::int64_t y = std::clamp<std::int64_t>(3 * x / 4 + 5 + noise, -128, 127);
    piece += static_cast<char>(static_cast<std::int8_t>(x));
    piece += static_cast<char>(static_cast<std::int8_t>(y));
    if (piece.size() >= OutputFile::kBufferBytes) {
      out.append(piece);
      piece.clear();
    }
  }
  if (out.status().ok()) out.append(piece);
}

void generate_pairs_csv(const GeneratorArgs& args, OutputFile& out) {
  std::mt19937_64 rng(args.seed);
  std::string piece;
  std::string line;
  std::uint64_t written = 0;
  while (out.status().ok()) {
    const std::int64_t x = uniform_below(rng(), 2'000'001) - 1'000'000;  // thousandths
    std::int64_t noise = 0;
    for (int k = 0; k < 4; ++k) noise += uniform_below(rng(), 4'001) - 2'000;
    const std::int64_t y = 3 * x / 4 + 5'000 + noise;
    line.clear();
    append_milli(line, x);
    line += ',';
    append_milli(line, y);
    line += '\n';
    if (written + piece.size() + line.size() > args.bytes) break;
    piece += line;
    if (piece.size() >= OutputFile::kBufferBytes) {
      out.append(piece);
      written += piece.size();
      piece.clear();
    }
  }
  if (out.status().ok()) out.append(piece);
}

}  // namespace tally::cli
