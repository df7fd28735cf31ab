// SpillFile (engine/detail/spill_file.hpp): blocks read back as written, the spill directory
// never holds an entry for the file, damage and misplaced reads are caught with a message
// naming the directory and the offset, concurrent appends each get their own bytes, and a
// file size limit is reported as running out of space.
//
// Damage is done through the file's own descriptor with pwrite(2) and ftruncate(2): the file
// has no name to open it by.
#include "tally/engine/detail/spill_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "tally/engine/status.hpp"

namespace {

using tally::Status;
using tally::StatusCode;
using tally::StatusError;
using tally::detail::SpillFile;

constexpr std::size_t kMiB = std::size_t{1} << 20;

// `size` bytes from a generator seeded with `seed`: every block distinct.
std::string random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// The status read() throws at `offset`, or OK when it reads the block.
Status read_status(const SpillFile& file, std::uint64_t offset) {
  std::string payload;
  try {
    file.read(offset, payload);
  } catch (const StatusError& e) {
    return e.status();
  }
  return Status::Ok();
}

std::string corrupt_message(const std::string& dir, std::uint64_t offset, const char* what) {
  return "spill file in '" + dir + "' is corrupt at offset " + std::to_string(offset) + ": " + what;
}

// Flips every bit of the byte at `at` (applied twice, restores it).
void flip_byte(int fd, std::uint64_t at) {
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(at)), 1);
  byte ^= 0xFF;
  ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(at)), 1);
}

// A fresh directory per test, made with mkdtemp under $TMPDIR (or /tmp) and removed after.
class SpillFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string path = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                       "/tally-spill-file-test-XXXXXX";
    ASSERT_NE(::mkdtemp(path.data()), nullptr) << std::strerror(errno);
    dir_ = path;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(dir_, ec);
  }

  // The names in dir_: to check that the file never appears there.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  std::string dir_;
};

// Oracle: each append returns the previous file size as its offset (0 first) and grows the
// file by kHeaderBytes + its payload; reading at each offset gives back that payload exactly,
// empty and 1 MiB ones included, into one reused string, and returns the next block's offset
// (size() after the last).
TEST_F(SpillFileTest, RoundTripsBlocksOfVariedSizes) {
  const std::vector<std::size_t> sizes = {0,    1,     15,   16,       17, 4095, 4096,
                                          4097, 65537, kMiB, kMiB + 3, 0,  7,    kMiB};
  SpillFile file = SpillFile::create(dir_);
  EXPECT_EQ(file.size(), 0u);
  EXPECT_EQ(file.dir(), dir_);

  std::vector<std::string> payloads;
  std::vector<std::uint64_t> offsets;
  std::uint64_t expected_offset = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    payloads.push_back(random_bytes(sizes[i], i));
    offsets.push_back(file.append(payloads.back()));
    EXPECT_EQ(offsets.back(), expected_offset) << "block " << i;
    expected_offset += SpillFile::kHeaderBytes + sizes[i];
    EXPECT_EQ(file.size(), expected_offset) << "block " << i;
  }

  std::string back;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::uint64_t next = file.read(offsets[i], back);
    EXPECT_EQ(back.size(), sizes[i]) << "block " << i;
    EXPECT_TRUE(back == payloads[i]) << "block " << i << " differs";
    EXPECT_EQ(next, i + 1 < sizes.size() ? offsets[i + 1] : file.size()) << "block " << i;
  }
}

// Oracle: the directory has no entry while the file is open and written to, nor after it is
// destroyed; the open file has no link at all (st_nlink == 0), so nothing can outlive it.
TEST_F(SpillFileTest, LeavesNoEntryInTheDirectory) {
  {
    SpillFile file = SpillFile::create(dir_);
    EXPECT_TRUE(entries().empty());
    file.append(random_bytes(kMiB, 1));
    EXPECT_TRUE(entries().empty());
    struct stat st {};
    ASSERT_EQ(::fstat(file.fd(), &st), 0);
    EXPECT_EQ(st.st_nlink, 0u);
    EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), file.size());
  }
  EXPECT_TRUE(entries().empty());
}

