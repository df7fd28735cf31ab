// Fuzz target for tally::decompress (engine/decompress.hpp), gzip and zstd.
//
// The first input byte picks a mode; the rest is the mode's data.
//  - Arbitrary bytes (modes 0: gzip, 1: zstd). Oracle: no crash, leak or UB; a failure leaves
//    `out` empty and is kIoError or kResourceExhausted; a success gives exactly what the
//    libraries' decoders give for the same bytes when called in one go, into a buffer of the
//    decoded size plus one byte (so a decoder that stopped early cannot go unnoticed): gzip,
//    one inflate(Z_FINISH) call per member, each member starting where the previous ended;
//    zstd, ZSTD_decompressStream given all the input and the whole buffer. Not ZSTD_decompress:
//    that one-shot call rejects frames that the streaming decoder and `zstd -d` accept, such
//    as one whose last block is a compressed block of size 0 (28 B5 2F FD 00 00 05 00 00),
//    and decompress() promises what `zstd -d` gives.
//  - Round trip (modes 2: gzip, 3: zstd). The data, cut into one to three pieces, is encoded
//    with the libraries' encoders (one member or frame per piece; fuzzed level, zstd content
//    size and checksum flags, an optional leading skippable frame). Oracle: decompress returns
//    the data; the encoding cut short inside its last member or frame is an error; with one
//    byte flipped, the arbitrary-bytes oracle holds.
#include <fuzzer/FuzzedDataProvider.h>

#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/decompress.hpp"
#include "tally/engine/status.hpp"
#include "tests/fuzz/support/fuzz_check.hpp"

namespace {

using tally::Compression;

constexpr int kGzipWindowBits = 15 + 16;

// The reference gunzip: decodes every member of `in` with one inflate(Z_FINISH) call each
// into a buffer of `capacity` bytes. Fails if any member does not decode completely within
// the buffer, or bytes are left over that are not a member.
bool ref_gunzip(std::string_view in, std::size_t capacity, std::string& out) {
  out.assign(capacity, '\0');
  z_stream zs{};
  if (inflateInit2_(&zs, kGzipWindowBits, ZLIB_VERSION, static_cast<int>(sizeof zs)) != Z_OK) {
    return false;
  }
  zs.next_in = reinterpret_cast<const Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(capacity);
  bool ok = !in.empty();
  while (ok) {
    if (inflate(&zs, Z_FINISH) != Z_STREAM_END) {
      ok = false;
    } else if (zs.avail_in == 0) {
      break;
    } else {
      ok = inflateReset(&zs) == Z_OK;
    }
  }
  out.resize(capacity - zs.avail_out);
  inflateEnd(&zs);
  return ok;
}

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

// The reference unzstd: every frame of `in` into a buffer of `capacity` bytes. Each call gets
// all the input left and all the room left; one that makes no progress means the buffer is
// full. Fails unless the input ends exactly where a frame ends (hint 0).
bool ref_unzstd(std::string_view in, std::size_t capacity, std::string& out) {
  out.assign(capacity, '\0');
  if (in.empty()) return false;
  const std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out.data(), capacity, 0};
  std::size_t hint = 0;
  do {
    const std::size_t read = input.pos;
    const std::size_t written = output.pos;
    hint = ZSTD_decompressStream(dctx.get(), &output, &input);
    if (ZSTD_isError(hint) != 0) return false;
    if (input.pos == read && output.pos == written) return false;
  } while (input.pos < input.size || (hint != 0 && output.pos < output.size));
  out.resize(output.pos);
  return hint == 0;
}

// The arbitrary-bytes oracle.
void check_decode(Compression format, std::string_view in) {
  std::string out = "stale";
  const tally::Status status = tally::decompress(format, "fuzz", in, out);
  if (!status.ok()) {
    TALLY_FUZZ_CHECK(out.empty(), "a failed decompress leaves out empty");
    TALLY_FUZZ_CHECK(status.code() == tally::StatusCode::kIoError ||
                         status.code() == tally::StatusCode::kResourceExhausted,
                     "bad data is kIoError (or kResourceExhausted)");
    return;
  }
  std::string expected;
  const bool decoded = format == Compression::kGzip ? ref_gunzip(in, out.size() + 1, expected)
                                                    : ref_unzstd(in, out.size() + 1, expected);
  TALLY_FUZZ_CHECK(decoded, "what decompress accepts, the one-shot decoder decodes");
  TALLY_FUZZ_CHECK(out == expected, "decompress gives the one-shot decoder's output");
}

