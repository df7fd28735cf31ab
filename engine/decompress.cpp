// Why whole-buffer decompression at open(): the engine cuts every input into splits by byte
// offset and hands them to map tasks in parallel. Compressed bytes cannot be cut that way: a
// gzip stream can only be decoded from its start (no index of restart points exists without
// an extra pass, as zran.c or bgzip's BGZF build), and a zstd frame likewise. So a compressed
// input is decoded once, on the opening thread, into memory it owns, and is split like any
// other buffer afterwards. The cost is memory: the whole decompressed input is held at once.
#include "tally/engine/decompress.hpp"

// Makes z_stream::next_in a pointer to const, so the input needs no const_cast.
#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tally {
namespace {

// The smallest buffer, and the smallest step by which it grows.
constexpr std::size_t kMinBuffer = std::size_t{64} * 1024;
// Without a declared size, a first guess: text compresses about this well.
constexpr std::size_t kGuessRatio = 4;
// Deflate cannot compress better than about 1032:1 (a 258-byte match in a few bits), so a
// declared gzip size beyond that many times the input is not a real one and is not trusted.
// The same cap bounds a zstd frame's declared size: zstd may compress better still, but the
// cap only limits the first allocation (the buffer grows past it as needed), and it keeps a
// corrupt or hostile header from making us allocate, and zero-fill, an absurd buffer up front.
constexpr std::size_t kMaxTrustedRatio = 1032;
// gzip only (not zlib or raw deflate): window bits 15, plus 16 to ask zlib for a gzip wrapper.
constexpr int kGzipWindowBits = 15 + 16;

std::string quoted(std::string_view name) {
  std::string out = "'";
  out += name;
  out += '\'';
  return out;
}

Status not_format(std::string_view name, std::string_view format, bool empty) {
  return Status::IoError(quoted(name) + ": not " + std::string(format) + " data" +
                         (empty ? " (the file is empty)" : " (wrong magic bytes)"));
}

Status corrupt(std::string_view name, std::string_view format, std::string_view detail) {
  return Status::IoError(quoted(name) + ": corrupt " + std::string(format) +
                         " data: " + std::string(detail));
}

Status truncated(std::string_view name, std::string_view format) {
  return Status::IoError(quoted(name) + ": truncated " + std::string(format) + " data");
}

// Whether `in` starts with the magic bytes, or with a prefix of them if it is shorter (the
// decoder then reports it as truncated, which it is).
bool has_magic(std::string_view in, std::string_view magic) {
  const std::size_t n = std::min(in.size(), magic.size());
  return !in.empty() && in.substr(0, n) == magic.substr(0, n);
}

// A zstd frame starts with the magic number 0xFD2FB528, a skippable frame with 0x184D2A5?,
// both little-endian.
bool has_zstd_magic(std::string_view in) {
  if (has_magic(in, "\x28\xB5\x2F\xFD")) return true;
  if (in.empty() || (static_cast<unsigned char>(in[0]) & 0xF0U) != 0x50U) return false;
  return has_magic(in.substr(1), "\x2A\x4D\x18") || in.size() == 1;
}

// The first buffer size: what the data declares when plausible, else a guess. Plus one byte:
// a buffer exactly as large as the output would be full at the end, and the zstd loop takes a
// full buffer to mean the decoder may hold more, so it would double the buffer just to learn
// that it did not.
// Never more than one byte past limits.max_output, which would fail the decoding anyway.
std::size_t initial_size(std::uint64_t declared, std::size_t compressed_size,
                         const DecodeLimits& limits) {
  const std::uint64_t in = compressed_size;
  const std::uint64_t cap =
      std::max<std::uint64_t>(in > std::numeric_limits<std::uint64_t>::max() / kMaxTrustedRatio
                                  ? std::numeric_limits<std::uint64_t>::max()
                                  : in * kMaxTrustedRatio,
                              kMinBuffer);
  std::uint64_t guess = declared != 0 ? std::min(declared, cap) : in * kGuessRatio;
  if (limits.max_output != 0) guess = std::min(guess, limits.max_output);
  return static_cast<std::size_t>(std::max<std::uint64_t>(guess, kMinBuffer - 1) + 1);
}

// Doubles the buffer. Throws std::bad_alloc or std::length_error when it cannot.
void grow(std::string& out) {
  if (out.size() > out.max_size() / 2) throw std::length_error("decompressed data too large");
  out.resize(std::max(out.size() * 2, kMinBuffer));
}

// Output bytes per decoding step: the limits are checked between steps, so a stop request or
// a deadline is seen after at most this much work.
constexpr std::size_t kStepBytes = std::size_t{4} << 20;

// The status that ends a decoding before its next step, or OK.
Status check_limits(std::string_view name, const DecodeLimits& limits, std::size_t used) {
  if (limits.max_output != 0 && used > limits.max_output) {
    return Status::ResourceExhausted(quoted(name) + ": decompresses to more than " +
                                     std::to_string(limits.max_output) +
                                     " bytes (the limit for inputs held in memory)");
  }
  if (limits.interrupted) return limits.interrupted();
  return Status::Ok();
}

// zlib's streams take at most UINT_MAX bytes per call.
unsigned int clamp_to_uint(std::size_t n) {
  return static_cast<unsigned int>(std::min<std::size_t>(n, UINT_MAX));
}

// Releases zlib's decoder state on every return path.
struct InflateStream {
  z_stream zs{};
  bool live = false;
  InflateStream() = default;
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  ~InflateStream() {
    if (live) inflateEnd(&zs);
  }
};

// Decodes every gzip member of `in` into out[0, used). Throws std::bad_alloc when memory
// runs out (used then tells how far it got).
Status gunzip(std::string_view name, std::string_view in, const DecodeLimits& limits,
              std::string& out, std::size_t& used) {
  if (!has_magic(in, "\x1F\x8B")) return not_format(name, "gzip", in.empty());
  InflateStream stream;
  z_stream& zs = stream.zs;
  // inflateInit2_ rather than the inflateInit2 macro, whose (int) cast trips -Wold-style-cast.
  const int init = inflateInit2_(&zs, kGzipWindowBits, ZLIB_VERSION, static_cast<int>(sizeof zs));
  if (init == Z_MEM_ERROR) throw std::bad_alloc();
  if (init != Z_OK) return Status::Internal("cannot start zlib: error " + std::to_string(init));
  stream.live = true;

  // The trailer's ISIZE: the last member's size modulo 2^32. Only a hint.
  std::uint64_t declared = 0;
  if (in.size() >= 8) {
    for (std::size_t i = 0; i < 4; ++i)
      declared |= std::uint64_t{static_cast<unsigned char>(in[in.size() - 4 + i])} << (8 * i);
  }
  out.resize(initial_size(declared, in.size(), limits));

  std::size_t fed = 0;  // bytes of `in` handed to zlib so far
  for (;;) {
    if (zs.avail_in == 0 && fed < in.size()) {
      zs.next_in = reinterpret_cast<const Bytef*>(in.data() + fed);
      zs.avail_in = clamp_to_uint(in.size() - fed);
      fed += zs.avail_in;
    }
    if (Status s = check_limits(name, limits, used); !s.ok()) return s;
    if (used == out.size()) grow(out);
    const unsigned int room = clamp_to_uint(std::min(out.size() - used, kStepBytes));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = room;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += room - zs.avail_out;
    const bool input_left = zs.avail_in > 0 || fed < in.size();
    switch (rc) {
      case Z_STREAM_END:
        if (!input_left) return Status::Ok();
        // Another member follows (`cat a.gz b.gz`); anything else there fails its header check.
        if (inflateReset(&zs) != Z_OK) return Status::Internal("cannot reset zlib");
        break;
      case Z_OK:
        break;
      case Z_BUF_ERROR:  // no progress: the output is full (grow it) or the input ran out
        if (!input_left) return truncated(name, "gzip");
        break;
      case Z_MEM_ERROR:
        throw std::bad_alloc();
      default:  // Z_DATA_ERROR, Z_NEED_DICT (not possible in valid gzip), Z_STREAM_ERROR
        return corrupt(name, "gzip", zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc));
    }
  }
}

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