// Oracle: a directory that does not exist is kIoError (not kNotFound: the spill directory is
// configuration, not an input) with the message naming it and saying why.
TEST_F(SpillFileTest, CreateInAMissingDirectoryIsAnIoError) {
  const std::string missing = dir_ + "/missing";
  try {
    SpillFile::create(missing);
    FAIL() << "created a spill file in a missing directory";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kIoError);
    EXPECT_EQ(e.status().message(), "cannot create a spill file in '" + missing +
                                        "': " + std::generic_category().message(ENOENT));
  }
}

// Oracle: a regular file given as the directory is kIoError naming it, "Not a directory".
TEST_F(SpillFileTest, CreateInARegularFileIsAnIoError) {
  const std::string regular = dir_ + "/regular";
  std::ofstream(regular) << "not a directory";
  try {
    SpillFile::create(regular);
    FAIL() << "created a spill file in a regular file";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kIoError);
    EXPECT_EQ(e.status().message(), "cannot create a spill file in '" + regular +
                                        "': " + std::generic_category().message(ENOTDIR));
  }
}

// Oracle: a directory we may not write to is kIoError naming it, "Permission denied".
TEST_F(SpillFileTest, CreateWithoutPermissionIsAnIoError) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);
  if (::access(dir_.c_str(), W_OK) == 0) GTEST_SKIP() << "permissions do not bind (root?)";
  try {
    SpillFile::create(dir_);
    FAIL() << "created a spill file in a read-only directory";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kIoError);
    EXPECT_EQ(e.status().message(), "cannot create a spill file in '" + dir_ +
                                        "': " + std::generic_category().message(EACCES));
  }
}

// Oracle: a flipped payload byte makes that block's read throw kDataLoss "checksum mismatch"
// naming the directory and the block's offset; its neighbours still read back, and so does
// the block once the byte is flipped back.
TEST_F(SpillFileTest, FlippedPayloadByteIsCaught) {
  SpillFile file = SpillFile::create(dir_);
  const std::string before = random_bytes(100, 1);
  const std::string damaged = random_bytes(5000, 2);
  const std::string after = random_bytes(100, 3);
  const std::uint64_t at_before = file.append(before);
  const std::uint64_t at = file.append(damaged);
  const std::uint64_t at_after = file.append(after);

  for (const std::uint64_t k : {std::uint64_t{0}, std::uint64_t{2500}, std::uint64_t{4999}}) {
    flip_byte(file.fd(), at + SpillFile::kHeaderBytes + k);
    const Status s = read_status(file, at);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "byte " << k;
    EXPECT_EQ(s.message(), corrupt_message(dir_, at, "checksum mismatch")) << "byte " << k;
    EXPECT_TRUE(read_status(file, at_before).ok());
    EXPECT_TRUE(read_status(file, at_after).ok());
    flip_byte(file.fd(), at + SpillFile::kHeaderBytes + k);
    std::string back;
    file.read(at, back);
    EXPECT_TRUE(back == damaged) << "byte " << k;
  }
}

// Oracle: a flip of any one of the 16 header bytes (magic, size or checksum) makes the
// block's read throw kDataLoss "spill file in '<dir>' is corrupt at offset <offset>: ..."; the
// block reads back once the byte is restored.
TEST_F(SpillFileTest, FlippedHeaderByteIsCaught) {
  SpillFile file = SpillFile::create(dir_);
  file.append(random_bytes(100, 1));
  const std::string damaged = random_bytes(100, 2);
  const std::uint64_t at = file.append(damaged);
  file.append(random_bytes(100, 3));

  const std::string prefix = corrupt_message(dir_, at, "");
  for (std::uint64_t i = 0; i < SpillFile::kHeaderBytes; ++i) {
    flip_byte(file.fd(), at + i);
    const Status s = read_status(file, at);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "header byte " << i;
    EXPECT_EQ(s.message().substr(0, prefix.size()), prefix) << "header byte " << i;
    flip_byte(file.fd(), at + i);
    std::string back;
    file.read(at, back);
    EXPECT_TRUE(back == damaged) << "header byte " << i;
  }
  // The header promises which check catches a damaged magic and a damaged checksum.
  flip_byte(file.fd(), at);
  EXPECT_EQ(read_status(file, at).message(), corrupt_message(dir_, at, "bad block header"));
  flip_byte(file.fd(), at);
  flip_byte(file.fd(), at + 8);
  EXPECT_EQ(read_status(file, at).message(), corrupt_message(dir_, at, "checksum mismatch"));
}

