// `tally wordcount` on .gz and .zst inputs, through the real binary. The codecs themselves are
// tested against zlib's and libzstd's encoders in tests/engine/decompress_test.cpp; here the
// compressed files are built by hand in the simplest valid form (gzip stored blocks, zstd raw
// blocks), so this test needs no compression library or tool, only the formats' specs
// (RFC 1952/1951, RFC 8878).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/scratch_dir.hpp"
#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::run_process;

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFFU);
}

// CRC-32 as gzip uses it (reflected, polynomial 0xEDB88320), bit by bit: slow and obvious.
std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

// One gzip member of stored (uncompressed) deflate blocks: header, blocks of at most 65535
// bytes (BFINAL bit, BTYPE 00, LEN, ~LEN, bytes), then CRC-32 and size.
std::string gzip_stored(std::string_view data) {
  std::string out("\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\xFF", 10);
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(data.size() - pos, 65535);
    const bool last = pos + n == data.size();
    out += static_cast<char>(last ? 1 : 0);
    put_le(out, n, 2);
    put_le(out, ~n & 0xFFFFU, 2);
    out += data.substr(pos, n);
    pos += n;
  } while (pos < data.size());
  put_le(out, crc32(data), 4);
  put_le(out, data.size() & 0xFFFFFFFFU, 4);
  return out;
}

// One zstd frame of raw blocks, without a content size or checksum: magic, frame header
// descriptor 0, window descriptor (2^17 bytes), then blocks of at most 128 KiB, each with a
// 3-byte header (last-block bit, type 0 = raw, size).
std::string zstd_raw(std::string_view data) {
  std::string out("\x28\xB5\x2F\xFD\x00\x38", 6);
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(data.size() - pos, std::size_t{128} << 10);
    const bool last = pos + n == data.size();
    put_le(out, (n << 3) | (last ? 1U : 0U), 3);
    out += data.substr(pos, n);
    pos += n;
  } while (pos < data.size());
  return out;
}

std::string random_text(std::uint64_t seed, std::size_t words) {
  std::mt19937_64 rng(seed);
  const char* const vocab[] = {"The", "the", "gzip", "ZSTD", "zstd", "of", "a", "caf\xc3\xa9"};
  const char* const seps[] = {" ", " ", "\n", "\t", "\r\n"};
  std::string text;
  for (std::size_t i = 0; i < words; ++i) {
    text += vocab[rng() % std::size(vocab)];
    text += seps[rng() % std::size(seps)];
  }
  return text;
}

class CompressedCli : public tally::testing::ScratchDirTest {};

// Oracle: the output on x.gz and y.zst (y.zst two frames, x.gz two members, both spanning
// several blocks) is byte for byte the output on the plain files, in every format; and a
// directory holding them counts the same.
TEST_F(CompressedCli, SameOutputAsUncompressed) {
  const std::string x = random_text(1, 60000);
  const std::string y = random_text(2, 90000);
  const std::string x_txt = write("plain/x.txt", x);
  const std::string y_txt = write("plain/y.txt", y);
  const std::string half = x.substr(0, x.size() / 2);
  const std::string x_gz =
      write("packed/x.gz", gzip_stored(half) + gzip_stored(x.substr(half.size())));
  const std::string y_zst = write("packed/y.zst", zstd_raw(y.substr(0, 5)) + zstd_raw(y.substr(5)));
  for (const char* format : {"tsv", "text", "csv", "json"}) {
    const auto plain = run_process({TALLY_EXE, "wordcount", "-f", format, x_txt, y_txt});
    ASSERT_EQ(plain.exit_status, 0) << plain.err;
    const auto packed = run_process({TALLY_EXE, "wordcount", "-f", format, x_gz, y_zst});
    ASSERT_EQ(packed.exit_status, 0) << packed.err;
    EXPECT_EQ(packed.out, plain.out) << format;
  }
  const auto dir = run_process({TALLY_EXE, "wordcount", "-f", "tsv", (dir_ / "packed").string()});
  ASSERT_EQ(dir.exit_status, 0) << dir.err;
  EXPECT_EQ(dir.out, run_process({TALLY_EXE, "wordcount", "-f", "tsv", x_txt, y_txt}).out);
}

// Oracle: a corrupt .gz among good inputs (here: its CRC-32 does not match) is an input
// error: exit 3, one message naming that file and the problem, nothing on stdout, and with
// -o neither the output file nor a temporary file is left in the directory.
TEST_F(CompressedCli, CorruptGzipIsExit3AndWritesNothing) {
  const std::string good = write("good.gz", gzip_stored("fine words\n"));
  const std::string plain = write("plain.txt", "more words\n");
  std::string member = gzip_stored("damaged words\n");
  member[member.size() - 8] = static_cast<char>(~member[member.size() - 8]);
  const std::string bad = write("bad.gz", member);
  const std::string out = (dir_ / "out.tsv").string();
  const auto r = run_process({TALLY_EXE, "wordcount", "-f", "tsv", "-o", out, good, bad, plain});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.err, "tally: '" + bad + "': corrupt gzip data: incorrect data check\n");
  EXPECT_TRUE(r.out.empty());
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(files_in_dir(), (std::vector<std::string>{"bad.gz", "good.gz", "plain.txt"}));
}

// Oracle: the suffix is a promise: plain text named .zst, and a truncated .gz, are exit 3
// with the reason, not counted as text.
TEST_F(CompressedCli, NotCompressedOrTruncatedIsExit3) {
  const std::string liar = write("liar.zst", "plain text\n");
  auto r = run_process({TALLY_EXE, "wordcount", liar});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.err, "tally: '" + liar + "': not zstd data (wrong magic bytes)\n");

  const std::string whole = gzip_stored("cut short\n");
  const std::string cut = write("cut.gz", whole.substr(0, whole.size() - 3));
  r = run_process({TALLY_EXE, "wordcount", cut});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.err, "tally: '" + cut + "': truncated gzip data\n");
}

// Oracle: stdin ("-") is never decompressed: gzip bytes piped in count exactly as the same
// bytes in a file whose name has no compression suffix.
TEST_F(CompressedCli, StdinIsNotDecompressed) {
  const std::string bytes = gzip_stored("piped words piped\n");
  const std::string raw = write("raw.bin", bytes);
  const auto from_stdin = run_process({TALLY_EXE, "wordcount", "-f", "tsv", "-"}, bytes);
  ASSERT_EQ(from_stdin.exit_status, 0) << from_stdin.err;
  const auto from_file = run_process({TALLY_EXE, "wordcount", "-f", "tsv", raw});
  EXPECT_EQ(from_stdin.out, from_file.out);
  EXPECT_EQ(from_stdin.out.find("piped\t2"), std::string::npos);
}

}  // namespace
