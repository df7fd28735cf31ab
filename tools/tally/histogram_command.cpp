#include "tools/tally/histogram_command.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "tally/engine/input.hpp"
#include "tally/jobs/bmp.hpp"
#include "tally/jobs/histogram.hpp"
#include "tools/tally/exit_status.hpp"
#include "tools/tally/table_output.hpp"

namespace tally::cli {
namespace {

using jobs::Histogram;

// One row per value, 0-255: the pixels whose red, green and blue bytes have it. Red first,
// as people name the channels, although the file and the keys put blue first.
TableOutput histogram_table(const ResultTable<Histogram::Key, Histogram::Value>& table) {
  std::array<Histogram::Value, Histogram::kChannels * Histogram::kLevels> counts{};
  table.for_each([&counts](const auto& e) { counts[e.first] = e.second; });  // all 768 keys
  TableOutput out("histogram", {{"value", true}, {"red", true}, {"green", true}, {"blue", true}});
  for (unsigned v = 0; v < Histogram::kLevels; ++v) {
    const auto value = static_cast<std::uint8_t>(v);
    out.add_row({std::to_string(v), std::to_string(counts[Histogram::key(Histogram::kRed, value)]),
                 std::to_string(counts[Histogram::key(Histogram::kGreen, value)]),
                 std::to_string(counts[Histogram::key(Histogram::kBlue, value)])});
  }
  return out;
}

}  // namespace

CLI::App* add_histogram_command(CLI::App& app, HistogramArgs& args) {
  CLI::App* cmd = app.add_subcommand("histogram", "Per-channel histogram of a 24-bit BMP image");
  cmd->add_option("image", args.image,
                  "A 24-bit uncompressed BMP file (.gz and .zst are decompressed; - for stdin)")
      ->required();
  add_job_options(*cmd, args.job);
  cmd->footer(
      "Output: 256 rows, one per value 0-255, each with the number of pixels whose red,\n"
      "green and blue bytes have that value (columns value, red, green, blue). Row padding\n"
      "and bytes after the pixel array are not counted. Other BMP variants (1-32 bits other\n"
      "than 24, RLE or bitfields compression, OS/2 headers) and truncated files are errors\n"
      "(exit 3).");
  return cmd;
}

int run_histogram(const HistogramArgs& args) {
  JobSession session(args.job);
  if (int status = session.start(); status != kExitOk) return status;
  // Inputs would walk a directory; a histogram is of one image.
  if (std::error_code ec; std::filesystem::is_directory(args.image, ec)) {
    std::cerr << "tally: '" << args.image << "' is a directory, not a BMP file\n";
    return kExitInput;
  }
  Inputs inputs = Inputs::paths({args.image});
  if (int status = session.open_inputs(inputs); status != kExitOk) return status;
  const Result<jobs::BmpImage> image = jobs::read_bmp_header(inputs.data(0), inputs.name(0));
  if (!image.ok()) {
    std::cerr << "tally: " << image.status().message() << "\n";  // names the file and the fault
    return kExitInput;
  }
  auto result = jobs::run_histogram(session.engine(), inputs, *image, session.run_options());
  if (!result.ok()) return session.fail(result.status());
  if (int status = session.open_output(); status != kExitOk) return status;
  session.output().append(histogram_table(result->table).render(session.format()));
  return session.finish(result->report);
}

}  // namespace tally::cli
