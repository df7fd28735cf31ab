// The histogram job (jobs/histogram.hpp) beside the programs its targets are set against, in
// one binary: a plain sequential loop (the hand-written loop of the "within 1.1x at 1 thread"
// target), a oneTBB version, and the `tally histogram` process end to end.
//
// Image (written once per process to the scratch directory, read through the page cache): a
// 24-bit BMP from `tally generate-corpus --kind bmp`'s generator (generate_bmp.hpp: 4095
// pixels wide, rows padded to 12288 bytes), 1.4 GB (Phoenix's "large" input), named "large";
// with TALLY_BENCH_SMALL=1 (the ctest smoke run) 4 MiB, named "small". The in-process
// contenders share one mapping of it, opened and read once before any of them runs, so that
// they all count bytes that are already resident: what they are compared on is the counting
// and the overhead around it, not page faults. The reference is the sequential loop's count.
//
// Contenders in this process:
//  - BM_Histogram_Tally/<image>/threads:T  run_histogram (Engine::run of the DenseJob over the
//    pixel rows): header read, plan, map, merge of the per-worker arrays, the result table.
//  - BM_Histogram_Sequential/<image>  one thread, one array of 768 uint64 counters, three
//    increments per pixel, row by row past the padding.
//  - BM_Histogram_Tbb/<image>/threads:T  what a user would write with oneTBB:
//    tbb::parallel_reduce over ranges of rows (about 1 MiB each), a 768-counter array per
//    range, added together; in a task_arena of T threads.
// As a program:
//  - BM_Process_Histogram/<image>/threads:T  `tally histogram -j T -f tsv IMAGE`, spawn to
//    exit through bench/jobs/process_meter (wall time, peak RSS; it maps the image itself).
// Every contender's counts are checked against the reference (the process's TSV output on its
// first run), so one that loses or invents a pixel reports an error, not a time.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/jobs/process_bench.hpp"
#include "bench/one_cpu.hpp"
#include "tally/engine/engine.hpp"
#include "tally/engine/input.hpp"
#include "tally/jobs/bmp.hpp"
#include "tally/jobs/histogram.hpp"
#include "tools/tally/generate_bmp.hpp"
#include "tools/tally/output.hpp"

