// Tests of engine/decompress.hpp, and of Inputs opening compressed files. The compressed data
// is made here with zlib's and libzstd's own encoders, so the oracle is independent of the
// decoder under test: decompress(compress(x)) == x, byte for byte.
#include "tally/engine/decompress.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tally/engine/input.hpp"

namespace {

namespace fs = std::filesystem;
using tally::Compression;
using tally::decompress;
using tally::Inputs;
using tally::Status;
using tally::StatusCode;

// ---------------------------------------------------------------------------------------------
// Encoders (test-only: they throw on failure)
// ---------------------------------------------------------------------------------------------

// One gzip member holding `data`.
std::string gzip(std::string_view data, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  // deflateInit2_ rather than the deflateInit2 macro, whose (int) cast trips -Wold-style-cast.
  if (deflateInit2_(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                    static_cast<int>(sizeof zs)) != Z_OK)
    throw std::runtime_error("deflateInit2_ failed");
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<const Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

// One zstd frame holding `data`. With `streaming`, the data is fed in pieces without a pledged
// size, so the frame header carries no content size, as `cat x | zstd` makes.
std::string zstd(std::string_view data, bool streaming = false, bool checksum = false) {
  const std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(data.size()) + 1024, '\0');
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  const std::size_t piece = streaming ? 1000 : data.size();
  std::size_t pos = 0;
  for (;;) {
    const std::size_t n = std::min(piece, data.size() - pos);
    const bool last = pos + n == data.size();
    ZSTD_inBuffer input{data.data() + pos, n, 0};
    std::size_t left = 0;
    do {
      left = ZSTD_compressStream2(cctx.get(), &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left) != 0) throw std::runtime_error(ZSTD_getErrorName(left));
    } while (last ? left != 0 : input.pos < input.size);
    pos += n;
    if (last) break;
  }
  out.resize(output.pos);
  return out;
}

// A skippable zstd frame (magic 0x184D2A50..5F, little-endian size, payload): decoders skip it.
std::string zstd_skippable(std::string_view payload) {
  std::string out = "\x5A\x2A\x4D\x18";
  for (int i = 0; i < 4; ++i) out += static_cast<char>((payload.size() >> (8 * i)) & 0xFF);
  out += payload;
  return out;
}

// Text with a vocabulary and line breaks, so it compresses as real text does.
std::string text(std::size_t bytes, std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  const char* const words[] = {"the", "map", "reduce", "tally", "zlib", "zstd", "word", "\xc3\xa9"};
  std::string out;
  while (out.size() < bytes) {
    out += words[rng() % std::size(words)];
    out += rng() % 8 == 0 ? '\n' : ' ';
  }
  out.resize(bytes);
  return out;
}

std::string compress(Compression format, std::string_view data) {
  return format == Compression::kGzip ? gzip(data) : zstd(data);
}

const char* format_name(Compression format) {
  return format == Compression::kGzip ? "gzip" : "zstd";
}

const char* file_name(Compression format) {
  return format == Compression::kGzip ? "x.gz" : "x.zst";
}