std::string gzip_member(std::string_view data, int level) {
  z_stream zs{};
  TALLY_FUZZ_CHECK(deflateInit2_(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                                 ZLIB_VERSION, static_cast<int>(sizeof zs)) == Z_OK,
                   "deflateInit2");
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<const Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  TALLY_FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END, "deflate finishes in one call");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

std::string zstd_frame(std::string_view data, int level, bool content_size, bool checksum) {
  const std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n =
      ZSTD_compress2(cctx.get(), out.data(), out.size(), data.data(), data.size());
  TALLY_FUZZ_CHECK(ZSTD_isError(n) == 0, "ZSTD_compress2");
  out.resize(n);
  return out;
}

// A skippable frame (magic 0x184D2A5?, little-endian 32-bit size, then that many bytes).
std::string skippable_frame(unsigned char variant, std::string_view payload) {
  std::string frame = {static_cast<char>(0x50 | (variant & 0x0F)), '\x2A', '\x4D', '\x18'};
  for (int i = 0; i < 4; ++i) frame += static_cast<char>((payload.size() >> (8 * i)) & 0xFF);
  frame += payload;
  return frame;
}

void check_round_trip(Compression format, FuzzedDataProvider& fdp) {
  const bool gzip = format == Compression::kGzip;
  const int level =
      gzip ? fdp.ConsumeIntegralInRange<int>(0, 9) : fdp.ConsumeIntegralInRange<int>(-5, 6);
  const bool content_size = fdp.ConsumeBool();
  const bool checksum = fdp.ConsumeBool();
  const bool skippable = !gzip && fdp.ConsumeBool();
  const auto pieces = fdp.ConsumeIntegralInRange<int>(1, 3);
  const auto cut1 = fdp.ConsumeIntegral<std::uint16_t>();
  const auto cut2 = fdp.ConsumeIntegral<std::uint16_t>();
  const auto truncate_at = fdp.ConsumeIntegral<std::uint32_t>();
  const auto flip_at = fdp.ConsumeIntegral<std::uint32_t>();
  const auto flip_bits = fdp.ConsumeIntegralInRange<unsigned char>(1, 255);
  const std::string data = fdp.ConsumeRemainingBytesAsString();

  // Piece boundaries in data.
  std::vector<std::size_t> bounds = {0};
  if (pieces >= 2) bounds.push_back(data.empty() ? 0 : cut1 % (data.size() + 1));
  if (pieces >= 3) bounds.push_back(bounds.back() + (cut2 % (data.size() - bounds.back() + 1)));
  bounds.push_back(data.size());

  std::string encoded = skippable ? skippable_frame(static_cast<unsigned char>(cut2), "skip") : "";
  std::size_t last_start = 0;  // where the last member or frame begins in `encoded`
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    const std::string_view piece =
        std::string_view(data).substr(bounds[i], bounds[i + 1] - bounds[i]);
    last_start = encoded.size();
    encoded += gzip ? gzip_member(piece, level) : zstd_frame(piece, level, content_size, checksum);
  }

  std::string out;
  const tally::Status status = tally::decompress(format, "fuzz", encoded, out);
  TALLY_FUZZ_CHECK(status.ok(), "what the encoder made decodes");
  TALLY_FUZZ_CHECK(out == data, "decoding gives back what was encoded");

  // Cut inside the last member or frame: [last_start + 1, size - 1].
  const std::size_t last_size = encoded.size() - last_start;
  if (last_size >= 2) {
    const std::size_t cut = last_start + 1 + truncate_at % (last_size - 1);
    const tally::Status cut_status =
        tally::decompress(format, "fuzz", std::string_view(encoded).substr(0, cut), out);
    TALLY_FUZZ_CHECK(!cut_status.ok(), "a member or frame cut short is an error");
    TALLY_FUZZ_CHECK(out.empty(), "a failed decompress leaves out empty");
  }

  encoded[flip_at % encoded.size()] ^= static_cast<char>(flip_bits);
  check_decode(format, encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] & 3;
  const Compression format = (mode & 1) == 0 ? Compression::kGzip : Compression::kZstd;
  if (mode < 2) {
    check_decode(format, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  } else {
    FuzzedDataProvider fdp(data + 1, size - 1);
    check_round_trip(format, fdp);
  }
  return 0;
}
