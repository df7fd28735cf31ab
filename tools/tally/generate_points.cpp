#include "tools/tally/generate_points.hpp"

#include <string>

namespace tally::cli {

void generate_points(const GeneratorArgs& args, OutputFile& out) {
  PointRows rows(args.seed);
  std::string piece;
  std::uint64_t written = 0;
  while (written < args.bytes && out.status().ok()) {
    piece.clear();
    while (piece.size() < OutputFile::kBufferBytes && written + piece.size() < args.bytes) {
      rows.append_row(piece);
    }
    out.append(piece);
    written += piece.size();
  }
}

}  // namespace tally::cli