namespace tally::bench {
namespace {

namespace fs = std::filesystem;
using jobs::BmpImage;
using Counts = std::array<std::uint64_t, 768>;  // channel (blue, green, red) x 256 + value

// ------------------------------------------------------------------------------------------
// The image
// ------------------------------------------------------------------------------------------

// One whole pass of the sequential loop: the reference, and the contender.
Counts sequential_histogram(std::string_view file, const BmpImage& image) {
  Counts counts{};
  const auto* row = reinterpret_cast<const unsigned char*>(file.data()) + image.pixel_offset;
  for (std::uint64_t r = 0; r < image.height; ++r, row += image.row_stride) {
    const unsigned char* const end = row + image.row_pixel_bytes();
    for (const unsigned char* p = row; p != end; p += 3) {
      ++counts[p[0]];
      ++counts[256 + p[1]];
      ++counts[512 + p[2]];
    }
  }
  return counts;
}

struct Image {
  std::string name;  // the benchmark label
  std::string path;
  Inputs inputs = Inputs::buffers({});  // the shared mapping, open
  BmpImage header;
  Counts reference{};
  std::string error;  // why there is no image, if there is none
};

// Writes the image, maps it, reads its header and counts it: once per process. Not const:
// Engine::run takes the inputs it may have to open by reference (they are open).
Image& image() {
  static Image img = [] {
    Image m;
    const bool small = env_flag("TALLY_BENCH_SMALL");
    m.name = small ? "small" : "large";
    m.path = (scratch_dir() / (m.name + ".bmp")).string();
    cli::OutputFile out;
    Status s = out.open(m.path);
    if (s.ok()) {
      cli::generate_bmp({.bytes = small ? std::uint64_t{4} << 20 : 1'400'000'000, .seed = 1}, out);
      s = out.commit();
    }
    if (!s.ok()) {
      m.error = "cannot write the image: " + s.message();
      return m;
    }
    m.inputs = Inputs::paths({m.path});
    if (s = m.inputs.open(); !s.ok()) {
      m.error = s.to_string();
      return m;
    }
    const Result<BmpImage> header = jobs::read_bmp_header(m.inputs.data(0), m.inputs.name(0));
    if (!header.ok()) {
      m.error = header.status().to_string();
      return m;
    }
    m.header = *header;
    m.reference = sequential_histogram(m.inputs.data(0), m.header);
    return m;
  }();
  return img;
}

// The image, or null with the benchmark marked as failed.
Image* image_or_skip(benchmark::State& state) {
  Image& img = image();
  if (!img.error.empty()) {
    state.SkipWithError(img.error.c_str());
    return nullptr;
  }
  return &img;
}

// What differs between `counts` and the image's reference counts; empty if nothing.
std::string mismatch(const Image& img, const Counts& counts) {
  if (counts == img.reference) return {};
  std::size_t k = 0;
  while (counts[k] == img.reference[k]) ++k;
  return "wrong count: key " + std::to_string(k) + " has " + std::to_string(counts[k]) +
         ", expected " + std::to_string(img.reference[k]);
}

bool check(benchmark::State& state, const Image& img, const Counts& counts) {
  const std::string wrong = mismatch(img, counts);
  if (!wrong.empty()) state.SkipWithError(wrong.c_str());
  return wrong.empty();
}

void report_image(benchmark::State& state, const Image& img) {
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(img.inputs.data(0).size()));
  state.SetLabel(img.name);
}

// ------------------------------------------------------------------------------------------
// In process
// ------------------------------------------------------------------------------------------

void BM_Histogram_Tally(benchmark::State& state) {
  Image* img = image_or_skip(state);
  if (img == nullptr) return;
  Engine engine({.threads = static_cast<std::size_t>(state.range(0))});
  Inputs& inputs = img->inputs;
  for (auto _ : state) {
    const Result<BmpImage> header = jobs::read_bmp_header(inputs.data(0), inputs.name(0));
    if (!header.ok()) {
      state.SkipWithError(header.status().to_string().c_str());
      return;
    }
    const auto result = jobs::run_histogram(engine, inputs, *header, {});
    if (!result.ok()) {
      state.SkipWithError(result.status().to_string().c_str());
      return;
    }
    Counts counts{};
    result->table.for_each([&counts](const auto& e) { counts[e.first] = e.second; });
    if (!check(state, *img, counts)) return;
  }
  report_image(state, *img);
}

void BM_Histogram_Sequential(benchmark::State& state) {
  const Image* img = image_or_skip(state);
  if (img == nullptr) return;
  for (auto _ : state) {
    const Counts counts = sequential_histogram(img->inputs.data(0), img->header);
    if (!check(state, *img, counts)) return;
  }
  report_image(state, *img);
}

void BM_Histogram_Tbb(benchmark::State& state) {
  const Image* img = image_or_skip(state);
  if (img == nullptr) return;
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  const BmpImage& h = img->header;
  const auto* pixels =
      reinterpret_cast<const unsigned char*>(img->inputs.data(0).data()) + h.pixel_offset;
  const std::size_t rows_per_range =
      std::max<std::size_t>(1, (std::size_t{1} << 20) / h.row_stride);
  for (auto _ : state) {
    Counts counts{};
    arena.execute([&] {
      counts = tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(0, h.height, rows_per_range), Counts{},
          [&](const tbb::blocked_range<std::size_t>& rows, Counts c) {
            for (std::size_t r = rows.begin(); r != rows.end(); ++r) {
              const unsigned char* p = pixels + r * h.row_stride;
              const unsigned char* const end = p + h.row_pixel_bytes();
              for (; p != end; p += 3) {
                ++c[p[0]];
                ++c[256 + p[1]];
                ++c[512 + p[2]];
              }
            }
            return c;
          },
          [](Counts a, const Counts& b) {
            for (std::size_t k = 0; k < a.size(); ++k) a[k] += b[k];
            return a;
          });
    });
    if (!check(state, *img, counts)) return;
  }
  report_image(state, *img);
}

// ------------------------------------------------------------------------------------------
// The tally program
// ------------------------------------------------------------------------------------------

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The counts in `tally histogram -f tsv`'s output (value, red, green, blue a line); `error`
// set to what is wrong with it, if anything.
Counts parse_tsv(const std::string& text, std::string& error) {
  Counts counts{};
  std::istringstream lines(text);
  std::string line;
  std::uint64_t value = 0;
  for (; std::getline(lines, line); ++value) {
    std::array<std::uint64_t, 4> cells{};
    const char* p = line.data();
    const char* const end = line.data() + line.size();
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const auto [next, ec] = std::from_chars(p, end, cells[c]);
      const char want = c + 1 == cells.size() ? '\0' : '\t';
      if (ec != std::errc() || (want == '\0' ? next != end : (next == end || *next != want))) {
        error = "a malformed line: " + line;
        return counts;
      }
      p = next + 1;
    }
    if (value >= 256 || cells[0] != value) {
      error = "line " + std::to_string(value + 1) + " is not value " + std::to_string(value);
      return counts;
    }
    counts[512 + value] = cells[1];  // red
    counts[256 + value] = cells[2];  // green
    counts[value] = cells[3];        // blue
  }
  if (value != 256) error = std::to_string(value) + " lines, expected 256";
  return counts;
}

void BM_Process_Histogram(benchmark::State& state) {
  if (skip_without_tally(state)) return;
  const Image* img = image_or_skip(state);
  if (img == nullptr) return;
  const std::string threads = std::to_string(state.range(0));
  measure_program(state, {tally_program(), "histogram", "-j", threads, "-f", "tsv", img->path},
                  "histogram-" + img->name + "-" + threads, [img](const fs::path& out) {
                    std::string error;
                    const Counts counts = parse_tsv(read_file(out), error);
                    return error.empty() ? mismatch(*img, counts) : error;
                  });
  report_image(state, *img);
}

void register_all() {
  const std::string name = env_flag("TALLY_BENCH_SMALL") ? "small" : "large";
  const auto in_process = [](benchmark::internal::Benchmark* b) {
    return b->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  in_process(
      benchmark::RegisterBenchmark(("BM_Histogram_Tally/" + name).c_str(), BM_Histogram_Tally))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Apply(one_thread_on_one_cpu);
  in_process(benchmark::RegisterBenchmark(("BM_Histogram_Sequential/" + name).c_str(),
                                          BM_Histogram_Sequential))
      ->Apply(on_one_cpu);
  in_process(benchmark::RegisterBenchmark(("BM_Histogram_Tbb/" + name).c_str(), BM_Histogram_Tbb))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Apply(one_thread_on_one_cpu);
  benchmark::RegisterBenchmark(("BM_Process_Histogram/" + name).c_str(), BM_Process_Histogram)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Apply(one_thread_on_one_cpu);
}

}  // namespace
}  // namespace tally::bench

int main(int argc, char** argv) {
  tbb::info::default_concurrency();  // before any pinned run: bench/one_cpu.hpp says why
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  tally::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