// Decodes every zstd frame of `in` into out[0, used). Throws std::bad_alloc as gunzip does.
Status unzstd(std::string_view name, std::string_view in, const DecodeLimits& limits,
              std::string& out, std::size_t& used) {
  if (!has_zstd_magic(in)) return not_format(name, "zstd", in.empty());
  const std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  if (!dctx) throw std::bad_alloc();

  // The first frame's declared size (a lower bound when more frames follow), if it has one.
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  const bool known = declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR;
  out.resize(initial_size(known ? declared : 0, in.size(), limits));

  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::size_t pending = 0;  // the decoder's last hint: 0 once a frame is complete and flushed
  for (;;) {
    if (Status s = check_limits(name, limits, used); !s.ok()) return s;
    if (used == out.size()) grow(out);
    ZSTD_outBuffer output{out.data(), std::min(out.size(), used + kStepBytes), used};
    pending = ZSTD_decompressStream(dctx.get(), &output, &input);
    used = output.pos;
    if (ZSTD_isError(pending) != 0) {
      if (ZSTD_getErrorCode(pending) == ZSTD_error_memory_allocation) throw std::bad_alloc();
      return corrupt(name, "zstd", ZSTD_getErrorName(pending));
    }
    // All input consumed and room left over: the decoder has flushed all it could (zstd.h).
    if (input.pos == input.size && output.pos < output.size) break;
  }
  if (pending != 0) return truncated(name, "zstd");
  return Status::Ok();
}

}  // namespace

Compression compression_for_name(std::string_view name) noexcept {
  if (name.ends_with(".gz")) return Compression::kGzip;
  if (name.ends_with(".zst")) return Compression::kZstd;
  return Compression::kNone;
}

Status decompress(Compression format, std::string_view name, std::string_view compressed,
                  std::string& out, const DecodeLimits& limits) {
  out.clear();
  std::size_t used = 0;
  Status status;
  try {
    switch (format) {
      case Compression::kGzip:
        status = gunzip(name, compressed, limits, out, used);
        break;
      case Compression::kZstd:
        status = unzstd(name, compressed, limits, out, used);
        break;
      case Compression::kNone:
        status = Status::InvalidArgument(quoted(name) + ": decompress() needs a format");
        break;
    }
  } catch (const std::bad_alloc&) {
    status = Status::ResourceExhausted(quoted(name) + ": out of memory after decompressing " +
                                       std::to_string(used) + " bytes");
  } catch (const std::length_error&) {
    status = Status::ResourceExhausted(quoted(name) + ": too large to hold in memory after " +
                                       std::to_string(used) + " decompressed bytes");
  }
  if (!status.ok()) {
    out.clear();
    out.shrink_to_fit();
    return status;
  }
  out.resize(used);
  // The buffer lives as long as the job. Growth by doubling can leave up to half of it unused;
  // one copy to give that back is cheaper than holding it. A declared size that was right
  // leaves one byte spare, and no copy is made.
  if (out.capacity() - used > used / 8) out.shrink_to_fit();
  return Status::Ok();
}

}  // namespace tally