// Decodes, expecting success.
std::string decode(Compression format, std::string_view compressed) {
  std::string out;
  const Status s = decompress(format, file_name(format), compressed, out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

// Decodes, expecting failure; returns the status and checks the output was cleared.
Status decode_error(Compression format, std::string_view compressed) {
  std::string out = "stale";
  Status s = decompress(format, file_name(format), compressed, out);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(out.empty());
  return s;
}

// ---------------------------------------------------------------------------------------------
// The format from the name
// ---------------------------------------------------------------------------------------------

// Oracle: the suffix alone decides, case-sensitively; stdin and other names are plain.
TEST(CompressionForName, SuffixDecides) {
  EXPECT_EQ(tally::compression_for_name("a/b.txt.gz"), Compression::kGzip);
  EXPECT_EQ(tally::compression_for_name("b.zst"), Compression::kZstd);
  EXPECT_EQ(tally::compression_for_name(".gz"), Compression::kGzip);
  for (const char* plain : {"-", "a.txt", "a.gz.txt", "a.GZ", "a.zstd", "a.tgz.", "gz", "zst"})
    EXPECT_EQ(tally::compression_for_name(plain), Compression::kNone) << plain;
}

// ---------------------------------------------------------------------------------------------
// Both formats
// ---------------------------------------------------------------------------------------------

class DecompressFormat : public ::testing::TestWithParam<std::tuple<Compression, std::size_t>> {
 protected:
  Compression format() const { return std::get<0>(GetParam()); }
  std::size_t size() const { return std::get<1>(GetParam()); }
};

// Oracle: decompress(compress(x)) == x, for empty, tiny, and sizes around and far past the
// decoder's 64 KiB first buffer (so it must grow).
TEST_P(DecompressFormat, RoundTrip) {
  const std::string data = text(size(), size());
  EXPECT_EQ(decode(format(), compress(format(), data)), data);
}

// Oracle: cutting the compressed bytes anywhere before their end gives exactly "truncated"
// (never garbage output or a crash), whatever was decoded before the cut.
TEST_P(DecompressFormat, TruncatedIsAnError) {
  const std::string whole = compress(format(), text(size(), size()));
  for (const std::size_t keep : {std::size_t{1}, whole.size() / 2, whole.size() - 1}) {
    const Status s = decode_error(format(), std::string_view(whole).substr(0, keep));
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_EQ(s.message(), std::string("'") + file_name(format()) + "': truncated " +
                               format_name(format()) + " data")
        << "kept " << keep << " of " << whole.size();
  }
}

// Oracle: a flipped byte in the middle of the compressed data is reported as an error naming
// the file, never as success: the decoder finds it corrupt, or, when the flip made a length
// field point past the end, truncated; if every block still decodes, the checksum catches it
// (gzip always has a CRC-32; the zstd frame is made with its optional checksum).
TEST_P(DecompressFormat, FlippedByteIsAnError) {
  const std::string data = text(size(), size());
  std::string bad = format() == Compression::kGzip ? gzip(data) : zstd(data, false, true);
  bad[bad.size() / 2] = static_cast<char>(~bad[bad.size() / 2]);
  const Status s = decode_error(format(), bad);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  const std::string file = std::string("'") + file_name(format()) + "': ";
  const std::string corrupt = file + "corrupt " + format_name(format()) + " data: ";
  const std::string truncated = file + "truncated " + format_name(format()) + " data";
  EXPECT_TRUE(s.message().rfind(corrupt, 0) == 0 || s.message() == truncated) << s.message();
}

// Oracle: a checksum that does not match the decoded bytes is corrupt data, though every block
// decodes: gzip's CRC-32 (the trailer's first four bytes), zstd's XXH64 (the frame's last four).
TEST_P(DecompressFormat, ChecksumMismatchIsCorrupt) {
  const std::string data = text(size(), size());
  std::string bad = format() == Compression::kGzip ? gzip(data) : zstd(data, false, true);
  const std::size_t at = format() == Compression::kGzip ? bad.size() - 8 : bad.size() - 1;
  bad[at] = static_cast<char>(~bad[at]);
  const Status s = decode_error(format(), bad);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  const std::string want =
      std::string("'") + file_name(format()) + "': corrupt " + format_name(format()) + " data: ";
  EXPECT_EQ(s.message().rfind(want, 0), 0U) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Formats, DecompressFormat,
    ::testing::Combine(::testing::Values(Compression::kGzip, Compression::kZstd),
                       ::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{1000},
                                         std::size_t{65535}, std::size_t{65536},
                                         std::size_t{3} << 20)),
    [](const auto& param_info) {
      return std::string(format_name(std::get<0>(param_info.param))) + "_" +
             std::to_string(std::get<1>(param_info.param));
    });

class DecompressEitherFormat : public ::testing::TestWithParam<Compression> {};

// Oracle: data that is not in the named format (plain text, the other format, an empty file)
// is rejected by its magic bytes, never decoded as something else.
TEST_P(DecompressEitherFormat, WrongFormatIsAnError) {
  const Compression format = GetParam();
  const Compression other = format == Compression::kGzip ? Compression::kZstd : Compression::kGzip;
  const std::string prefix =
      std::string("'") + file_name(format) + "': not " + format_name(format) + " data ";
  for (const std::string& bytes : {std::string("plain text\n"), compress(other, "hello")}) {
    const Status s = decode_error(format, bytes);
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_EQ(s.message(), prefix + "(wrong magic bytes)");
  }
  EXPECT_EQ(decode_error(format, "").message(), prefix + "(the file is empty)");
}

// Oracle: 50 MB of zeros, which compress to a few kilobytes (far past the declared-size cap,
// so the buffer grows many times), come back whole and exact.
TEST_P(DecompressEitherFormat, LargeExpansion) {
  const std::string zeros(std::size_t{50} << 20, '\0');
  const std::string compressed = compress(GetParam(), zeros);
  EXPECT_LT(compressed.size(), zeros.size() / 500);
  const std::string out = decode(GetParam(), compressed);
  EXPECT_EQ(out.size(), zeros.size());
  EXPECT_TRUE(out == zeros);  // not EXPECT_EQ: a failure would print 50 MB
}

// Oracle: no format is invalid for decompress().
TEST(Decompress, NoneIsInvalid) {
  std::string out;
  EXPECT_EQ(decompress(Compression::kNone, "x", "abc", out).code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Formats, DecompressEitherFormat,
                         ::testing::Values(Compression::kGzip, Compression::kZstd),
                         [](const auto& param_info) {
                           return std::string(format_name(param_info.param));
                         });

// ---------------------------------------------------------------------------------------------
// Format specifics
// ---------------------------------------------------------------------------------------------

// Oracle: concatenated gzip members (`cat a.gz b.gz`), an empty one among them, decode to the
// concatenation of their contents, as `gzip -d` gives.
TEST(DecompressGzip, MultiMember) {
  const std::string a = text(100000, 1);
  const std::string b = text(70000, 2);
  const std::string c = "last member, no newline";
  EXPECT_EQ(decode(Compression::kGzip, gzip(a) + gzip("") + gzip(b, 1) + gzip(c, 9)), a + b + c);
}

// Oracle: bytes after the last member that are not another member are corrupt data, not
// silently dropped.
TEST(DecompressGzip, TrailingGarbageIsAnError) {
  const Status s = decode_error(Compression::kGzip, gzip("hello\n") + "garbage");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(s.message(), "'x.gz': corrupt gzip data: incorrect header check");
}

// Oracle: concatenated zstd frames, with and without content sizes and with a skippable frame
// among them, decode to the concatenation of their contents, as `zstd -d` gives.
TEST(DecompressZstd, MultiFrame) {
  const std::string a = text(100000, 3);
  const std::string b = text(300000, 4);
  const std::string c = "last frame";
  const std::string all =
      zstd(a) + zstd_skippable("metadata") + zstd(b, /*streaming=*/true) + zstd("") + zstd(c);
  EXPECT_EQ(decode(Compression::kZstd, all), a + b + c);
}

// Oracle: a frame whose header has no content size (streaming compression) decodes whole.
TEST(DecompressZstd, FrameWithoutContentSize) {
  const std::string data = text(std::size_t{2} << 20, 5);
  const std::string compressed = zstd(data, /*streaming=*/true);
  ASSERT_EQ(ZSTD_getFrameContentSize(compressed.data(), compressed.size()),
            ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(decode(Compression::kZstd, compressed), data);
}

// ---------------------------------------------------------------------------------------------
// Through Inputs
// ---------------------------------------------------------------------------------------------

class CompressedInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("tally_decompress_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter.fetch_add(1, std::memory_order_relaxed)));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }

  fs::path dir_;
};

// Oracle: in a directory, each compressed file's data() is its decompressed content and its
// name() the path unchanged; plain files are as they were; total_bytes counts decompressed
// bytes. Given directly, a compressed file is decompressed too.
TEST_F(CompressedInputs, DirectoryHoldsPlainGzipAndZstd) {
  const std::string a = "plain text\n";
  const std::string b = text(200000, 6);
  const std::string c = text(150000, 7);
  const std::string pa = write("d/a.txt", a);
  const std::string pb = write("d/b.gz", gzip(b));
  const std::string pc = write("d/sub/c.zst", zstd(c, /*streaming=*/true));

  Inputs inputs = Inputs::paths({(dir_ / "d").string(), pb});
  ASSERT_TRUE(inputs.open().ok());
  ASSERT_EQ(inputs.size(), 4U);
  EXPECT_EQ(inputs.name(0), pa);
  EXPECT_EQ(inputs.data(0), a);
  EXPECT_EQ(inputs.name(1), pb);
  EXPECT_TRUE(inputs.data(1) == b);
  EXPECT_EQ(inputs.name(2), pc);
  EXPECT_TRUE(inputs.data(2) == c);
  EXPECT_EQ(inputs.name(3), pb);
  EXPECT_TRUE(inputs.data(3) == b);
  EXPECT_EQ(inputs.total_bytes(), a.size() + 2 * b.size() + c.size());
}

// Oracle: a bad compressed file among good ones fails open() with its path and the problem,
// and nothing stays open.
TEST_F(CompressedInputs, BadFileFailsOpenWithItsName) {
  const std::string good = write("good.gz", gzip("fine\n"));
  const std::string plain = write("plain.gz", "not compressed\n");
  Inputs inputs = Inputs::paths({good, plain});
  const Status s = inputs.open();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(s.message(), "'" + plain + "': not gzip data (wrong magic bytes)");
  EXPECT_FALSE(inputs.is_open());
  EXPECT_EQ(inputs.size(), 0U);

  const std::string cut = write("cut.zst", zstd(text(10000)).substr(0, 100));
  Inputs truncated = Inputs::paths({cut});
  EXPECT_EQ(truncated.open().message(), "'" + cut + "': truncated zstd data");
}

// Oracle: a decompression bomb (a small file that decodes to far more than the cap) fails
// open() with kResourceExhausted naming the file, before the cap is passed by more than one
// decoding step; the cap counts what earlier inputs hold.
TEST_F(CompressedInputs, BombStopsAtTheCapWithItsName) {
  const std::string zeros(std::size_t{64} << 20, '\0');
  for (const auto& [name, bytes] :
       {std::pair{"bomb.gz", gzip(zeros, 9)}, std::pair{"bomb.zst", zstd(zeros)}}) {
    const std::string path = write(name, bytes);
    ASSERT_LT(bytes.size(), std::size_t{1} << 20);
    Inputs inputs = Inputs::paths({path});
    const Status s = inputs.open({.max_held_bytes = std::uint64_t{8} << 20});
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.to_string();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
    EXPECT_FALSE(inputs.is_open());
  }
  // Under the cap it decodes whole.
  const std::string fits = write("fits.gz", gzip(std::string(1000, 'a')));
  Inputs inputs = Inputs::paths({fits});
  ASSERT_TRUE(inputs.open({.max_held_bytes = 1000}).ok());
  EXPECT_EQ(inputs.data(0), std::string(1000, 'a'));
}

// Oracle: a stop request or a deadline ends the decoding with kCancelled / kDeadlineExceeded.
TEST_F(CompressedInputs, StopAndDeadlineEndDecoding) {
  const std::string path = write("big.gz", gzip(std::string(std::size_t{32} << 20, 'x'), 1));
  std::stop_source stop;
  stop.request_stop();
  Inputs stopped = Inputs::paths({path});
  EXPECT_EQ(stopped.open({.stop = stop.get_token()}).code(), StatusCode::kCancelled);
  Inputs late = Inputs::paths({path});
  EXPECT_EQ(late.open({.deadline = std::chrono::steady_clock::now()}).code(),
            StatusCode::kDeadlineExceeded);
}

}  // namespace