// Oracle: reading at an offset where no block starts (inside a header, inside a payload, at
// or past the end) throws kDataLoss naming the directory and that offset; no read at a wrong
// offset returns a payload.
TEST_F(SpillFileTest, ReadAtAWrongOffsetIsCaught) {
  SpillFile file = SpillFile::create(dir_);
  const std::uint64_t first = file.append(std::string(50, 'x'));
  const std::uint64_t empty = file.append("");
  const std::uint64_t last = file.append(std::string(300, 'y'));

  const std::vector<std::uint64_t> wrong = {first + 1,
                                            first + 4,
                                            first + 8,
                                            first + SpillFile::kHeaderBytes,
                                            empty - 1,
                                            empty + 1,
                                            last + SpillFile::kHeaderBytes + 100,
                                            file.size() - SpillFile::kHeaderBytes + 1,
                                            file.size(),
                                            file.size() + 1000};
  for (const std::uint64_t offset : wrong) {
    const Status s = read_status(file, offset);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "offset " << offset;
    const std::string prefix = corrupt_message(dir_, offset, "");
    EXPECT_EQ(s.message().substr(0, prefix.size()), prefix) << "offset " << offset;
  }
}

// Oracle: a whole block copied byte for byte over another of the same size is caught by the
// checksum, because it is seeded with the offset the block was written at; the original
// still reads back.
TEST_F(SpillFileTest, MovedBlockFailsItsChecksum) {
  SpillFile file = SpillFile::create(dir_);
  const std::string original = random_bytes(64, 1);
  const std::uint64_t from = file.append(original);
  const std::uint64_t to = file.append(random_bytes(64, 2));

  std::string block(SpillFile::kHeaderBytes + 64, '\0');
  ASSERT_EQ(::pread(file.fd(), block.data(), block.size(), static_cast<off_t>(from)),
            static_cast<ssize_t>(block.size()));
  ASSERT_EQ(::pwrite(file.fd(), block.data(), block.size(), static_cast<off_t>(to)),
            static_cast<ssize_t>(block.size()));

  const Status s = read_status(file, to);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), corrupt_message(dir_, to, "checksum mismatch"));
  std::string back;
  file.read(from, back);
  EXPECT_TRUE(back == original);
}

// Oracle: a file cut short (by a failed write, or by someone else) makes a read of a block
// that no longer fits throw kDataLoss "truncated block" at its offset, whether the cut is in
// its payload or its header; blocks before the cut still read back.
TEST_F(SpillFileTest, TruncatedFileIsCaught) {
  SpillFile file = SpillFile::create(dir_);
  const std::string kept = random_bytes(1000, 1);
  const std::uint64_t first = file.append(kept);
  const std::uint64_t last = file.append(random_bytes(1000, 2));

  ASSERT_EQ(::ftruncate(file.fd(), static_cast<off_t>(file.size() - 1)), 0);
  EXPECT_EQ(read_status(file, last).message(), corrupt_message(dir_, last, "truncated block"));
  ASSERT_EQ(::ftruncate(file.fd(), static_cast<off_t>(last + 8)), 0);
  EXPECT_EQ(read_status(file, last).message(), corrupt_message(dir_, last, "truncated block"));
  std::string back;
  file.read(first, back);
  EXPECT_TRUE(back == kept);
}

// Oracle: a moved-to file owns the descriptor and the size; destroying the moved-from one
// (or a file assigned over) closes nothing the survivor uses.
TEST_F(SpillFileTest, MoveKeepsTheFileOpen) {
  SpillFile first = SpillFile::create(dir_);
  const std::string payload = random_bytes(777, 1);
  const std::uint64_t at = first.append(payload);
  const std::uint64_t size = first.size();

  SpillFile moved = SpillFile::create(dir_);
  {
    SpillFile temporary(std::move(first));
    moved = std::move(temporary);
  }
  EXPECT_EQ(moved.size(), size);
  EXPECT_EQ(moved.dir(), dir_);
  std::string back;
  moved.read(at, back);
  EXPECT_TRUE(back == payload);
  EXPECT_EQ(moved.append("more"), size);
}

// Oracle: a payload one byte over kMaxPayload throws std::length_error before reserving any
// bytes, so the next block still starts at 0. The payload is a lazily mapped range that is
// never touched.
TEST_F(SpillFileTest, PayloadAboveTheMaximumIsALengthError) {
  const std::size_t too_big = SpillFile::kMaxPayload + 1;
  void* p = ::mmap(nullptr, too_big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) GTEST_SKIP() << "cannot reserve 4 GiB of address space";
  SpillFile file = SpillFile::create(dir_);
  EXPECT_THROW(file.append(std::string_view(static_cast<const char*>(p), too_big)),
               std::length_error);
  ::munmap(p, too_big);
  EXPECT_EQ(file.size(), 0u);
  EXPECT_EQ(file.append("fits"), 0u);
}

// Sets RLIMIT_FSIZE's soft limit to `bytes` with SIGXFSZ ignored (else the first write past
// the limit kills the process instead of failing with EFBIG); restores both when destroyed.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ok_ = ::sigaction(SIGXFSZ, &ignore, &old_action_) == 0 &&
          ::getrlimit(RLIMIT_FSIZE, &old_limit_) == 0;
    rlimit lowered = old_limit_;
    lowered.rlim_cur = bytes;
    ok_ = ok_ && ::setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_limit_);
    ::sigaction(SIGXFSZ, &old_action_, nullptr);
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  struct sigaction old_action_ {};
  rlimit old_limit_{};
};

// Oracle: an append that would grow the file past RLIMIT_FSIZE (pwritev writes up to the
// limit, then fails with EFBIG) throws kResourceExhausted "out of space for spill files in
// '<dir>': File too large". The block before it still reads back, and once the limit is lifted
// the file takes new blocks after the failed one's reserved bytes.
TEST_F(SpillFileTest, FileSizeLimitIsResourceExhausted) {
  constexpr rlim_t kLimit = 64 * 1024;
  SpillFile file = SpillFile::create(dir_);
  const std::string before = random_bytes(16 * 1024, 1);
  const std::uint64_t at_before = file.append(before);
  {
    FileSizeLimit limit(kLimit);
    ASSERT_TRUE(limit.ok()) << std::strerror(errno);
    try {
      file.append(random_bytes(100 * 1024, 2));
      FAIL() << "appended past RLIMIT_FSIZE";
    } catch (const StatusError& e) {
      EXPECT_EQ(e.status().code(), StatusCode::kResourceExhausted);
      EXPECT_EQ(e.status().message(), "out of space for spill files in '" + dir_ +
                                          "': " + std::generic_category().message(EFBIG));
    }
  }
  std::string back;
  file.read(at_before, back);
  EXPECT_TRUE(back == before);
  const std::string after = random_bytes(1000, 3);
  const std::uint64_t at_after = file.append(after);
  EXPECT_GT(at_after, kLimit);
  file.read(at_after, back);
  EXPECT_TRUE(back == after);
}

// Concurrent appends, swept over the number of appending threads.
class SpillFileAppendSweep : public SpillFileTest, public ::testing::WithParamInterface<int> {};

constexpr std::uint32_t kBlocksPerThread = 400;

// Producer `thread`'s block number `seq`: both in its first 8 bytes, then a length and bytes
// that depend on both, so no two blocks are equal and a block read at the wrong place or
// mixed with another never matches.
std::string producer_payload(std::uint32_t thread, std::uint32_t seq) {
  std::string payload(8, '\0');
  std::memcpy(payload.data(), &thread, 4);
  std::memcpy(payload.data() + 4, &seq, 4);
  payload += random_bytes((seq * 131 + thread * 17) % 1500, std::uint64_t{thread} << 32 | seq);
  return payload;
}

// Oracle: with T threads each appending kBlocksPerThread distinct payloads (and reading each
// back right away, concurrently with the others' appends):
//  - every returned offset reads back exactly the payload appended with it;
//  - the offsets are distinct, and walking the file from offset 0 by the offsets read()
//    returns visits exactly T * kBlocksPerThread blocks, ending at size(): no gaps, no overlaps;
//  - that walk sees each (producer, seq) exactly once, and each producer's in increasing
//    order (a thread's appends are reserved in the order it makes them).
TEST_P(SpillFileAppendSweep, ConcurrentAppendsReadBackExactlyOnce) {
  const auto threads = static_cast<std::uint32_t>(GetParam());
  SpillFile file = SpillFile::create(dir_);

  std::vector<std::vector<std::uint64_t>> offsets(threads);
  std::vector<int> read_back_failures(threads, 0);
  std::vector<std::string> errors(threads);
  {
    std::vector<std::jthread> workers;
    for (std::uint32_t t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        try {
          std::string back;
          for (std::uint32_t seq = 0; seq < kBlocksPerThread; ++seq) {
            const std::string payload = producer_payload(t, seq);
            offsets[t].push_back(file.append(payload));
            file.read(offsets[t].back(), back);
            if (back != payload) ++read_back_failures[t];
          }
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    }
  }

  std::set<std::uint64_t> distinct;
  std::string back;
  for (std::uint32_t t = 0; t < threads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    EXPECT_EQ(read_back_failures[t], 0) << "thread " << t;
    ASSERT_EQ(offsets[t].size(), kBlocksPerThread) << "thread " << t;
    for (std::uint32_t seq = 0; seq < kBlocksPerThread; ++seq) {
      distinct.insert(offsets[t][seq]);
      file.read(offsets[t][seq], back);
      EXPECT_TRUE(back == producer_payload(t, seq)) << "thread " << t << " block " << seq;
    }
  }
  EXPECT_EQ(distinct.size(), std::size_t{threads} * kBlocksPerThread);

  std::vector<std::int64_t> last_seq(threads, -1);
  std::size_t blocks = 0;
  std::uint64_t at = 0;
  while (at < file.size()) {
    const std::uint64_t next = file.read(at, back);
    ASSERT_GE(back.size(), 8u) << "offset " << at;
    std::uint32_t t = 0;
    std::uint32_t seq = 0;
    std::memcpy(&t, back.data(), 4);
    std::memcpy(&seq, back.data() + 4, 4);
    ASSERT_LT(t, threads) << "offset " << at;
    EXPECT_EQ(seq, last_seq[t] + 1) << "thread " << t << " out of order or repeated";
    last_seq[t] = seq;
    EXPECT_TRUE(back == producer_payload(t, seq)) << "offset " << at;
    ++blocks;
    at = next;
  }
  EXPECT_EQ(at, file.size());
  EXPECT_EQ(blocks, std::size_t{threads} * kBlocksPerThread);
  for (std::uint32_t t = 0; t < threads; ++t) {
    EXPECT_EQ(last_seq[t], std::int64_t{kBlocksPerThread} - 1) << "thread " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(SpillFile, SpillFileAppendSweep, ::testing::Values(2, 4, 8),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return std::to_string(param_info.param) + "Threads";
                         });

}  // namespace
